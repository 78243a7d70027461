"""Form drafts: save a task's form without completing it, restored when the same person reopens the task.

One draft per task and user; only someone who may complete the ready task may save one, under the instance
lock; every completion clears the task's drafts (runtime.complete_task, same transaction, same lock). Saving or
discarding is an audit event (the draft's field names, not its values: the values become history only when the
form is submitted).
"""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.assignment import can_see_instance, check_may_complete
from engine.db import Database
from engine.forms import forbidden_keys
from engine.locking import InstanceNotFound, lock_instance_of_task
from engine.models import HumanTask, ProcessInstance, TaskDraft, TaskStatus, User
from engine.runtime import FormInvalid, NotFound, TaskNotReady

MAX_DRAFT_BYTES = 256 * 1024


def _ready_task_for(session: Session, task_id: int, user: User) -> HumanTask:
    """The ready task, under its instance's lock: a completion (which deletes the task's drafts only when it
    finds one, under the same lock) either ends first, and this finds the task no longer ready, or waits."""
    try:
        lock_instance_of_task(session, task_id)
    except InstanceNotFound:
        raise NotFound(f"task {task_id} not found") from None
    task = session.get(HumanTask, task_id, populate_existing=True)
    if task is None or not can_see_instance(session, user, task.instance_id):
        raise NotFound(f"task {task_id} not found")
    if task.status != TaskStatus.READY:
        raise TaskNotReady(f"task {task_id} is {task.status.value}, no longer ready")
    check_may_complete(session, user, task, session.get(ProcessInstance, task.instance_id))
    return task


def _checked(data) -> dict:
    if not isinstance(data, dict):
        raise FormInvalid({"_form": "資料必須是物件 data must be a JSON object"})
    bad = forbidden_keys(data)
    if bad:
        raise FormInvalid(dict.fromkeys(bad, "保留字 'typename' is a reserved key"))
    if len(json.dumps(data, ensure_ascii=False, default=str).encode()) > MAX_DRAFT_BYTES:
        raise FormInvalid({"_form": f"草稿過大 A draft has at most {MAX_DRAFT_BYTES // 1024} KiB"})
    return data


def save_draft(db: Database, task_id: int, user_id: int, data: dict) -> None:
    """Keep the form as typed (not validated: a draft may be incomplete) for this task and user."""
    data = _checked(data)
    with db.transaction() as session:
        user = session.get(User, user_id)
        task = _ready_task_for(session, task_id, user)
        draft = session.scalar(select(TaskDraft).where(TaskDraft.task_id == task.id, TaskDraft.user_id == user.id))
        if draft is None:
            session.add(TaskDraft(task_id=task.id, user_id=user.id, data=data, saved_at=clock.now()))
        else:
            draft.data, draft.saved_at = data, clock.now()
        audit.record(session, "task_draft_saved", user.username, task.instance_id, task.id, task=task.name,
                     fields=sorted(data))


def discard_draft(db: Database, task_id: int, user_id: int) -> bool:
    """Drop this user's draft of the task; False when there was none."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        task = session.get(HumanTask, task_id)
        if task is None or user is None or not can_see_instance(session, user, task.instance_id):
            raise NotFound(f"task {task_id} not found")
        gone = session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id,
                                                       TaskDraft.user_id == user.id)).rowcount
        if gone:
            audit.record(session, "task_draft_discarded", user.username, task.instance_id, task.id, task=task.name)
        return bool(gone)


def draft_of(session: Session, task_id: int, user_id: int) -> TaskDraft | None:
    """This user's draft of the task, if any."""
    return session.scalar(select(TaskDraft).where(TaskDraft.task_id == task_id, TaskDraft.user_id == user_id))

