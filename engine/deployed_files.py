"""The newest deployed copy of a data file (separation-of-duties rules, obligations): read on every completion
and every inbox page, by one statement built once."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.models import DeploymentFile

_FILES = DeploymentFile.__table__.c
_NEWEST_CONTENT = (select(_FILES.content).where(_FILES.filename == bindparam("filename"))
                   .order_by(_FILES.deployment_id.desc()).limit(1))


def newest_content(session: Session, filename: str) -> str | None:
    """The content of the newest deployed file of that name (None when none was deployed)."""
    return session.scalar(_NEWEST_CONTENT, {"filename": filename})
