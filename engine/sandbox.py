"""Modeler test runs: a throwaway instance of a diagram being edited, on its own simulated clock.

Each run is its own SQLite file (`<folder>/<run id>.sqlite3`) holding the draft and the files it needs, a small
organisation (one holder per role), the instance and its audit log. Nothing is written to the real database:
the run is gone when discarded or after MAX_AGE. The run's clock is a simulated clock in its own file, used
only while the run's own calls execute (`clock.using`), so the real clock and other requests are untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import clock, runtime, timekeeping
from engine.admin_ops import role_holders
from engine.assignment import APPLICANT, MASTER_PREFIX
from engine.bundle import ModelFile
from engine.calendar import local_date
from engine.db import Database
from engine.inspect import task_details
from engine.models import (
    Agency,
    AuditEvent,
    HumanTask,
    ProcessInstance,
    ProcessVersion,
    RoleAssignment,
    SimulatedClockState,
    TaskStatus,
    User,
)
from engine.sample_data import sample_data
from engine.scripts import script_engine
from engine.simulated_clock import ROW_ID, SimulatedClock
from engine.specs import deploy, latest_version
from engine.state import load_workflow

MAX_AGE = dt.timedelta(hours=12)
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
TEST_AGENCY, PARENT_AGENCY, MASTER_AGENCY = "TEST", "PARENT", "DOL"
APPLICANT_USER = "applicant"
NO_PASSWORD = "!"  # noqa: S105 - not a hash: nobody can log in to a test run's people
DELEGATING_ROLES = ("agency_admin", "agency_head")
HISTORY_ACTIONS = ("instance_started", "task_completed", "timer_fired", "clock_moved", "instance_completed",
                   "instance_error", "instance_waiting", "instance_running")


class RunNotFound(LookupError):
    """No such test run for this user (or it expired)."""


@dataclass
class RunInfo:
    run_id: str
    owner: str
    process_id: str
    created_at: str


def _paths(folder: Path, run_id: str) -> tuple[Path, Path]:
    return folder / f"{run_id}.sqlite3", folder / f"{run_id}.json"


def _build_org(session, roles: set[str], today: dt.date) -> None:
    """Agencies TEST (commissioned by PARENT) and DOL (master); `applicant` and one `tester.<role>` per role."""
    master = Agency(code=MASTER_AGENCY, name="主管機關 Master agency (test run)", is_master=True)
    parent = Agency(code=PARENT_AGENCY, name="委託機關 Delegating agency (test run)")
    session.add_all([master, parent])
    session.flush()
    agency = Agency(code=TEST_AGENCY, name="測試機關 Test agency (test run)", delegated_by_id=parent.id,
                    approved_on=today)
    session.add(agency)
    session.flush()
    session.add(User(username=APPLICANT_USER, display_name="申請人 Applicant", agency_id=agency.id,
                     password_hash=NO_PASSWORD))
    for role in sorted(roles - {APPLICANT}):
        home = master if role.startswith(MASTER_PREFIX) else agency
        user = User(username=f"tester.{role}", display_name=f"{role} (test run)", agency_id=home.id,
                    password_hash=NO_PASSWORD)
        session.add(user)
        session.flush()
        session.add(RoleAssignment(user_id=user.id, agency_id=home.id, role=role, granted_by="test-run"))
        if role in DELEGATING_ROLES:
            other = User(username=f"parent.{role}", display_name=f"{role} (delegating)", agency_id=parent.id,
                         password_hash=NO_PASSWORD)
            session.add(other)
            session.flush()
            session.add(RoleAssignment(user_id=other.id, agency_id=parent.id, role=role, granted_by="test-run"))


def purge_expired(folder: Path, now: dt.datetime | None = None) -> int:
    """Remove runs older than MAX_AGE; returns how many."""
    now = now or dt.datetime.now(dt.UTC)
    removed = 0
    for meta in folder.glob("*.json") if folder.is_dir() else []:
        try:
            created = dt.datetime.fromisoformat(json.loads(meta.read_text())["created_at"])
        except (ValueError, KeyError, OSError):
            continue
        if now - created > MAX_AGE:
            TestRun(folder, meta.stem).discard()
            removed += 1
    return removed


def create_run(folder: Path, owner: str, files: list[ModelFile], process_id: str, roles: set[str],
               data: dict | None = None, start_at: dt.datetime | None = None) -> TestRun:
    """A new run: deploy the files into a fresh sandbox, build its organisation, start the process."""
    folder.mkdir(parents=True, exist_ok=True)
    purge_expired(folder)
    run_id = uuid.uuid4().hex
    db_path, meta_path = _paths(folder, run_id)
    started = start_at or clock.now()
    meta_path.write_text(json.dumps({"owner": owner, "process_id": process_id,
                                     "created_at": dt.datetime.now(dt.UTC).isoformat()}))
    run = TestRun(folder, run_id)
    try:
        run.db.create_all()
        with run.db.transaction() as session:
            session.add(SimulatedClockState(id=ROW_ID, now=started, updated_at=started))
        with clock.using(run.clock), run.db.transaction() as session:
            deploy(session, files, owner, "test run", roles)
            _build_org(session, roles, local_date(started))
        run.start(data or {})
    except Exception:
        run.discard()
        raise
    return run


class TestRun:
    """One throwaway run: its database, its clock, and the steps an analyst takes through it."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, run_id: str):
        if not RUN_ID.match(run_id or ""):
            raise RunNotFound(run_id)
        self.folder, self.run_id = folder, run_id
        self.db_path, self.meta_path = _paths(folder, run_id)
        self._db: Database | None = None

    @classmethod
    def open(cls, folder: Path, run_id: str, owner: str) -> TestRun:
        """An existing run of this owner (anyone else's, or an expired one, is not found)."""
        run = cls(folder, run_id)
        if not run.meta_path.exists() or run.info().owner != owner:
            raise RunNotFound(run_id)
        return run

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(f"sqlite:///{self.db_path}")
        return self._db

    @property
    def clock(self) -> SimulatedClock:
        return SimulatedClock(self.db)

    def info(self) -> RunInfo:
        raw = json.loads(self.meta_path.read_text())
        return RunInfo(self.run_id, raw["owner"], raw["process_id"], raw["created_at"])

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def discard(self) -> None:
        self.close()
        for path in (self.db_path, self.meta_path):
            path.unlink(missing_ok=True)

    def _instance_id(self, session) -> int | None:
        return session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id).limit(1))

    def start(self, data: dict) -> None:
        process_id = self.info().process_id
        with clock.using(self.clock):
            with self.db.transaction() as session:
                version = latest_version(session, process_id)
                if version is None or not version.is_executable:
                    raise runtime.NotFound(f"process '{process_id}' is not executable")
                applicant = session.scalar(select(User).where(User.username == APPLICANT_USER))
                agency = session.scalar(select(Agency).where(Agency.code == TEST_AGENCY))
                runtime.start_in_session(session, version, agency, applicant, data)
            runtime.deliver_messages(self.db)

    def _actor(self, session, task: HumanTask) -> int:
        """Who completes a task in the run: its assignee, the applicant, else a holder of its role."""
        instance = session.get(ProcessInstance, task.instance_id)
        if task.assignee_id is not None:
            return task.assignee_id
        if task.role in (None, APPLICANT):
            return instance.started_by_id
        holders = role_holders(session, task, instance)
        if not holders:
            raise runtime.NotAllowed(f"沒有人持有角色 {task.role} No one holds the role '{task.role}' in this run")
        return holders[0].id

    def complete(self, task_id: int, data: dict) -> None:
        """Complete a ready task as the run's person for it (form validation applies)."""
        with clock.using(self.clock):
            with self.db.sessions() as session:
                task = session.get(HumanTask, task_id)
                if task is None:
                    raise runtime.NotFound(f"task {task_id} not found")
                actor = self._actor(session, task)
            runtime.complete_task(self.db, task_id, actor, data)

    def advance(self, duration: str) -> None:
        """Move the run's clock forward by an ISO 8601 duration, firing its timers on the way."""
        with clock.using(self.clock):
            timekeeping.advance_to(self.db, clock.now() + clock.parse_duration(duration), "test-run")

    def _path(self, session, instance: ProcessInstance) -> list[str]:
        """Element ids the instance went through, in order (events, gateways and tasks)."""
        version = session.get(ProcessVersion, instance.process_version_id)
        workflow = load_workflow(version, instance.state, script_engine())
        workflows = (workflow, *workflow.subprocesses.values())
        tasks = [t for wf in workflows for t in wf.get_tasks(state=TaskState.COMPLETED)]
        done = [t for t in tasks if getattr(t.task_spec, "bpmn_id", None)]
        done.sort(key=lambda t: t.last_state_change)
        return [t.task_spec.bpmn_id for t in done]

    def _task_dict(self, session, task: HumanTask, today: dt.date) -> dict:
        details = task_details(session, task)
        assignee = session.get(User, task.assignee_id) if task.assignee_id else None
        return {"id": task.id, "name": task.name, "title": task.title, "lane": task.lane, "role": task.role,
                "agency": session.get(Agency, task.agency_id).code,
                "assignee": assignee.username if assignee else None,
                "due_at": task.due_at.isoformat() if task.due_at else None,
                "instructions": details["instructions"], "form": details["form"],
                "sample_data": sample_data(details["form"]["schema"], today)}

    def state(self) -> dict:
        """The run as the modeler shows it: clock, status, ready tasks with sample data, the path taken."""
        info = self.info()
        with clock.using(self.clock), self.db.sessions() as session:
            now = clock.now()
            instance = session.get(ProcessInstance, self._instance_id(session))
            ready = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                            HumanTask.status == TaskStatus.READY)
                                    .order_by(HumanTask.id)).all()
            history = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(HISTORY_ACTIONS))
                                      .order_by(AuditEvent.id)).all()
            return {
                "id": self.run_id, "process_id": info.process_id, "clock": now.astimezone(clock.zone()).isoformat(),
                "status": instance.status.value, "error": instance.error_message,
                "next_timer_at": instance.next_due_at.isoformat() if instance.next_due_at else None,
                "ready_tasks": [self._task_dict(session, t, local_date(now)) for t in ready],
                "path": self._path(session, instance),
                "history": [{"action": e.action, "actor": e.actor, "at": e.at.isoformat(),
                             "task": (e.detail or {}).get("task")} for e in history],
            }
