"""The half-yearly internal audit (R8.1.3, R8.1.4): what the system already knows, pre-filled into Form 4.

At the start of `semiannual_internal_audit` the service task `prefill_internal_audit` writes a proposed result
and its evidence for every checklist item the system can judge from its own records (the form shows task data
under its own keys as pre-filled answers); the audit team confirms or corrects them and fills the rest.
A period that is late, missed or was done late makes its item `non_compliant`; none owed: `not_applicable`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import obligations
from engine.calendar import add_months, start_of_day
from engine.models import Agency, EvidenceFile, RoleAssignment, User
from engine.scripts import REGISTRY, ServiceCall
from workflows.models import AccountApplication
from workflows.models_accounts import AccountRevocation
from workflows.models_records import QueryLogRecord, ReconciliationFinding, ReconciliationRun

STATUS_TEXT = {"done": "已完成 done", "open": "辦理中 open", "late": "逾期未完成 late", "missed": "未開辦 missed",
               "scheduled": "未到期 scheduled"}
FLAG_TYPES = ("off_hours", "unauthorized_account", "outside_business_scope", "querier_mismatch")
PACKAGE_NOTE = ("系統於首長核定後封存證據包（ZIP 及 SHA-256 清單，保存 3 年以上），取代光碟 The system seals the "
                "evidence package (ZIP with a SHA-256 manifest, kept 3 years or more) on sign-off, replacing the CD")


@dataclass(frozen=True)
class HalfYear:
    """A half-year audit period `YYYY-H1` / `YYYY-H2` with its months and quarters."""

    label: str
    first_day: dt.date
    following: dt.date  # the first day after the half

    @property
    def months(self) -> list[str]:
        return [f"{add_months(self.first_day, i):%Y-%m}" for i in range(6)]

    @property
    def quarters(self) -> list[str]:
        first_quarter = 1 if self.first_day.month == 1 else 3
        return [f"{self.first_day.year}-Q{first_quarter + i}" for i in range(2)]

    @property
    def window(self) -> tuple[int, int]:
        """[start, end) as epoch seconds in the office time zone (the `*_ts` columns)."""
        return int(start_of_day(self.first_day).timestamp()), int(start_of_day(self.following).timestamp())

    @property
    def previous(self) -> str:
        year, half = self.first_day.year, 2 if self.first_day.month == 7 else 1
        return f"{year}-H1" if half == 2 else f"{year - 1}-H2"


def half_year(label: str) -> HalfYear:
    """`2026-H1` -> January to June 2026; anything else is refused with the expected form."""
    match = re.fullmatch(r"(\d{4})-H([12])", (label or "").strip().upper())
    if not match:
        raise ValueError(f"half-year period must be YYYY-H1 or YYYY-H2, not {label!r}")
    first = dt.date(int(match.group(1)), 1 if match.group(2) == "1" else 7, 1)
    return HalfYear(match.group(0), first, add_months(first, 6))


@dataclass
class ItemProposal:
    result: str
    evidence: str


def _periods(session: Session, agency: Agency, obligation: str, labels: list[str] | None,
             half: HalfYear) -> list[obligations.PeriodStatus]:
    rows = obligations.period_statuses(session, [agency], half.first_day.year)
    return [r for r in rows if r.obligation.id == obligation
            and (r.period.label in labels if labels is not None
                 else half.first_day <= r.period.first_day < half.following)]


def _cycle_proposal(statuses: list[obligations.PeriodStatus]) -> ItemProposal:
    """One line per period; any late, missed or late-done period makes the item non-compliant."""
    if not statuses:
        return ItemProposal("not_applicable", "本期無應辦期別 No period owed in this half-year")
    lines = [f"{s.period.label} {STATUS_TEXT.get(s.status, s.status)}"
             + (" (逾期完成 done late)" if s.status == "done" and s.late else "")
             + (f" #{s.instance_id}" if s.instance_id else "") for s in statuses]
    bad = any(s.status in ("late", "missed") or (s.status == "done" and s.late) for s in statuses)
    return ItemProposal("non_compliant" if bad else "compliant", "；".join(lines))


def reconciliation_runs(session: Session, agency_id: int, half: HalfYear) -> list[int]:
    """The latest reconciliation run of each month and quarter of the half."""
    latest = (select(func.max(ReconciliationRun.id)).where(
        ReconciliationRun.agency_id == agency_id, ReconciliationRun.period.in_(half.months + half.quarters))
        .group_by(ReconciliationRun.period))
    return list(session.scalars(latest))


def _findings_proposals(session: Session, agency_id: int, half: HalfYear) -> tuple[ItemProposal, ItemProposal]:
    """R6.1 (findings explained) and R6.3 (improper-use flags) from the half's reconciliation findings."""
    runs = reconciliation_runs(session, agency_id, half)
    rows = session.execute(select(ReconciliationFinding.finding_type, ReconciliationFinding.review_decision,
                                  func.count()).where(ReconciliationFinding.run_id.in_(runs or [-1]))
                           .group_by(ReconciliationFinding.finding_type, ReconciliationFinding.review_decision)).all()
    total = sum(n for _, _, n in rows)
    open_ = sum(n for _, decision, n in rows if decision is None)
    flags = {t: sum(n for ft, _, n in rows if ft == t) for t in FLAG_TYPES}
    improper = sum(n for ft, decision, n in rows if ft in FLAG_TYPES and decision == "suspected_improper")
    r6_1 = ItemProposal("non_compliant" if open_ else "compliant",
                        f"比對 {len(runs)} 次，疑義 {total} 筆，未說明或未審閱 {open_} 筆 {len(runs)} reconciliation "
                        f"runs, {total} findings, {open_} not yet explained or reviewed")
    flag_text = ", ".join(f"{k} {v}" for k, v in flags.items())
    r6_3 = ItemProposal("non_compliant" if improper else "compliant",
                        f"異常旗標 Flags: {flag_text}；疑似不當查詢 suspected improper: {improper}")
    return r6_1, r6_3


