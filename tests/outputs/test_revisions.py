"""Revisions: a finding is fixed, new or still open, matched by code and object."""

from __future__ import annotations

import json

from analysis.revisions import compare_with_previous
from outputs.revisions import compare, diff_document, identity_of, write_diff
from sample_data.defects import seeded_package
from schemas.findings import Finding, Place
from storage.archive import previous_check, previous_findings

PROJECT = "LC-KFQ-2022-0137"


def finding(code: str, message: str = "m", **place) -> Finding:
    return Finding(code, "error", "planning", f"[{code}] {message}", Place(**place))


def test_identity_of_a_json_finding_is_the_finding_identity():
    f = Finding(
        "PRP-006",
        "error",
        "property",
        "[PRP-006] x",
        Place(sheet="户", row=12, field="SCTNJZMJ", file="a.dxf", layer="FC_H", handle="2A"),
    )
    assert identity_of(f.as_dict()) == f.identity == identity_of(f)
    keyed = finding("PLN-007", sheet="规划指标", row=6, key="JZMD/项目")
    assert identity_of(keyed.as_dict()) == keyed.identity


def test_compare_matches_by_code_and_object_not_message_or_handle():
    before = [
        finding(
            "PLN-007",
            "建筑密度 13.19 应为 12.69",
            sheet="规划指标",
            row=6,
            key="JZMD/项目",
            field="SCZ",
        ),
        finding("DXF-004", file="drawings/site.dxf", layer="LDFW", handle="30"),
        finding("DXF-004", file="drawings/site.dxf", layer="LDFW", handle="31"),
        finding("PLN-009", sheet="规划指标", row=9, key="RJL/项目"),
    ]
    now = [
        finding(
            "PLN-007",
            "建筑密度 13.05 应为 12.69",
            sheet="规划指标",
            row=6,
            key="JZMD/项目",
            field="SCZ",
        ),
        finding(
            "DXF-004", file="drawings/site.dxf", layer="LDFW", handle="7A"
        ),  # CAD renumbered it
        finding("DXF-004", file="drawings/site.dxf", layer="LDFW", handle="7B"),
        finding("DXF-004", file="drawings/site.dxf", layer="LDFW", handle="7C"),
        finding("PLN-009", sheet="规划指标", row=9, key="JZMD/项目"),  # another object
    ]
    c = compare([f.as_dict() for f in before], now, previous_revision=3)
    assert c.statuses == ("open", "open", "open", "new", "new")
    assert [d["code"] for d in c.fixed] == ["PLN-009"] and c.fixed[0]["object"]["key"] == "RJL/项目"
    assert c.counts == {"fixed": 1, "new": 2, "open": 3}
    assert c.has_previous and c.previous_revision == 3
    m = c.as_previous_map()
    assert m[now[0].identity] == "open" and m[now[1].identity] == "open"  # any still there: open
    assert m[now[4].identity] == "new"
    assert m["fixed"] == [before[3].as_dict()] and m["revision"] == 3
    assert c.status(now[4]) == "new" and c.status(before[3]) is None


def test_first_revision_has_nothing_to_compare_with():
    c = compare(None, [finding("PLN-007")])
    assert c.statuses == ("new",) and not c.has_previous and c.fixed == ()
    assert c.as_previous_map() is None  # the report shows no comparison
    assert compare([], []).counts == {"fixed": 0, "new": 0, "open": 0}


def test_resubmission_shows_the_fixed_and_the_new_defect(prefect_harness, tmp_path):
    """r1 has PLN-007 (density miscomputed); r2 fixes it and has PLN-009 instead."""
    from flows.pipeline import submit_package
    from storage.store import Store

    store = tmp_path / "store"
    first = seeded_package(tmp_path / "r1", "PLN-007")
    second = seeded_package(tmp_path / "r2", "PLN-009")
    r1 = submit_package(str(first.path), str(store), "liaocheng")
    r2 = submit_package(str(second.path), str(store), "liaocheng")
    assert (r1.revision, r2.revision) == (1, 2)
    assert {f.code for f in r1.result.findings} == {"PLN-007"}
    assert {f.code for f in r2.result.findings} == {"PLN-009"}

    vault = Store(store)
    assert previous_findings(vault, PROJECT, 1) is None
    previous = previous_findings(vault, PROJECT, 2)
    assert previous == r1.document["findings"]

    c = compare(previous, r2.result.findings, previous_revision=1)
    assert [d["code"] for d in c.fixed] == ["PLN-007"]
    assert [(f.code, s) for f, s in c.pairs()] == [("PLN-009", "new")]
    assert c.counts == {"fixed": 1, "new": 1, "open": 0}
    assert compare_with_previous(vault, PROJECT, 2, r2.result.findings) == c
    assert previous_check(vault, PROJECT, 5).revision == 2  # the latest one before

    from outputs.html_report import render_html  # the report takes the map as it is

    html = render_html(r2.result, c.as_previous_map())
    assert "与第 1 版比较" in html and "已修正" in html and "PLN-007" in html

    doc = write_diff(c, tmp_path / "revision_diff.json", PROJECT, 2)
    assert json.loads((tmp_path / "revision_diff.json").read_text(encoding="utf-8")) == doc
    assert doc == diff_document(c, PROJECT, 2)
    assert (doc["revision"], doc["previous_revision"], doc["counts"]) == (
        2,
        1,
        {"fixed": 1, "new": 1, "open": 0},
    )
    assert [(d["code"], d["status"]) for d in doc["findings"]] == [("PLN-009", "new")]
    assert [d["code"] for d in doc["fixed"]] == ["PLN-007"]
