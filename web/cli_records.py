"""`webir import-query-log`, `webir import-register` and `webir reconcile`: the query records from the shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select

from engine import clock
from engine.models import Agency
from web import instance_path
from workflows.query_explanation import open_explanations
from workflows.query_log import ImportResult, import_query_log
from workflows.reconcile import FINDING_TYPES, reconcile
from workflows.record_settings import per_record_method, set_per_record_method
from workflows.register import import_register

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def evidence_root() -> Path:
    """The instance folder: raw imported files go to its evidence store (R8.1.5)."""
    return instance_path()


def _import_with_progress(importer, db, file: Path, agency_code: str) -> ImportResult:
    stderr = sys.stderr
    with click.progressbar(length=file.stat().st_size, label=f"匯入 importing {file.name}", file=stderr,
                           show_eta=True) as bar:
        def progress(position: int) -> None:
            bar.update(max(0, position - bar.pos))

        return importer(db, file, agency_code, evidence_root(), filename=file.name, actor="cli", progress=progress)


def _report(result: ImportResult, what: str) -> None:
    click.echo(f"imported {result.imported} {what} ({result.duplicates} duplicates skipped, "
               f"{result.rejected_total} rows rejected); file kept as evidence, sha256 {result.sha256}")
    for row in result.rejected:
        click.echo(f"line {row['line']}: {row['reason']}")
    if result.rejected_total > len(result.rejected):
        click.echo(f"... and {result.rejected_total - len(result.rejected)} more rejected rows")


def register(main: click.Group, database, user_errors) -> None:
    """Add the query-record commands to the `webir` group."""

    @main.command("import-query-log")
    @click.argument("file", type=FILE)
    @click.option("--agency", "agency_code", required=True, help="Code of the agency whose log this is.")
    @user_errors
    def import_query_log_command(file: Path, agency_code: str) -> None:
        """Import a WebIR query-log export (CSV UTF-8/Big5 or XLSX) in one transaction (R8.1.1)."""
        _report(_import_with_progress(import_query_log, database(), file, agency_code), "log records")

    @main.command("import-register")
    @click.argument("file", type=FILE)
    @click.option("--agency", "agency_code", required=True, help="Code of the agency whose register this is.")
    @user_errors
    def import_register_command(file: Path, agency_code: str) -> None:
        """Import query-register (Form 2) entries from CSV or XLSX in one transaction (R6.1)."""
        _report(_import_with_progress(import_register, database(), file, agency_code),
                "register entries")

    @main.command("reconcile")
    @click.option("--agency", "agency_code", required=True)
    @click.option("--period", required=True, help="The month, YYYY-MM.")
    @click.option("--tolerance", default="P1D", show_default=True,
                  help="How far apart a log record and its register entry may be (ISO duration, e.g. PT12H).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object {finding_type: count}.")
    @click.option("--tasks", is_flag=True, help="Start a query_explanation task for each querier with findings.")
    @user_errors
    def reconcile_command(agency_code: str, period: str, tolerance: str, as_json: bool, tasks: bool) -> None:
        """Per-record reconciliation of the register against the query log (R3.4, R6.3, R8.1.2)."""
        window = clock.parse_duration(tolerance)
        with database().transaction() as session:
            agency = session.scalar(select(Agency).where(Agency.code == agency_code.strip().upper()))
            if agency is None:
                raise click.ClickException(f"agency '{agency_code}' does not exist")
            result = reconcile(session, agency, period, window, actor="cli")
            opened = open_explanations(session, result.run_id) if tasks else []
        if as_json:
            click.echo(json.dumps({key: result.counts[key] for key in FINDING_TYPES}))
            return
        for key in FINDING_TYPES:
            click.echo(f"{key:<24} {result.counts[key]}")
        click.echo(result.summary_line())
        if tasks:
            click.echo(f"R6.1 explanation tasks started: {len(opened)}")
    _register_record_method(main, database, user_errors)


def _register_record_method(main: click.Group, database, user_errors) -> None:
    """`webir agency record-method CODE [--per-record|--count]` (R3.4, R6.6)."""

    @main.commands["agency"].command("record-method")
    @click.argument("code")
    @click.option("--per-record/--count", "per_record", default=None,
                  help="Set the method: one by one (R3.4, R6.6) or the monthly count (R3.3). Without: show it.")
    @user_errors
    def record_method_command(code: str, per_record: bool | None) -> None:
        """An agency's register comparison method; the per-record method skips the manual count steps."""
        with database().transaction() as session:
            agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
            if agency is None:
                raise click.ClickException(f"agency '{code}' does not exist")
            if per_record is not None:
                set_per_record_method(session, agency, per_record, "cli")
            method = "per-record" if per_record_method(session, agency.id) else "count"
        click.echo(f"{agency.code} {method}")
