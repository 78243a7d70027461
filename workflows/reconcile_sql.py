"""The reconciliation's statements: portable SQL (SQLite and PostgreSQL) over epoch-second integers."""
# ruff: noqa: S608  (every statement is built from the constant fragments below; values are bound parameters)

import re

_LOCAL = "(q.query_ts + :offset)"
_SECOND_OF_DAY = f"({_LOCAL} - ({_LOCAL} / 86400) * 86400)"
# Log records of the month and of the tolerance on either side (those may take entries at the edges), each with
# its R6.3 flags, which depend on the record alone: computed in this one pass, they leave rc_log narrow (no
# query item or grant coverage to carry through the sort and the later passes).
_LOG_SELECT = f"""
SELECT q.id AS log_id, q.query_ts AS ts, q.case_number AS case_number, q.subject_id AS subject_id,
       q.account AS account, a.user_id AS user_id,
       CASE WHEN q.query_ts >= :p0 AND q.query_ts < :p1 THEN 1 ELSE 0 END AS in_period,
  CASE WHEN {_LOCAL} / 86400 IN :workdays AND {_SECOND_OF_DAY} >= :opens AND {_SECOND_OF_DAY} < :closes
       THEN 0 ELSE 1 END AS off_hours,
  CASE WHEN a.user_id IS NULL OR a.auth = 1 THEN 1 WHEN a.auth = 0 THEN 0
       WHEN NOT EXISTS (SELECT 1 FROM rc_grant g WHERE g.user_id = a.user_id
                        AND g.from_ts <= q.query_ts AND g.to_ts > q.query_ts) THEN 1 ELSE 0 END AS unauthorized,
  CASE WHEN a.user_id IS NULL OR a.scope = 1 THEN 0
       WHEN a.scope = 2 AND NOT EXISTS (SELECT 1 FROM rc_known k WHERE k.user_id = a.user_id
                                        AND k.from_ts <= q.query_ts AND k.to_ts > q.query_ts) THEN 0
       WHEN NOT EXISTS (SELECT 1 FROM rc_scope s WHERE s.user_id = a.user_id AND s.item = q.query_item
                        AND s.from_ts <= q.query_ts AND s.to_ts > q.query_ts) THEN 1 ELSE 0 END AS outside_scope
FROM query_log_record q LEFT JOIN rc_alias a ON a.alias = q.account
WHERE q.agency_id = :a AND q.query_ts >= :lo AND q.query_ts < :hi
"""
# Ties (same querier, same time gap) go to the smaller id on either side, on SQLite and PostgreSQL alike: an entry
# chooses the log record imported first (lowest log id), a log record the entry recorded first.
# SQLite keys rc_log's rows by their rowid, the order it read them in (query time), and carries each record's id
# beside that key as the tie-break (TIE_ID): rc_cand, clustered by (log key, entry), fills in key order and the
# per-log GROUP BY needs no sort. PostgreSQL hashes on log_id, which is both key and tie-break.
LOG_KEY = "__LOG_KEY__"
TIE_ID = "__TIE_ID__"
# SQLite carries each entry's window start with its candidates and pairs and keys the entries by (window start,
# id): candidates come in log time order, near their entries' window starts, and the month's entries, read from
# the period index in that same order, probe rc_best_entry and rc_match's entry index sequentially, not at random.
# Written as `, <alias>.__ENTRY_TS__` / `AND <alias>.__ENTRY_TS__ = ...`.
ENTRY_TS = "__ENTRY_TS__"
_SQLITE_CAND = ("CREATE TEMP TABLE {name} (log_id INTEGER NOT NULL, entry_id INTEGER NOT NULL, rank INTEGER NOT NULL, "
                "entry_ts INTEGER NOT NULL, tie_id INTEGER NOT NULL, PRIMARY KEY (log_id, entry_id)) WITHOUT ROWID")


