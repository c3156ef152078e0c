"""A project's revisions for one acceptance case (spec/case.md), for the case demo and tests.

:func:`make_case_revisions` writes two packages of the same project:

``r1``  the sample package with one tolerated defect — the taped length of boundary edge
        J2–J3 written 0.30 m long (CAD-013, one of Liaocheng's 容缺 codes): its verdict is
        ``accepted_with_deficiencies``, so opening a case on it opens one 容缺 item;
``r2``  the same project with that length corrected: no finding, ``accepted``; submitted
        next, it closes the item.

Each goes in its own folder (``out/r1/<project>``, ``out/r2/<project>``): one project id,
two packages with different sha256. The same arguments give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sample_data.defects import seeded_package
from sample_data.generator import build_model, write_package

__all__ = ["TOLERATED_CODE", "CaseRevisions", "make_case_revisions"]

TOLERATED_CODE = "CAD-013"  # a 容缺 code of the Liaocheng profile ([tolerated] codes)


@dataclass(frozen=True)
class CaseRevisions:
    """The two packages, and where r1's tolerated finding is (its Place fields)."""

    project_id: str
    r1: Path
    r2: Path
    tolerated_code: str
    tolerated_at: dict[str, object]


def make_case_revisions(
    out: Path, size: str = "S", seed: int = 0, *, as_zip: bool = False
) -> CaseRevisions:
    """Write r1 (one tolerated finding) and r2 (fixed) of one project under ``out``."""
    seeded = seeded_package(
        out / "r1", TOLERATED_CODE, size, build_model(size, seed=seed), as_zip=as_zip
    )
    model = build_model(size, seed=seed)
    r2 = write_package(model, out / "r2", as_zip=as_zip)
    return CaseRevisions(model.project_id, seeded.path, r2, TOLERATED_CODE, dict(seeded.expect))
