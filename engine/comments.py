"""Comments on a task: anyone who may see the task's instance may add one; each is also an audit event."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.assignment import can_see_instance
from engine.db import Database
from engine.models import HumanTask, TaskComment, User
from engine.runtime import NotFound

MAX_COMMENT_CHARS = 2000
AUDIT_EXCERPT_CHARS = 200


class CommentInvalid(ValueError):
    """An empty or too long comment; the message says which (shown to the user)."""


def clean_body(body: str | None) -> str:
    """The comment text trimmed, or CommentInvalid when empty or longer than MAX_COMMENT_CHARS."""
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise CommentInvalid("請輸入留言內容 Please write a comment")
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentInvalid(f"留言最多 {MAX_COMMENT_CHARS} 字 A comment has at most {MAX_COMMENT_CHARS} characters")
    return text


def add_comment(db: Database, task_id: int, user_id: int, body: str | None) -> int:
    """Add a comment to a visible task (ready or not); returns the comment id."""
    text = clean_body(body)
    with db.transaction() as session:
        user = session.get(User, user_id)
        task = session.get(HumanTask, task_id)
        if task is None or user is None or not can_see_instance(session, user, task.instance_id):
            raise NotFound(f"task {task_id} not found")
        comment = TaskComment(task_id=task.id, instance_id=task.instance_id, author_id=user.id, body=text,
                              created_at=clock.now())
        session.add(comment)
        session.flush()
        audit.record(session, "task_commented", user.username, task.instance_id, task.id, task=task.name,
                     comment_id=comment.id, text=text[:AUDIT_EXCERPT_CHARS])
        return comment.id


def comments_of(session: Session, task_id: int) -> list[tuple[TaskComment, str]]:
    """A task's comments, oldest first, each with its author's username."""
    rows = session.execute(
        select(TaskComment, User.username).join(User, User.id == TaskComment.author_id)
        .where(TaskComment.task_id == task_id).order_by(TaskComment.id))
    return [(comment, username) for comment, username in rows]
