"""Raw imported files kept in the evidence store (R8.1.5), streamed: a million-row export is never in memory.

Same layout, row and retention as `engine.evidence.store` (`<instance>/evidence/<sha[:2]>/<sha256>`, one
`evidence_file` row per content, retention class `query_log` or `register`), so disposition (R7.4) and legal
holds apply to these files too; `store` itself takes bytes, which a 100 MB export should not become.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.calendar import add_months, local_date
from engine.evidence import RETENTION_YEARS
from engine.models import EvidenceFile
from workflows.clauses import implements
from workflows.tabular import FileRefused, SourceFile


def evidence_path(root: Path, sha256: str) -> Path:
    """Where the evidence store keeps a content (engine.evidence's layout)."""
    return Path(root) / "evidence" / sha256[:2] / sha256


@implements("R8.1.5", "R7.3")
def keep_raw_file(session: Session, source: SourceFile, root: Path, kind: str, agency_id: int,
                  actor: str | None, filename: str) -> tuple[EvidenceFile, Path | None]:
    """The evidence row for this file's content (stored once); the path when this call wrote the file."""
    existing = session.scalar(select(EvidenceFile).where(EvidenceFile.sha256 == source.sha256))
    if existing is not None and existing.destroyed_at is None:
        return existing, None
    if existing is not None:
        raise FileRefused(f"這個檔案已依規定銷毀 This file was destroyed on {existing.destroyed_at:%Y-%m-%d} (R7.4) "
                          "and cannot be imported again")
    target = evidence_path(root, source.sha256)
    written = None if target.exists() else _copy_once(source.path, target)
    years = RETENTION_YEARS[kind]
    row = EvidenceFile(sha256=source.sha256, filename=filename[:300], size=source.size, agency_id=agency_id,
                       content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                       if source.file_format == "xlsx" else "text/csv",
                       retention_class=kind, stored_at=clock.now(), stored_by=actor,
                       retain_until=add_months(local_date(clock.now()), 12 * years) if years else None)
    session.add(row)
    session.flush()
    audit.record(session, "evidence_stored", actor, evidence=row.id, sha256=source.sha256, retention_class=kind,
                 filename=row.filename)
    return row, written


def _copy_once(path: Path, target: Path) -> Path:
    """Copy atomically (temp file, fsync, rename) in chunks; an existing target is never touched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with path.open("rb") as source, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        shutil.copyfileobj(source, tmp, 1 << 20)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, target)
    return target
