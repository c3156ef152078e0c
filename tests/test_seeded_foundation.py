"""The foundation's seeded defects (PKG, RPT, DXF, CRS) beyond one package per code:
the command line's exit codes and no traceback, several defects told at once (一次性告知)
while one drawing cannot be read, nothing written outside the work folder for an unsafe zip,
size limits from a city profile, a correct zone prefix accepted, the other package forms,
and seeded packages that are the same bytes on every run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.precheck import precheck
from interfaces.cli import app
from sample_data.defects import DEFECTS, seeded_package
from sample_data.defects.crs import move_project
from sample_data.generator import build_model, write_package
from sample_data.package import write
from schemas.catalogue import CATALOGUE
from schemas.profile import Limits, load_profile

PROFILE = load_profile()
FOUNDATION = {"envelope": "PKG", "report": "RPT", "drawing": "DXF", "crs": "CRS"}
MINE = sorted(n for n, d in DEFECTS.items() if d.code.split("-")[0] in FOUNDATION.values())
WRITE_OPTIONS = {"report_format", "as_zip", "dxf_version", "dxf_encoding"}
runner = CliRunner()


def at(finding_object: Any, expect: dict[str, Any]) -> bool:
    """Whether a finding's place (a ``Place`` or its findings.json dict) matches ``expect``."""
    get = (
        finding_object.get
        if isinstance(finding_object, dict)
        else lambda k: getattr(finding_object, k)
    )
    return all(get(k) == v for k, v in expect.items())


def errors(result) -> set[str]:
    return {f.code for f in result.findings if f.severity == "error"}


# ---------------------------------------------------------------- the registry itself


@pytest.mark.parametrize("name", MINE)
def test_defect_is_documented_and_names_real_knock_ons(name: str):
    d = DEFECTS[name]
    module = d.apply.__module__.rsplit(".", 1)[-1]
    assert FOUNDATION.get(module) == d.code.split("-")[0], f"{name} registered from {module}"
    assert d.doc, f"{name} says nothing about what it breaks"
    assert d.code in CATALOGUE and set(d.knock_on) <= set(CATALOGUE)
    assert d.code not in d.knock_on
    assert set(d.write) <= WRITE_OPTIONS


