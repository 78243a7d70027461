"""Modeler drafts on the server: each analyst keeps one undeployed diagram per process (not a version, never
run); saving and dropping one are audit events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.bundle import MAX_FILE_BYTES
from engine.models import ModelDraft, User


class DraftTooLarge(ValueError):
    """A draft larger than a model file may be."""


def get_draft(session: Session, user: User, process_id: str) -> ModelDraft | None:
    return session.scalar(select(ModelDraft).where(ModelDraft.process_id == process_id,
                                                   ModelDraft.owner_id == user.id))


def save_draft(session: Session, user: User, process_id: str, bpmn: str, base_version: int | None) -> ModelDraft:
    """Keep (or replace) the user's draft of a process."""
    if len(bpmn.encode()) > MAX_FILE_BYTES:
        raise DraftTooLarge(f"草稿超過 {MAX_FILE_BYTES // (1024 * 1024)} MB A draft is at most "
                            f"{MAX_FILE_BYTES // (1024 * 1024)} MB")
    draft = get_draft(session, user, process_id)
    if draft is None:
        draft = ModelDraft(process_id=process_id, owner_id=user.id, bpmn=bpmn)
        session.add(draft)
    draft.bpmn, draft.base_version, draft.saved_at = bpmn, base_version, clock.now()
    session.flush()
    audit.record(session, "model_draft_saved", user.username, process_id=process_id, base_version=base_version,
                 size=len(bpmn))
    return draft


def drop_draft(session: Session, user: User, process_id: str) -> bool:
    """Discard the user's draft of a process; False when there was none."""
    draft = get_draft(session, user, process_id)
    if draft is None:
        return False
    session.delete(draft)
    audit.record(session, "model_draft_discarded", user.username, process_id=process_id)
    return True
