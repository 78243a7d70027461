"""`webir trace`: regulation traceability from the shell (clause by clause; flags what lacks code or tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from workflows import trace

LABELS = {"diagram": "圖 diagram", "rule": "規則 rule", "form": "表單 form", "code": "程式 code"}
FLAG_TEXT = {"no_implementation": "無實作 NO IMPLEMENTATION", "no_test": "無測試 NO TEST"}


def _echo_clause(row: trace.ClauseTrace) -> None:
    flags = ", ".join(FLAG_TEXT[f] for f in row.flags) or "OK"
    required = "" if row.enforced else " (不要求 not required for this kind)" if row.flags else ""
    click.echo(f"{row.clause} [{row.kind}] {row.gist}: {flags}{required}")
    for category, refs in row.implemented_by.items():
        if refs:
            click.echo(f"  {LABELS[category]}: {', '.join(refs)}")
    if row.tested_by:
        click.echo(f"  測試 tests ({len(row.tested_by)}): {', '.join(row.tested_by)}")


def _echo_summary(result: trace.Trace) -> None:
    enforced = [c for c in result.clauses if c.enforced]
    flagged = result.flagged()
    click.echo(f"\n{len(result.clauses)} clauses; {len(enforced)} of kind process/cycle/rule/retention/evidence, "
               f"{len(enforced) - len(flagged)} implemented and tested; models: {result.source}")
    for row in flagged:
        click.echo(f"FLAG {row.clause}: {', '.join(FLAG_TEXT[f] for f in row.flags)}")


def _load(database, deployed: bool, tests_dir: Path | None) -> trace.Trace:
    if not deployed:
        return trace.bundled_trace(tests_dir)
    with database(with_clock=False).sessions() as session:
        return trace.deployed_trace(session, tests_dir)


def register(main: click.Group, database, user_errors) -> None:
    """Add `webir trace` to the `webir` group."""

    @main.command("trace")
    @click.option("--json", "as_json", is_flag=True, help="Print [{clause, kind, implemented_by, tested_by}].")
    @click.option("--deployed", is_flag=True, help="Read the deployed models from the database, not bpmn/.")
    @click.option("--tests", "tests_path", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="The tests folder to read (default: tests/ of this checkout).")
    @click.option("--strict", is_flag=True, help="Exit 1 when a clause of an enforced kind is flagged.")
    @user_errors
    def trace_command(as_json: bool, deployed: bool, tests_path: Path | None, strict: bool) -> None:
        """Per clause: the diagram elements, rules, forms and code that implement it and the tests that prove it."""
        tests_dir = tests_path or trace.TESTS_DIR
        if not tests_dir.is_dir():
            click.echo(f"注意 note: no tests folder at {tests_dir} (an installed copy without its tests?): "
                       "no clause can be shown as tested", err=True)
        result = _load(database, deployed, tests_dir)
        for problem in result.problems:
            click.echo(f"warning: {problem}", err=True)
        if as_json:
            click.echo(json.dumps([row.as_json() for row in result.clauses], ensure_ascii=False, indent=1))
        else:
            for row in result.clauses:
                _echo_clause(row)
            _echo_summary(result)
        if strict and result.flagged():
            raise click.ClickException(f"{len(result.flagged())} clauses lack an implementation or a test: "
                                       + ", ".join(row.clause for row in result.flagged()))
