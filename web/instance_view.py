"""The instance page's content: diagram markers (completed, active, late, suspended), the history timeline,
current tasks with who may take them, and whether the viewer may manage the instance."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.admin_ops import may_manage, role_holders
from engine.audit import events_of
from engine.models import HumanTask, ProcessInstance, TaskStatus, User
from engine.task_priority import NAMES as PRIORITY_NAMES
from engine.task_priority import escalation_processes, rank_of
from web.i18n import bi_text
from web.queries import Names, event_dict, task_dict

ACTIONS = {
    "instance_started": ("啟動流程", "Process started"),
    "instance_running": ("執行中", "Running"),
    "instance_waiting": ("等待中", "Waiting"),
    "instance_completed": ("流程完成", "Process completed"),
    "instance_cancelled": ("流程取消", "Process cancelled"),
    "instance_suspended": ("流程暫停", "Process suspended"),
    "instance_resumed": ("流程恢復", "Process resumed"),
    "instance_error": ("流程錯誤", "Process error"),
    "task_completed": ("完成任務", "Task completed"),
    "task_claimed": ("認領任務", "Task claimed"),
    "task_unclaimed": ("退回任務", "Task unclaimed"),
    "task_reassigned": ("改派任務", "Task reassigned"),
    "task_commented": ("留言", "Comment"),
    "task_priority_set": ("設定優先順序", "Priority set"),
    "task_draft_saved": ("儲存草稿", "Draft saved"),
    "task_draft_discarded": ("捨棄草稿", "Draft discarded"),
    "timer_fired": ("計時器觸發", "Timer fired"),
    "message_received": ("收到訊息", "Message received"),
    "obligation_opened": ("義務期別開啟", "Obligation period opened"),
    "obligation_escalated": ("逾期通報", "Late period escalated"),
    "role_granted": ("授予角色", "Role granted"),
    "role_revoked": ("撤銷角色", "Role revoked"),
}
DETAIL_LABELS = {
    "reason": ("原因", "Reason"), "text": ("內容", "Text"), "from_user": ("原處理人", "From"),
    "to_user": ("新處理人", "To"), "from_priority": ("原優先順序", "Priority was"),
    "to_priority": ("新優先順序", "Priority now"), "error": ("錯誤", "Error"), "period": ("期別", "Period"),
    "obligation": ("義務", "Obligation"), "message": ("訊息", "Message"), "due_at": ("到期", "Due"),
    "clause": ("條文", "Clause"), "role": ("角色", "Role"), "user": ("使用者", "User"), "agency": ("機關", "Agency"),
    "late": ("逾期開啟", "Opened late"), "from_instance": ("來源案件", "From instance"),
}
HIDDEN_DETAILS = frozenset({"task", "comment_id", "process_id", "version"})
TASK_ICONS = {"task_completed": "✓", "task_commented": "✎", "task_reassigned": "⇄", "instance_cancelled": "✕",
              "instance_suspended": "⏸", "instance_resumed": "▶", "instance_started": "●"}


def action_label(action: str) -> str:
    """Bilingual label of an audit action (the action id itself when unknown)."""
    pair = ACTIONS.get(action)
    return bi_text(*pair) if pair else action


def diagram_markers(session: Session, instance_id: int) -> dict[str, list[str]]:
    """BPMN element ids to highlight: completed (task rows and audit), active (ready), late (ready past due),
    suspended (parked while the instance is suspended). A task ready again (a loop) counts as current only."""
    rows = list(session.execute(select(HumanTask.name, HumanTask.status, HumanTask.due_at)
                                .where(HumanTask.instance_id == instance_id)))
    audited = {e.detail.get("task") for e in events_of(session, instance_id) if e.action == "task_completed"}
    now = clock.now()
    late = {name for name, status, due in rows if status == TaskStatus.READY and due is not None and due < now}
    ready = {name for name, status, _ in rows if status == TaskStatus.READY} - late
    suspended = {name for name, status, _ in rows if status == TaskStatus.SUSPENDED}
    completed = ({name for name, status, _ in rows if status == TaskStatus.COMPLETED} | audited) - {None}
    completed -= ready | late | suspended
    return {"completed": sorted(completed), "ready": sorted(ready), "late": sorted(late),
            "suspended": sorted(suspended)}


def _details(detail: dict) -> list[tuple[str, str]]:
    items = []
    for key, value in sorted((detail or {}).items()):
        if key in HIDDEN_DETAILS or value in (None, ""):
            continue
        label = DETAIL_LABELS.get(key)
        items.append((bi_text(*label) if label else key, str(value)))
    return items


def timeline(session: Session, instance_id: int) -> list[dict]:
    """The instance's audit events, oldest first: when, who, what (with the task's title), and details."""
    titles = {name: title for name, title in session.execute(
        select(HumanTask.name, HumanTask.title).where(HumanTask.instance_id == instance_id))}
    entries = []
    for event in events_of(session, instance_id):
        info = event_dict(event)
        task_name = (event.detail or {}).get("task")
        info.update(label=action_label(event.action), icon=TASK_ICONS.get(event.action, "•"),
                    task_title=titles.get(task_name) or task_name, items=_details(event.detail),
                    kind=event.action.split("_", 1)[0])
        entries.append(info)
    return entries


def current_tasks(session: Session, instance: ProcessInstance, manager: bool) -> list[dict]:
    """Ready (or suspended) tasks with their assignee; for a manager also who the task may be reassigned to."""
    rows = list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.status.in_((TaskStatus.READY, TaskStatus.SUSPENDED)))
        .order_by(HumanTask.id)))
    result = []
    now, escalations, names = clock.now(), escalation_processes(session), Names.of(session, tasks=rows)
    for task in rows:
        info = task_dict(session, task, names)
        info["priority"] = PRIORITY_NAMES[rank_of(task, now, escalations)]
        info["priority_set"] = PRIORITY_NAMES.get(task.priority) if task.priority is not None else ""
        info["reassign_to"] = []
        if manager and task.status == TaskStatus.READY and task.role not in (None, "applicant"):
            info["reassign_to"] = [(u.username, u.display_name or u.username)
                                   for u in role_holders(session, task, instance) if u.id != task.assignee_id]
        result.append(info)
    return result


def viewer_may_manage(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Whether to show the manager actions (the operations check again on their own)."""
    return may_manage(session, user, instance)
