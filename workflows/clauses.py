"""Clause ids of the regulation (regulation/CLAUSES.md) with their article, gist and kind, for the modeler and
the traceability page."""

import re

CLAUSES: dict[str, str] = {
    "R1": "一 Purpose of the guidelines",
    "R2.1": "二 Master agency reviews applying agencies' business items",
    "R2.2": "二 Master agency names the master administrator",
    "R2.3": "二 Master audit team audits user agencies",
    "R3.1": "三 A user agency applies to the master agency, names an agency admin",
    "R3.2": "三 Change of agency administrator",
    "R3.3": "三 Unit admins check the query register monthly",
    "R3.4": "三 Another one-by-one comparison method may replace unit admins",
    "R3.5": "三 Agency audit team",
    "R4.1": "四 Commissioned agency needs the delegating agency's consent",
    "R4.2": "四 Delegating and commissioned agencies cooperate with audits",
    "R5.1": "五(一) Agency admin account: Form 1-1 to the master agency",
    "R5.2": "五(二) Delegating agency's consent comes first",
    "R5.3": "五(三) User account: Form 1-2 to the agency admin",
    "R5.4": "五(四) Revocation when a user leaves or changes duties",
    "R5.5": "五(五) Outsourced vendors may never be authorised",
    "R5.6": "五(六) Periodic password change",
    "R6.1": "六(一) Query register (Form 2) handed to the unit admin",
    "R6.2": "六(二) Proxy-query authorisation (Form 3)",
    "R6.3": "六(三) Account for its holder only; office hours and premises",
    "R6.4": "六(四) Improper query: revoke and pursue responsibility",
    "R6.5": "六(五) Unit admins report their checks to the agency admin",
    "R6.6": "六(六) Another comparison method may adjust R6.1 and R6.5",
    "R7.1": "七(一) Personal data kept with care, filed or destroyed",
    "R7.2": "七(二) Application forms destroyed no earlier than 3 years after revocation",
    "R7.3": "七(三) Audit records kept at least 3 years",
    "R7.4": "七(四) Yearly document destruction procedure",
    "R8.1.1": "八(一)1 Agency admin downloads query logs at least quarterly",
    "R8.1.2": "八(一)2 Unit admins check registers against the query logs",
    "R8.1.3": "八(一)3 Internal audit at least every 6 months",
    "R8.1.4": "八(一)4 Checklist (Form 4), signed off by the agency head",
    "R8.1.5": "八(一)5 Query logs burnt to CD as evidence",
    "R8.1.6": "八(一)6 Internal audit documents to the master agency by end of March",
    "R8.2": "八(二) Master agency's irregular audits; deficiencies tracked",
    "R9": "九 Personal Data Protection Act and city IT-security rules apply",
}
CLAUSE_IDS = frozenset(CLAUSES)

# The `kind` column of the clause table (regulation/CLAUSES.md), copied so the product needs no file beside it;
# tests/workflows/test_clause_kinds.py checks the copy against the table when the table is present.
KINDS: dict[str, str] = {
    "R1": "context",
    "R2.1": "process",
    "R2.2": "role",
    "R2.3": "process",
    "R3.1": "process",
    "R3.2": "process",
    "R3.3": "cycle (monthly)",
    "R3.4": "configuration",
    "R3.5": "role/process",
    "R4.1": "process",
    "R4.2": "process",
    "R5.1": "process",
    "R5.2": "process",
    "R5.3": "process",
    "R5.4": "process",
    "R5.5": "rule",
    "R5.6": "cycle",
    "R6.1": "data + process",
    "R6.2": "process",
    "R6.3": "rule (detected)",
    "R6.4": "process",
    "R6.5": "process",
    "R6.6": "configuration",
    "R7.1": "data",
    "R7.2": "retention",
    "R7.3": "retention",
    "R7.4": "cycle (yearly)",
    "R8.1.1": "cycle (quarterly)",
    "R8.1.2": "cycle",
    "R8.1.3": "cycle (half-yearly)",
    "R8.1.4": "process",
    "R8.1.5": "evidence",
    "R8.1.6": "cycle (yearly deadline)",
    "R8.2": "process",
    "R9": "context",
}
# Kinds whose clauses the system must both implement and prove by a test (issue 6, "must show").
ENFORCED_KINDS = ("process", "cycle", "rule", "retention", "evidence")


def is_enforced(clause: str) -> bool:
    """True when the clause's kind names one of ENFORCED_KINDS (e.g. `cycle (monthly)`, `data + process`)."""
    return any(re.search(rf"\b{kind}\b", KINDS[clause]) for kind in ENFORCED_KINDS)


def clause_sort_key(clause: str) -> tuple[int, ...]:
    """R8.1.10 after R8.1.2: numeric order of the parts."""
    return tuple(int(part) for part in clause[1:].split("."))


# Code rules (checks written in Python rather than drawn): clause id -> ["workflows/module.py::function"].
CODE_RULES: dict[str, list[str]] = {}


def implements(*clauses: str):
    """Mark a function as the code that enforces these clauses; `webir trace` lists it under each of them."""
    unknown = [c for c in clauses if c not in CLAUSES]
    if unknown or not clauses:
        raise ValueError(f"implements(): unknown clause ids {unknown or '(none given)'}")

    def mark(func):
        module = func.__module__.replace(".", "/") + ".py"
        for clause in clauses:
            CODE_RULES.setdefault(clause, []).append(f"{module}::{func.__qualname__}")
        return func

    return mark