def _keyed(sql: str, is_pg: bool) -> str:
    """The dialect's log key; the entry window start and the log id beside the key kept (SQLite) or left out."""
    if is_pg:
        sql = re.sub(r",\s*\w+\.__ENTRY_TS__(?: AS entry_ts)?|\s+AND \w+\.__ENTRY_TS__ = [\w.]+", "", sql)
        sql = re.sub(r",\s*\w+\.__TIE_ID__(?: AS tie_id)?", "", sql)
    else:
        sql = sql.replace(f"r.{ENTRY_TS}", "r.window_start_ts").replace(ENTRY_TS, "entry_ts")
        sql = sql.replace(f"l.{TIE_ID}", "l.log_id").replace(TIE_ID, "tie_id")
    return sql.replace(LOG_KEY, "l.log_id" if is_pg else "l.rowid")


def _create(name: str, select: str, is_pg: bool, sqlite_ddl: str | None = None) -> list[str]:
    if is_pg or sqlite_ddl is None:
        return [f"CREATE TEMP TABLE {name} AS {_keyed(select, is_pg)}"]
    return [sqlite_ddl.format(name=name), f"INSERT INTO {name} {_keyed(select, is_pg)}"]


def log_rows(is_pg: bool) -> list[str]:
    """Statements that fill rc_log, in the order the database reads them (no sort: the tie-break is the log id)."""
    return _create("rc_log", _LOG_SELECT, is_pg)


# A candidate's preference as one integer, smallest best: another querier (bit 58), then the time gap (22 bits,
# capped at ~48 days), then the other side's id (36 bits): MIN(rank + id) is the best candidate, its low bits who.
ID_BITS = 2**36
GAP_CAP = 2**22 - 1
OTHER_BIT = 2**58
_GAP = """CASE WHEN l.ts < r.window_start_ts THEN r.window_start_ts - l.ts
            WHEN l.ts > r.window_end_ts THEN l.ts - r.window_end_ts ELSE 0 END"""
_CANDIDATE_COLUMNS = f"""
SELECT {LOG_KEY} AS log_id, r.id AS entry_id,
       CASE WHEN r.querier = l.account
              OR (SELECT ra.user_id FROM rc_alias ra WHERE ra.alias = r.querier) = l.user_id
            THEN 0 ELSE {OTHER_BIT} END
       + (CASE WHEN {_GAP} > {GAP_CAP} THEN {GAP_CAP} ELSE {_GAP} END) * {ID_BITS} AS rank, r.{ENTRY_TS} AS entry_ts,
       l.{TIE_ID} AS tie_id
FROM rc_log l
"""
_EFFECTIVE_IN_WINDOW = """
WHERE r.window_end_ts >= l.ts - :tol AND r.withdrawn = :f AND r.id NOT IN (SELECT entry_id FROM rc_corrected)
"""
# CROSS JOIN keeps SQLite's join order (each log record probes the register's index), whatever its statistics.
# R3.4 / R6.6 one-by-one comparison: a log record with a case number pairs by case (subject agreeing when
# both are written); one without pairs by subject. Entries are effective ones (not corrected, not withdrawn).
_CANDIDATES = f"""
{_CANDIDATE_COLUMNS}
CROSS JOIN register_entry r
{_EFFECTIVE_IN_WINDOW} AND l.case_number <> '' AND r.agency_id = :a AND r.case_number = l.case_number
 AND r.window_start_ts >= l.ts - :span AND r.window_start_ts <= l.ts + :tol
 AND (r.subject_id = '' OR r.subject_id = l.subject_id)
UNION ALL
{_CANDIDATE_COLUMNS}
CROSS JOIN register_entry r
{_EFFECTIVE_IN_WINDOW} AND l.case_number = '' AND r.agency_id = :a AND r.subject_id = l.subject_id
 AND r.window_start_ts >= l.ts - :span AND r.window_start_ts <= l.ts + :tol
"""


