"""The regulation's long work as background jobs (engine.jobs): query-log and register imports (R8.1.1, R6.1),
the per-record reconciliation (R3.4, R6.3, R8.1.2) and a burst of due timers.

Each handler runs in one transaction (or, for timers, one per instance under its lock), so a worker that dies
leaves nothing half-written and the job can simply run again. An uploaded file is removed once its import has
ended for good (imported or refused); a failure that may be retried keeps it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from sqlalchemy import select

from engine import runtime, timekeeping
from engine.db import Database
from engine.jobs import JobRefused, Progress, handler
from engine.models import Agency
from workflows.org import OrgError
from workflows.query_explanation import open_explanations
from workflows.query_log import import_query_log
from workflows.reconcile import parse_period, reconcile
from workflows.register import import_register
from workflows.tabular import FileRefused

IMPORTERS = {"import_query_log": import_query_log, "import_register": import_register}


def import_params(path: Path, agency_code: str, evidence_root: Path, filename: str, actor: str | None,
                  remove_after: bool) -> dict:
    """Parameters of an import job (the file must be readable by the worker: the instance folder is shared)."""
    return {"path": str(path), "agency": agency_code, "evidence_root": str(evidence_root), "filename": filename,
            "actor": actor, "remove_after": remove_after}


def _import(importer, db: Database, params: dict, progress: Progress) -> dict:
    path = Path(params["path"])
    if not path.exists():
        raise JobRefused("file_missing", f"匯入檔已不存在 The file to import is gone: {path.name}", 410)
    size = path.stat().st_size
    try:
        result = importer(db, path, params["agency"], Path(params["evidence_root"]), filename=params.get("filename"),
                          actor=params.get("actor"), progress=lambda position: progress(position, size))
    except FileRefused as exc:
        _remove(params)
        raise JobRefused("file_refused", str(exc)) from None
    except OrgError as exc:
        _remove(params)
        raise JobRefused("not_found", str(exc), 404) from None
    _remove(params)
    return result.as_dict()


def _remove(params: dict) -> None:
    if params.get("remove_after"):
        with contextlib.suppress(FileNotFoundError):
            Path(params["path"]).unlink()


@handler("import_query_log")
def import_query_log_job(db: Database, params: dict, progress: Progress) -> dict:
    return _import(import_query_log, db, params, progress)


@handler("import_register")
def import_register_job(db: Database, params: dict, progress: Progress) -> dict:
    return _import(import_register, db, params, progress)


def reconcile_params(agency_code: str, period: str, tolerance: dt.timedelta, open_tasks: bool,
                     actor: str | None) -> dict:
    parse_period(period)  # a bad period is refused before anything is queued
    return {"agency": agency_code, "period": period, "tolerance_seconds": int(tolerance.total_seconds()),
            "open_tasks": bool(open_tasks), "actor": actor}


@handler("reconcile")
def reconcile_job(db: Database, params: dict, progress: Progress) -> dict:
    """One reconciliation run (stored with its findings), optionally opening the explanation tasks."""
    progress(0, 2 if params.get("open_tasks") else 1)
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == params["agency"]))
        if agency is None:
            raise JobRefused("not_found", f"找不到機關 Agency '{params['agency']}' not found", 404)
        try:
            result = reconcile(session, agency, params["period"], dt.timedelta(seconds=params["tolerance_seconds"]),
                               actor=params.get("actor"))
        except ValueError as exc:
            raise JobRefused("bad_request", str(exc), 400) from None
        progress(1, None)
        opened = open_explanations(session, result.run_id) if params.get("open_tasks") else []
    return {"run_id": result.run_id, "agency": agency.code, "period": result.period, "counts": result.counts,
            "log_records": result.log_records, "register_entries": result.register_entries,
            "summary": result.summary_line(), "explanation_instances": opened}


@handler("fire_due_timers")
def fire_due_timers_job(db: Database, params: dict, progress: Progress) -> dict:
    """The due timers of `instance_ids` (a batch of a backlog the scheduler handed over), else every timer due
    now; each instance under its own lock, so a batch run twice fires nothing twice."""
    ids = params.get("instance_ids")
    if ids is None:
        return {"fired": timekeeping.fire_due_timers(db)}
    fired = 0
    for done, instance_id in enumerate(ids, start=1):
        fired += runtime.fire_timers(db, int(instance_id))
        progress(done, len(ids))
    return {"fired": fired}
