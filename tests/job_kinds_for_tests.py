"""A job kind for the job tests only: waits until a file exists (or a timeout), reporting progress; loaded into a
test's `webir worker` with `--include job_kinds_for_tests`."""

from __future__ import annotations

import time
from pathlib import Path

from engine.jobs import JobRefused, handler


@handler("test_wait_for_file")
def wait_for_file(db, params: dict, progress) -> dict:
    started = time.monotonic()
    steps = 0
    while not Path(params["file"]).exists():
        if time.monotonic() - started > params.get("timeout", 60):
            raise JobRefused("timeout", "the file never came", 408)
        steps += 1
        progress(steps, 1000)
        time.sleep(0.05)
    if params.get("fail"):
        raise RuntimeError("asked to fail")
    return {"waited_steps": steps, "content": Path(params["file"]).read_text()}
