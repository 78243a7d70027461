"""Deploy model files from disk: the bundled `bpmn/` folder (by `webir init-db`) or files named on the CLI."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.orm import Session

from engine.assignment import KNOWN_ROLES
from engine.bundle import ModelFile
from engine.specs import DeployResult, deploy

BUNDLED_DIR = Path(os.environ.get("WEBIR_BPMN_PATH", Path(__file__).resolve().parent.parent / "bpmn"))
MODEL_SUFFIXES = (".bpmn", ".dmn", ".json")


def files_under(folder: Path) -> list[ModelFile]:
    """Every model file under a folder, named by its path relative to the folder."""
    return [ModelFile(p.relative_to(folder).as_posix(), p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in MODEL_SUFFIXES]


def deploy_files(session: Session, files: list[ModelFile], actor: str | None, source: str) -> DeployResult:
    """Deploy as one version (refused whole on any problem)."""
    return deploy(session, files, actor, source, set(KNOWN_ROLES))


def deploy_bundled(session: Session, folder: Path = BUNDLED_DIR) -> DeployResult:
    """Deploy the product's own models; a no-op when they are unchanged since the last deployment."""
    return deploy_files(session, files_under(folder), "init-db", f"bundled {folder.name}/")
