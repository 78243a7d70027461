"""What the reconciliation reads besides the two record tables: accounts, `user` grants, business items, hours.

Each becomes a small temporary table (one row per user, grant or item), so the per-record checks stay joins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine import calendar, clock, obligations
from engine.models import Agency, RoleAssignment, User
from workflows.models import AccountApplication
from workflows.models_records import AgencyOfficeHours
from workflows.user_account_application import GRANTED

MAX_TS = 2**62
ALWAYS, NEVER, PARTLY = 0, 1, 2  # how much of the month an interval list covers
EPOCH_DAY = dt.date(1970, 1, 1)
DEFAULT_OPENS, DEFAULT_CLOSES = "08:00", "18:00"


@dataclass(frozen=True)
class Period:
    """A reconciled month: its label, first day, first day after, and local [start, end) as epoch seconds."""

    label: str
    first: dt.date
    following: dt.date
    start_ts: int
    end_ts: int


@dataclass(frozen=True)
class OfficeContext:
    """Office hours of the month as numbers SQL can compare: working day numbers, UTC offset, open/close seconds."""

    working_days: list[int]
    offset: int
    opens: int
    closes: int


def _ts(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _insert(session: Session, create: str, insert: str, rows: list[dict], analyze: str, is_pg: bool) -> None:
    session.execute(text(create))
    if rows:
        session.execute(text(insert), rows)
    if is_pg:
        session.execute(text(f"ANALYZE {analyze}"))


def load_context(session: Session, agency: Agency, period: Period, is_pg: bool) -> OfficeContext:
    """Fill rc_alias, rc_grant, rc_known, rc_scope and rc_corrected; return the month's office hours."""
    grants = _grants(session, agency, is_pg)
    known = _scopes(session, agency, is_pg)
    _aliases(session, is_pg, {u: _coverage(i, period) for u, i in grants.items()},
             {u: _coverage(i, period) for u, i in known.items()})
    # Corrections name entries of their own agency (register.record_entry), so the corrects_id index suffices.
    session.execute(text("CREATE TEMP TABLE rc_corrected AS SELECT DISTINCT corrects_id AS entry_id "
                         "FROM register_entry WHERE corrects_id IS NOT NULL"))
    session.execute(text("CREATE UNIQUE INDEX ix_rc_corrected ON rc_corrected (entry_id)"))
    return office_context(session, agency, period)


def _coverage(intervals: list[tuple[int, int]], period: Period) -> int:
    """0 when the intervals cover the whole month, 1 when they miss it entirely, 2 when they cover part of it."""
    inside = sorted((max(a, period.start_ts), min(b, period.end_ts)) for a, b in intervals
                    if a < period.end_ts and b > period.start_ts)
    if not inside:
        return NEVER
    reach = period.start_ts
    for start, end in inside:
        if start > reach:
            return PARTLY
        reach = max(reach, end)
    return ALWAYS if reach >= period.end_ts else PARTLY


def _aliases(session: Session, is_pg: bool, auth: dict[int, int], scope: dict[int, int]) -> None:
    """Accounts: a username or the 我的E政府 account on a granted Form 1-2 (INTERFACES.md), with month coverage."""
    # Each alias carries whether its user held `user` (and had known business items) for all, none or part of
    # the month, so that only the partial cases are checked record by record.
    aliases: dict[str, int] = {}
    for account, user_id in session.execute(select(AccountApplication.egov_account, AccountApplication.user_id)
                                            .where(AccountApplication.outcome == GRANTED,
                                                   AccountApplication.egov_account.is_not(None))):
        aliases[account.strip()] = user_id
    for username, user_id in session.execute(select(User.username, User.id)):
        aliases[username] = user_id  # a username wins over an equal 我的E政府 account of someone else
    rows = [{"alias": a, "user_id": u, "auth": auth.get(u, NEVER), "scope": scope.get(u, NEVER)}
            for a, u in aliases.items() if a]
    clustered = "" if is_pg else " WITHOUT ROWID"  # SQLite: one b-tree lookup per account, not index then table
    _insert(session, "CREATE TEMP TABLE rc_alias (alias VARCHAR(64) PRIMARY KEY, user_id BIGINT NOT NULL, "
                     f"auth INTEGER NOT NULL, scope INTEGER NOT NULL){clustered}",
            "INSERT INTO rc_alias (alias, user_id, auth, scope) VALUES (:alias, :user_id, :auth, :scope)",
            rows, "rc_alias", is_pg)


