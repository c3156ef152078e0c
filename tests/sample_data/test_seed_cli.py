"""``python -m sample_data --defect CODE``: a seeded defect, alone or with another, gives its
code when the package is checked; ``--defect ?`` lists exactly the seedable ones.

Every defect is seeded and checked by tests/test_defects.py through the same function
(:func:`sample_data.defects.seeded_packages`); here the command line seeds one defect of
each kind — each stage, and each write option a defect needs (a zip, GBK drawings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.precheck import precheck
from sample_data.__main__ import main
from sample_data.defects import DEFECTS
from schemas.profile import load_profile

PROFILE = load_profile()


def seeded_codes(tmp_path: Path, *names: str, extra: tuple[str, ...] = ()) -> set[str]:
    out = tmp_path / "out"
    argv = ["--out", str(out), *extra]
    for n in names:
        argv += ["--defect", n]
    assert main(argv) == 0
    (package,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    result = precheck(package, PROFILE, tmp_path / "work")
    assert not result.internal_errors
    return {f.code for f in result.findings}


def test_question_mark_lists_every_seedable_defect(capsys):
    assert main(["--defect", "?"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert listed == sorted(DEFECTS)


def one_of_each_kind() -> list[str]:
    kinds: dict[tuple, str] = {}
    for name in sorted(DEFECTS):
        d = DEFECTS[name]
        kinds.setdefault((d.stage, tuple(sorted(d.write.items()))), name)
    return sorted(kinds.values())


@pytest.mark.parametrize("name", one_of_each_kind())
def test_each_seedable_defect_gives_its_code(name: str, tmp_path: Path):
    assert DEFECTS[name].code in seeded_codes(tmp_path, name)


def test_two_defects_in_one_package(tmp_path: Path, capsys):
    codes = seeded_codes(tmp_path, "PRP-006", "CAD-013")
    assert {"PRP-006", "CAD-013"} <= codes
    printed = capsys.readouterr().out
    assert "seeded PRP-006" in printed and "seeded CAD-013" in printed


def test_unknown_defect_or_clashing_options_exit_two(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--out", str(tmp_path), "--defect", "XYZ-999"])
    assert done.value.code == 2 and "XYZ-999" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:  # DXF-008 needs GBK R2000 drawings
        main(["--out", str(tmp_path), "--dxf-version", "R2010", "--defect", "DXF-008"])
    assert done.value.code == 2
    assert not any(tmp_path.iterdir())  # nothing written
