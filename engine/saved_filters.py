"""Named inbox filters each user keeps on the server: save (a name again replaces it), list, delete; audited."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.db import Database
from engine.models import SavedFilter, User
from engine.runtime import NotFound

MAX_NAME_CHARS = 60
MAX_FILTERS_PER_USER = 30


class FilterInvalid(ValueError):
    """An empty or too long name, or too many filters; the message says which (shown to the user)."""


def _clean_name(name: str | None) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise FilterInvalid("請為篩選條件命名 Please name the filter")
    if len(text) > MAX_NAME_CHARS:
        raise FilterInvalid(f"名稱最多 {MAX_NAME_CHARS} 字 A name has at most {MAX_NAME_CHARS} characters")
    return text


def save_filter(db: Database, user_id: int, name: str | None, query: dict[str, str]) -> int:
    """Keep `query` (inbox query-string values) under `name` for this user; returns the filter id."""
    text = _clean_name(name)
    with db.transaction() as session:
        user = session.get(User, user_id)
        row = session.scalar(select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.name == text))
        if row is None:
            count = session.scalar(select(func.count()).select_from(SavedFilter)
                                   .where(SavedFilter.user_id == user_id))
            if count >= MAX_FILTERS_PER_USER:
                raise FilterInvalid(f"最多保存 {MAX_FILTERS_PER_USER} 組篩選條件 "
                                    f"At most {MAX_FILTERS_PER_USER} saved filters; delete one first")
            row = SavedFilter(user_id=user_id, name=text, query=dict(query), created_at=clock.now())
            session.add(row)
        else:
            row.query = dict(query)
        session.flush()
        audit.record(session, "inbox_filter_saved", user.username, filter_id=row.id, name=text, query=dict(query))
        return row.id


def delete_filter(db: Database, user_id: int, filter_id: int) -> None:
    """Delete one of the user's own filters (another user's answers NotFound)."""
    with db.transaction() as session:
        row = session.get(SavedFilter, filter_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"saved filter {filter_id} not found")
        user = session.get(User, user_id)
        audit.record(session, "inbox_filter_deleted", user.username, filter_id=row.id, name=row.name)
        session.delete(row)


def filters_of(session: Session, user_id: int) -> list[SavedFilter]:
    """The user's filters by name."""
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id)
                                .order_by(SavedFilter.name, SavedFilter.id)))