def _revoked_still_active(session: Session, agency_id: int, half: HalfYear) -> ItemProposal:
    """R5.4: revoked users who still hold `user`, and queries logged under a revoked account after revocation."""
    revocations = session.execute(select(AccountRevocation, User).join(User, User.id == AccountRevocation.user_id)
                                  .where(AccountRevocation.agency_id == agency_id)).all()
    still_role, queried = [], 0
    start, end = half.window
    for revocation, user in revocations:
        active = session.scalar(select(RoleAssignment.id).where(
            RoleAssignment.user_id == user.id, RoleAssignment.agency_id == agency_id,
            RoleAssignment.role == "user", RoleAssignment.revoked_at.is_(None),
            RoleAssignment.granted_at <= revocation.revoked_at).limit(1))
        if active is not None:
            still_role.append(user.username)
        accounts = {user.username} | set(session.scalars(select(AccountApplication.egov_account).where(
            AccountApplication.user_id == user.id, AccountApplication.egov_account.is_not(None))))
        after = max(start, int(revocation.revoked_at.timestamp()))
        queried += session.scalar(select(func.count()).select_from(QueryLogRecord).where(
            QueryLogRecord.agency_id == agency_id, QueryLogRecord.account.in_(accounts),
            QueryLogRecord.query_ts > after, QueryLogRecord.query_ts < end)) or 0
    bad = bool(still_role or queried)
    names = ", ".join(still_role)
    text = (f"已撤銷帳號 {len(revocations)} 個；撤銷後仍有權限：{names or '無'}；撤銷後仍有查詢 {queried} 筆 "
            f"{len(revocations)} revoked accounts; still holding access: {', '.join(still_role) or 'none'}; "
            f"queries after revocation: {queried}")
    return ItemProposal("non_compliant" if bad else "compliant", text)


