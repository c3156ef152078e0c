"""Seeded defects: one option per rule code, for tests and for firms trying the checker.

A defect breaks exactly one rule of spec/rules.md in an otherwise clean sample package and
says where the finding must be (the ``Place`` fields it must match) and which other error
codes may follow from it (knock-on codes, named, never guessed). Defects live in one module
per survey (``envelope``, ``report``, ``drawing``, ``crs``, ``cadastral``, ``property``,
``planning``, ``cross``) and register themselves with :func:`defect`.

Stages
------
``model``
    ``fn(model) -> expect``: change the in-memory project before anything is written.
``files``
    ``fn(files, model) -> expect``: change rendered file bytes (path → bytes) before the
    manifest is computed (a truncated DXF, a broken workbook).
``final``
    ``fn(files, model) -> expect``: change files after manifest.json was made (a wrong
    checksum, an unlisted file, a broken manifest).
``written``
    ``fn(path, model) -> expect``: change the written package (a zip with an unsafe entry).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sample_data.generator import build_model
from sample_data.model import ProjectModel

Stage = Literal["model", "files", "final", "written"]
MODULES = ("envelope", "report", "drawing", "crs", "cadastral", "property", "planning", "cross")


@dataclass(frozen=True)
class Defect:
    code: str  # the rule it breaks, e.g. "CAD-007"
    name: str  # option name: the code, or code + "/" + variant
    stage: Stage
    apply: Callable[..., dict[str, Any]]
    knock_on: tuple[str, ...] = ()  # other error codes this defect may also cause
    write: dict[str, Any] = field(default_factory=dict)  # write_package options it needs
    doc: str = ""


DEFECTS: dict[str, Defect] = {}


def defect(code: str, *, stage: Stage = "model", variant: str | None = None,
           knock_on: tuple[str, ...] = (), **write: Any) -> Callable:
    """Register a seeder: ``@defect("CAD-007")`` above ``def f(model) -> dict``."""

    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        name = code if variant is None else f"{code}/{variant}"
        assert name not in DEFECTS, f"defect {name} registered twice"
        DEFECTS[name] = Defect(code, name, stage, fn, tuple(knock_on), dict(write), (fn.__doc__ or "").strip())
        return fn

    return register


def _load() -> None:
    for name in MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


@dataclass
class Seeded:
    path: Path  # the package written
    defect: Defect
    expect: dict[str, Any]  # Place fields the finding must match (sheet, row, key, field, file, layer, handle)


def seeded_package(out: Path, name: str, size: str = "S", model: ProjectModel | None = None, **options: Any) -> Seeded:
    """Write a sample package with exactly one seeded defect."""
    from sample_data.package import write

    d = DEFECTS[name]
    model = model or build_model(size)
    expect: dict[str, Any] = {}
    if d.stage == "model":
        expect.update(d.apply(model) or {})
    kwargs = {"report_format": "xlsx", "as_zip": False, "dxf_version": "R2010", "dxf_encoding": None}
    kwargs.update(d.write)
    kwargs.update(options)
    hooks = {}
    if d.stage == "files":
        hooks["before_manifest"] = lambda files: expect.update(d.apply(files, model) or {})
    if d.stage == "final":
        hooks["after_manifest"] = lambda files: expect.update(d.apply(files, model) or {})
    path = write(model, Path(out), **kwargs, **hooks)
    if d.stage == "written":
        expect.update(d.apply(path, model) or {})
    return Seeded(path, d, expect)


_load()
