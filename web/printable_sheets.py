"""The content of the printable forms 1-1, 1-2 and 3: every filled value, dates in 民國 and ISO."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from engine import clock
from engine.models import Agency, ProcessInstance, User
from workflows.access import approved_purposes
from workflows.models import AccountApplication
from workflows.models_accounts import DelegationConsent, OnboardingApplication, ProxyAuthorization

ROC_OFFSET = 1911  # 民國 1 = 1912
EMPLOYMENT = {"civil_servant": "公務人員 Civil servant", "contract_staff": "約聘僱人員 Contract staff",
              "outsourced_vendor": "委外廠商人員 Outsourced vendor"}
URGENCY = {"official_need": "公務需要 Official need", "urgent": "緊急需要 Urgent need"}
OUTCOMES = {"submitted": "審核中 Under review", "approved": "核准 Approved", "granted": "核准 Granted",
            "refused": "駁回 Refused", "consent_refused": "委託機關不同意 Delegating agency refused",
            "vendor_refused": "委外廠商不得授權 Vendor staff refused (R5.5)", "filed": "已歸檔 Filed"}
ROLES = {"user": "使用者 User"}


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Sheet:
    """One printable form: heading, sections of label/value rows, signature boxes, the clauses it serves."""

    title: str
    subtitle: str
    number: str
    instance_id: int
    sections: list[Section]
    signatures: list[str]
    clauses: str
    printed_at: str = ""


def dual_date(value) -> str:
    """A date (or time, shown in Asia/Taipei) in 民國 and ISO: 民國115年11月29日（2026-11-29）."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    time = ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.zone())
        time = value.strftime(" %H:%M")
        value = value.date()
    roc = f"民國{value.year - ROC_OFFSET}年{value.month}月{value.day}日"
    return f"{roc}{time}（{value.isoformat()}{time}）"


def _person(user: User | None) -> str:
    return f"{user.display_name}（{user.username}）" if user else ""


def _agency(agency: Agency | None) -> str:
    return f"{agency.name}（{agency.code}）" if agency else "無 None"


def _items(session: Session, instance_id: int, items) -> str:
    instance = session.get(ProcessInstance, instance_id)
    titles = approved_purposes(session, instance.version) if instance else {}
    return "、".join(titles.get(i, {}).get("title", i) for i in items or []) or "—"


def _yes(value) -> str:
    return "是 Yes" if value else "否 No"


def form_1_1(session: Session, record: OnboardingApplication) -> Sheet:
    """Form 1-1 (agency-admin version) with the consent and the master admin's decision (R5.1, R3.1, R2.1)."""
    form = record.form or {}
    consent = session.get(DelegationConsent, record.consent_id) if record.consent_id else None
    applicant = Section("申請人 Applicant (agency admin to be)", [
        ("機關 Agency", _agency(session.get(Agency, record.agency_id))),
        ("申請人 Applicant", _person(session.get(User, record.applicant_id))),
        ("單位 Unit", form.get("unit", "")), ("職稱 Job title", form.get("job_title", "")),
        ("聯絡電話 Contact phone", form.get("contact_phone", "")),
        ("我的E政府帳號 My E-Government account", record.egov_account or ""),
        ("自然人憑證已上傳 Citizen certificate uploaded", _yes(form.get("citizen_certificate_uploaded")))])
    request = Section("申請內容 Application", [
        ("查詢目的 Purpose", form.get("purpose", "")),
        ("業務項目 Business items", _items(session, record.instance_id, record.business_items)),
        ("法令依據 Legal basis", form.get("legal_basis", "")),
        ("委託機關 Delegating agency", _agency(session.get(Agency, record.delegating_agency_id))
         if record.delegating_agency_id else "無 None"),
        ("發文字號 Official letter number", form.get("official_letter_number", "")),
        ("申請日期 Application date", dual_date(form.get("application_date")))])
    sections = [applicant, request]
    if consent is not None:
        sections.append(Section("委託機關同意 Delegating agency's consent (R4.1, R5.2)", [
            ("決定 Decision", "同意 Consented" if consent.decision == "consented" else "不同意 Refused"),
            ("同意範圍 Scope", _items(session, record.instance_id, consent.scope)),
            ("同意文號 Document number", consent.reference or ""), ("決定人 By", consent.decided_by or ""),
            ("日期 Date", dual_date(consent.decided_at))]))
    sections.append(Section("主管機關審核 Master agency's review (R2.1)", [
        ("結果 Outcome", OUTCOMES.get(record.status, record.status)),
        ("核准業務項目 Approved business items", _items(session, record.instance_id, record.approved_business_items)),
        ("審核人 Reviewed by", record.decided_by or ""), ("日期 Date", dual_date(record.decided_at)),
        ("理由 Reason", record.reason or "")]))
    return Sheet("臺北市政府使用勞保局 WebIR 申請表（機關管理者版）", "表 1-1 Form 1-1 (agency-admin version)",
                 f"1-1-{record.id}", record.instance_id, sections,
                 ["申請人 Applicant", "機關首長 Agency head", "總管理者 Master admin"], "R2.1, R3.1, R4.1, R5.1, R5.2")