# PostgreSQL hashes the register for the pairing by case; a FULL JOIN also keeps the log records and the entries
# that found no candidate, each as a one-sided row (entry_id or log_id NULL); every row carries the log record's
# flags and whether the entry is of the month (marks). A log record or entry outside any contest (the common
# case: a log record and an entry that are each other's only candidate) is then read from rc_cand alone, without
# anti-joining a million pairs against the log records and the month's entries (_FAST_RESULT, FAST_ENTRIES).
# Entries without a candidate by case may still have one by subject (BY_SUBJECT rows).
_PG_ENTRIES = """
(SELECT id, case_number, subject_id, querier, window_start_ts, window_end_ts FROM register_entry
 WHERE agency_id = :a AND withdrawn = :f AND id NOT IN (SELECT entry_id FROM rc_corrected)
   AND window_start_ts >= :lo - :span AND window_start_ts <= :hi + :tol) r
"""
# One integer of marks per row, to keep rc_cand narrow: the log record's flags, then the entry's and the branch's.
OUTSIDE_SCOPE, UNAUTHORIZED, OFF_HOURS, IN_PERIOD, MONTH_ENTRY, BY_SUBJECT = 1, 2, 4, 8, 16, 32
_PG_COLUMNS = _CANDIDATE_COLUMNS.replace("\nFROM rc_log l", f""",
       COALESCE(l.outside_scope * {OUTSIDE_SCOPE} + l.unauthorized * {UNAUTHORIZED} + l.off_hours * {OFF_HOURS}
                + l.in_period * {IN_PERIOD}, 0)
       + CASE WHEN r.window_start_ts >= :p0 AND r.window_start_ts < :p1 THEN {MONTH_ENTRY} ELSE 0 END""")
_PG_CANDIDATES = f"""
{_PG_COLUMNS} AS marks
FROM (SELECT * FROM rc_log WHERE case_number <> '') l
FULL JOIN {_PG_ENTRIES}
  ON r.case_number = l.case_number AND r.window_end_ts >= l.ts - :tol
 AND r.window_start_ts >= l.ts - :span AND r.window_start_ts <= l.ts + :tol
 AND (r.subject_id = '' OR r.subject_id = l.subject_id)
UNION ALL
{_PG_COLUMNS} + {BY_SUBJECT} AS marks
FROM (SELECT * FROM rc_log WHERE case_number = '') l
LEFT JOIN register_entry r
  ON r.agency_id = :a AND r.subject_id = l.subject_id
 AND r.window_start_ts >= l.ts - :span AND r.window_start_ts <= l.ts + :tol
 AND r.window_end_ts >= l.ts - :tol AND r.withdrawn = :f AND r.id NOT IN (SELECT entry_id FROM rc_corrected)
"""
BOTH_SIDES = "log_id IS NOT NULL AND entry_id IS NOT NULL"  # a candidate, not a one-sided row (PostgreSQL)
CANDIDATE_COUNT = f"SELECT COUNT(*) FROM rc_cand WHERE {BOTH_SIDES}"


def candidates(is_pg: bool) -> list[str]:
    """Statements that fill rc_cand: every (log record, register entry) pair that may match, with its rank."""
    return _create("rc_cand", _PG_CANDIDATES if is_pg else _CANDIDATES, is_pg, _SQLITE_CAND)


_ID_OF = "({k} - ({k} / {bits}) * {bits})"  # the low bits of a packed key (a portable modulo)


