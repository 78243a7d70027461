"""Separation of duties as data: `separation_of_duties.json`, deployed with the models.

A rule says that holders of certain roles in an agency may not act in another role there, e.g. the agency's
audit team may not also act as its admin or as a WebIR user (R3.5: who audits must not be audited). The
engine applies the rules when it decides who may take a task (the inbox) and again at completion. That the
starter of an instance completes only its applicant steps is built in (engine/assignment.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.deployed_files import newest_content

RULES_FILE = "separation_of_duties.json"


class DutiesError(ValueError):
    """A rules file that cannot be used; the message names the rule and field."""


@dataclass(frozen=True)
class DutyRule:
    id: str
    clauses: tuple[str, ...]
    holders_of: frozenset[str]
    may_not_act_as: frozenset[str]

    def forbids(self, held: set[str], acting_as: str) -> bool:
        """True when someone holding `held` (in one agency) may not act as `acting_as` there."""
        return (acting_as in self.may_not_act_as and bool(held & self.holders_of)) or \
               (acting_as in self.holders_of and bool(held & self.may_not_act_as))


def parse_rules(text: str) -> tuple[DutyRule, ...]:
    """Parse and check a rules file."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DutiesError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    items = raw.get("rules") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise DutiesError("top level must be an object with a 'rules' list")
    rules = []
    for i, item in enumerate(items):
        where = f"rules[{i}] ({item.get('id', '?') if isinstance(item, dict) else '?'})"
        if not isinstance(item, dict) or not all(k in item for k in ("id", "holders_of", "may_not_act_as")):
            raise DutiesError(f"{where}: needs id, holders_of and may_not_act_as")
        if not all(isinstance(item[k], list) and item[k] for k in ("holders_of", "may_not_act_as")):
            raise DutiesError(f"{where}: holders_of and may_not_act_as must be non-empty lists of role ids")
        rules.append(DutyRule(item["id"], tuple(item.get("clauses", [])), frozenset(item["holders_of"]),
                              frozenset(item["may_not_act_as"])))
    return tuple(rules)


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> tuple[DutyRule, ...]:
    return parse_rules(text)


def rules(session: Session) -> tuple[DutyRule, ...]:
    """The newest deployed rules (none deployed: none apply)."""
    content = newest_content(session, RULES_FILE)
    return _parsed(content) if content else ()


def allowed_pairs(session: Session, pairs: set[tuple[int, str]], held: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Drop the (agency, role) pairs a rule forbids, given the (agency, role) pairs the person holds."""
    active = rules(session)
    if not active:
        return pairs
    by_agency: dict[int, set[str]] = {}
    for agency_id, role in held:
        by_agency.setdefault(agency_id, set()).add(role)
    return {(a, r) for a, r in pairs if not any(rule.forbids(by_agency.get(a, set()) - {r}, r) for rule in active)}
