"""Database plumbing: the declarative Base, engines for SQLite or PostgreSQL, and transaction scopes."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base shared by engine/ and workflows/ tables (one metadata, one Alembic history)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict: JSON(), list: JSON()}


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def is_busy_database(exc: BaseException) -> bool:
    """SQLite's "database is locked" after the busy timeout, or a PostgreSQL lock timeout: retry later."""
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text or "lock timeout" in text)


def is_lost_connection(exc: BaseException) -> bool:
    """A pooled connection the server had closed (restart, idle kill): the pool has dropped it; retry."""
    return bool(getattr(exc, "connection_invalidated", False))


def make_engine(url: str, busy_timeout: float = 30, ping_after_idle: float | None = None, **kwargs) -> Engine:
    """An Engine; SQLite gets WAL, foreign keys and a generous busy timeout so writers queue, not fail; a
    server database's pooled connections are pinged before reuse when idle over `ping_after_idle` seconds."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": busy_timeout, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS if ping_after_idle is None else ping_after_idle)
    return engine


POOL_RECYCLE_SECONDS = 1800  # replace server connections after half an hour (server or proxy idle timeouts)
PING_AFTER_IDLE_SECONDS = 1.0  # a connection back in the pool for longer than this is pinged before reuse
_CHECKED_IN_AT = "webir_checked_in_at"  # connection record info: time.monotonic() when it went back to the pool


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that sat idle, instead of `pool_pre_ping` on every
    checkout (one round trip per transaction on PostgreSQL).

    A connection reused within `idle_seconds` of its last use is handed out without a ping: it just worked.
    One idle for longer (a server restart, an administrator or idle timeout may have ended it meanwhile) is
    pinged first, and a dead one is replaced (raising DisconnectionError makes the pool discard it and check
    out another, SQLAlchemy's documented checkout recipe). A connection that dies between its last use and a
    reuse within `idle_seconds` fails that one transaction; SQLAlchemy then recognises the disconnect and
    invalidates it and every older pooled connection (optimistic handling), so the next transaction gets a
    fresh one.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop(_CHECKED_IN_AT, None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"pooled connection is gone: {exc}") from exc
        # Like pool_pre_ping: the transaction the ping began (psycopg) is the one the checkout goes on to use.


_WRITE_LOCKED = "write_locked"  # session.info: the transaction whose first statement took the write lock


def note_write_lock(session: Session) -> None:
    """Remember that this transaction holds the database write lock (SQLite) until it ends."""
    session.info[_WRITE_LOCKED] = session.get_transaction()


def holds_write_lock(session: Session) -> bool:
    """Whether note_write_lock was called in the session's current transaction."""
    locked = session.info.get(_WRITE_LOCKED)
    return locked is not None and locked is session.get_transaction()


class Database:
    """An Engine plus its session factory; the runtime opens one transaction per operation."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def create_all(self) -> None:
        """Create every table directly (tests); production uses Alembic migrations."""
        import engine.models  # noqa: F401  (register the tables)

        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
