"""The context owns what rules derive from it: once per context, nothing shared."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from schemas.context import Context, per_context
from schemas.crs import Zone
from schemas.drawings import Geometry
from schemas.package import Package
from schemas.profile import load_profile
from schemas.tables import Tables

PROFILE = load_profile()
calls: list[str] = []


def context(name: str) -> Context:
    return Context(Package(name), Tables(), Geometry(), Zone(4548, 4548, 117, 39), PROFILE)


@per_context
def source(ctx: Context) -> str:
    calls.append(ctx.package.source)
    return ctx.package.source


def test_computed_once_per_context() -> None:
    calls.clear()
    a, b = context("a"), context("b")
    assert [source(a), source(a), source(b), source(b)] == ["a", "a", "b", "b"]
    assert calls == ["a", "b"]
    assert list(a.derived.values()) == ["a"] and list(b.derived.values()) == ["b"]


def test_a_failure_is_not_kept() -> None:
    tries: list[int] = []

    @per_context
    def flaky(ctx: Context) -> int:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("first")
        return len(tries)

    ctx = context("x")
    with pytest.raises(RuntimeError):
        flaky(ctx)
    assert flaky(ctx) == 2 and flaky(ctx) == 2


def test_checks_in_threads_never_mix() -> None:
    names = [f"p{i}" for i in range(64)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda n: [source(ctx) for ctx in [context(n)] for _ in range(3)], names))
    assert got == [[n] * 3 for n in names]
