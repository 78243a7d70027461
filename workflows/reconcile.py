"""Per-record reconciliation of the register (Form 2) against the WebIR query log (R3.4, R6.6, R8.1.2).

Set-based SQL over temporary tables, the same statements on SQLite and PostgreSQL; times are integer epoch
seconds, so windows are integer ranges. Pairing is one-to-one: candidates agree on case number and subject
(a blank side agrees with anything, at least one of them must be known on both sides) and lie within the
tolerance; each round pairs the log records and entries that are each other's best candidate (same querier
first, then nearest time, then the lower id: the log record imported first, the entry recorded first; one rule
on both databases, so they give the same findings), until no candidate is left. Classes and flags are those of
INTERFACES.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine import audit, calendar, clock
from engine.models import Agency
from engine.scripts import REGISTRY, ServiceCall
from workflows.clauses import implements
from workflows.models_records import ReconciliationRun
from workflows.query_explanation import open_explanations
from workflows.reconcile_context import Period, load_context
from workflows.reconcile_sql import (
    CANDIDATE_COUNT,
    ENTRY_TOTAL,
    FINDINGS,
    LOG_TOTAL,
    RESULT_COUNTS,
    candidates,
    contested,
    entry_rows,
    log_rows,
    rest,
    result_rows,
    round_statements,
    round_tables,
    uncontested,
)

CLASSES = ("matched", "logged_not_registered", "querier_mismatch", "registered_not_logged")
FLAGS = ("off_hours", "unauthorized_account", "outside_business_scope")
FINDING_TYPES = CLASSES + FLAGS
DEFAULT_TOLERANCE = dt.timedelta(days=1)
MAX_ROUNDS = 100
SQLITE_CACHE_KIB = -262144  # 256 MiB of page cache while reconciling
SQLITE_MMAP_BYTES = 1 << 30
PG_TEMP_BUFFERS = "1GB"
TEMP_TABLES = ("rc_best_log", "rc_best_entry", "rc_entry", "rc_result", "rc_cand", "rc_cand_next", "rc_match",
               "rc_cand_all", "rc_contested", "rc_best_entry_all", "rc_many_log", "rc_many_entry", "rc_round_log",
               "rc_log", "rc_alias", "rc_grant", "rc_scope", "rc_known", "rc_corrected")


@dataclass
class Reconciliation:
    """Counts of one reconciliation by finding type, with the R3.3 totals and the stored run's id."""

    agency: str
    period: str
    counts: dict[str, int]
    log_records: int
    register_entries: int
    run_id: int | None = None

    def summary_line(self) -> str:
        """The R3.3 count comparison: register entries against query-log records of the month."""
        difference = self.log_records - self.register_entries
        verdict = "相符 agree" if difference == 0 else "不符 differ"
        return (f"R3.3 {self.agency} {self.period}: 登記簿 register entries {self.register_entries}, "
                f"查詢紀錄 query-log records {self.log_records}, 差 difference {difference:+d} ({verdict})")


def parse_period(label: str) -> Period:
    """A `YYYY-MM` month (or a `YYYY-Qn` quarter, R8.1.1) as local [start, end) epoch seconds."""
    text_label = (label or "").strip().upper()
    month = re.fullmatch(r"(\d{4})-(\d{2})", text_label)
    quarter = re.fullmatch(r"(\d{4})-Q([1-4])", text_label)
    if month and 1 <= int(month.group(2)) <= 12:
        first, months = dt.date(int(month.group(1)), int(month.group(2)), 1), 1
    elif quarter:
        first, months = dt.date(int(quarter.group(1)), 3 * int(quarter.group(2)) - 2, 1), 3
    else:
        raise ValueError(f"period must be YYYY-MM (e.g. 2024-05), not {label!r}")
    following = calendar.add_months(first, months)
    start, end = calendar.start_of_day(first), calendar.start_of_day(following)
    return Period(text_label, first, following, int(start.timestamp()), int(end.timestamp()))


