"""The `webir` command: database set-up, serving, organisation and deployment administration."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from engine import clock, simulated_clock
from engine.bundle import BundleError, ModelFile
from engine.db import Database
from engine.scheduler import Scheduler
from web import cli_admin, cli_calendar, cli_evidence, cli_jobs, cli_records, cli_trace, database_url, instance_path
from workflows import bundled, demo, org

REPO_ROOT = Path(__file__).resolve().parent.parent


def _database(with_clock: bool = True) -> Database:
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    database = Database(database_url(folder))
    if with_clock:
        simulated_clock.configure(database)
    return database


def user_errors(func):
    """Turn expected failures into a one-line reason and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except org.OrgError as exc:
            raise click.ClickException(str(exc)) from None
        except BundleError as exc:
            for problem in exc.problems[1:]:
                click.echo(f"  {problem.describe()}", err=True)
            raise click.ClickException(f"deployment refused: {exc.problems[0].describe()}") from None
        except ValueError as exc:  # bad settings or arguments the engine refused (e.g. WEBIR_CLOCK)
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise click.ClickException(f"database error: {reason}") from None

    return wrapper


@click.group()
def main() -> None:
    """webir-bpm: the Taipei WebIR regulation as running BPMN processes."""


def upgrade_schema(database: Database) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@main.command("init-db")
@click.option("--demo", "with_demo", is_flag=True, help="Load the demo organisation (first run only).")
@user_errors
def init_db(with_demo: bool) -> None:
    """Create or upgrade the schema, deploy the bundled models, optionally load the demo organisation."""
    database = _database(with_clock=False)  # the simulated clock lives in a table the upgrade creates
    upgrade_schema(database)
    simulated_clock.configure(database)
    with database.transaction() as session:
        result = bundled.deploy_bundled(session)
        loaded = demo.load_demo(session, demo.demo_approval_date(clock.now().date())) if with_demo else False
    state = "unchanged" if result.unchanged else "deployed"
    click.echo(f"schema up to date; bundled models {state} as version {result.version}: "
               f"{', '.join(result.process_ids)}")
    if loaded:
        demo.start_demo_instances(database)  # after the commit: each step is its own transaction
    if with_demo:
        click.echo("demo organisation loaded" if loaded else "demo organisation already present")


def print_demo_logins() -> None:
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for username, agency, roles, vendor, display in demo.USERS + demo.IN_FLIGHT_USERS:
        what = ", ".join(roles) or ("vendor employee" if vendor else "staff")
        click.echo(f"  {username:<12} {agency:<5} {what:<14} {display}")


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Serve the web app with the scheduler in the same process (one machine, embedded database)."""
    from werkzeug.serving import run_simple

    from web import create_app

    app = create_app()
    scheduler = Scheduler(app.extensions["webir_db"])
    scheduler.start()
    _requeue_unfinished_jobs(app)
    print_demo_logins()
    click.echo(f"webir-bpm on http://{host}:{port}/ with its scheduler  (Ctrl-C stops)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        scheduler.stop()


def _requeue_unfinished_jobs(app) -> None:
    """Jobs the previous `webir run` left unfinished: without a broker they ran in that process, so all of them."""
    from web.jobs import job_queue

    with app.app_context():
        queue = job_queue()
        requeued = queue.requeue_stale(0 if queue.broker_url is None else None)
    if requeued:
        click.echo(f"background jobs queued again: {' '.join(map(str, requeued))}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app only, with gunicorn (no scheduler)."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    os.execv(gunicorn, [gunicorn, "--config", "python:web.gunicorn_conf", "--workers", str(workers),  # noqa: S606
                        "--bind", f"{host}:{port}", "web.wsgi:app"])


@main.group()
def agency() -> None:
    """Agencies."""


@agency.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--delegated-by", default=None, help="Code of the agency that commissioned this one.")
@click.option("--master", is_flag=True, help="This is the master agency (勞動局).")
@click.option("--approved-on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@user_errors
def agency_create(code, name, delegated_by, master, approved_on) -> None:
    """Create an agency."""
    with _database().transaction() as session:
        created = org.create_agency(session, code, name, delegated_by, master,
                                    approved_on.date() if approved_on else None, actor="cli")
        click.echo(f"agency {created.code} created")


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.argument("username")
@click.option("--agency", "agency_code", required=True)
@click.option("--role", "roles", multiple=True)
@click.option("--password", required=True)
@click.option("--vendor", is_flag=True, help="An outsourced-vendor employee (may never be authorised).")
@click.option("--name", "display_name", default="")
@user_errors
def user_create(username, agency_code, roles, password, vendor, display_name) -> None:
    """Create a user with optional roles."""
    with _database().transaction() as session:
        created = org.create_user(session, username, agency_code, password, roles, vendor, display_name, "cli")
        click.echo(f"user {created.username} created")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("username")
@user_errors
def token_create(username) -> None:
    """Print a new API bearer token for a user (only the token, one line)."""
    with _database().transaction() as session:
        click.echo(org.issue_token(session, username, actor="cli"))


def _model_files(paths: tuple[str, ...]) -> list[ModelFile]:
    """Files named relative to their common folder (so `forms/x.json` keeps its folder)."""
    resolved = [Path(p).resolve() for p in paths]
    files = [f for p in resolved if p.is_dir() for f in bundled.files_under(p)]
    plain = [p for p in resolved if not p.is_dir()]
    if plain:
        base = Path(os.path.commonpath([p.parent for p in plain]))
        files += [ModelFile(p.relative_to(base).as_posix(), p.read_bytes()) for p in plain]
    return files


@main.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@user_errors
def deploy(paths) -> None:
    """Deploy BPMN/DMN/form files as one new version; prints `process_id version` lines."""
    with _database().transaction() as session:
        result = bundled.deploy_files(session, _model_files(paths), "cli", "cli deploy")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for process_id in result.process_ids:
        click.echo(f"{process_id} {result.version}")


cli_calendar.register(main, _database, user_errors)
cli_admin.register(main, _database, user_errors)
cli_records.register(main, _database, user_errors)
cli_trace.register(main, _database, user_errors)
cli_evidence.register(main, _database, user_errors)
cli_jobs.register(main, _database, user_errors)