def _vendors_with_access(session: Session, agency_id: int) -> ItemProposal:
    """R5.5: outsourced-vendor staff holding the `user` role now."""
    names = list(session.scalars(select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        User.is_vendor.is_(True), RoleAssignment.agency_id == agency_id, RoleAssignment.role == "user",
        RoleAssignment.revoked_at.is_(None))))
    return ItemProposal("non_compliant" if names else "compliant",
                        f"委外廠商人員持有使用者權限：{', '.join(names) or '無'} Vendor staff holding WebIR access: "
                        f"{', '.join(names) or 'none'}")


def _records_kept(session: Session, agency_id: int) -> ItemProposal:
    """R7.3: the agency's audit records in the evidence store (destruction before retention is refused)."""
    kept = session.scalar(select(func.count()).select_from(EvidenceFile).where(
        EvidenceFile.agency_id == agency_id, EvidenceFile.retention_class == "audit_record",
        EvidenceFile.destroyed_at.is_(None))) or 0
    return ItemProposal("compliant", f"保存中之稽核紀錄 {kept} 件（證據庫，保存 3 年以上） {kept} audit records kept "
                                     "in the evidence store (3 years or more)")


def proposals(session: Session, agency: Agency, half: HalfYear) -> dict[str, ItemProposal]:
    """Clause id -> proposed result and evidence, for every Form 4 item the system can judge."""
    monthly = _cycle_proposal(_periods(session, agency, "monthly_register_check", half.months, half))
    r6_1, r6_3 = _findings_proposals(session, agency.id, half)
    return {
        "R3.3": monthly, "R8.1.2": monthly, "R6.5": monthly,
        "R8.1.1": _cycle_proposal(_periods(session, agency, "quarterly_log_download", half.quarters, half)),
        "R5.6": _cycle_proposal(_periods(session, agency, "password_rotation", None, half)),
        "R8.1.3": _previous_audit(session, agency, half),
        "R6.1": r6_1, "R6.3": r6_3,
        "R5.4": _revoked_still_active(session, agency.id, half),
        "R5.5": _vendors_with_access(session, agency.id),
        "R7.3": _records_kept(session, agency.id),
        "R8.1.5": ItemProposal("compliant", PACKAGE_NOTE),
    }


def _previous_audit(session: Session, agency: Agency, half: HalfYear) -> ItemProposal:
    """R8.1.3: this audit runs now; the one before it must have been done on time."""
    previous = half_year(half.previous)
    rows = [r for r in obligations.period_statuses(session, [agency], previous.first_day.year)
            if r.obligation.id == "semiannual_internal_audit" and r.period.label == previous.label]
    proposal = _cycle_proposal(rows)
    if proposal.result == "not_applicable":
        return ItemProposal("compliant", f"本期 {half.label} 稽核進行中 This audit ({half.label}) is under way")
    return ItemProposal(proposal.result, f"本期 {half.label} 稽核進行中；前期 previous: {proposal.evidence}")


def field_key(kind: str, clause: str) -> str:
    """Form 4 field names: `item_R8_1_1`, `evidence_R8_1_1`, `remark_R8_1_1`."""
    return f"{kind}_{clause.replace('.', '_')}"


def prefill_internal_audit(call: ServiceCall) -> dict:
    """Service task `prefill_internal_audit`: proposed answers into the form's own keys, and a summary."""
    ctx = call.context
    agency = ctx.session.get(Agency, ctx.instance.agency_id)
    half = half_year(str(call.data.get("period")))
    found = proposals(ctx.session, agency, half)
    for clause, proposal in found.items():
        call.data[field_key("item", clause)] = proposal.result
        call.data[field_key("evidence", clause)] = proposal.evidence
    return {"period": half.label, "months": half.months, "quarters": half.quarters,
            "prefilled_items": sorted(found), "non_compliant": sorted(c for c, p in found.items()
                                                                      if p.result == "non_compliant")}


REGISTRY.service("prefill_internal_audit", prefill_internal_audit)