@implements("R3.4", "R6.1", "R6.3", "R6.6", "R8.1.2")
def reconcile(session: Session, agency: Agency, period_label: str,
              tolerance: dt.timedelta = DEFAULT_TOLERANCE, actor: str | None = None,
              persist: bool = True) -> Reconciliation:
    """Reconcile one agency's month; with `persist`, store the run and one finding per anomaly (R6.1, R6.5)."""
    period = parse_period(period_label)
    tol = int(tolerance.total_seconds())
    if tol < 0:
        raise ValueError("tolerance must not be negative")
    is_pg = session.get_bind().dialect.name == "postgresql"
    _drop_temp(session)
    restore = _working_memory(session, is_pg)
    context = load_context(session, agency, period, is_pg)
    params = {"a": agency.id, "p0": period.start_ts, "p1": period.end_ts, "lo": period.start_ts - tol,
              "hi": period.end_ts + tol, "tol": tol, "span": tol + 86400, "f": False,
              "workdays": context.working_days or [-1], "offset": context.offset, "opens": context.opens,
              "closes": context.closes}
    fast = _match(session, params, is_pg)
    with _planner(session, is_pg, enable_nestloop="off"):
        _exec(session, result_rows(is_pg, fast))
    result = _count(session, agency, period, params, is_pg, fast)
    if persist:
        result.run_id = _persist(session, agency, period, tol, result, actor)
    _drop_temp(session)
    for statement in restore:
        session.execute(text(statement))
    return result


