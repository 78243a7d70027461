"""`webir evidence verify ID` / `--file ZIP`: check an evidence package against its SHA-256 manifest (R8.1.5)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.models import EvidenceFile
from engine.settings import instance_path
from workflows.evidence_package import PackageCheck, PackageInvalid, verify_archive, verify_package


def _check_stored(database, evidence_id: int) -> tuple[str, PackageCheck]:
    with database().sessions() as session:
        row = session.get(EvidenceFile, evidence_id)
        if row is None:
            raise click.ClickException(f"evidence {evidence_id} not found")
        return f"evidence {evidence_id} ({row.filename}, sha256 {row.sha256})", verify_package(instance_path(), row)


def _report(label: str, check: PackageCheck, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": check.ok, "files_checked": check.files_checked, "problems": check.problems},
                              ensure_ascii=False))
    else:
        for problem in check.problems:
            click.echo(f"  {problem}", err=True)
    if not check.ok:
        raise click.ClickException(f"{label}: NOT verified, {len(check.problems)} problem(s)")
    if not as_json:
        click.echo(f"{label}: verified, {check.files_checked} files match the manifest")


def register(main: click.Group, database, user_errors) -> None:
    @main.group("evidence")
    def evidence_group() -> None:
        """The evidence store: sealed audit evidence packages (R8.1.5, R7.3)."""

    @evidence_group.command("verify")
    @click.argument("evidence_id", type=int, required=False)
    @click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Verify a package file (e.g. a copy handed to an auditor) instead of a stored one.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @user_errors
    def verify_command(evidence_id: int | None, file: Path | None, as_json: bool) -> None:
        """Check a package: the ZIP against its recorded SHA-256 and every member against the manifest."""
        if (evidence_id is None) == (file is None):
            raise click.UsageError("give an evidence ID or --file ZIP (one of them)")
        try:
            label, check = (str(file), verify_archive(file)) if file else _check_stored(database, evidence_id)
        except PackageInvalid as exc:
            raise click.ClickException(str(exc)) from None
        _report(label, check, as_json)