def form_1_2(session: Session, record: AccountApplication) -> Sheet:
    """Form 1-2 (user version) with the decision, the revocation date (R5.4) and the destruction date (R7.2)."""
    form = record.form or {}
    applicant = Section("申請人 Applicant", [
        ("機關 Agency", _agency(session.get(Agency, record.agency_id))),
        ("單位 Unit", form.get("unit", "")), ("申請人 Applicant", _person(session.get(User, record.user_id))),
        ("職稱 Job title", form.get("job_title", "")),
        ("任用身分 Employment type", EMPLOYMENT.get(form.get("employment_type"), form.get("employment_type", ""))),
        ("我的E政府帳號 My E-Government account", record.egov_account or "")])
    request = Section("申請內容 Application", [
        ("查詢目的 Purpose", form.get("purpose", "")),
        ("業務項目 Business items", _items(session, record.instance_id, form.get("business_items"))),
        ("法令依據 Legal basis", form.get("legal_basis", "")),
        ("申請角色 Requested role", ROLES.get(form.get("requested_role", "user"), form.get("requested_role", ""))),
        ("申請日期 Application date", dual_date(form.get("application_date")))])
    decision = Section("機關管理者審核 Agency admin's review (R5.3)", [
        ("結果 Outcome", OUTCOMES.get(record.outcome, record.outcome)),
        ("授權業務項目 Granted business items",
         _items(session, record.instance_id, record.business_items) if record.outcome == "granted" else "—"),
        ("審核人 Reviewed by", record.decided_by or ""), ("日期 Date", dual_date(record.decided_at)),
        ("理由 Reason", record.reason or "")])
    revocation = Section("撤銷 Revocation (R5.4, R7.2)", [
        ("撤銷日期 Revocation date", dual_date(record.revoked_on) or "—"),
        ("最早銷毀日 Destroy no earlier than", dual_date(record.destroy_not_before) or "—")])
    return Sheet("臺北市政府使用勞保局 WebIR 申請表（使用者版）", "表 1-2 Form 1-2 (user version)", f"1-2-{record.id}",
                 record.instance_id, [applicant, request, decision, revocation],
                 ["申請人 Applicant", "單位主管 Unit supervisor", "機關管理者 Agency admin"], "R5.3, R5.4, R5.5, R7.2")


def form_3(session: Session, record: ProxyAuthorization) -> Sheet:
    """Form 3, the proxy-query authorisation, with its filing (R6.2)."""
    form = record.form or {}
    parties = Section("授權 Authorisation", [
        ("機關 Agency", _agency(session.get(Agency, record.agency_id))),
        ("授權人 Authorising user", _person(session.get(User, record.authorising_user_id))),
        ("代查人 Proxy", _person(session.get(User, record.proxy_user_id))),
        ("案件編號 Case number", record.case_number),
        ("授權範圍 Scope", _items(session, record.instance_id, record.scope)),
        ("事由類別 Need", URGENCY.get(record.urgency, record.urgency)), ("事由 Reason", record.reason),
        ("授權期間 Valid", f"{dual_date(record.valid_from)} ~ {dual_date(record.valid_until)}"),
        ("授權日期 Date", dual_date(form.get("authorisation_date")))])
    filing = Section("公文歸檔 Filing (R6.2)", [
        ("狀態 Status", OUTCOMES.get(record.status, record.status)),
        ("公文文號 Official document number", record.official_document_number or "—"),
        ("歸檔日期 Filed on", dual_date(record.filed_on) or "—"), ("歸檔人 Filed by", record.filed_by or "")])
    return Sheet("勞保資料代查授權書", "表 3 Form 3 (proxy-query authorisation)", f"3-{record.id}",
                 record.instance_id, [parties, filing], ["授權人 Authorising user", "代查人 Proxy",
                                                          "機關管理者 Agency admin"], "R6.2")


# kind in the URL -> (table, builder)
KINDS = {"1-1": (OnboardingApplication, form_1_1), "1-2": (AccountApplication, form_1_2),
         "3": (ProxyAuthorization, form_3)}
