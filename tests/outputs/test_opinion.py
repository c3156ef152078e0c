"""The joint opinion (联合验收意见) as a document a lead office can sign: number, date,
revision and sha256; per survey every deficiency with what and where; code lists decoded;
an indicator row 不符合 only when its own figures fail; printable on A4 with the
departments' place and the lead office's signature and seal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from engine.precheck import precheck
from outputs.gpkg import Provenance
from outputs.opinion import DepartmentOpinion, document_number, place, render_opinion
from sample_data import build_model
from sample_data.defects import DEFECTS, seeded_package
from schemas.profile import load_profile

PROVENANCE = Provenance("LC-KFQ-2022-0137", 2, "cd" * 32, "1.0.0", "liaocheng",
                        dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))


class Page(HTMLParser):
    """The rows of every table (cells as text) and the ids of the sections."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.ids: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def clean(sample_s, tmp_path_factory):
    return precheck(sample_s, load_profile(), tmp_path_factory.mktemp("opinion-clean"))


@pytest.fixture(scope="module")
def defective(tmp_path_factory):
    """A permit failure (PLN-002), a short setback (PLN-012) and a building height
    indicator 0.3 m off its 自然幢 but within the permit (PLN-014)."""
    tmp = tmp_path_factory.mktemp("opinion-defective")
    model = build_model("S")
    for name in ("PLN-002", "PLN-012"):
        DEFECTS[name].apply(model)
    seeded = seeded_package(tmp / "pkg", "PLN-014", model=model)
    result = precheck(seeded.path, load_profile(), tmp / "work")
    assert {"PLN-002", "PLN-012", "PLN-014"} <= {f.code for f in result.findings}
    return result


def test_the_number_is_stable_and_names_project_and_revision():
    again = dataclasses.replace(PROVENANCE, sha256="ef" * 32, created=PROVENANCE.created + dt.timedelta(hours=1))
    assert document_number(PROVENANCE) == document_number(again)
    assert document_number(PROVENANCE) != document_number(dataclasses.replace(PROVENANCE, revision=3))
    assert "LC-KFQ-2022-0137" in document_number(PROVENANCE) and "R02" in document_number(PROVENANCE)
    assert "预检" in document_number(dataclasses.replace(PROVENANCE, revision=None))


def test_header_carries_number_date_revision_and_sha256(clean):
    html = render_opinion(clean, PROVENANCE)
    text = " ".join(" ".join(r) for r in parse(html).rows)
    assert document_number(PROVENANCE) in html and "2024 年 5 月 6 日" in html
    assert "第 2 版" in text and "cd" * 32 in text and "通过" in html
    # without a provenance: what the result says, marked as a pre-check
    bare = render_opinion(clean)
    assert "预检" in bare and clean.package.sha256 in bare


def test_code_list_values_are_decoded(clean):
    rows = parse(render_opinion(clean, PROVENANCE)).rows
    cells = {c for r in rows for c in r}
    assert "0701 城镇住宅用地" in cells
    assert "102 出让" in cells
    assert "3 钢筋混凝土结构" in cells
    assert any(c.startswith("JZGD 建筑高度") for c in cells)
    assert "11 成套住宅：24 户" in render_opinion(clean, PROVENANCE)


def test_an_indicator_fails_only_on_its_own_figures(defective):
    rows = parse(render_opinion(defective, PROVENANCE)).rows
    height = [r for r in rows if r and r[0].startswith("JZGD") and r[1] != "项目"]
    assert height and all(r[5] == "符合" for r in height), height  # PLN-014 is no permit failure
    assert any("PLN-014" in r[6] for r in height)
    jrmj = [r for r in rows if r and r[0].startswith("JRMJ")]
    assert [r[5] for r in jrmj] == ["不符合"]  # PLN-002
    setbacks = [r for r in rows if len(r) == 6 and r[1] in ("用地红线", "道路红线")]
    assert sorted(r[4] for r in setbacks) == ["不符合", "符合"]  # PLN-012 on one


def test_every_deficiency_says_what_and_where(defective):
    html = render_opinion(defective, PROVENANCE)
    rows = parse(html).rows
    listed = [r for r in rows if len(r) == 5 and re.fullmatch(r"[A-Z]{3}-\d{3}", r[1])]
    errors = [f for f in defective.findings if f.severity in ("error", "warning")]
    assert len(listed) == len(errors)
    for f in errors:
        [row] = [r for r in listed if r[1] == f.code and f.message in r[2]]
        assert row[3] == place(f) != "成果包"
        assert f.object.sheet in row[3] and str(f.object.row) in row[3]
    assert "错误" in listed[0][4]


def test_printable_with_departments_and_signature(defective):
    html = render_opinion(defective, PROVENANCE)
    page = parse(html)
    assert "@page{size:A4" in html and "@media print" in html
    assert {"department-opinions", "lead-office", "s-planning", "s-property", "s-cadastral"} <= page.ids
    assert "牵头部门（盖章）" in html and "负责人（签字）" in html
    assert not re.search(r"<(script|img|link|iframe)\b", html)  # self-contained
    assert "http:" not in html and "https:" not in html and "url(" not in html
    signed = render_opinion(defective, PROVENANCE,
                            [DepartmentOpinion("housing", "同意<房产>测绘成果", "张三", "2024-05-08")])
    row = next(r for r in parse(signed).rows if r and r[0].startswith("住房和城乡建设部门"))
    assert row[1:] == ["同意<房产>测绘成果", "张三", "2024-05-08"]
    assert "同意&lt;房产&gt;测绘成果" in signed
