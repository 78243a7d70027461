"""Settings read from the environment that the engine itself needs (the web app reads the same ones)."""

from __future__ import annotations

import os
from pathlib import Path


def instance_path() -> Path:
    """WEBIR_INSTANCE_PATH (default ./instance): database, evidence files, secret key."""
    return Path(os.environ.get("WEBIR_INSTANCE_PATH", "instance")).resolve()
