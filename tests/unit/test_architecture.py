"""Dependencies point one way: web -> workflows -> engine; the engine imports no Flask."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str):
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                yield path, [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, [node.module]


@pytest.mark.parametrize(("package", "forbidden"), [
    ("engine", ("flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug", "workflows", "web")),
    ("workflows", ("flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug", "web")),
])
def test_package_does_not_import_upper_layers(package, forbidden):
    offenders = [(p.relative_to(ROOT).as_posix(), name) for p, names in _imports(package)
                 for name in names if name.split(".")[0] in forbidden]
    assert offenders == []
