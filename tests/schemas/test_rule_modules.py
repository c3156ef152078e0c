"""The rule list is every rule the rule modules declare, imported plainly, in order."""

from __future__ import annotations

from schemas.check import rule_modules
from schemas.rules import cadastral, cross, planning
from schemas.rules import property as property_rules


def test_every_declared_rule_in_module_order() -> None:
    assert rule_modules() == cadastral.RULES + property_rules.RULES + planning.RULES + cross.RULES
    assert all(len(m.RULES) > 0 for m in (cadastral, property_rules, planning, cross))
