"""Service tasks of the monthly register check (R3.3, R6.1, R6.5, R8.1.2) and the quarterly log review (R8.1.1).

`register_check_context` reads the agency's comparison method (R3.4, R6.6) and whether the query log covering
the period is imported; `import_uploaded_query_log` imports the file a user uploaded into the task;
`reconcile_period` reconciles record by record and routes the findings to their queriers (R6.1);
`compile_register_report` is the report to the agency admin (R6.5). The check `explanations_done` keeps a
review task open until every explanation it waits for has ended.
"""

from __future__ import annotations

from sqlalchemy import func, select

from engine import audit, calendar
from engine.evidence import EvidenceError, evidence_path, read
from engine.models import Agency, EvidenceFile, InstanceStatus, ProcessInstance
from engine.scripts import REGISTRY, ServiceCall
from engine.settings import instance_path
from workflows.models_records import ImportedFile, QueryLogRecord, ReconciliationFinding, ReconciliationRun
from workflows.query_explanation import open_explanations
from workflows.query_log import QUERY_LOG_FORMAT, import_in_session
from workflows.reconcile import parse_period, reconcile
from workflows.record_settings import per_record_method
from workflows.tabular import FileRefused, inspect

MAX_REJECTIONS_SHOWN = 20
ENDED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)


def _agency(call: ServiceCall) -> Agency:
    return call.context.session.get(Agency, call.context.instance.agency_id)


def _actor(call: ServiceCall) -> str | None:
    return call.context.actor.username if getattr(call.context, "actor", None) else None


def query_log_covered(session, agency_id: int, period_label: str) -> bool:
    """A query log of the agency was imported after the period ended, or holds records of the period."""
    period = parse_period(period_label)
    after = session.scalar(select(func.count()).select_from(ImportedFile).where(
        ImportedFile.agency_id == agency_id, ImportedFile.kind == "query_log",
        ImportedFile.imported_at >= calendar.start_of_day(period.following)))
    if after:
        return True
    return bool(session.scalar(select(func.count()).select_from(QueryLogRecord).where(
        QueryLogRecord.agency_id == agency_id, QueryLogRecord.query_ts >= period.start_ts,
        QueryLogRecord.query_ts < period.end_ts)))


def register_check_context(call: ServiceCall) -> dict:
    """Service task `register_check_context`: the agency's method (R3.4, R6.6) and the log's coverage (R8.1.2)."""
    session, agency = call.context.session, _agency(call)
    period = str(call.data.get("period"))
    return {"per_record_method": per_record_method(session, agency.id),
            "query_log_covered": query_log_covered(session, agency.id, period)}


def import_uploaded_query_log(call: ServiceCall) -> dict:
    """Service task `import_uploaded_query_log`: import the uploaded WebIR export (R8.1.1), kept as evidence."""
    session, agency = call.context.session, _agency(call)
    field = str(call.params.get("field") or "query_log_file")
    ref = call.data.get(field) or {}
    row = session.get(EvidenceFile, ref.get("evidence_file_id")) if isinstance(ref, dict) else None
    if row is None:
        return {"taken": False, "refused": "沒有上傳的檔案 No uploaded file"}
    root = instance_path()
    try:
        read(root, row)  # checks the kept bytes still match their SHA-256
        source = inspect(evidence_path(root, row.sha256))
        with session.begin_nested():  # a file refused half-way leaves no rows behind
            result = import_in_session(session, QUERY_LOG_FORMAT, source, agency, root, row.filename,
                                       _actor(call))
    except (FileRefused, EvidenceError) as exc:
        audit.record(session, "query_log_refused", _actor(call), call.context.instance.id, agency=agency.code,
                     evidence=row.id, reason=str(exc), clause="R8.1.1")
        return {"taken": False, "refused": str(exc), "filename": row.filename}
    return {"taken": True, "refused": None, "filename": row.filename, "imported": result.imported,
            "duplicates": result.duplicates, "rejected_total": result.rejected_total,
            "rejected": result.rejected[:MAX_REJECTIONS_SHOWN], "imported_file_id": result.file_id}


