"""The evidence package that replaces the audit CD (R8.1.5, R7.3): one sealed ZIP per half-year audit.

It holds the half-year's query-log files (raw, as imported), its register entries (CSV) and register files,
the reconciliation results, the Form 4 checklist and the sign-off, plus `manifest.json` with the SHA-256 of
every other member. The ZIP itself is kept in the evidence store (retention class `audit_record`, 3 years,
R7.3), whose row records the ZIP's SHA-256 and whose storing is an event of the hash-chained audit log: a
changed package fails `verify_package` either on the ZIP digest or on a member digest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock, evidence
from engine.models import Agency, EvidenceFile, HumanTask, TaskStatus, User
from engine.scripts import REGISTRY, ServiceCall
from engine.settings import instance_path
from engine.specs import load_form
from workflows.internal_audit import HalfYear, half_year, reconciliation_runs
from workflows.models_records import (
    ImportedFile,
    QueryLogRecord,
    ReconciliationFinding,
    ReconciliationRun,
    RegisterEntry,
)

MANIFEST = "manifest.json"
PACKAGE_FORMAT = "webir-evidence-package/1"
CONTENT_TYPE = "application/zip"


class PackageInvalid(ValueError):
    """A package that is not a readable evidence package (the message says why)."""


@dataclass
class PackageCheck:
    """The outcome of verifying a package: ok when the ZIP and every member match their recorded digests."""

    ok: bool
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name)[:120] or "file"


def _csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: opens in Excel as UTF-8


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode("utf-8")


class _Writer:
    """Adds members to the ZIP and remembers each member's digest for the manifest."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive, self.files = archive, []

    def add_bytes(self, name: str, content: bytes) -> None:
        self.archive.writestr(name, content)
        self.files.append({"path": name, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)})

    def add_file(self, name: str, path: Path, sha256: str, size: int) -> None:
        self.archive.write(path, name)
        self.files.append({"path": name, "sha256": sha256, "size": size})


def _imported_files(session: Session, agency_id: int, half: HalfYear, kind: str) -> list[ImportedFile]:
    """Files of a kind with at least one record of the half-year."""
    start, end = half.window
    if kind == "query_log":
        ids = select(QueryLogRecord.file_id).where(QueryLogRecord.agency_id == agency_id,
                                                   QueryLogRecord.query_ts >= start, QueryLogRecord.query_ts < end)
    else:
        ids = select(RegisterEntry.file_id).where(RegisterEntry.agency_id == agency_id,
                                                  RegisterEntry.window_start_ts >= start,
                                                  RegisterEntry.window_start_ts < end)
    return list(session.scalars(select(ImportedFile).where(ImportedFile.id.in_(ids.distinct()),
                                                           ImportedFile.kind == kind).order_by(ImportedFile.id)))


def _add_raw_files(writer: _Writer, session: Session, root: Path, files: list[ImportedFile], folder: str) -> None:
    for imported in files:
        row = session.get(EvidenceFile, imported.evidence_file_id) if imported.evidence_file_id else None
        if row is None:
            continue
        path = evidence.open_checked(root, row)
        writer.add_file(f"{folder}/{imported.id}-{_safe(imported.filename)}", path, row.sha256, row.size)


def _register_rows(session: Session, agency_id: int, half: HalfYear) -> list[list]:
    start, end = half.window
    rows = [["id", "case_number", "querier", "queried_at", "purpose", "subject_id", "query_item", "corrects_id",
             "withdrawn", "source", "recorded_by"]]
    for e in session.scalars(select(RegisterEntry).where(
            RegisterEntry.agency_id == agency_id, RegisterEntry.window_start_ts >= start,
            RegisterEntry.window_start_ts < end).order_by(RegisterEntry.window_start_ts, RegisterEntry.id)):
        rows.append([e.id, e.case_number, e.querier, e.queried_at.isoformat(), e.purpose, e.subject_id,
                     e.query_item or "", e.corrects_id or "", e.withdrawn, e.source, e.recorded_by or ""])
    return rows


def _reconciliation(session: Session, agency_id: int, half: HalfYear) -> tuple[list[dict], list[list]]:
    run_ids = reconciliation_runs(session, agency_id, half)
    runs = [{"id": r.id, "period": r.period, "counts": r.counts, "log_records": r.log_records,
             "register_entries": r.register_entries, "run_at": r.run_at.isoformat(), "run_by": r.run_by}
            for r in session.scalars(select(ReconciliationRun).where(ReconciliationRun.id.in_(run_ids or [-1]))
                                     .order_by(ReconciliationRun.period))]
    rows = [["id", "run_id", "finding_type", "account", "log_record_id", "register_entry_id", "explanation",
             "explained_by", "review_decision", "reviewed_by"]]
    for f in session.scalars(select(ReconciliationFinding).where(ReconciliationFinding.run_id.in_(run_ids or [-1]))
                             .order_by(ReconciliationFinding.id)):
        rows.append([f.id, f.run_id, f.finding_type, f.account or "", f.log_record_id or "", f.register_entry_id or "",
                     f.explanation or "", f.explained_by or "", f.review_decision or "", f.reviewed_by or ""])
    return runs, rows


def _sign_off(session: Session, instance_id: int, data: dict) -> dict:
    """Who did what in the audit (every completed task, in order) and the head's decision."""
    done = session.execute(select(HumanTask, User).outerjoin(User, User.id == HumanTask.completed_by_id)
                           .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.COMPLETED)
                           .order_by(HumanTask.id))
    steps = [{"task": t.name, "title": t.title, "completed_by": user.username if user else None,
              "completed_at": t.completed_at.isoformat() if t.completed_at else None} for t, user in done]
    return {"decision": data.get("decision"), "approved": data.get("approved"), "comment": data.get("comment"),
            "signed_off_by": steps[-1]["completed_by"] if steps else None,
            "signed_off_at": steps[-1]["completed_at"] if steps else None, "steps": steps}


