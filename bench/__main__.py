"""`python -m bench` (or `make bench`): the limit and the engine, side by side, in one process run.

1. the limit: pure SpiffWorkflow, in memory, for user_account_application's two human steps: restore the
   serialized workflow -> complete the task -> run engine steps -> serialize (with the spec inside the JSON,
   as a naive host stores it, and with the spec restored once, as our engine does);
2. the engine: the same two completions through engine.runtime (lock, load, validate the form, run, mirror
   task rows, audit chain, save) on SQLite and, with --pg, on PostgreSQL.
`python -m bench http --pg URL`: the REST API under gunicorn with concurrent clients (bench/http_bench.py).
`python -m bench all --pg URL`: the five measurements of issue 10 in one run, with a targets table (bench/all.py).
`python -m bench state-size [--pg URL]`: instance state sizes per process after a simulated year (bench/state_size.py).
Prints a markdown table with medians, p95 and the engine/limit ratio. The measures take turns, in ten rounds of
n/10 applications each, so a shared machine's changing speed weighs on all of them alike.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from bench.runtime_bench import STEPS, _prepare, applications  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.scripts import ScriptRegistry, script_engine  # noqa: E402

BPMN = Path(__file__).resolve().parent.parent / "bpmn" / "user_account_application.bpmn"
START = {"applicant": "dsw.staff", "applicant_name": "Tsai", "applicant_is_vendor": False, "agency": "DSW",
         "agency_name": "社會局"}


# The limit has no database: service tasks answer what the regulation's handlers would, from memory.
IN_MEMORY_SERVICES = ScriptRegistry(services={
    "screen_account_application": lambda call: {"unit_admin_present": True, "agency_items": [],
                                                 "outside_agency_scope": []},
    "check_granted_items": lambda call: {"items": call.data.get("business_items", []), "outside": [], "within": True},
    "record_account_application": lambda call: {"application_id": 1, "outcome": call.data.get("outcome")},
})


def _limit(n: int, spec_in_json: bool) -> list[float]:
    """Milliseconds per task completion (restore -> complete -> run -> serialize), pure SpiffWorkflow."""
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("user_account_application")
    samples = []
    for _ in range(n):
        workflow = BpmnWorkflow(spec, script_engine=script_engine(registry=IN_MEMORY_SERVICES))
        workflow.task_tree.data.update(START)
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        while not workflow.is_completed():
            started = time.perf_counter()
            workflow = serializer.deserialize_json(state) if spec_in_json else _restore(serializer, state, spec)
            workflow.script_engine = script_engine(registry=IN_MEMORY_SERVICES)
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(STEPS[task.task_spec.name][1])
            task.run()
            workflow.do_engine_steps()
            state = serializer.serialize_json(workflow)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def side_by_side(n: int, pg: str | None, rounds: int = 10) -> dict[str, list[float]]:
    """ms per task completion of the limit (spec restored once; spec inside the JSON) and of the engine on SQLite
    (and PostgreSQL), for n applications each, measured in `rounds` interleaved blocks: on a machine whose speed
    drifts (a shared virtual machine) every measure is slowed alike, so the ratios hold."""
    per = max(1, n // rounds)
    samples: dict[str, list[float]] = {"limit": [], "limit_json": [], "sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory() as folder:
        databases = {"sqlite": Database(f"sqlite:///{folder}/bench.sqlite3")}
        if pg:
            databases["postgresql"] = Database(pg)
        users = {name: _prepare(db) for name, db in databases.items()}
        try:
            for _ in range(rounds):
                samples["limit"] += _limit(per, False)
                samples["limit_json"] += _limit(per, True)
                for name, db in databases.items():
                    samples[name] += applications(db, users[name], per)["complete"]
        finally:
            for db in databases.values():
                db.dispose()
    return samples


def _restore(serializer, state: str, spec) -> BpmnWorkflow:
    from engine.state import _WORKFLOW_CONVERTER, SERIALIZER

    dct = json.loads(state)
    dct.pop("spec")
    dct.pop("subprocess_specs")
    SERIALIZER.migrate(dct)
    from uuid import UUID

    workflow = BpmnWorkflow(spec, {}, deserializing=True)
    workflow.tasks = _WORKFLOW_CONVERTER.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    _WORKFLOW_CONVERTER.set_default_attributes(workflow, dct)
    _WORKFLOW_CONVERTER.subprocesses_from_dict(dct["subprocesses"], workflow)
    return workflow


def _row(name: str, samples: list[float], limit: float | None) -> str:
    samples = sorted(samples)
    median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
    ratio = f"{median / limit:.1f}x" if limit else "1.0x (the limit)"
    return f"| {name} | {len(samples)} | {median:.2f} | {p95:.2f} | {ratio} |"


def main() -> None:
    if sys.argv[1:2] == ["http"]:  # `python -m bench http ...`: the HTTP load benchmark (bench/http_bench.py)
        from bench import http_bench

        http_bench.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["all"]:  # `python -m bench all --pg URL`: issue 10's five measurements and their targets
        from bench import all as everything

        everything.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["state-size"]:  # `python -m bench state-size ...`: instance state after a simulated year
        from bench import state_size

        state_size.main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench", epilog="`python -m bench http --help`: the HTTP "
                                     "load benchmark under gunicorn; `python -m bench state-size --help`: instance "
                                     "state after a simulated year")
    parser.add_argument("--n", type=int, default=200, help="applications per measurement")
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (its tables are dropped and recreated)")
    args = parser.parse_args()
    print(f"Machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print_side_by_side(side_by_side(args.n, args.pg))


def print_side_by_side(samples: dict[str, list[float]]) -> dict[str, float]:
    """The table of side_by_side's samples; returns the medians."""
    limit = statistics.median(samples["limit"])
    print("| what | task completions | median ms | p95 ms | vs limit |\n|---|---|---|---|---|")
    print(_row("pure SpiffWorkflow, spec restored once (the limit)", samples["limit"], None))
    print(_row("pure SpiffWorkflow, spec inside the JSON", samples["limit_json"], limit))
    print(_row("engine on SQLite", samples["sqlite"], limit))
    if samples["postgresql"]:
        print(_row("engine on PostgreSQL", samples["postgresql"], limit))
    return {name: statistics.median(values) for name, values in samples.items() if values}


if __name__ == "__main__":
    main()
