"""The set-based pairing against a plain-Python statement of its rules, on a crowded month (R3.4, R6.6).

Few case numbers and subjects, so most log records and entries have several candidates, ties in querier and
time gap, and several pairing rounds; entries dated without a time, corrected and withdrawn entries, blank case
numbers and subjects; three tolerances. The reference follows INTERFACES.md's rule literally: candidates agree
on case (subject agreeing when written) or, without a case number, on subject, within the tolerance; each round
pairs the log records and entries that are each other's best candidate (same querier first, then the nearest
time, then the smaller id: the entry recorded first, the log record imported first), one rule on both databases;
and SQLite and PostgreSQL give every finding alike on the same month.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest
from conftest import PG_URL, _postgres
from sqlalchemy import select

from engine.db import Database
from engine.models import Agency, User
from workflows.models import AccountApplication
from workflows.models_records import QueryLogRecord, ReconciliationFinding, RegisterEntry
from workflows.reconcile import parse_period, reconcile
from workflows.reconcile_sql import GAP_CAP

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import reconcile_bench  # noqa: E402

TPE = dt.timezone(dt.timedelta(hours=8))
ACCOUNTS = [f"u{n:04d}" for n in range(8)] + ["egov.u0001", "egov.u0002", "ghost1"]


def _crowded_month(session, agency: Agency, rng: random.Random, p0: int, p1: int) -> None:
    cases, subjects = [f"C{n}" for n in range(20)], [f"S{n}" for n in range(40)]
    spread = p1 - p0 + 4 * 86400

    def when() -> int:  # most of them in three busy days mid-month, the rest anywhere, edges included
        offset = rng.randrange(spread) if rng.random() < 0.3 else 14 * 86400 + rng.randrange(3 * 86400)
        return p0 - 2 * 86400 + offset // 600 * 600

    pairs = rng.sample([(c, s) for c in [*cases, ""] for s in subjects], 600)  # unique (case, subject) per record
    for case, subject in pairs:
        ts = when()
        session.add(QueryLogRecord(agency_id=agency.id, queried_at=dt.datetime.fromtimestamp(ts, TPE), query_ts=ts,
                                   account=rng.choice(ACCOUNTS), subject_id=subject,
                                   query_item="social_assistance", case_number=case))
    entries = []
    for n in range(600):
        ts = when()
        date_only = rng.random() < 0.3
        start = ts - (ts + 8 * 3600) % 86400 if date_only else ts
        entry = RegisterEntry(agency_id=agency.id, case_number=rng.choice(cases) if rng.random() < 0.9 else "",
                              querier=rng.choice(ACCOUNTS), queried_at=dt.datetime.fromtimestamp(start, TPE),
                              date_only=date_only, window_start_ts=start,
                              window_end_ts=start + 86399 if date_only else start, purpose="p",
                              subject_id=rng.choice(subjects) if rng.random() < 0.5 else "",
                              withdrawn=rng.random() < 0.03, source="file", fingerprint=f"f{n}")
        session.add(entry)
        entries.append(entry)
    session.flush()
    for old in rng.sample(entries, 20):
        session.add(RegisterEntry(agency_id=agency.id, case_number=old.case_number, querier=old.querier,
                                  queried_at=old.queried_at, date_only=old.date_only,
                                  window_start_ts=old.window_start_ts, window_end_ts=old.window_end_ts,
                                  purpose="corrected", subject_id=old.subject_id, withdrawn=False, source="web",
                                  fingerprint=f"c{old.id}", corrects_id=old.id))


def _candidates(logs, entries, aliases: dict, tol: int) -> list[tuple[int, int, tuple[int, int]]]:
    """(log id, entry id, (other querier, time gap)) of every pair the rules allow."""
    span, found = tol + 86400, []
    for q in logs:
        for e in entries:
            if e.window_end_ts < q.query_ts - tol or not q.query_ts - span <= e.window_start_ts <= q.query_ts + tol:
                continue
            if (e.case_number == q.case_number and e.subject_id in ("", q.subject_id) if q.case_number
                    else e.subject_id == q.subject_id):
                who = aliases.get(e.querier)
                other = 0 if e.querier == q.account or (who is not None and who == aliases.get(q.account)) else 1
                gap = min(max(0, e.window_start_ts - q.query_ts, q.query_ts - e.window_end_ts), GAP_CAP)
                found.append((q.id, e.id, (other, gap)))
    return found


def _pair(candidates: list) -> tuple[dict[int, tuple[int, int]], int]:
    """Rounds of mutual best choices, ties to the smaller id: {log id: (entry id, other querier)}, and the rounds."""
    pairs: dict[int, tuple[int, int]] = {}
    rounds = 0
    while candidates:
        rounds += 1
        best_log, best_entry = {}, {}
        for log, entry, rank in candidates:
            best_log[log] = min(best_log.get(log, (rank, entry)), (rank, entry))
            best_entry[entry] = min(best_entry.get(entry, (rank, log)), (rank, log))
        chosen = {log: (entry, rank[0]) for log, (rank, entry) in best_log.items()
                  if best_entry[entry][1] == log}
        assert chosen  # each round pairs at least one
        pairs.update(chosen)
        taken = {entry for entry, _ in chosen.values()}
        candidates = [c for c in candidates if c[0] not in pairs and c[1] not in taken]
    return pairs, rounds


def _reference(session, agency: Agency, period, tol: int) -> tuple[set[tuple], int]:
    """(finding type, log record id, entry id) of every class finding, by the rules stated literally; rounds."""
    aliases = {a.egov_account: a.user_id for a in session.scalars(select(AccountApplication))}
    aliases.update({u.username: u.id for u in session.scalars(select(User))})
    logs = [q for q in session.scalars(select(QueryLogRecord).where(QueryLogRecord.agency_id == agency.id))
            if period.start_ts - tol <= q.query_ts < period.end_ts + tol]
    all_entries = list(session.scalars(select(RegisterEntry).where(RegisterEntry.agency_id == agency.id)))
    corrected = {e.corrects_id for e in all_entries if e.corrects_id}
    entries = [e for e in all_entries if not e.withdrawn and e.id not in corrected]
    pairs, rounds = _pair(_candidates(logs, entries, aliases, tol))
    findings = set()
    for q in logs:
        if period.start_ts <= q.query_ts < period.end_ts and q.id not in pairs:
            findings.add(("logged_not_registered", q.id, None))
        elif period.start_ts <= q.query_ts < period.end_ts and pairs[q.id][1]:
            findings.add(("querier_mismatch", q.id, pairs[q.id][0]))
    paired = {entry for entry, _ in pairs.values()}
    findings |= {("registered_not_logged", None, e.id) for e in entries
                 if period.start_ts <= e.window_start_ts < period.end_ts and e.id not in paired}
    return findings, rounds


def _run_against_the_rules(db: Database, period, hours: int, classes: tuple[str, ...]):
    """Reconcile the month at this tolerance: the run, its findings of these classes as (class, log id, entry id),
    the plain statement of the rules' findings and how many rounds it took."""
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == reconcile_bench.AGENCY))
        result = reconcile(session, agency, period.label, tolerance=dt.timedelta(hours=hours))
        found = {tuple(row) for row in session.execute(
            select(ReconciliationFinding.finding_type, ReconciliationFinding.log_record_id,
                   ReconciliationFinding.register_entry_id)
            .where(ReconciliationFinding.run_id == result.run_id,
                   ReconciliationFinding.finding_type.in_(classes)))}
        expected, rounds = _reference(session, agency, period, hours * 3600)
    return result, found, expected, rounds