def round_statements(is_pg: bool) -> list[str]:
    """One pairing round: each side's best candidate, then the pairs that chose each other go into rc_match.

    A log record prefers the smallest (other querier, gap, entry id), an entry the smallest (other querier, gap,
    log id): ties go to the lower id on both databases."""
    log_pick, entry_pick = _ID_OF.format(k="b.k", bits=ID_BITS), _ID_OF.format(k="e.k", bits=ID_BITS)
    best_log = "SELECT log_id, MIN(rank + entry_id) AS k FROM rc_cand GROUP BY log_id"
    pick = (f"INSERT INTO rc_match SELECT b.log_id, {log_pick}, b.k / {OTHER_BIT}, e.{ENTRY_TS} FROM {{best_log}} b "
            f"JOIN rc_best_entry e ON e.entry_id = {log_pick} AND {entry_pick} = b.{{tie}}")
    if is_pg:  # PostgreSQL groups both sides (sorting: reconcile._planner) and joins them in one statement
        best_entry = f"SELECT entry_id, MIN(rank + log_id) AS k FROM rc_cand WHERE {BOTH_SIDES} GROUP BY entry_id"
        best_log = best_log.replace("GROUP BY", f"WHERE {BOTH_SIDES} GROUP BY")
        pick = pick.replace("JOIN rc_best_entry e", f"JOIN ({best_entry}) e").format(best_log=f"({best_log})",
                                                                                   tie="log_id")
        return [_keyed(pick, is_pg)]
    # SQLite: each entry's best kept by an upsert (cheaper than sorting a million candidates for a GROUP BY), keyed
    # by the entry's window start before its id: candidates come in log time order, and their entries' window
    # starts lie within the tolerance of it, so the upserts (and the pick's lookups) stay in a narrow band of the
    # b-tree instead of jumping over all of it. The per-log best streams from rc_cand's (log, entry) order into the
    # pick without a table of its own (CROSS JOIN: a co-routine, not a materialized subquery); the best row's
    # entry_ts comes with MIN (SQLite takes a bare column from the row holding the minimum). The entry's choice is
    # by the log id (tie_id, constant per log key), not by the key.
    best_log = best_log.replace(" AS k ", " AS k, tie_id, entry_ts ")
    pick = pick.replace("JOIN rc_best_entry e ON e.entry_id", "CROSS JOIN rc_best_entry e ON e.entry_ts = b.entry_ts "
                        "AND e.entry_id").replace(f"e.{ENTRY_TS} FROM", f"b.{ENTRY_TS} FROM")
    # n: the entry's number of candidates (those of more than one are contested).
    return ["CREATE TEMP TABLE rc_best_entry (entry_ts INTEGER NOT NULL, entry_id INTEGER NOT NULL, "
            "k INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (entry_ts, entry_id)) WITHOUT ROWID",
            "INSERT INTO rc_best_entry SELECT entry_ts, entry_id, rank + tie_id, 1 FROM rc_cand WHERE 1 "
            "ON CONFLICT (entry_ts, entry_id) DO UPDATE SET k = MIN(k, excluded.k), n = n + 1",
            _keyed(pick.format(best_log=f"({best_log})", tie="tie_id"), is_pg)]


def uncontested(is_pg: bool) -> str:
    """A query true when every log record and every entry has at most one candidate (of :n, rc_cand's count): then
    each candidate is a pair and no round is needed. SQLite counts the entries in the first round's rc_best_entry,
    and the log keys along rc_cand's (log, entry) order; PostgreSQL sorts the ids (no pairs to write)."""
    if is_pg:
        return f"""SELECT COUNT(DISTINCT log_id) = COUNT(*) AND COUNT(DISTINCT entry_id) = COUNT(*) FROM rc_cand
                   WHERE {BOTH_SIDES}"""
    return "SELECT (SELECT COUNT(*) FROM rc_best_entry) = :n AND (SELECT COUNT(DISTINCT log_id) FROM rc_cand) = :n"


def round_tables(is_pg: bool) -> list[str]:
    """The temporary tables one round leaves behind."""
    return [] if is_pg else ["rc_best_entry"]


_REST = f"""
SELECT c.log_id, c.entry_id, c.rank, c.{ENTRY_TS}, c.{TIE_ID} FROM rc_cand c
WHERE c.log_id IS NOT NULL AND c.entry_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM rc_match m WHERE m.log_id = c.log_id)
  AND NOT EXISTS (SELECT 1 FROM rc_match m WHERE m.entry_id = c.entry_id AND m.{ENTRY_TS} = c.entry_ts)
"""


def rest(is_pg: bool) -> list[str]:
    """Statements that fill rc_cand_next with the candidates whose both sides are still unpaired."""
    return _create("rc_cand_next", _REST, is_pg, _SQLITE_CAND)


# The log records of the month that need an explanation (R6.1): a class other than matched, or a flag. Matched
# records without a flag (nearly all) are only counted, never stored. Each log record with its pair (this form
# for SQLite's fast path, rc_match replaced by its candidates; the split paths below read both).
_RESULT = f"""
SELECT l.log_id AS log_id, l.account AS account, m.entry_id AS entry_id,
  CASE WHEN m.log_id IS NULL THEN 'logged_not_registered' WHEN m.other = 0 THEN 'matched'
       ELSE 'querier_mismatch' END AS cls, l.off_hours AS off_hours, l.unauthorized AS unauthorized,
  l.outside_scope AS outside_scope
FROM rc_log l LEFT JOIN rc_match m ON m.log_id = {LOG_KEY}
WHERE l.in_period = 1 AND (m.log_id IS NULL OR m.other <> 0 OR l.off_hours = 1 OR l.unauthorized = 1
                            OR l.outside_scope = 1)
"""


