"""Analysts: rerun the archive under another profile (changing nothing), and statistics."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from analysis.rerun import rerun
from analysis.stats import stats
from engine.settings import get_settings
from flows.rerun import rerun_archive_flow
from sample_data import build_model, write_package
from sample_data.defects import DEFECTS
from schemas.check import CHINA_TZ
from schemas.profile import load_profile

FIRM_A, FIRM_B = "聊城甲测绘有限公司", "山东乙测绘院"
PROJECT_A, PROJECT_B = "LC-KFQ-2022-0137", "LC-KFQ-2022-0200"


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def model_of(project_id: str, firm: str):
    model = build_model("S")
    model.project_id = project_id
    model.info.xmbh = project_id
    model.info.chdw = firm
    model.survey_org = firm
    return model


@pytest.fixture(scope="module")
def archive(prefect_harness, tmp_path_factory) -> Path:
    """A store with two projects by two firms: A clean (accepted), B with PLN-007
    (rejected)."""
    from flows.pipeline import submit_package

    tmp = tmp_path_factory.mktemp("analysts")
    store = tmp / "store"
    a = write_package(model_of(PROJECT_A, FIRM_A), tmp / "a")
    b_model = model_of(PROJECT_B, FIRM_B)
    DEFECTS["PLN-007"].apply(b_model)
    b = write_package(b_model, tmp / "b")
    ra = submit_package(str(a), str(store), "liaocheng")
    rb = submit_package(str(b), str(store), "liaocheng")
    assert (ra.result.verdict.verdict, rb.result.verdict.verdict) == ("accepted", "rejected")
    assert {f.code for f in rb.result.findings} == {"PLN-007"}
    return store


@pytest.fixture
def relaxed(tmp_path) -> Path:
    """A city profile that turns PLN-007 off."""
    path = tmp_path / "relaxed.toml"
    path.write_text(
        'base = "liaocheng"\nname = "relaxed"\n\n[severity]\n"PLN-007" = "off"\n', encoding="utf-8"
    )
    return path


def test_rerun_reports_the_verdict_a_profile_changes_and_changes_nothing(archive, relaxed):
    from storage.store import Store

    before = tree_digest(archive)
    store = Store(archive)

    rows = rerun(store, load_profile(relaxed))

    assert [(r.project_id, r.revision, r.status) for r in rows] == [(PROJECT_B, 1, "changed")]
    row = rows[0]
    assert (row.old_verdict, row.new_verdict) == ("rejected", "accepted")
    assert row.removed == {"PLN-007": 1} and row.added == {} and row.severity_changed == {}
    assert row.firm == FIRM_B and (row.old_profile, row.new_profile) == ("liaocheng", "relaxed")
    assert row.new_counts == {"error": 0, "warning": 0, "info": 0}
    assert "PLN-007" in row.reason and row.as_dict()["reason"] == row.reason

    assert rerun(store, load_profile()) == []  # today's rules, same profile: nothing changes
    same = rerun(store, load_profile(), include_unchanged=True)
    assert [(r.project_id, r.status, r.removed, r.added) for r in same] == [
        (PROJECT_A, "unchanged", {}, {}),
        (PROJECT_B, "unchanged", {}, {}),
    ]
    assert rerun(store, load_profile(relaxed), project_id=PROJECT_A) == []
    later = dt.datetime.now(CHINA_TZ).date() + dt.timedelta(days=1)
    assert rerun(store, load_profile(relaxed), since=later) == []
    assert len(rerun(store, load_profile(relaxed), since=dt.date(2020, 1, 1))) == 1

    assert tree_digest(archive) == before  # a rerun changes nothing stored
    assert not any((archive / "tmp").iterdir())


def test_rerun_flow_runs_one_task_per_package(archive, relaxed):
    before = tree_digest(archive)
    flow = rerun_archive_flow(get_settings(backend="local"))
    rows = flow(store=str(archive), profile=str(relaxed))
    assert [(r.project_id, r.old_verdict, r.new_verdict, r.removed) for r in rows] == [
        (PROJECT_B, "rejected", "accepted", {"PLN-007": 1})
    ]
    assert (
        rerun_archive_flow(get_settings(backend="dask")) is not None
    )  # without prefect-dask: local
    assert tree_digest(archive) == before


def test_a_damaged_package_is_reported_not_checked(archive, relaxed, tmp_path):
    from storage.store import Store

    copy = tmp_path / "store"
    shutil.copytree(archive, copy)
    store = Store(copy)
    sha = next(r.package_sha256 for r in store.revisions(PROJECT_B))
    raw = store.raw_path(sha)
    for dirpath, _, files in os.walk(raw):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(Path(dirpath) / name, 0o644)
    report = next(p for p in raw.rglob("*.xlsx"))
    report.write_bytes(report.read_bytes() + b"\0")

    rows = rerun(store, load_profile(relaxed), include_unchanged=True)

    by_project = {r.project_id: r for r in rows}
    assert by_project[PROJECT_B].status == "damaged" and by_project[PROJECT_B].new_verdict is None
    assert by_project[PROJECT_A].status == "unchanged"


def test_stats_per_firm_rule_and_month(archive):
    from storage.store import Store

    s = stats(Store(archive))

    assert set(s.by_firm.index) == {FIRM_A, FIRM_B}
    assert s.by_firm.loc[
        FIRM_A, ["projects", "submissions", "revisions", "accepted", "rejected", "errors"]
    ].tolist() == [1, 1, 1, 1, 0, 0]
    assert s.by_firm.loc[
        FIRM_B, ["projects", "submissions", "revisions", "accepted", "rejected", "errors"]
    ].tolist() == [1, 1, 1, 0, 1, 1]
    assert s.by_firm["first_accepted"].to_dict() == {FIRM_A: 1, FIRM_B: 0}

    assert list(s.by_rule.index) == ["PLN-007"]
    assert s.by_rule.loc["PLN-007", ["findings", "revisions", "projects", "firms"]].tolist() == [
        1,
        1,
        1,
        1,
    ]
    assert s.by_rule.loc["PLN-007", "domain"] == "planning" and s.by_rule.loc["PLN-007", "title"]

    assert len(s.by_month) == 1
    row = s.by_month.iloc[0]
    assert s.by_month.index[0] == dt.datetime.now(CHINA_TZ).strftime(
        "%Y-%m"
    )  # checks are dated in China time
    assert (
        row["submissions"],
        row["revisions"],
        row["projects"],
        row["rejected"],
        row["errors"],
    ) == (2, 2, 2, 1, 1)
