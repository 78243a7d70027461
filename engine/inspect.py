"""Read-only views into a workflow for one task page: its data and rendered instructions."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.orm import Session

from engine.models import HumanTask, ProcessInstance, ProcessVersion
from engine.scripts import render_instructions, script_engine
from engine.specs import load_form
from engine.state import load_workflow

HIDDEN_KEYS = ("started_at",)


def task_details(session: Session, task: HumanTask) -> dict:
    """The task's data (as the form may show it), its rendered instructions, and its form."""
    instance = session.get(ProcessInstance, task.instance_id)
    version = session.get(ProcessVersion, instance.process_version_id)
    workflow = load_workflow(version, instance.state, script_engine())
    spiff_task = workflow.get_task_from_id(UUID(task.task_guid))
    data = dict(spiff_task.data) if spiff_task is not None else {}
    template = (getattr(spiff_task.task_spec, "extensions", None) or {}).get("instructionsForEndUser") \
        if spiff_task is not None else None
    return {
        "data": {k: v for k, v in data.items() if k not in HIDDEN_KEYS},
        "instructions": render_instructions(template, data),
        "form": {
            "schema": load_form(session, instance.version, task.form_schema),
            "ui_schema": load_form(session, instance.version, task.form_ui_schema),
        },
    }