# PostgreSQL, when no candidate is contested: each log record has one row in rc_cand, its pair's or a one-sided
# one, with its flags (see _PG_CANDIDATES); an entry is unpaired when it had no candidate at all.
# _MARK: a flag as an integer, as in rc_log (the same column types for a prepared statement over rc_result); a
# log record's bits are alike on all its rows, so also in MAX(marks).
_MARK = "CASE WHEN c.marks & {bit} <> 0 THEN 1 ELSE 0 END"
_FAST_RESULT = f"""
SELECT c.log_id AS log_id, (SELECT q.account FROM query_log_record q WHERE q.id = c.log_id) AS account,
  c.entry_id AS entry_id, CASE WHEN c.entry_id IS NULL THEN 'logged_not_registered' WHEN c.rank < {OTHER_BIT}
                               THEN 'matched' ELSE 'querier_mismatch' END AS cls,
  {_MARK.format(bit=OFF_HOURS)} AS off_hours, {_MARK.format(bit=UNAUTHORIZED)} AS unauthorized,
  {_MARK.format(bit=OUTSIDE_SCOPE)} AS outside_scope
FROM rc_cand c
WHERE c.log_id IS NOT NULL AND c.marks & {IN_PERIOD} <> 0
  AND (c.entry_id IS NULL OR c.rank >= {OTHER_BIT} OR c.marks & {OFF_HOURS | UNAUTHORIZED | OUTSIDE_SCOPE} <> 0)
"""
FAST_ENTRIES = f"""
CREATE TEMP TABLE rc_entry AS SELECT c.entry_id AS entry_id FROM rc_cand c
WHERE c.log_id IS NULL AND c.marks & {MONTH_ENTRY} <> 0
  AND NOT EXISTS (SELECT 1 FROM rc_cand s WHERE s.marks & {BY_SUBJECT} <> 0 AND s.log_id IS NOT NULL
                  AND s.entry_id = c.entry_id)
"""

# PostgreSQL, when some candidates are contested: only the candidates of a log record or entry with more than one
# go through the rounds (rc_contested, the rounds' rc_cand); every other candidate is its two sides' only one,
# so a pair already (the first round would pair it, and it touches no other candidate). The full table becomes
# rc_cand_all; a log record or entry outside the contest is read from it as in the fast path, one inside from
# the rounds' pairs (rc_match, small).
_LOG_FLAGS = OFF_HOURS | UNAUTHORIZED | OUTSIDE_SCOPE
_MANY = "SELECT {side} FROM rc_cand_all WHERE " + BOTH_SIDES + " GROUP BY {side} HAVING COUNT(*) > 1"
_PG_CONTESTED = [
    "ALTER TABLE rc_cand RENAME TO rc_cand_all",
    # Each side's contested ids once, then a hash join each (a union, not an OR of two subplans probed per row).
    f"""CREATE TEMP TABLE rc_contested AS
        WITH many_log AS MATERIALIZED ({_MANY.format(side="log_id")}),
             many_entry AS MATERIALIZED ({_MANY.format(side="entry_id")})
        SELECT log_id, entry_id, rank, marks FROM rc_cand_all
        WHERE {BOTH_SIDES} AND log_id IN (SELECT log_id FROM many_log)
        UNION SELECT log_id, entry_id, rank, marks FROM rc_cand_all
        WHERE {BOTH_SIDES} AND entry_id IN (SELECT entry_id FROM many_entry)""",
    "ANALYZE rc_contested",
    "CREATE TEMP TABLE rc_cand AS SELECT log_id, entry_id, rank FROM rc_contested",
]
_SPLIT_RESULT = _FAST_RESULT.replace("FROM rc_cand c", "FROM rc_cand_all c") + f"""
  AND NOT EXISTS (SELECT 1 FROM rc_contested x WHERE x.log_id = c.log_id)
UNION ALL
SELECT c.log_id, (SELECT q.account FROM query_log_record q WHERE q.id = c.log_id), m.entry_id,
  CASE WHEN m.log_id IS NULL THEN 'logged_not_registered' WHEN m.other = 0 THEN 'matched'
       ELSE 'querier_mismatch' END,
  {_MARK.format(bit=OFF_HOURS)}, {_MARK.format(bit=UNAUTHORIZED)}, {_MARK.format(bit=OUTSIDE_SCOPE)}
FROM (SELECT log_id, MAX(marks) AS marks FROM rc_contested GROUP BY log_id) c
LEFT JOIN rc_match m ON m.log_id = c.log_id
WHERE c.marks & {IN_PERIOD} <> 0 AND (m.log_id IS NULL OR m.other <> 0 OR c.marks & {_LOG_FLAGS} <> 0)
"""
_SPLIT_ENTRIES = FAST_ENTRIES.replace("rc_cand ", "rc_cand_all ") + f"""
UNION ALL
SELECT DISTINCT x.entry_id FROM rc_contested x
WHERE x.marks & {MONTH_ENTRY} <> 0 AND NOT EXISTS (SELECT 1 FROM rc_match m WHERE m.entry_id = x.entry_id)
"""

