"""The straightforward baseline: load both sides into Python and reconcile them in a loop, record by record.

Same rules as workflows/reconcile.py (pairing greedily in time order instead of by mutual best), so the
benchmark can compare the set-based SQL with what one would write first.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Agency, RoleAssignment, User
from workflows.models import AccountApplication
from workflows.models_records import QueryLogRecord, RegisterEntry
from workflows.reconcile import DEFAULT_TOLERANCE, FINDING_TYPES, parse_period
from workflows.reconcile_context import MAX_TS, office_context


def _aliases(session: Session) -> dict[str, int]:
    aliases = {a: u for a, u in session.execute(select(AccountApplication.egov_account, AccountApplication.user_id)
                                                .where(AccountApplication.outcome == "granted")) if a}
    aliases.update(session.execute(select(User.username, User.id)).all())
    return aliases


def _entries(session: Session, agency: Agency, lo: int, hi: int) -> list:
    corrected = {c for (c,) in session.execute(select(RegisterEntry.corrects_id).where(
        RegisterEntry.agency_id == agency.id, RegisterEntry.corrects_id.is_not(None)))}
    rows = session.execute(select(RegisterEntry.id, RegisterEntry.window_start_ts, RegisterEntry.window_end_ts,
                                  RegisterEntry.case_number, RegisterEntry.subject_id, RegisterEntry.querier)
                           .where(RegisterEntry.agency_id == agency.id, RegisterEntry.withdrawn.is_(False),
                                  RegisterEntry.window_start_ts < hi, RegisterEntry.window_end_ts >= lo)).all()
    return [r for r in rows if r.id not in corrected]


def _pair(logs, entries, aliases, tol) -> dict[int, tuple[int, int]]:
    by_case, by_subject = defaultdict(list), defaultdict(list)
    for e in entries:
        by_case[e.case_number].append(e)
        by_subject[e.subject_id].append(e)
    used, pairs = set(), {}
    for log in logs:
        pool = (e for e in by_case[log.case_number] if e.subject_id in ("", log.subject_id)) if log.case_number \
            else iter(by_subject[log.subject_id])
        best = None
        for e in pool:
            if e.id in used or not e.window_start_ts - tol <= log.query_ts <= e.window_end_ts + tol:
                continue
            same = e.querier == log.account or (aliases.get(e.querier) is not None
                                                and aliases.get(e.querier) == aliases.get(log.account))
            gap = max(0, e.window_start_ts - log.query_ts, log.query_ts - e.window_end_ts)
            key = (0 if same else 1, gap, e.id)
            if best is None or key < best:
                best = key
        if best:
            used.add(best[2])
            pairs[log.id] = (best[2], best[0])
    return pairs


def _holds(intervals, ts) -> bool:
    return any(start <= ts < end for start, end in intervals)


def python_reconcile(session: Session, agency: Agency, period_label: str, tolerance=DEFAULT_TOLERANCE) -> dict:
    """Counts by finding type, computed in Python."""
    period, tol = parse_period(period_label), int(tolerance.total_seconds())
    office = office_context(session, agency, period)
    aliases = _aliases(session)
    grants, known, items = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in session.scalars(select(RoleAssignment).where(RoleAssignment.agency_id == agency.id,
                                                          RoleAssignment.role == "user")):
        grants[r.user_id].append((int(r.granted_at.timestamp()),
                                  int(r.revoked_at.timestamp()) if r.revoked_at else MAX_TS))
    for a in session.scalars(select(AccountApplication).where(AccountApplication.agency_id == agency.id,
                                                              AccountApplication.outcome == "granted")):
        if a.business_items:
            known[a.user_id].append((int(a.decided_at.timestamp()), MAX_TS))
            for item in a.business_items:
                items[(a.user_id, item)].append((int(a.decided_at.timestamp()), MAX_TS))
    q = QueryLogRecord
    logs = session.execute(select(q.id, q.query_ts, q.account, q.subject_id, q.query_item, q.case_number).where(
        q.agency_id == agency.id, q.query_ts >= period.start_ts - tol, q.query_ts < period.end_ts + tol)
        .order_by(q.query_ts)).all()
    entries = _entries(session, agency, period.start_ts - tol, period.end_ts + tol)
    pairs = _pair(logs, entries, aliases, tol)
    counts = dict.fromkeys(FINDING_TYPES, 0)
    workdays = set(office.working_days)
    for log in logs:
        if not period.start_ts <= log.query_ts < period.end_ts:
            continue
        pair = pairs.get(log.id)
        counts["logged_not_registered" if pair is None else "matched" if pair[1] == 0 else "querier_mismatch"] += 1
        local = log.query_ts + office.offset
        counts["off_hours"] += not (local // 86400 in workdays and office.opens <= local % 86400 < office.closes)
        user = aliases.get(log.account)
        counts["unauthorized_account"] += user is None or not _holds(grants[user], log.query_ts)
        counts["outside_business_scope"] += bool(user is not None and _holds(known[user], log.query_ts)
                                                 and not _holds(items[(user, log.query_item)], log.query_ts))
    matched_entries = {entry for entry, _ in pairs.values()}
    counts["registered_not_logged"] = sum(1 for e in entries if period.start_ts <= e.window_start_ts < period.end_ts
                                          and e.id not in matched_entries)
    return counts
