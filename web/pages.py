"""The regulation page: clause by clause, what implements it and which tests prove it (for managers and auditors)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from web.extensions import get_db
from workflows import trace

bp = Blueprint("pages", __name__)

CATEGORY_LABELS = {"diagram": ("流程圖元素", "Diagram elements"), "rule": ("規則", "Rules"),
                   "form": ("表單", "Forms"), "code": ("程式規則", "Code rules")}
FLAG_LABELS = {"no_implementation": ("無實作", "No implementation"), "no_test": ("無測試", "No test")}


@bp.get("/regulation")
@login_required
def regulation():
    """Every clause of the regulation with its kind, implementations, tests and flags (`?flagged=1`: flags only)."""
    with get_db().sessions() as session:
        result = trace.deployed_trace(session)
    only_flagged = request.args.get("flagged") == "1"
    rows = [c for c in result.clauses if c.flags and c.enforced] if only_flagged else result.clauses
    enforced = [c for c in result.clauses if c.enforced]
    return render_template("pages/regulation.html", rows=rows, result=result, only_flagged=only_flagged,
                           enforced_total=len(enforced), flagged=result.flagged(),
                           categories=CATEGORY_LABELS, flag_labels=FLAG_LABELS)
from web import records_page  # noqa: E402,F401  (the /records page, on this blueprint)