# SQLite: contested log keys along rc_cand's order, contested entries from the first rc_best_entry's counts (kept
# as rc_best_entry_all: the entries with any candidate), and the log records in the rounds (rc_round_log).
_SQLITE_CONTESTED = [
    "ALTER TABLE rc_cand RENAME TO rc_cand_all",
    "ALTER TABLE rc_best_entry RENAME TO rc_best_entry_all",
    "CREATE TEMP TABLE rc_many_log (log_id INTEGER PRIMARY KEY)",
    "INSERT INTO rc_many_log SELECT log_id FROM rc_cand_all GROUP BY log_id HAVING COUNT(*) > 1",
    "CREATE TEMP TABLE rc_many_entry (entry_ts INTEGER NOT NULL, entry_id INTEGER NOT NULL, "
    "PRIMARY KEY (entry_ts, entry_id)) WITHOUT ROWID",
    "INSERT INTO rc_many_entry SELECT entry_ts, entry_id FROM rc_best_entry_all WHERE n > 1",
    _SQLITE_CAND.format(name="rc_contested"),
    "INSERT INTO rc_contested SELECT * FROM rc_cand_all c WHERE c.log_id IN (SELECT log_id FROM rc_many_log) "
    "OR EXISTS (SELECT 1 FROM rc_many_entry x WHERE x.entry_ts = c.entry_ts AND x.entry_id = c.entry_id)",
    "CREATE TEMP TABLE rc_round_log (log_id INTEGER PRIMARY KEY)",
    "INSERT INTO rc_round_log SELECT DISTINCT log_id FROM rc_contested",
    _SQLITE_CAND.format(name="rc_cand"),
    "INSERT INTO rc_cand SELECT * FROM rc_contested",
]


def contested(is_pg: bool) -> list[str]:
    """Statements that set the contested candidates apart: rc_cand becomes rc_cand_all, the contested ones are
    kept in rc_contested and copied into a new rc_cand for the rounds."""
    return _PG_CONTESTED if is_pg else _SQLITE_CONTESTED


# SQLite, when every candidate is a pair: each log record's candidate, if any, is its pair (rc_cand's log key
# order is rc_log's).
_SQLITE_FAST_RESULT = _RESULT.replace("LEFT JOIN rc_match m", "LEFT JOIN rc_cand m").replace(
    "m.other = 0", f"m.rank < {OTHER_BIT}").replace("m.other <> 0", f"m.rank >= {OTHER_BIT}")


# SQLite, when some candidates are contested: a log record in the rounds takes its class from rc_match (the
# rounds' pairs), any other from its candidate, if any (uncontested, so its pair).
_SQLITE_SPLIT_RESULT = f"""
SELECT log_id, account, entry_id, cls, off_hours, unauthorized, outside_scope FROM (
SELECT l.log_id AS log_id, l.account AS account, l.in_period AS in_period,
  CASE WHEN x.log_id IS NULL THEN c.entry_id ELSE m.entry_id END AS entry_id,
  CASE WHEN x.log_id IS NULL THEN (CASE WHEN c.log_id IS NULL THEN 'logged_not_registered'
                                        WHEN c.rank < {OTHER_BIT} THEN 'matched' ELSE 'querier_mismatch' END)
       WHEN m.log_id IS NULL THEN 'logged_not_registered' WHEN m.other = 0 THEN 'matched'
       ELSE 'querier_mismatch' END AS cls,
  l.off_hours AS off_hours, l.unauthorized AS unauthorized, l.outside_scope AS outside_scope
FROM rc_log l LEFT JOIN rc_round_log x ON x.log_id = l.rowid
LEFT JOIN rc_match m ON m.log_id = l.rowid
LEFT JOIN rc_cand_all c ON x.log_id IS NULL AND c.log_id = l.rowid)
WHERE in_period = 1 AND (cls <> 'matched' OR off_hours = 1 OR unauthorized = 1 OR outside_scope = 1)
"""


