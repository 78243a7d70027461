"""The reconciliation's statements: portable SQL (SQLite and PostgreSQL) over epoch-second integers."""
# ruff: noqa: S608  (every statement is built from the constant fragments below; values are bound parameters)

# Log records of the month and of the tolerance on either side (those may take entries at the edges).
_LOG_SELECT = """
SELECT q.id AS log_id, q.query_ts AS ts, q.case_number AS case_number, q.subject_id AS subject_id,
       q.account AS account, a.user_id AS user_id, a.auth AS auth, a.scope AS scope, q.query_item AS item,
       CASE WHEN q.query_ts >= :p0 AND q.query_ts < :p1 THEN 1 ELSE 0 END AS in_period
FROM query_log_record q LEFT JOIN rc_alias a ON a.alias = q.account
WHERE q.agency_id = :a AND q.query_ts >= :lo AND q.query_ts < :hi
"""
# SQLite numbers rc_log's rows (rowid) in case order and pairs by that number: rc_cand, clustered by (log, entry),
# then fills in key order and the per-log GROUP BY needs no sort. PostgreSQL hashes on log_id.
LOG_KEY = "__LOG_KEY__"
_SQLITE_CAND = ("CREATE TEMP TABLE {name} (log_id INTEGER NOT NULL, entry_id INTEGER NOT NULL, rank INTEGER NOT NULL, "
                "PRIMARY KEY (log_id, entry_id)) WITHOUT ROWID")


def _keyed(sql: str, is_pg: bool) -> str:
    return sql.replace(LOG_KEY, "l.log_id" if is_pg else "l.rowid")


def _create(name: str, select: str, is_pg: bool, sqlite_ddl: str | None = None) -> list[str]:
    if is_pg or sqlite_ddl is None:
        return [f"CREATE TEMP TABLE {name} AS {_keyed(select, is_pg)}"]
    return [sqlite_ddl.format(name=name), f"INSERT INTO {name} {_keyed(select, is_pg)}"]


def log_rows(is_pg: bool) -> list[str]:
    """Statements that fill rc_log; SQLite's sorted by case so the register's index is probed in order."""
    return _create("rc_log", _LOG_SELECT + ("" if is_pg else "ORDER BY q.case_number, q.subject_id"), is_pg)


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
       + (CASE WHEN {_GAP} > {GAP_CAP} THEN {GAP_CAP} ELSE {_GAP} END) * {ID_BITS} AS rank
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


def candidates(is_pg: bool) -> list[str]:
    """Statements that fill rc_cand: every (log record, register entry) pair that may match, with its rank."""
    return _create("rc_cand", _CANDIDATES, is_pg, _SQLITE_CAND)


_ID_OF = "({k} - ({k} / {bits}) * {bits})"  # the low bits of a packed key (a portable modulo)


def round_statements(is_pg: bool) -> list[str]:
    """One pairing round: each side's best candidate, then the pairs that chose each other go into rc_match."""
    # SQLite appends the sorted groups to rowid-keyed tables so the pick is a rowid lookup; PostgreSQL hashes,
    # so plain (analysed) tables serve it better.
    group = "SELECT {side}_id, MIN(rank + {other}_id) AS k FROM rc_cand GROUP BY {side}_id"
    if is_pg:
        best = (f"CREATE TEMP TABLE rc_best_{{side}} AS {group}", "ANALYZE rc_best_{side}")
    else:
        best = ("CREATE TEMP TABLE rc_best_{side} ({side}_id INTEGER PRIMARY KEY, k BIGINT NOT NULL)",
                f"INSERT INTO rc_best_{{side}} {group}")
    log_pick, entry_pick = _ID_OF.format(k="b.k", bits=ID_BITS), _ID_OF.format(k="e.k", bits=ID_BITS)
    pick = (f"INSERT INTO rc_match SELECT b.log_id, {log_pick}, b.k / {OTHER_BIT} FROM rc_best_log b "
            f"JOIN rc_best_entry e ON e.entry_id = {log_pick} AND {entry_pick} = b.log_id")
    return [template.format(side=side, other=other) for side, other in
            (("log", "entry"), ("entry", "log")) for template in best] + [pick]


