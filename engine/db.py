"""Database plumbing: the declarative Base, engines for SQLite or PostgreSQL, and transaction scopes."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
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


def make_engine(url: str, busy_timeout: float = 30, **kwargs) -> Engine:
    """An Engine; SQLite gets WAL, foreign keys and a generous busy timeout so writers queue, not fail."""
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
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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
