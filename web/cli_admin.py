"""`webir audit verify`, `webir backup`, `webir restore`: keeping the record trustworthy and recoverable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from engine import audit
from engine.db import Database


def _sqlite_path(db: Database) -> Path:
    if not db.is_sqlite:
        raise click.ClickException("webir backup/restore handle the embedded SQLite database; for PostgreSQL use "
                                   "pg_dump / pg_restore (see docs/reliability.md)")
    return Path(db.engine.url.database)


def register(main: click.Group, database, user_errors) -> None:
    """Add the record-keeping commands to the `webir` group."""

    @main.group("audit")
    def audit_group() -> None:
        """The tamper-evident audit log."""

    @audit_group.command("verify")
    @user_errors
    def audit_verify() -> None:
        """Check every event's hash and link; exit 1 naming the first broken entry."""
        report = audit.verify(database())
        if not report.ok:
            raise click.ClickException(f"audit log broken at event {report.broken_id}: {report.reason} "
                                       f"({report.checked} events before it are intact)")
        click.echo(f"audit log intact: {report.checked} events verified")

    @main.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False))
    @user_errors
    def backup(target: str) -> None:
        """Copy the SQLite database to TARGET while it runs (SQLite online backup), then verify the copy."""
        source = _sqlite_path(database())
        if Path(target).exists():
            raise click.ClickException(f"{target} exists; choose a new file name (backups are never overwritten)")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        report = audit.verify(Database(f"sqlite:///{Path(target).resolve()}"))
        click.echo(f"backup written to {target}: {report.checked} audit events, chain "
                   f"{'intact' if report.ok else 'BROKEN at ' + str(report.broken_id)}")

    @main.command("restore")
    @click.argument("source", type=click.Path(exists=True, dir_okay=False))
    @click.option("--yes", is_flag=True, help="Replace the current database without asking.")
    @user_errors
    def restore(source: str, yes: bool) -> None:
        """Replace the SQLite database with a backup, after checking the backup's audit chain."""
        report = audit.verify(Database(f"sqlite:///{Path(source).resolve()}"))
        if not report.ok:
            raise click.ClickException(f"refused: the backup's audit log is broken at event {report.broken_id}")
        target = _sqlite_path(database())
        if not yes:
            click.confirm(f"Replace {target} with {source}?", abort=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        click.echo(f"restored {source} into {target}: {report.checked} audit events verified")