_REST = """
SELECT c.log_id, c.entry_id, c.rank FROM rc_cand c
WHERE NOT EXISTS (SELECT 1 FROM rc_match m WHERE m.log_id = c.log_id)
  AND NOT EXISTS (SELECT 1 FROM rc_match m WHERE m.entry_id = c.entry_id)
"""


def rest(is_pg: bool) -> list[str]:
    """Statements that fill rc_cand_next with the candidates whose both sides are still unpaired."""
    return _create("rc_cand_next", _REST, is_pg, _SQLITE_CAND)


_LOCAL = "(l.ts + :offset)"
_SECOND_OF_DAY = f"({_LOCAL} - ({_LOCAL} / 86400) * 86400)"
# One row per log record of the month: exactly one class, and the R6.3 flags.
_RESULT = f"""
SELECT l.log_id AS log_id, l.account AS account, m.entry_id AS entry_id,
  CASE WHEN m.log_id IS NULL THEN 'logged_not_registered' WHEN m.other = 0 THEN 'matched'
       ELSE 'querier_mismatch' END AS cls,
  CASE WHEN {_LOCAL} / 86400 IN :workdays AND {_SECOND_OF_DAY} >= :opens AND {_SECOND_OF_DAY} < :closes
       THEN 0 ELSE 1 END AS off_hours,
  CASE WHEN l.user_id IS NULL OR l.auth = 1 THEN 1 WHEN l.auth = 0 THEN 0
       WHEN NOT EXISTS (SELECT 1 FROM rc_grant g WHERE g.user_id = l.user_id
                        AND g.from_ts <= l.ts AND g.to_ts > l.ts) THEN 1 ELSE 0 END AS unauthorized,
  CASE WHEN l.user_id IS NULL OR l.scope = 1 THEN 0
       WHEN l.scope = 2 AND NOT EXISTS (SELECT 1 FROM rc_known k WHERE k.user_id = l.user_id
                                        AND k.from_ts <= l.ts AND k.to_ts > l.ts) THEN 0
       WHEN NOT EXISTS (SELECT 1 FROM rc_scope s WHERE s.user_id = l.user_id AND s.item = l.item
                        AND s.from_ts <= l.ts AND s.to_ts > l.ts) THEN 1 ELSE 0 END AS outside_scope
FROM rc_log l LEFT JOIN rc_match m ON m.log_id = {LOG_KEY}
WHERE l.in_period = 1
"""


def result_rows(is_pg: bool) -> str:
    """The statement that fills rc_result: one row per log record of the month, its class and R6.3 flags."""
    return _create("rc_result", _RESULT, is_pg)[0]


# Every record needing an explanation (R6.1): each class but matched, each flag, each unmatched entry.
FINDINGS = """
INSERT INTO reconciliation_finding (run_id, finding_type, log_record_id, register_entry_id, account)
SELECT :run, cls, log_id, entry_id, account FROM rc_result WHERE cls <> 'matched'
UNION ALL SELECT :run, 'off_hours', log_id, entry_id, account FROM rc_result WHERE off_hours = 1
UNION ALL SELECT :run, 'unauthorized_account', log_id, entry_id, account FROM rc_result WHERE unauthorized = 1
UNION ALL SELECT :run, 'outside_business_scope', log_id, entry_id, account FROM rc_result WHERE outside_scope = 1
UNION ALL SELECT :run, 'registered_not_logged', NULL, e.entry_id, r.querier FROM rc_entry e
  JOIN register_entry r ON r.id = e.entry_id WHERE e.matched = 0
"""

# The effective register entries of the month (one scan), each marked paired or not: one GROUP BY over the
# entries and the pairs together instead of a lookup per entry.
ENTRY_ROWS = """
CREATE TEMP TABLE rc_entry AS
SELECT entry_id, MAX(paired) AS matched FROM (
  SELECT r.id AS entry_id, 0 AS paired FROM register_entry r
  WHERE r.agency_id = :a AND r.withdrawn = :f AND r.window_start_ts >= :p0 AND r.window_start_ts < :p1
    AND r.id NOT IN (SELECT entry_id FROM rc_corrected)
  UNION ALL SELECT m.entry_id, 1 FROM rc_match m) entries
GROUP BY entry_id HAVING MIN(paired) = 0
"""