def _carry_over_explanations(session, run_id: int) -> int:
    """Findings already explained in an earlier run (same record, same type) keep that explanation: nobody is
    asked twice about one query (a month's check and the quarter's review see the same records)."""
    findings = list(session.scalars(select(ReconciliationFinding).where(
        ReconciliationFinding.run_id == run_id, ReconciliationFinding.explanation_instance_id.is_(None))))
    log_ids = {f.log_record_id for f in findings if f.log_record_id}
    entry_ids = {f.register_entry_id for f in findings if f.register_entry_id and not f.log_record_id}
    if not findings or not (log_ids or entry_ids):
        return 0
    earlier = session.scalars(select(ReconciliationFinding).where(
        ReconciliationFinding.run_id != run_id, ReconciliationFinding.explanation_instance_id.is_not(None),
        (ReconciliationFinding.log_record_id.in_(log_ids) | ReconciliationFinding.register_entry_id.in_(entry_ids)))
        .order_by(ReconciliationFinding.id))
    known = {(f.finding_type, f.log_record_id, None if f.log_record_id else f.register_entry_id): f for f in earlier}
    carried = 0
    for finding in findings:
        key = (finding.finding_type, finding.log_record_id,
               None if finding.log_record_id else finding.register_entry_id)
        previous = known.get(key)
        if previous is not None:
            for name in ("explanation_instance_id", "explanation", "explained_by", "explained_at",
                         "review_decision", "reviewed_by"):
                setattr(finding, name, getattr(previous, name))
            carried += 1
    session.flush()
    return carried


def reconcile_period(call: ServiceCall) -> dict:
    """Service task `reconcile_period`: reconcile the period record by record and open one explanation task
    per querier with findings (R6.1, R8.1.2; R3.4, R6.6)."""
    session, agency = call.context.session, _agency(call)
    result = reconcile(session, agency, str(call.data.get("period")), actor=_actor(call))
    carried = _carry_over_explanations(session, result.run_id)
    opened = open_explanations(session, result.run_id)
    findings = session.scalar(select(func.count()).select_from(ReconciliationFinding)
                              .where(ReconciliationFinding.run_id == result.run_id))
    return {"reconciliation_run_id": result.run_id, "findings": result.counts, "findings_total": findings,
            "log_records": result.log_records, "register_entries": result.register_entries,
            "summary": result.summary_line(), "explanation_instances": opened,
            "explanations_carried_over": carried}


def open_explanation_instances(session, instance_ids) -> list[int]:
    """Those of the instances that have not ended yet."""
    ids = [int(i) for i in instance_ids or [] if isinstance(i, int) or str(i).isdigit()]
    if not ids:
        return []
    return list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.id.in_(ids), ProcessInstance.status.not_in(ENDED)).order_by(ProcessInstance.id)))


def explanations_done(call: ServiceCall) -> dict:
    """Check `explanations_done`: the review waits until every explanation task of the run has ended (R6.1)."""
    waited = (call.data.get("reconciliation") or {}).get("explanation_instances") \
        or call.data.get("explanation_instances")
    still_open = open_explanation_instances(call.context.session, waited)
    if not still_open:
        return {}
    listed = ", ".join(f"#{i}" for i in still_open[:20])
    return {"_form": f"尚有 {len(still_open)} 件查詢說明未完成 {len(still_open)} explanation(s) still open: {listed}. "
                     "請待查詢人說明並審閱後再送出 Submit once they are explained and reviewed."}


def compile_register_report(call: ServiceCall) -> dict:
    """Service task `compile_register_report`: the period's report for the agency admin (R6.5)."""
    session = call.context.session
    run_id = (call.data.get("reconciliation") or {}).get("reconciliation_run_id")
    run = session.get(ReconciliationRun, run_id) if run_id else None
    if run is None:
        return {"reconciliation_run_id": None}
    decisions = dict(session.execute(select(ReconciliationFinding.review_decision, func.count())
                                     .where(ReconciliationFinding.run_id == run.id)
                                     .group_by(ReconciliationFinding.review_decision)).all())
    total = sum(decisions.values())
    return {"reconciliation_run_id": run.id, "period": run.period, "counts": run.counts,
            "log_records": run.log_records, "register_entries": run.register_entries,
            "difference": run.log_records - run.register_entries, "findings_total": total,
            "accepted": decisions.get("accepted", 0), "suspected_improper": decisions.get("suspected_improper", 0),
            "unexplained": decisions.get(None, 0), "findings_url": f"/api/v1/reconciliations/{run.id}/findings"}


REGISTRY.service("register_check_context", register_check_context)
REGISTRY.service("import_uploaded_query_log", import_uploaded_query_log)
REGISTRY.service("reconcile_period", reconcile_period)
REGISTRY.service("compile_register_report", compile_register_report)
REGISTRY.check("explanations_done", explanations_done)
