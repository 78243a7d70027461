"""Role ids of the regulation (regulation/CLAUSES.md, Roles), with their Chinese and English names."""

ROLES: dict[str, tuple[str, str]] = {
    "master_admin": ("總管理者", "Master administrator"),
    "master_audit": ("總稽核小組", "Master audit team"),
    "agency_admin": ("使用機關管理者", "Agency administrator"),
    "unit_admin": ("使用單位管理者", "Unit administrator"),
    "agency_audit": ("使用機關稽核小組", "Agency audit team"),
    "agency_head": ("機關首長", "Agency head"),
    "user": ("使用者", "WebIR user"),
    "delegating_agency": ("委託機關", "Delegating agency"),
    "bli": ("勞保局", "Bureau of Labor Insurance"),
    "applicant": ("申請人", "Applicant"),
    "analyst": ("流程分析人員", "Process analyst"),
}
ROLE_IDS = frozenset(ROLES)
# Roles a person can hold (the others are resolved per instance: applicant, delegating agency).
ASSIGNABLE_ROLES = ROLE_IDS - {"applicant", "delegating_agency"}
