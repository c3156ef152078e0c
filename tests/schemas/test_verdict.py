"""The verdict under different city profiles, and the 容缺 deadline in statutory working days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.precheck import precheck
from sample_data.defects import seeded_package
from schemas.profile import load_profile
from schemas.verdict import add_working_days

PROFILES = Path(__file__).resolve().parents[1] / "profiles"


@pytest.fixture(scope="module")
def taped_edge_off(tmp_path_factory):
    """S with one taped edge 0.30 m longer than its coordinates (CAD-013, a 容缺 item)."""
    return seeded_package(tmp_path_factory.mktemp("cad013"), "CAD-013").path


def verdict(package: Path, profile: str | Path, tmp: Path):
    result = precheck(package, load_profile(profile), tmp)
    return result.verdict, {f.code for f in result.findings if f.severity == "error"}


def test_liaocheng_tolerates_taped_edges_with_a_deadline(taped_edge_off, tmp_path):
    v, errors = verdict(taped_edge_off, "liaocheng", tmp_path)
    assert errors == {"CAD-013"}
    assert v.verdict == "accepted_with_deficiencies" and v.tolerated == ("CAD-013",)
    assert v.deadline is not None and v.deadline > dt.date.today()


def test_a_profile_that_tolerates_nothing_rejects(taped_edge_off, tmp_path):
    v, errors = verdict(taped_edge_off, PROFILES / "strict.toml", tmp_path)
    assert errors == {"CAD-013"} and v.verdict == "rejected" and v.deadline is None


def test_a_looser_tolerance_accepts(taped_edge_off, tmp_path):
    v, errors = verdict(taped_edge_off, PROFILES / "loose.toml", tmp_path)
    assert errors == set() and v.verdict == "accepted"


def test_a_severity_override_turns_a_warning_into_a_rejection(sample_s, tmp_path):
    import shutil

    pkg = tmp_path / sample_s.name
    shutil.copytree(sample_s, pkg)
    (pkg / "说明.txt").write_text("未列入清单", encoding="utf-8")
    assert verdict(pkg, "liaocheng", tmp_path / "a")[0].verdict == "accepted"  # PKG-005 is a warning
    v, errors = verdict(pkg, PROFILES / "strict.toml", tmp_path / "b")
    assert errors == {"PKG-005"} and v.verdict == "rejected"


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (dt.date(2026, 11, 23), 5, dt.date(2026, 11, 30)),  # an ordinary week
        (dt.date(2026, 9, 30), 5, dt.date(2026, 10, 13)),  # National Day off, Sat 10-10 a make-up day
        (dt.date(2026, 2, 13), 1, dt.date(2026, 2, 14)),  # Sat 2026-02-14: a make-up working day
    ],
)
def test_deadline_counts_statutory_working_days(start, n, due):
    assert add_working_days(start, n) == (due, "statutory")


def test_deadline_beyond_the_calendar_is_an_estimate():
    day, basis = add_working_days(dt.date(2026, 12, 28), 5)
    assert basis == "weekdays" and day == dt.date(2027, 1, 4)