def _working_memory(session: Session, is_pg: bool) -> list[str]:
    """Room to sort and hash in memory for this run; the statements that undo it (SQLite's are per connection)."""
    if is_pg:
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        # The planner's cost of a million rows triggers JIT compilation, which costs more than it saves here.
        session.execute(text("SET LOCAL jit = off"))
        _pg_temp_buffers(session)
        return []
    cache_size = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}"))
    session.execute(text("PRAGMA threads = 2"))  # helper threads for large sorts (GROUP BY of the pairing)
    session.execute(text(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}"))  # read the database file without copying
    if not session.connection().connection.dbapi_connection.in_transaction:
        # Temporary tables in memory (SQLite allows the switch only outside a write transaction; it stays on
        # for this pooled connection, which suits its other temporary b-trees too).
        session.execute(text("PRAGMA temp_store = MEMORY"))
    return [f"PRAGMA cache_size = {int(cache_size)}"]


def _pg_temp_buffers(session: Session) -> None:
    """Temporary tables in memory rather than 8 MB of buffers spilling to disk, when PostgreSQL still allows it."""
    # Accepted only before the session's first temporary table: tried in a savepoint, skipped when refused.
    try:
        with session.begin_nested():
            session.execute(text(f"SET LOCAL temp_buffers = '{PG_TEMP_BUFFERS}'"))
    except DBAPIError:
        pass


def _exec(session: Session, sql: str, params: dict | None = None) -> None:
    statement = text(sql)
    if ":workdays" in sql:  # the month's working days, an IN list
        statement = statement.bindparams(bindparam("workdays", expanding=True))
    session.execute(statement, params or {})


def _drop_temp(session: Session) -> None:
    for name in TEMP_TABLES:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _match(session: Session, params: dict, is_pg: bool) -> bool:
    """Candidates, then rounds of mutual-best pairing until no candidate is left (each round pairs at least one);
    whether no candidate was contested (no round ran)."""
    _run(session, log_rows(is_pg) + candidates(is_pg), params, is_pg, "rc_log", "rc_cand")
    if is_pg:  # hash joins: no index to maintain on a million inserted pairs
        _exec(session, "CREATE TEMP TABLE rc_match (log_id BIGINT NOT NULL, entry_id BIGINT NOT NULL, "
                       "other INTEGER NOT NULL)")
    else:  # nested loops: INTEGER PRIMARY KEY is the rowid itself, one lookup per probe
        _exec(session, "CREATE TEMP TABLE rc_match (log_id INTEGER PRIMARY KEY, entry_id BIGINT NOT NULL, "
                       "other INTEGER NOT NULL, entry_ts BIGINT NOT NULL)")
    with _planner(session, is_pg, enable_nestloop="off"):
        fast = _rounds(session, is_pg)
    if not is_pg and not fast:  # for the anti-join of the contested entries
        _index_pairs_by_entry(session)
    return fast


def _index_pairs_by_entry(session: Session) -> None:
    """SQLite: rc_match by entry, for the anti-joins; built once (a sort), not maintained row by row."""
    _exec(session, "CREATE UNIQUE INDEX IF NOT EXISTS ix_rc_match_entry ON rc_match (entry_ts, entry_id)")


def _run(session: Session, statements: list[str], params: dict, is_pg: bool, *analyze: str) -> None:
    for statement in statements:
        _exec(session, statement, params)
    for name in analyze if is_pg else ():
        _exec(session, f"ANALYZE {name}")


def _rounds(session: Session, is_pg: bool) -> bool:
    """The pairing rounds; whether none was needed: every log record and entry had at most one candidate (the
    common case, and the fast path of the findings: each candidate is a pair, and a log record or entry is
    unpaired exactly when it had none; SQLite keeps rc_best_entry, every entry with a candidate). Otherwise the
    rounds run on the contested candidates alone (`contested`): the others are pairs already."""
    remaining = session.execute(text(CANDIDATE_COUNT)).scalar()
    *best, pick = round_statements(is_pg)
    _run(session, best, {}, is_pg)
    if session.execute(text(uncontested(is_pg)), {"n": remaining}).scalar():
        return True
    with _planner(session, is_pg, enable_hashagg="off"):  # the rounds for the contested candidates only
        _run(session, contested(is_pg), {}, is_pg, "rc_cand")
    remaining = session.execute(text(CANDIDATE_COUNT)).scalar()
    for _ in range(MAX_ROUNDS):
        _run(session, best, {}, is_pg)
        paired = _pick(session, pick, is_pg)
        if is_pg:
            _exec(session, "ANALYZE rc_match")
        if paired == remaining:  # every candidate was a pair: none is left
            return False
        _run(session, [f"DROP TABLE {name}" for name in round_tables(is_pg)], {}, is_pg)
        if not is_pg:  # for the next round's anti-join
            _index_pairs_by_entry(session)
        _run(session, rest(is_pg), {}, is_pg, "rc_cand_next")
        _run(session, ["DROP TABLE rc_cand", "ALTER TABLE rc_cand_next RENAME TO rc_cand"], {}, is_pg)
        remaining = session.execute(text("SELECT COUNT(*) FROM rc_cand")).scalar()
        if not remaining:
            return False
    return False


def _pick(session: Session, pick: str, is_pg: bool) -> int:
    """Run a round's pick; the number of pairs it made."""
    with _planner(session, is_pg, enable_hashagg="off"):
        return session.execute(text(pick)).rowcount


@contextmanager
def _planner(session: Session, is_pg: bool, **settings: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements inside only (the caller's come back after them).

    enable_hashagg off: a million candidates are grouped by sorting rather than hashing, cheaper here (and nearly
    free by log, whose candidates the join wrote in log order). enable_nestloop off for the statements over the
    temporary tables, which have no index: an anti-join estimated to leave a row or two would otherwise scan a
    million pairs once per row it really leaves (minutes, not a second, when a thousand candidates are left)."""
    if not is_pg:
        yield
        return
    previous = {name: session.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar()
                for name in settings}
    for name, value in settings.items():
        session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
    try:
        yield
    finally:
        for name, value in previous.items():
            session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


def _count(session: Session, agency: Agency, period: Period, params: dict, is_pg: bool,
           fast: bool) -> Reconciliation:
    counts = dict.fromkeys(FINDING_TYPES, 0)
    total = int(session.execute(text(LOG_TOTAL)).scalar())
    row = session.execute(text(RESULT_COUNTS)).one()
    for key, value in zip(("querier_mismatch", "logged_not_registered") + FLAGS, row, strict=True):
        counts[key] = int(value or 0)
    counts["matched"] = total - counts["querier_mismatch"] - counts["logged_not_registered"]
    entries = int(session.execute(text(ENTRY_TOTAL), params).scalar())
    with _planner(session, is_pg, enable_nestloop="off"):
        session.execute(text(entry_rows(is_pg, fast)), params)
    counts["registered_not_logged"] = int(session.execute(text("SELECT COUNT(*) FROM rc_entry")).scalar())
    return Reconciliation(agency.code, period.label, counts, total, entries)


def _persist(session: Session, agency: Agency, period: Period, tol: int, result: Reconciliation,
             actor: str | None) -> int:
    run = ReconciliationRun(agency_id=agency.id, period=period.label, tolerance_seconds=tol, counts=result.counts,
                            log_records=result.log_records, register_entries=result.register_entries,
                            run_at=clock.now(), run_by=actor)
    session.add(run)
    session.flush()
    session.execute(text(FINDINGS), {"run": run.id})
    audit.record(session, "records_reconciled", actor, agency=agency.code, period=period.label, run=run.id,
                 counts=result.counts, clauses="R3.3,R3.4,R6.3,R6.6,R8.1.2")
    return run.id


def reconcile_records(call: ServiceCall) -> dict:
    """Service task `reconcile_records`: reconcile the instance's agency for the task data's `period` (R8.1.2)."""
    ctx = call.context
    agency = ctx.session.get(Agency, ctx.instance.agency_id)
    actor = ctx.actor.username if getattr(ctx, "actor", None) else None
    result = reconcile(ctx.session, agency, str(call.params.get("period") or call.data.get("period")), actor=actor)
    opened = open_explanations(ctx.session, result.run_id) if call.data.get("open_explanation_tasks") else []
    return {"reconciliation_run_id": result.run_id, "findings": result.counts, "log_records": result.log_records,
            "register_entries": result.register_entries, "explanation_instances": opened}


REGISTRY.service("reconcile_records", reconcile_records)