@pytest.mark.clause("R3.4", "R6.6")
@pytest.mark.parametrize("seed", [3, 8])
def test_r3_4_pairing_equals_the_rules_on_a_crowded_month(db, seed):
    reconcile_bench._organisation(db, {"users": 8, "scoped_users": 3})
    period = parse_period("2024-06")
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == reconcile_bench.AGENCY))
        _crowded_month(session, agency, random.Random(seed), period.start_ts, period.end_ts)
    classes = ("logged_not_registered", "querier_mismatch", "registered_not_logged")
    for hours in (24, 2, 0):
        result, found, expected, rounds = _run_against_the_rules(db, period, hours, classes)
        assert found == expected
        assert {c: result.counts[c] for c in classes} == {c: sum(f[0] == c for f in expected) for c in classes}
        assert result.counts["matched"] == result.log_records - result.counts["logged_not_registered"] \
            - result.counts["querier_mismatch"]
        if hours == 24:  # crowded: several rounds, and every class plentiful
            assert rounds > 2 and result.counts["matched"] > 100
            assert min(sum(f[0] == c for f in found) for c in classes) > 20


def _sparse_month(session, agency: Agency, rng: random.Random, p0: int, p1: int, contested: str = "") -> None:
    """Mostly one log record per entry, each the other's only candidate, with every one-sided case beside them:
    records and entries with no counterpart (in the month, at its edges, outside it), records without a case
    number paired by subject (their entry's case number matching no record), another querier, date-only,
    withdrawn and corrected entries, blank subjects on the register. `contested`: one entry with two candidate
    records ("entry"; "subject": both without a case number) or one record with two candidate entries ("log")
    among them."""
    def entry(n: int, case: str, subject: str, ts: int, **extra) -> RegisterEntry:
        date_only = n % 4 == 0
        start = ts - (ts + 8 * 3600) % 86400 if date_only else ts
        row = RegisterEntry(agency_id=agency.id, case_number=case, querier=extra.get("querier", ACCOUNTS[n % 8]),
                            queried_at=dt.datetime.fromtimestamp(start, TPE), date_only=date_only,
                            window_start_ts=start, window_end_ts=start + 86399 if date_only else start,
                            purpose="p", subject_id=subject, withdrawn=extra.get("withdrawn", False),
                            source="file", fingerprint=f"f{n}")
        session.add(row)
        return row

    old = []
    for n in range(300):
        ts = p0 - 86400 + rng.randrange(p1 - p0 + 2 * 86400) // 60 * 60
        by_subject = n % 5 == 0
        case, subject = ("" if by_subject else f"C{n}"), f"S{n}"
        session.add(QueryLogRecord(agency_id=agency.id, queried_at=dt.datetime.fromtimestamp(ts, TPE), query_ts=ts,
                                   account=ACCOUNTS[(n + (n % 7 == 0)) % 8], subject_id=subject,
                                   query_item="social_assistance", case_number=case))
        if n % 11 == 3:  # logged, not registered
            continue
        near = ts + rng.randrange(-3600, 3601)
        row = entry(n, f"K{n}" if by_subject else case, "" if n % 3 == 1 and not by_subject else subject, near,
                    withdrawn=n % 23 == 5)
        if n % 17 == 2:
            old.append(row)
        if n == 1 and contested == "entry":
            session.add(QueryLogRecord(agency_id=agency.id, queried_at=dt.datetime.fromtimestamp(ts + 600, TPE),
                                       query_ts=ts + 600, account=ACCOUNTS[1], subject_id=subject,
                                       query_item="social_assistance", case_number=case))
        if n == 1 and contested == "log":
            entry(1000, case, subject, ts + 600)
        if n == 5 and contested == "subject":  # a second record without a case number for the same subject
            session.add(QueryLogRecord(agency_id=agency.id, queried_at=dt.datetime.fromtimestamp(ts + 600, TPE),
                                       query_ts=ts + 600, account=ACCOUNTS[2], subject_id=subject,
                                       query_item="social_assistance", case_number=""))
    for n in range(300, 340):  # registered, not logged: some in the month, some at its edges or outside
        entry(n, f"C{n}", f"S{n}", p0 - 3 * 86400 + rng.randrange(p1 - p0 + 6 * 86400))
    session.flush()
    for n, row in enumerate(old):  # corrected: the correction takes the old entry's place
        session.add(RegisterEntry(agency_id=agency.id, case_number=row.case_number, querier=row.querier,
                                  queried_at=row.queried_at, date_only=row.date_only,
                                  window_start_ts=row.window_start_ts, window_end_ts=row.window_end_ts,
                                  purpose="corrected", subject_id=row.subject_id, withdrawn=False, source="web",
                                  fingerprint=f"c{n}", corrects_id=row.id))


