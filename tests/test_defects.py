"""One package per seeded defect: the rule's code at the rule's place, and no other error
code but the knock-on codes the defect names. Clean packages give no error at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.precheck import precheck
from sample_data.defects import DEFECTS, seeded_package
from schemas.catalogue import CATALOGUE
from schemas.profile import load_profile

PROFILE = load_profile()
MUST_COVER = tuple(CATALOGUE)  # every code of rules.md


def matches(finding, expect: dict) -> bool:
    o = finding.object
    return all(getattr(o, k) == v for k, v in expect.items())


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_seeded_defect_gives_its_code_at_its_place(name: str, tmp_path: Path):
    seeded = seeded_package(tmp_path / "pkg", name)
    result = precheck(seeded.path, PROFILE, tmp_path / "work")
    d = seeded.defect
    hits = [f for f in result.findings if f.code == d.code]
    assert hits, f"{name}: {d.code} not found; got {sorted({f.code for f in result.findings})}"
    assert any(matches(f, seeded.expect) for f in hits), (
        f"{name}: {d.code} not at {seeded.expect}; found at {[f.object for f in hits]}"
    )
    errors = {f.code for f in result.findings if f.severity == "error"}
    unexpected = errors - {d.code} - set(d.knock_on)
    assert not unexpected, f"{name}: unexpected error codes {sorted(unexpected)}"
    assert not result.internal_errors


@pytest.mark.parametrize("code", MUST_COVER)
def test_every_code_has_a_seeded_defect(code: str):
    assert any(d.code == code for d in DEFECTS.values()), f"no seeded defect for {code}"
