"""The evidence store: files kept by SHA-256 under the instance folder, never overwritten, destroyed only
through a disposition process instance after their retention date and without legal hold (R7.1-R7.4,
R8.1.5). Retention periods are data: `RETENTION_YEARS` maps a class to its minimum years."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.calendar import add_months, local_date
from engine.models import EvidenceFile

# R7.3: audit records and reports kept at least 3 years; R7.2: application forms 3 years after revocation
# (their date is set when the account is revoked); query logs back the audits, so they follow R7.3.
RETENTION_YEARS = {"audit_record": 3, "query_log": 3, "application_form": None, "register": 3, "other": 3}
MAX_EVIDENCE_BYTES = 50 * 1024 * 1024


class EvidenceError(ValueError):
    """A request the evidence store refuses; the message says why."""


def _path(root: Path, sha256: str) -> Path:
    return root / "evidence" / sha256[:2] / sha256


def evidence_path(root: Path, sha256: str) -> Path:
    """Where the store keeps a content."""
    return _path(Path(root), sha256)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _write_once(root: Path, sha256: str, content: bytes) -> None:
    """Write atomically (temp file, fsync, rename); an existing file with this hash is never touched."""
    target = _path(root, sha256)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(content)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, target)


def store(session: Session, root: Path, content: bytes, filename: str, retention_class: str, actor: str | None,
          agency_id: int | None = None, content_type: str = "application/octet-stream",
          source_instance_id: int | None = None) -> EvidenceFile:
    """Keep a file (the same content twice is kept once) and record it in the current transaction."""
    if retention_class not in RETENTION_YEARS:
        raise EvidenceError(f"unknown retention class '{retention_class}': one of {', '.join(RETENTION_YEARS)}")
    if not content or len(content) > MAX_EVIDENCE_BYTES:
        raise EvidenceError(f"evidence must be 1 byte to {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB")
    sha256 = hashlib.sha256(content).hexdigest()
    existing = session.scalar(select(EvidenceFile).where(EvidenceFile.sha256 == sha256))
    if existing is not None and existing.destroyed_at is None:
        return existing
    if existing is not None:
        raise EvidenceError(f"this file was destroyed on {existing.destroyed_at:%Y-%m-%d} and cannot be stored again")
    _write_once(root, sha256, content)
    return _record(session, sha256, len(content), filename, retention_class, actor, agency_id, content_type,
                   source_instance_id)


def store_file(session: Session, root: Path, path: Path, filename: str, retention_class: str, actor: str | None,
               agency_id: int | None = None, content_type: str = "application/octet-stream",
               source_instance_id: int | None = None) -> EvidenceFile:
    """Keep a file from disk, streamed (packages of a half-year's logs may exceed what uploads allow)."""
    if retention_class not in RETENTION_YEARS:
        raise EvidenceError(f"unknown retention class '{retention_class}': one of {', '.join(RETENTION_YEARS)}")
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    sha256 = digest.hexdigest()
    if size == 0:
        raise EvidenceError("evidence must not be empty")
    existing = session.scalar(select(EvidenceFile).where(EvidenceFile.sha256 == sha256))
    if existing is not None:
        if existing.destroyed_at is not None:
            raise EvidenceError(f"this file was destroyed on {existing.destroyed_at:%Y-%m-%d}: not stored again")
        return existing
    target = _path(root, sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with Path(path).open("rb") as source, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            shutil.copyfileobj(source, tmp, 1 << 20)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, target)
    return _record(session, sha256, size, filename, retention_class, actor, agency_id, content_type,
                   source_instance_id)


def _record(session: Session, sha256: str, size: int, filename: str, retention_class: str, actor: str | None,
            agency_id: int | None, content_type: str, source_instance_id: int | None) -> EvidenceFile:
    years = RETENTION_YEARS[retention_class]
    row = EvidenceFile(sha256=sha256, filename=filename[:300], content_type=content_type[:120], size=size,
                       agency_id=agency_id, retention_class=retention_class, stored_at=clock.now(), stored_by=actor,
                       retain_until=add_months(local_date(clock.now()), 12 * years) if years else None,
                       source_instance_id=source_instance_id)
    session.add(row)
    session.flush()
    audit.record(session, "evidence_stored", actor, source_instance_id, evidence=row.id, sha256=sha256,
                 retention_class=retention_class, filename=row.filename)
    return row


def path_of(root: Path, row: EvidenceFile) -> Path:
    """Where the stored bytes of a row are (read them through `read` or `open_checked`)."""
    return _path(root, row.sha256)


def open_checked(root: Path, row: EvidenceFile) -> Path:
    """The stored file's path after checking it against its hash, streamed (large files are not read whole)."""
    if row.destroyed_at is not None:
        raise EvidenceError(f"evidence {row.id} was destroyed on {row.destroyed_at:%Y-%m-%d}")
    target = _path(root, row.sha256)
    if not target.exists():
        raise EvidenceError(f"evidence {row.id} is missing from the evidence store")
    digest = hashlib.sha256()
    with target.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != row.sha256:
        raise EvidenceError(f"evidence {row.id} does not match its SHA-256: the stored file was altered")
    return target


def read(root: Path, row: EvidenceFile) -> bytes:
    """The file's bytes, checked against its hash (a changed file is an error, not evidence)."""
    if row.destroyed_at is not None:
        raise EvidenceError(f"evidence {row.id} was destroyed on {row.destroyed_at:%Y-%m-%d}")
    content = _path(root, row.sha256).read_bytes()
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise EvidenceError(f"evidence {row.id} does not match its SHA-256: the stored file was altered")
    return content


def set_hold(session: Session, row: EvidenceFile, hold: bool, reason: str, actor: str) -> None:
    """Put a file under legal hold (it cannot be destroyed) or release it, with the reason."""
    row.legal_hold, row.hold_reason = hold, reason
    audit.record(session, "evidence_hold" if hold else "evidence_released", actor, evidence=row.id, reason=reason)


def due_for_destruction(session: Session, agency_id: int, today: dt.date) -> list[EvidenceFile]:
    """An agency's files past their retention date and not on hold (what a disposition may destroy)."""
    return list(session.scalars(select(EvidenceFile).where(
        EvidenceFile.agency_id == agency_id, EvidenceFile.destroyed_at.is_(None), EvidenceFile.legal_hold.is_(False),
        EvidenceFile.retain_until.is_not(None), EvidenceFile.retain_until < today).order_by(EvidenceFile.id)))


def destroy(session: Session, root: Path, row: EvidenceFile, actor: str, disposition_instance_id: int) -> None:
    """Destroy one file under a disposition instance; the row stays as the record of its destruction."""
    today = local_date(clock.now())
    if row.legal_hold:
        raise EvidenceError(f"evidence {row.id} is under legal hold: {row.hold_reason}")
    if row.retain_until is None or row.retain_until >= today:
        raise EvidenceError(f"evidence {row.id} must be kept until {row.retain_until or 'a date not yet set'}")
    row.destroyed_at, row.destroyed_by, row.destroyed_in_instance_id = clock.now(), actor, disposition_instance_id
    audit.record(session, "evidence_destroyed", actor, disposition_instance_id, evidence=row.id, sha256=row.sha256,
                 retention_class=row.retention_class)
    path = _path(root, row.sha256)
    # The bytes go only once the record of their destruction is committed; a rollback keeps the file.
    event.listen(session, "after_commit", lambda _session: path.unlink(missing_ok=True), once=True)
