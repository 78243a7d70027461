"""What the task page and its print view show: the task, its form, instructions, instance context, comments."""

from __future__ import annotations

import html

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.assignment import NotAllowed, check_may_complete
from engine.comments import comments_of
from engine.inspect import task_details
from engine.models import AuditEvent, HumanTask, ProcessInstance, TaskStatus, User
from web.inbox_queries import process_catalogue
from web.queries import event_dict, instance_dict, iso, task_dict, visible_task

RECENT_EVENTS = 6
CONTEXT_VALUE_CHARS = 200
# Task data the context panel never lists: what the engine injects for its own use, or shows elsewhere.
CONTEXT_SKIP = frozenset({"started_at", "applicant_is_vendor", "agency_name", "clauses"})


def instruction_blocks(text: str) -> list[tuple[str, object]]:
    """Instructions as paragraphs and bullet lists (`- item` lines), for escaped rendering, no HTML passes."""
    blocks: list[tuple[str, object]] = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith(("- ", "* ", "・")):
            item = stripped.lstrip("-*・ ").strip()
            if blocks and blocks[-1][0] == "ul":
                blocks[-1][1].append(item)
            else:
                blocks.append(("ul", [item]))
        elif stripped:
            if blocks and blocks[-1][0] == "p":
                blocks[-1] = ("p", f"{blocks[-1][1]}\n{stripped}")
            else:
                blocks.append(("p", stripped))
        elif blocks and blocks[-1][0] == "p":
            blocks.append(("break", None))
    return [b for b in blocks if b[0] != "break"]


def form_values(schema: dict | None, data: dict) -> dict:
    """Only the form's own properties from the task data (prefill, never other process data)."""
    names = set((schema or {}).get("properties") or {})
    return {k: v for k, v in data.items() if k in names}


def context_items(schema: dict | None, data: dict) -> list[tuple[str, str]]:
    """The instance's scalar data that the form does not show itself, shortened (the case at a glance)."""
    names = set((schema or {}).get("properties") or {})
    items = []
    for key, value in sorted(data.items()):
        if key in names or key in CONTEXT_SKIP or isinstance(value, dict):
            continue
        if isinstance(value, list):
            if not all(isinstance(v, str | int | float) for v in value):
                continue
            value = "、".join(str(v) for v in value)
        text = "" if value is None else str(value)
        items.append((key, text if len(text) <= CONTEXT_VALUE_CHARS else text[:CONTEXT_VALUE_CHARS] + "…"))
    return items


def _may_complete(session: Session, user: User, task: HumanTask) -> tuple[bool, str | None]:
    if task.status != TaskStatus.READY:
        return False, None
    try:
        check_may_complete(session, user, task, session.get(ProcessInstance, task.instance_id))
    except NotAllowed as exc:
        return False, str(exc)
    return True, None


def _comments(session: Session, task_id: int) -> list[dict]:
    return [{"id": c.id, "author": author, "body": c.body, "at": iso(c.created_at)}
            for c, author in comments_of(session, task_id)]


def task_page_context(session: Session, user: User, task_id: int) -> dict:
    """Everything the task page shows; raises NotFound when the task is not visible to the user."""
    task = visible_task(session, user, task_id)
    details = task_details(session, task)
    may_complete, reason = _may_complete(session, user, task)
    instance = session.get(ProcessInstance, task.instance_id)
    info = instance_dict(session, instance)
    names = {p["process_id"]: p["name"] for p in process_catalogue(session)}
    schema = details["form"]["schema"]
    history = [event_dict(e) for e in _recent_events(session, instance.id)]
    return {
        "task": task_dict(session, task), "data": details["data"], "schema": schema,
        "ui_schema": details["form"]["ui_schema"], "may_complete": may_complete, "reason": reason,
        "instructions": instruction_blocks(html.unescape(details["instructions"] or "")),
        "assigned_to_me": task.assignee_id == user.id, "is_ready": task.status == TaskStatus.READY,
        "may_unclaim": task.status == TaskStatus.READY and task.assignee_id == user.id
        and task.role not in (None, "applicant"),
        "instance": info, "process_name": names.get(instance.process_id, instance.process_id),
        "other_tasks": [t for t in info["ready_tasks"] if t["id"] != task.id],
        "context_items": context_items(schema, details["data"]), "comments": _comments(session, task.id),
        "history": history,
    }


def _recent_events(session: Session, instance_id: int) -> list[AuditEvent]:
    """The instance's last few audit events, oldest first."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                           .order_by(AuditEvent.id.desc()).limit(RECENT_EVENTS))
    return list(reversed(list(rows)))
