"""File fields in task forms: an uploaded file becomes an evidence file; the task data keeps its id and SHA-256.

A form property is a file field when its schema says `"format": "evidence-file"` (its value is an object
`{evidence_file_id, sha256, filename, size}`). Optional keywords: `maxBytes` (default 20 MB, never above the
evidence store's limit), `accept` (file-name endings, e.g. [".csv", ".xlsx"]) and `retentionClass` (default
`other`). The upload is stored in the same transaction as the task's completion, so a refused completion
keeps nothing (the bytes written for it are removed again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import evidence
from engine.models import EvidenceFile

FILE_FORMAT = "evidence-file"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Upload:
    """One uploaded file for a file field."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


class UploadTooLarge(ValueError):
    """A file above its field's `maxBytes` (HTTP 413); `field` and `limit` say which and how much."""

    def __init__(self, field: str, limit: int):
        super().__init__(f"{field}: 檔案超過 {limit // (1024 * 1024)} MB The file is larger than "
                         f"{limit // (1024 * 1024)} MB")
        self.field, self.limit = field, limit


def is_reference(value: Any) -> bool:
    """The shape a file field's value must have (the JSON-schema format checker uses it)."""
    return (isinstance(value, Mapping) and isinstance(value.get("evidence_file_id"), int)
            and not isinstance(value.get("evidence_file_id"), bool)
            and isinstance(value.get("sha256"), str) and bool(_SHA256.fullmatch(value["sha256"])))


def file_fields(schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The form's file fields by name."""
    properties = (schema or {}).get("properties") or {}
    return {name: prop for name, prop in properties.items()
            if isinstance(prop, Mapping) and prop.get("format") == FILE_FORMAT}


def max_bytes(prop: Mapping[str, Any]) -> int:
    try:
        wanted = int(prop.get("maxBytes", DEFAULT_MAX_BYTES))
    except (TypeError, ValueError):
        wanted = DEFAULT_MAX_BYTES
    return max(1, min(wanted, evidence.MAX_EVIDENCE_BYTES))


def reference(row: EvidenceFile) -> dict:
    """What the task data keeps of an evidence file."""
    return {"evidence_file_id": row.id, "sha256": row.sha256, "filename": row.filename, "size": row.size}


def _accepted(prop: Mapping[str, Any], filename: str) -> bool:
    endings = [str(e).lower() for e in prop.get("accept") or []]
    return not endings or filename.lower().endswith(tuple(endings))


def store_uploads(session: Session, root: Path, schema: Mapping[str, Any] | None, uploads: Mapping[str, Upload],
                  data: dict, actor: str, agency_id: int, instance_id: int, written: list[Path]) -> dict[str, str]:
    """Keep each upload as evidence and put its reference into `data`; field errors. Files this wrote are
    appended to `written` as they are written (so a later failure can remove them)."""
    fields, errors = file_fields(schema), {}
    for name, upload in uploads.items():
        prop = fields.get(name)
        if prop is None:
            errors[name] = "此欄位不收檔案 This field takes no file"
            continue
        if len(upload.content) > max_bytes(prop):
            raise UploadTooLarge(name, max_bytes(prop))
        if not upload.content:
            errors[name] = "檔案是空的 The file is empty (0 bytes)"
            continue
        if not _accepted(prop, upload.filename):
            errors[name] = "檔案類型不符 File type not accepted; use " + ", ".join(prop.get("accept") or [])
            continue
        path = evidence.evidence_path(root, evidence.sha256_of(upload.content))
        existed = path.exists()
        try:
            row = evidence.store(session, root, upload.content, Path(upload.filename).name or name,
                                 str(prop.get("retentionClass") or "other"), actor, agency_id,
                                 upload.content_type or "application/octet-stream", instance_id)
        except evidence.EvidenceError as exc:
            errors[name] = str(exc)
            continue
        if not existed and path.exists():
            written.append(path)
        data[name] = reference(row)
    return errors


def check_references(session: Session, schema: Mapping[str, Any] | None, data: Mapping[str, Any],
                     agency_id: int, uploaded: Iterable[str] = ()) -> dict[str, str]:
    """Each file field's reference (other than those just uploaded) names a kept evidence file of this agency
    with that SHA-256."""
    errors = {}
    for name in set(file_fields(schema)) - set(uploaded):
        value = data.get(name)
        if not is_reference(value):
            continue  # absent or malformed: the schema validation reports it
        row = session.get(EvidenceFile, value["evidence_file_id"])
        if row is None or row.sha256 != value["sha256"] or row.agency_id not in (None, agency_id) \
                or row.destroyed_at is not None:
            errors[name] = "找不到此檔案 No such evidence file (id and SHA-256 must match a kept file)"
    return errors


def discard(paths: list[Path]) -> None:
    """Remove files written for a completion that was refused or rolled back."""
    for path in paths:
        path.unlink(missing_ok=True)
