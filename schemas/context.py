"""What every rule reads: the typed tables, the geometry model, the zone and the profile.

A context also holds what rules derive from it and share (:func:`per_context`): the cache
lives and dies with the context, so nothing of one check survives it, and two checks in
one process (Prefect runs tasks in threads) never see each other's frames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from schemas.crs import Zone
from schemas.drawings import Geometry
from schemas.package import Package
from schemas.profile import Profile
from schemas.tables import Tables

T = TypeVar("T")


@dataclass
class Context:
    """One check's inputs to the rules. A context belongs to one check, in one thread.

    Attributes
    ----------
    derived
        What :func:`per_context` functions computed from this context, by function.
    """

    package: Package
    tables: Tables
    geometry: Geometry
    zone: Zone
    profile: Profile
    derived: dict[Callable[[Context], Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def fcmjjd(self) -> str:
        """房产面积精度等级 (default 二级)."""
        return self.tables.project.get("FCMJJD") or "二级"

    @property
    def jzdjd(self) -> str:
        """界址点精度等级 (default 二级)."""
        return self.tables.project.get("JZDJD") or "二级"

    def derive(self, fn: Callable[[Context], T]) -> T:
        """``fn(self)``, computed once for this context (a failure is not kept: the next
        call tries again). Callers must not modify what it returns."""
        try:
            return self.derived[fn]
        except KeyError:
            value = self.derived[fn] = fn(self)
            return value


def per_context(fn: Callable[[Context], T]) -> Callable[[Context], T]:
    """Compute ``fn(ctx)`` once per context (:meth:`Context.derive`): what several rules
    read, such as the property rules' unit and polygon frames. Callers must not modify
    what it returns."""

    @functools.wraps(fn)
    def wrapper(ctx: Context) -> T:
        return ctx.derive(fn)

    return wrapper
