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
    return seeded_packages(out, [name], size, model, **options)[0]


def seeded_packages(
    out: Path, names: list[str], size: str = "S", model: ProjectModel | None = None, **options: Any
) -> list[Seeded]:
    """Write one sample package with every defect named (each once, in the order given).

    The defects' own write options (a zip, a GBK drawing) apply; two defects that need
    different values of one option, or an option given that a defect cannot work with,
    raise ``ValueError``. One :class:`Seeded` per defect, all with the same ``path``.
    """
    from sample_data.package import write

    unknown = [n for n in names if n not in DEFECTS]
    if unknown:
        raise ValueError(f"unknown defect {', '.join(unknown)}")
    defects = [DEFECTS[n] for n in dict.fromkeys(names)]
    needs: dict[str, Any] = {}
    for d in defects:
        for key, value in d.write.items():
            if needs.get(key, value) != value:
                raise ValueError(f"{d.name} needs {key}={value!r}; another defect needs {needs[key]!r}")
            needs[key] = value
    for key, value in options.items():
        if key in needs and needs[key] != value:
            raise ValueError(f"a seeded defect needs {key}={needs[key]!r}, not {value!r}")
    model = model or build_model(size)
    expects: list[dict[str, Any]] = [{} for _ in defects]
    for d, expect in zip(defects, expects, strict=True):
        if d.stage == "model":
            expect.update(d.apply(model) or {})

    def hook(stage: Stage) -> Callable[[dict[str, bytes]], None]:
        def run(files: dict[str, bytes]) -> None:
            for d, expect in zip(defects, expects, strict=True):
                if d.stage == stage:
                    expect.update(d.apply(files, model) or {})

        return run

    kwargs = {"report_format": "xlsx", "as_zip": False, "dxf_version": "R2010", "dxf_encoding": None}
    kwargs.update(options)
    kwargs.update(needs)
    path = write(model, Path(out), **kwargs, before_manifest=hook("files"), after_manifest=hook("final"))
    for d, expect in zip(defects, expects, strict=True):
        if d.stage == "written":
            expect.update(d.apply(path, model) or {})
    return [Seeded(path, d, expect) for d, expect in zip(defects, expects, strict=True)]



_load()