def _grants(session: Session, agency: Agency, is_pg: bool) -> dict[int, list[tuple[int, int]]]:
    """Intervals in which a user held the `user` role in the agency (R5.3, R5.4, R6.3), by user."""
    columns = (RoleAssignment.user_id, RoleAssignment.granted_at, RoleAssignment.revoked_at)
    rows = [{"user_id": user_id, "from_ts": _ts(granted), "to_ts": _ts(revoked) or MAX_TS}
            for user_id, granted, revoked in session.execute(select(*columns).where(
                RoleAssignment.agency_id == agency.id, RoleAssignment.role == "user"))]
    _insert(session, "CREATE TEMP TABLE rc_grant (user_id BIGINT NOT NULL, from_ts BIGINT NOT NULL, "
                     "to_ts BIGINT NOT NULL)",
            "INSERT INTO rc_grant (user_id, from_ts, to_ts) VALUES (:user_id, :from_ts, :to_ts)", rows,
            "rc_grant", is_pg)
    session.execute(text("CREATE INDEX ix_rc_grant ON rc_grant (user_id)"))
    return _by_user(rows)


def _by_user(rows: list[dict]) -> dict[int, list[tuple[int, int]]]:
    found: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        found.setdefault(row["user_id"], []).append((row["from_ts"], row["to_ts"]))
    return found


def _scopes(session: Session, agency: Agency, is_pg: bool) -> dict[int, list[tuple[int, int]]]:
    """Business items granted on each user's Form 1-2 (R5.3), valid from the decision to the revocation (R5.4)."""
    known, items = [], []
    columns = (AccountApplication.user_id, AccountApplication.business_items, AccountApplication.decided_at,
               AccountApplication.revoked_on)
    for user_id, business_items, decided_at, revoked_on in session.execute(select(*columns).where(
            AccountApplication.agency_id == agency.id, AccountApplication.outcome == GRANTED)):
        granted = [str(i) for i in business_items or [] if str(i).strip()]
        if not granted:
            continue
        until = _ts(calendar.start_of_day(revoked_on)) if revoked_on else MAX_TS
        window = {"user_id": user_id, "from_ts": _ts(decided_at), "to_ts": until}
        known.append(window)
        items += [{**window, "item": item} for item in dict.fromkeys(granted)]
    _insert(session, "CREATE TEMP TABLE rc_known (user_id BIGINT NOT NULL, from_ts BIGINT NOT NULL, "
                     "to_ts BIGINT NOT NULL)",
            "INSERT INTO rc_known (user_id, from_ts, to_ts) VALUES (:user_id, :from_ts, :to_ts)", known,
            "rc_known", is_pg)
    _insert(session, "CREATE TEMP TABLE rc_scope (user_id BIGINT NOT NULL, item VARCHAR(100) NOT NULL, "
                     "from_ts BIGINT NOT NULL, to_ts BIGINT NOT NULL)",
            "INSERT INTO rc_scope (user_id, item, from_ts, to_ts) VALUES (:user_id, :item, :from_ts, :to_ts)",
            items, "rc_scope", is_pg)
    session.execute(text("CREATE INDEX ix_rc_known ON rc_known (user_id)"))
    session.execute(text("CREATE INDEX ix_rc_scope ON rc_scope (user_id, item)"))
    return _by_user(known)


def _seconds_of_day(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def office_context(session: Session, agency: Agency, period: Period) -> OfficeContext:
    """R6.3 office hours: the agency's (default Mon-Fri 08:00-18:00 local), Taiwan holidays off, make-up days on."""
    defs = obligations.definitions(session)
    hours = session.get(AgencyOfficeHours, agency.id)
    make_up, extra = set(defs.make_up_working_days), set(defs.extra_holidays)
    if hours:
        make_up |= {dt.date.fromisoformat(d) for d in hours.make_up_working_days or []}
        extra |= {dt.date.fromisoformat(d) for d in hours.extra_holidays or []}
    days = [period.first + dt.timedelta(days=n) for n in range((period.following - period.first).days)]
    working = [(d - EPOCH_DAY).days for d in days
               if calendar.is_working_day(d, frozenset(make_up), frozenset(extra))]
    offsets = {dt.datetime.combine(d, dt.time(12), clock.zone()).utcoffset() for d in days}
    if len(offsets) != 1:
        raise ValueError(f"the time zone {clock.zone()} changes its UTC offset within {period.label}; "
                         "office hours need a fixed offset")
    return OfficeContext(working, int(offsets.pop().total_seconds()),
                         _seconds_of_day(hours.opens if hours else DEFAULT_OPENS),
                         _seconds_of_day(hours.closes if hours else DEFAULT_CLOSES))