def _digests(path: Path) -> dict[str, str]:
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("name", MINE)
def test_seeded_package_is_the_same_bytes_every_time(name: str, tmp_path: Path):
    """A firm's or a test's report about a seeded package names the same sha256 tomorrow."""
    first = seeded_package(tmp_path / "a", name)
    second = seeded_package(tmp_path / "b", name)
    assert _digests(first.path) == _digests(second.path)
    assert first.expect == second.expect


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("name", "exit_code"),
    [
        ("PKG-001", 1),
        ("PKG-006", 1),
        ("RPT-003", 1),
        ("DXF-001", 1),
        ("CRS-001", 1),
        # warnings never change the verdict
        ("PKG-005", 0),
        ("DXF-002/text-style", 0),
        ("DXF-002", 0),
        ("DXF-008", 0),
        ("CRS-005", 0),
    ],
)
def test_cli_exit_code_and_no_traceback(name: str, exit_code: int, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DUOCE_WORKDIR", str(tmp_path / "work"))
    seeded = seeded_package(tmp_path / "pkg", name)
    out, html, overlay = (
        tmp_path / "findings.json",
        tmp_path / "report.html",
        tmp_path / "overlay.dxf",
    )
    args = [
        "check",
        str(seeded.path),
        "--json",
        str(out),
        "--html",
        str(html),
        "--dxf",
        str(overlay),
    ]
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output and "内部错误" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == exit_code, result.output
    assert html.stat().st_size and overlay.stat().st_size  # the firm's products, even for these
    doc = json.loads(out.read_text(encoding="utf-8"))
    code = DEFECTS[name].code
    assert any(f["code"] == code and at(f["object"], seeded.expect) for f in doc["findings"])
    assert doc["verdict"] == ("rejected" if exit_code else "accepted")
    if code == "PKG-001":  # nothing could be read: no project, the one finding says it all
        assert doc["project_id"] is None and [f["code"] for f in doc["findings"]] == ["PKG-001"]


# ---------------------------------------------------------------- several defects at once


def seed_several(out: Path, names: list[str]) -> tuple[Path, dict[str, dict[str, Any]], set[str]]:
    """One S package with several seeded defects; returns it, each defect's expected place
    and the knock-on codes they name."""
    model = build_model("S")
    chosen = [DEFECTS[n] for n in names]
    expect: dict[str, dict[str, Any]] = {}
    options = {
        "report_format": "xlsx",
        "as_zip": False,
        "dxf_version": "R2010",
        "dxf_encoding": None,
    }
    for d in chosen:
        options.update(d.write)
        if d.stage == "model":
            expect[d.name] = d.apply(model) or {}

    def stage(name: str):
        def run(files: dict[str, bytes]) -> None:
            for d in chosen:
                if d.stage == name:
                    expect[d.name] = d.apply(files, model) or {}

        return run

    path = write(
        model, out, **options, before_manifest=stage("files"), after_manifest=stage("final")
    )
    for d in chosen:
        if d.stage == "written":
            expect[d.name] = d.apply(path, model) or {}
    return path, expect, {c for d in chosen for c in d.knock_on}


def assert_all_told(result, expect: dict[str, dict[str, Any]], knock_on: set[str]) -> None:
    for name, place in expect.items():
        code = DEFECTS[name].code
        assert any(f.code == code and at(f.object, place) for f in result.findings), (
            f"{name} not told at {place}; got {[(f.code, f.object) for f in result.findings]}"
        )
    told = {DEFECTS[n].code for n in expect}
    assert errors(result) <= told | knock_on
    assert not result.internal_errors


# (test ids name the codes, so that ``-k "PKG or RPT or DXF or CRS"`` selects every test here)
TOGETHER = [
    ["DXF-001", "RPT-003", "DXF-007", "PKG-005"],
    ["PKG-010", "RPT-009", "CRS-003", "DXF-006/stray-label", "DXF-008"],
]


@pytest.mark.parametrize("names", TOGETHER, ids=["+".join(n) for n in TOGETHER])
def test_defects_of_every_kind_are_told_at_once(names: list[str], tmp_path: Path):
    path, expect, knock_on = seed_several(tmp_path / "pkg", names)
    result = precheck(path, PROFILE, tmp_path / "work")
    assert_all_told(result, expect, knock_on)
    if "DXF-001" in names:
        # the site rules were skipped for the truncated site.dxf; the other drawings were read
        assert result.geometry.site is None
        assert result.geometry.parcel is not None and result.geometry.floors
        assert not [
            f
            for f in result.findings
            if f.object.file == "drawings/site.dxf" and f.code != "DXF-001"
        ]


# ---------------------------------------------------------------- the other package forms


@pytest.mark.parametrize(
    ("name", "options"),
    [
        # report edits in the csv form of the report
        ("RPT-001", {"report_format": "csv"}),
        ("RPT-002", {"report_format": "csv"}),
        ("RPT-002/project-field", {"report_format": "csv"}),
        ("RPT-003", {"report_format": "csv"}),
        ("CRS-003", {"report_format": "csv"}),
        ("CRS-004", {"report_format": "csv"}),
        # drawing edits of R2000 drawings in GBK
        ("DXF-004", {"dxf_version": "R2000", "dxf_encoding": "gbk"}),
        ("DXF-005", {"dxf_version": "R2000", "dxf_encoding": "gbk"}),
        ("DXF-006/stray-label", {"dxf_version": "R2000", "dxf_encoding": "gbk"}),
        ("DXF-007", {"dxf_version": "R2000", "dxf_encoding": "gbk"}),
        # manifest edits inside a zip
        ("PKG-003", {"as_zip": True}),
        ("PKG-005", {"as_zip": True}),
    ],
)
def test_defect_in_another_package_form(name: str, options: dict[str, Any], tmp_path: Path):
    seeded = seeded_package(tmp_path / "pkg", name, **options)
    result = precheck(seeded.path, PROFILE, tmp_path / "work")
    assert_all_told(result, {name: seeded.expect}, set(seeded.defect.knock_on))


# ---------------------------------------------------------------- PKG-006, PKG-007


@pytest.mark.parametrize("name", ["PKG-006", "PKG-006/absolute", "PKG-006/link"])
def test_unsafe_zip_entry_writes_nothing_outside_the_work_folder(name: str, tmp_path: Path):
    absolute = Path("/tmp/duoce-evil.txt")
    existed = absolute.exists()
    seeded = seeded_package(tmp_path / "pkg", name)
    work = tmp_path / "deep" / "work"
    result = precheck(seeded.path, PROFILE, work)

    assert [f.code for f in result.findings] == ["PKG-006"]
    assert not [p for p in tmp_path.rglob("*") if "evil" in p.name]
    assert absolute.exists() == existed
    assert not [p for p in work.rglob("*") if p.is_symlink()]
    # what was extracted is exactly the package's files, inside one folder of the work folder
    root = result.package.root
    assert root is not None and root.parent == work
    extracted = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert extracted == set(result.package.files)
    assert {p.name for p in work.iterdir()} == {root.name}


SMALL = {
    "total": Limits(max_total_bytes=40_000),
    "entries": Limits(max_entries=3),
    "member": Limits(max_member_bytes=20_000),
}


@pytest.fixture(scope="module")
def clean_packages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("clean")
    model = build_model("S")
    return {
        "zip": write_package(model, out / "zip", as_zip=True),
        "dir": write_package(model, out / "dir"),
    }


@pytest.mark.parametrize("limit", sorted(SMALL), ids=[f"PKG-007-{k}" for k in sorted(SMALL)])
def test_zip_over_a_profile_limit_is_pkg007_alone(limit: str, clean_packages, tmp_path: Path):
    profile = PROFILE.model_copy(update={"limits": SMALL[limit]})
    work = tmp_path / "work"
    result = precheck(clean_packages["zip"], profile, work)
    assert [f.code for f in result.findings] == ["PKG-007"]
    assert not [p for p in work.rglob("*") if p.is_file()]  # nothing was extracted


@pytest.mark.parametrize("limit", sorted(SMALL), ids=[f"PKG-007-{k}" for k in sorted(SMALL)])
def test_directory_over_a_profile_limit_is_not_also_missing_files(
    limit: str, clean_packages, tmp_path: Path
):
    profile = PROFILE.model_copy(update={"limits": SMALL[limit]})
    result = precheck(clean_packages["dir"], profile, tmp_path / "work")
    assert "PKG-007" in errors(result)
    assert not {"PKG-003", "PKG-008"} & errors(result)


# ---------------------------------------------------------------- CRS: what is not a defect


@pytest.mark.parametrize(
    ("zbx", "prefix"),
    [("EPSG:4548", 39), ("EPSG:4527", 39), ("EPSG:4527", 0)],
    ids=["CRS-4548-prefix-39", "CRS-4527-prefix-39", "CRS-4527-no-prefix"],
)
def test_correct_zone_prefix_is_accepted_everywhere(zbx: str, prefix: int, tmp_path: Path):
    """Y and the drawings' x with the declared zone's prefix (39 for CM 117E, as the
    central-meridian code EPSG:4548 or the zone code EPSG:4527), or without any, are right."""
    model = build_model("S")
    model.info.zbx = zbx
    move_project(model, prefix * 1_000_000.0, 0.0)
    path = write_package(model, tmp_path / "pkg")
    result = precheck(path, PROFILE, tmp_path / "work")
    assert [(f.code, f.object) for f in result.findings] == []