@pytest.mark.clause("R3.4", "R6.6")
@pytest.mark.parametrize("contested", ["", "entry", "subject", "log"])
def test_r3_4_pairing_equals_the_rules_when_candidates_are_uncontested(db, contested):
    """The common case (every candidate uncontested, no pairing round needed), and one contested entry or log
    record among the uncontested ones (rounds needed after all)."""
    reconcile_bench._organisation(db, {"users": 8, "scoped_users": 3})
    period = parse_period("2024-06")
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == reconcile_bench.AGENCY))
        _sparse_month(session, agency, random.Random(5), period.start_ts, period.end_ts, contested)
    classes = ("logged_not_registered", "querier_mismatch", "registered_not_logged")
    for hours in (24, 0):
        result, found, expected, rounds = _run_against_the_rules(db, period, hours, classes)
        assert found == expected
        assert rounds == 1  # one round pairs all: at most one candidate per record and entry, or one contest
        if hours == 24:
            assert {c: sum(f[0] == c for f in found) > 5 for c in classes} == dict.fromkeys(classes, True)
            assert result.counts["matched"] > 150


def _findings_of_crowded_month(db: Database, seed: int) -> tuple[list[tuple], dict[int, list]]:
    """Every finding row of the crowded month at three tolerances, and the log records (to show the ids agree)."""
    reconcile_bench._organisation(db, {"users": 8, "scoped_users": 3})
    period = parse_period("2024-06")
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == reconcile_bench.AGENCY))
        _crowded_month(session, agency, random.Random(seed), period.start_ts, period.end_ts)
    runs = {}
    for hours in (24, 2, 0):
        with db.transaction() as session:
            agency = session.scalar(select(Agency).where(Agency.code == reconcile_bench.AGENCY))
            result = reconcile(session, agency, "2024-06", tolerance=dt.timedelta(hours=hours))
            runs[hours] = sorted((tuple(row) for row in session.execute(
                select(ReconciliationFinding.finding_type, ReconciliationFinding.log_record_id,
                       ReconciliationFinding.register_entry_id, ReconciliationFinding.account)
                .where(ReconciliationFinding.run_id == result.run_id))), key=repr)
    with db.transaction() as session:
        logs = sorted((q.id, q.query_ts, q.account, q.case_number, q.subject_id)
                      for q in session.scalars(select(QueryLogRecord)))
    return logs, runs


@pytest.mark.clause("R3.4", "R6.6")
@pytest.mark.skipif(not PG_URL, reason="needs WEBIR_TEST_DATABASE_URL (PostgreSQL)")
@pytest.mark.parametrize("seed", [3, 8])
def test_r3_4_sqlite_and_postgresql_give_the_same_findings_on_a_crowded_month(tmp_path, seed):
    sqlite = Database(f"sqlite:///{tmp_path / 'crowded.sqlite3'}")
    sqlite.create_all()
    try:
        sqlite_logs, sqlite_runs = _findings_of_crowded_month(sqlite, seed)
    finally:
        sqlite.dispose()
    pg_logs, pg_runs = _findings_of_crowded_month(_postgres(), seed)
    assert sqlite_logs == pg_logs  # the same records under the same ids
    for hours in (24, 2, 0):
        assert len(sqlite_runs[hours]) > 100
        assert sqlite_runs[hours] == pg_runs[hours], f"tolerance {hours} h"
