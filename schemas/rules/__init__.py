"""Survey rules: cadastral (CAD), property (PRP), planning (PLN), cross-survey (XSV)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from schemas.findings import Finding

if TYPE_CHECKING:
    from schemas.context import Context

Rule = Callable[["Context"], list[Finding]]


def located(rules: list[Rule]) -> list[Rule]:
    """Each rule with its findings about a report cell given the header and cell the firm's
    workbook shows (:meth:`schemas.tables.Tables.locate`): one place for every rule, so no
    rule builds that text itself."""

    def wrap(rule: Rule) -> Rule:
        @functools.wraps(rule)
        def run(ctx: Context) -> list[Finding]:
            return ctx.tables.locate(rule(ctx))

        return run

    return [wrap(rule) for rule in rules]