def build_package(session: Session, root: Path, agency: Agency, half: HalfYear, instance_id: int,
                  checklist: dict, data: dict, actor: str | None) -> tuple[EvidenceFile, dict]:
    """Build, seal and store the package of one half-year audit; returns its evidence row and its manifest."""
    root.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=root, suffix=".zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as archive:
            writer = _Writer(archive)
            _add_raw_files(writer, session, root, _imported_files(session, agency.id, half, "query_log"), "query_logs")
            _add_raw_files(writer, session, root, _imported_files(session, agency.id, half, "register"),
                           "register/files")
            writer.add_bytes("register/register_entries.csv", _csv(_register_rows(session, agency.id, half)))
            runs, findings = _reconciliation(session, agency.id, half)
            writer.add_bytes("reconciliation/runs.json", _json(runs))
            writer.add_bytes("reconciliation/findings.csv", _csv(findings))
            writer.add_bytes("checklist_form_4.json", _json(checklist))
            writer.add_bytes("sign_off.json", _json(_sign_off(session, instance_id, data)))
            manifest = {"format": PACKAGE_FORMAT, "agency": agency.code, "agency_name": agency.name,
                        "period": half.label, "instance_id": instance_id, "built_at": clock.now().isoformat(),
                        "built_by": actor, "clauses": ["R8.1.5", "R7.3", "R8.1.4"], "files": writer.files}
            archive.writestr(MANIFEST, _json(manifest))
        row = evidence.store_file(session, root, Path(name), f"evidence-{agency.code}-{half.label}.zip", "audit_record",
                                  actor, agency.id, CONTENT_TYPE, instance_id)
    finally:
        Path(name).unlink(missing_ok=True)
    return row, manifest


def _member_digest(archive: zipfile.ZipFile, name: str) -> str:
    """SHA-256 of one member, streamed (a half-year's query log may be large)."""
    digest = hashlib.sha256()
    with archive.open(name) as member:
        while chunk := member.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_archive(path: Path) -> PackageCheck:
    """Check every member of a package file against its manifest (no database needed: an auditor's copy)."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            listed = {f["path"]: f for f in manifest.get("files", [])}
            problems = []
            for entry in listed.values():
                try:
                    digest = _member_digest(archive, entry["path"])
                except KeyError:
                    problems.append(f"{entry['path']}: 缺少 missing from the package")
                    continue
                if digest != entry["sha256"]:
                    problems.append(f"{entry['path']}: SHA-256 不符 does not match the manifest")
            extra = sorted(set(archive.namelist()) - set(listed) - {MANIFEST})
            problems += [f"{n}: 不在清單中 not listed in the manifest" for n in extra]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise PackageInvalid(f"不是有效的證據包 Not a readable evidence package: {exc}") from None
    return PackageCheck(not problems, len(listed), problems, manifest)


def verify_package(root: Path, row: EvidenceFile) -> PackageCheck:
    """Check a stored package: the ZIP against its recorded SHA-256, then every member against the manifest."""
    try:
        path = evidence.open_checked(root, row)
    except evidence.EvidenceError as exc:
        return PackageCheck(False, 0, [str(exc)])
    return verify_archive(path)


def package_of(session: Session, instance_id: int) -> EvidenceFile | None:
    """The evidence package an audit instance built (None before the head's approval)."""
    return session.scalar(select(EvidenceFile).where(EvidenceFile.source_instance_id == instance_id,
                                                     EvidenceFile.content_type == CONTENT_TYPE,
                                                     EvidenceFile.retention_class == "audit_record")
                          .order_by(EvidenceFile.id.desc()).limit(1))


FORM_4 = "forms/internal_audit_form_4.schema.json"


def checklist_of(schema: dict | None, data: dict) -> dict:
    """Form 4 as filed: one entry per item (clause, title, result, evidence, remark) plus date and findings."""
    props = (schema or {}).get("properties") or {}
    items = []
    for key, prop in props.items():
        if not key.startswith("item_"):
            continue
        suffix = key.removeprefix("item_")
        items.append({"clause": suffix.replace("_", "."), "title": prop.get("title", key), "result": data.get(key),
                      "evidence": data.get(f"evidence_{suffix}"), "remark": data.get(f"remark_{suffix}")})
    return {"form": "Form 4 查核項目表", "period": data.get("period"), "audited_on": data.get("audited_on"),
            "findings": data.get("findings"), "items": items, "prefill": data.get("audit_prefill")}


def seal_audit_evidence_package(call: ServiceCall) -> dict:
    """Service task `seal_audit_evidence_package` (R8.1.5, R7.3): build and keep the half-year's package."""
    ctx = call.context
    agency = ctx.session.get(Agency, ctx.instance.agency_id)
    half = half_year(str(call.data.get("period")))
    actor = ctx.actor.username if ctx.actor else None
    checklist = checklist_of(load_form(ctx.session, ctx.instance.version, FORM_4), call.data)
    row, manifest = build_package(ctx.session, instance_path(), agency, half, ctx.instance.id, checklist,
                                  call.data, actor)
    audit.record(ctx.session, "evidence_package_sealed", actor, ctx.instance.id, evidence=row.id, sha256=row.sha256,
                 period=half.label, files=len(manifest["files"]), clause="R8.1.5,R7.3")
    return {"evidence_id": row.id, "sha256": row.sha256, "files": len(manifest["files"]),
            "retain_until": row.retain_until.isoformat() if row.retain_until else None}


REGISTRY.service("seal_audit_evidence_package", seal_audit_evidence_package)
