"""Regulation traceability: clause by clause, what implements it (diagram elements, rules, forms, code) and
which tests prove it, flagging clauses with neither. Read by `webir trace` and the `/regulation` page.

Conventions (docs/traceability.md): a BPMN element names its clauses in a `regulation` extension property;
a rule file names them in `clauses` lists; a form names them in its text; code is marked with
`workflows.clauses.implements`; a test with `@pytest.mark.clause("R6.4", ...)` or named after the clause it
proves (`test_r6_4_...`), found by reading tests/ with `ast` (no pytest run).
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

import workflows
from engine.bundle import ModelFile
from workflows.clauses import CLAUSE_IDS, CLAUSES, CODE_RULES, KINDS, clause_sort_key, is_enforced

PROJECT_ROOT = Path(workflows.__file__).resolve().parent.parent
TESTS_DIR = PROJECT_ROOT / "tests"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CLAUSE_RE = re.compile(r"(?<![\w.])R\d+(?:\.\d+)*(?![\w])")
CATEGORIES = ("diagram", "rule", "form", "code")


@dataclass
class ClauseTrace:
    """One clause with everything found for it."""

    clause: str
    kind: str
    gist: str
    implemented_by: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    tested_by: list[str] = field(default_factory=list)

    @property
    def enforced(self) -> bool:
        return is_enforced(self.clause)

    @property
    def implementations(self) -> list[str]:
        return [ref for category in CATEGORIES for ref in self.implemented_by[category]]

    @property
    def flags(self) -> list[str]:
        """`no_implementation` and/or `no_test`."""
        return ([] if self.implementations else ["no_implementation"]) + ([] if self.tested_by else ["no_test"])

    def as_json(self) -> dict:
        return {"clause": self.clause, "kind": self.kind, "implemented_by": self.implementations,
                "tested_by": self.tested_by}


@dataclass
class Trace:
    """The whole table, plus what could not be read (so a gap is never silent)."""

    clauses: list[ClauseTrace]
    tests_dir: Path | None
    source: str = "bundled"  # bundled | deployed
    problems: list[str] = field(default_factory=list)

    def flagged(self, enforced_only: bool = True) -> list[ClauseTrace]:
        return [c for c in self.clauses if c.flags and (c.enforced or not enforced_only)]


def split_clauses(value: str) -> list[str]:
    return [c.strip() for c in re.split(r"[,\s]+", value or "") if c.strip()]


def diagram_elements(name: str, content: bytes) -> list[tuple[str, str]]:
    """(clause, "process_id:element_id") for every element of a BPMN file whose `regulation` property names it."""
    found = []
    root = etree.fromstring(content)  # noqa: S320  (deployed or bundled models, parsed without network access)
    for prop in root.iter(f"{SPIFF}property"):
        if prop.get("name") != "regulation":
            continue
        element = prop.getparent().getparent().getparent()  # property < properties < extensionElements < element
        process = element if element.tag == f"{BPMN}process" else next(
            (a for a in element.iterancestors(f"{BPMN}process")), None)
        process_id = process.get("id") if process is not None else name
        ref = process_id if element is process else f"{process_id}:{element.get('id')}"
        found += [(clause, ref) for clause in split_clauses(prop.get("value"))]
    return found


def _clause_lists(node, label: str):
    """Every dict with a `clauses` list, named `label#id` (or `label` for the file's own list)."""
    if isinstance(node, dict):
        if isinstance(node.get("clauses"), list):
            ref = f"{label}#{node['id']}" if "id" in node else label
            yield from ((str(c), ref) for c in node["clauses"])
        for value in node.values():
            yield from _clause_lists(value, label)
    elif isinstance(node, list):
        for value in node:
            yield from _clause_lists(value, label)


def rule_entries(name: str, content: bytes) -> list[tuple[str, str]]:
    """(clause, "file#rule_id") for the rule files (obligations, separation of duties, rules/*.json)."""
    return list(_clause_lists(json.loads(content), name))


def form_entries(name: str, content: bytes) -> list[tuple[str, str]]:
    """(clause, "forms/x.schema.json") for every clause id a form's text names."""
    return [(clause, name) for clause in sorted(set(CLAUSE_RE.findall(content.decode("utf-8"))))]


def _model_entries(files: list[ModelFile], problems: list[str]) -> list[tuple[str, str, str]]:
    """(category, clause, ref) from the model files; an unreadable file is a problem, not a crash."""
    entries = []
    for f in files:
        try:
            if f.filename.endswith(".bpmn"):
                entries += [("diagram", c, r) for c, r in diagram_elements(f.filename, f.content)]
            elif f.filename.endswith(".schema.json"):
                entries += [("form", c, r) for c, r in form_entries(f.filename, f.content)]
            elif f.filename.endswith(".json") and not f.filename.endswith(".uischema.json"):
                entries += [("rule", c, r) for c, r in rule_entries(f.filename, f.content)]
        except (etree.XMLSyntaxError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{f.filename}: not read ({exc})")
    return entries


def _marker_clauses(decorators: list[ast.expr]) -> list[str]:
    """Clause ids of `pytest.mark.clause("R1", ...)` decorators (or list items)."""
    found = []
    for node in decorators:
        items = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
        for item in items:
            if isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute) and item.func.attr == "clause" \
                    and isinstance(item.func.value, ast.Attribute) and item.func.value.attr == "mark":
                found += [a.value for a in item.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return found


_NAMED = re.compile(r"test_r(\d+(?:_\d+)*)_")


def _named_clauses(name: str) -> list[str]:
    """The clause a test's name starts with (`test_r8_1_2_...` -> R8.1.2; the longest known clause id wins)."""
    match = _NAMED.match(name)
    parts = match.group(1).split("_") if match else []
    while parts and "R" + ".".join(parts) not in CLAUSE_IDS:
        parts.pop()
    return ["R" + ".".join(parts)] if parts else []


def _test_clauses(node: ast.FunctionDef | ast.AsyncFunctionDef, inherited: list[str]) -> list[str]:
    return list(dict.fromkeys(inherited + _marker_clauses(node.decorator_list) + _named_clauses(node.name)))


def _tests_of_module(tree: ast.Module, prefix: str) -> list[tuple[str, str]]:
    """(clause, node id) for each test function, with the module's and class's `pytestmark` / decorators."""
    module_marks = [c for node in tree.body if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
                    for c in _marker_clauses([node.value])]
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            class_marks = module_marks + _marker_clauses(node.decorator_list)
            found += [(c, f"{prefix}::{node.name}::{m.name}") for m in node.body
                      if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name.startswith("test")
                      for c in _test_clauses(m, class_marks)]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            found += [(c, f"{prefix}::{node.name}") for c in _test_clauses(node, module_marks)]
    return found


_TEST_CACHE: dict[Path, tuple[tuple, list, list]] = {}  # tests dir -> (files' stat, found, problems)


def marked_tests(tests_dir: Path, problems: list[str]) -> list[tuple[str, str]]:
    """(clause, "tests/path.py::test_name") for every test marked with the clauses it proves; re-read only when a
    test file changed (the page is asked for often, the tests change rarely)."""
    paths = sorted(tests_dir.rglob("test_*.py"))
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    cached = _TEST_CACHE.get(tests_dir)
    if cached is None or cached[0] != signature:
        found_problems: list[str] = []
        cached = (signature, _read_tests(tests_dir, paths, found_problems), found_problems)
        _TEST_CACHE[tests_dir] = cached
    problems.extend(cached[2])
    return list(cached[1])


def _read_tests(tests_dir: Path, paths: list[Path], problems: list[str]) -> list[tuple[str, str]]:
    found = []
    for path in paths:
        prefix = path.relative_to(tests_dir.parent).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError) as exc:
            problems.append(f"{prefix}: not read ({exc})")
            continue
        found += _tests_of_module(tree, prefix)
    return found


def _load_code_rules() -> dict[str, list[str]]:
    """Import every workflows module so each `@implements` mark is registered."""
    for module in pkgutil.iter_modules(workflows.__path__):
        importlib.import_module(f"workflows.{module.name}")
    return CODE_RULES


def build(files: list[ModelFile], tests_dir: Path | None = TESTS_DIR, source: str = "bundled") -> Trace:
    """The traceability table over these model files, the marked code and the tests under `tests_dir`."""
    problems: list[str] = []
    table = {c: ClauseTrace(c, KINDS[c], CLAUSES[c]) for c in sorted(CLAUSES, key=clause_sort_key)}
    entries = _model_entries(files, problems)
    entries += [("code", clause, ref) for clause, refs in _load_code_rules().items() for ref in refs]
    if tests_dir is not None and not tests_dir.is_dir():
        tests_dir = None
    tests = marked_tests(tests_dir, problems) if tests_dir else []
    for category, clause, ref in entries:
        if clause not in table:
            problems.append(f"{ref}: names unknown clause '{clause}'")
        elif ref not in table[clause].implemented_by[category]:
            table[clause].implemented_by[category].append(ref)
    for clause, node_id in tests:
        if clause not in table:
            problems.append(f"{node_id}: marked with unknown clause '{clause}'")
        elif node_id not in table[clause].tested_by:
            table[clause].tested_by.append(node_id)
    for row in table.values():
        for refs in row.implemented_by.values():
            refs.sort()
        row.tested_by.sort()
    return Trace(list(table.values()), tests_dir, source, problems)


def bundled_trace(tests_dir: Path | None = TESTS_DIR) -> Trace:
    """The table over the bundled `bpmn/` folder."""
    from workflows.bundled import BUNDLED_DIR, files_under

    return build(files_under(BUNDLED_DIR) if BUNDLED_DIR.is_dir() else [], tests_dir)


def deployed_trace(session, tests_dir: Path | None = TESTS_DIR) -> Trace:
    """The table over the deployed models (newest copy of each file), or the bundled ones before any deploy."""
    from engine.specs import latest_model_files

    files = latest_model_files(session)
    return build(files, tests_dir, "deployed") if files else bundled_trace(tests_dir)
