"""Task priority: set by a manager, otherwise derived from the due date and escalation.

Ranks (lower is more pressing): 1 urgent (overdue, or a step of an escalation about a late obligation),
2 high (due within three days), 3 normal, 4 low (only when a manager says so). The same rule exists as a SQL
expression (inbox filter and sort over indexed rows) and in Python (one task); a test keeps them equal.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func
from sqlalchemy.orm import Session

from engine.models import HumanTask
from engine.obligations import definitions

URGENT, HIGH, NORMAL, LOW = 1, 2, 3, 4
PRIORITIES = {"urgent": URGENT, "high": HIGH, "normal": NORMAL, "low": LOW}
NAMES = {rank: name for name, rank in PRIORITIES.items()}
DUE_SOON = dt.timedelta(days=3)


def escalation_processes(session: Session) -> tuple[str, ...]:
    """Processes whose tasks are escalations (the obligations file names one)."""
    process = definitions(session).escalation_process
    return (process,) if process else ()


def derived_rank(task: HumanTask, now: dt.datetime, escalations: tuple[str, ...]) -> int:
    """The rank a task gets from its due date and process when no manager set one."""
    if (task.due_at is not None and task.due_at < now) or task.process_id in escalations:
        return URGENT
    if task.due_at is not None and task.due_at < now + DUE_SOON:
        return HIGH
    return NORMAL


def rank_of(task: HumanTask, now: dt.datetime, escalations: tuple[str, ...]) -> int:
    """The task's priority rank: the manager's, or derived."""
    return task.priority if task.priority is not None else derived_rank(task, now, escalations)


def rank_expression(now: dt.datetime, escalations: tuple[str, ...]):
    """rank_of as SQL, for filtering and sorting tasks in the database."""
    derived = case(
        (and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now), URGENT),
        (HumanTask.process_id.in_(escalations or ("",)), URGENT),
        (and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now + DUE_SOON), HIGH),
        else_=NORMAL)
    return func.coalesce(HumanTask.priority, derived)