def result_rows(is_pg: bool, fast: bool = False) -> str:
    """The statement that fills rc_result: the month's log records with a finding, their class and R6.3 flags."""
    if is_pg:
        return _create("rc_result", _FAST_RESULT if fast else _SPLIT_RESULT, is_pg)[0]
    return _create("rc_result", _SQLITE_FAST_RESULT if fast else _SQLITE_SPLIT_RESULT, is_pg)[0]


# Counts: the month's log records (rc_log alone); every other class and every flag is in rc_result.
LOG_TOTAL = "SELECT COUNT(*) FROM rc_log WHERE in_period = 1"
RESULT_COUNTS = """
SELECT SUM(CASE WHEN cls = 'querier_mismatch' THEN 1 ELSE 0 END),
       SUM(CASE WHEN cls = 'logged_not_registered' THEN 1 ELSE 0 END),
       SUM(off_hours), SUM(unauthorized), SUM(outside_scope) FROM rc_result
"""

# Every record needing an explanation (R6.1): each class but matched, each flag, each unmatched entry.
FINDINGS = """
INSERT INTO reconciliation_finding (run_id, finding_type, log_record_id, register_entry_id, account)
SELECT :run, cls, log_id, entry_id, account FROM rc_result WHERE cls <> 'matched'
UNION ALL SELECT :run, 'off_hours', log_id, entry_id, account FROM rc_result WHERE off_hours = 1
UNION ALL SELECT :run, 'unauthorized_account', log_id, entry_id, account FROM rc_result WHERE unauthorized = 1
UNION ALL SELECT :run, 'outside_business_scope', log_id, entry_id, account FROM rc_result WHERE outside_scope = 1
UNION ALL SELECT :run, 'registered_not_logged', NULL, e.entry_id, r.querier FROM rc_entry e
  JOIN register_entry r ON r.id = e.entry_id
"""

# The effective register entries of the month, counted from the period index.
_MONTH_ENTRIES = """
FROM register_entry r
WHERE r.agency_id = :a AND r.withdrawn = :f AND r.window_start_ts >= :p0 AND r.window_start_ts < :p1
  AND r.id NOT IN (SELECT entry_id FROM rc_corrected)
"""
ENTRY_TOTAL = f"SELECT COUNT(*) {_MONTH_ENTRIES}"

# SQLite, the month's entries left unpaired: those without a candidate, absent from the first rc_best_entry
# (probed in the same (window start, id) order as the period index reads them); with some candidates contested,
# also the contested entries the rounds left unpaired (rc_match's entry index, small).
_SQLITE_FAST_ENTRIES = f"""
CREATE TEMP TABLE rc_entry AS SELECT r.id AS entry_id {_MONTH_ENTRIES}
  AND NOT EXISTS (SELECT 1 FROM rc_best_entry b WHERE b.entry_ts = r.window_start_ts AND b.entry_id = r.id)
"""
_SQLITE_SPLIT_ENTRIES = _SQLITE_FAST_ENTRIES.replace("rc_best_entry b", "rc_best_entry_all b") + """
UNION ALL
SELECT DISTINCT x.entry_id FROM rc_contested x
WHERE x.entry_ts >= :p0 AND x.entry_ts < :p1
  AND NOT EXISTS (SELECT 1 FROM rc_match m WHERE m.entry_ts = x.entry_ts AND m.entry_id = x.entry_id)
"""


def entry_rows(is_pg: bool, fast: bool = False) -> str:
    """The statement that fills rc_entry with the month's effective entries left unpaired."""
    if is_pg:
        return FAST_ENTRIES if fast else _SPLIT_ENTRIES
    return _SQLITE_FAST_ENTRIES if fast else _SQLITE_SPLIT_ENTRIES
