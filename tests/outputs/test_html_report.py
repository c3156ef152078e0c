"""The firm's 质检报告: every finding shown, a map at every drawn place, nothing from the
network, package text escaped; and it renders in a real browser at phone width."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.precheck import precheck
from outputs import html_report
from outputs.html_report import identity_key, render_html, write_html
from sample_data import build_model, write_package
from schemas.profile import load_profile

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")


class Report(HTMLParser):
    """What a browser would see: tags, attributes, text, and each finding item's content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.items: dict[str, dict] = {}  # li id -> {"code", "svg", "text"}
        self._open: list[tuple[str, str | None]] = []  # (tag, li id) stack

    def _item(self) -> dict | None:
        for tag, ident in reversed(self._open):
            if tag == "li" and ident in self.items:
                return self.items[ident]
        return None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        a = dict(attrs)
        ident = a.get("id") if tag == "li" and "f" in (a.get("class") or "").split() else None
        if ident:
            self.items[ident] = {"code": a.get("data-code"), "svg": 0, "text": []}
        if tag == "svg" and (item := self._item()) is not None:
            item["svg"] += 1
        self._open.append((tag, ident))

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if (item := self._item()) is not None:
            item["text"].append(data)


def parse(html: str) -> Report:
    r = Report()
    r.feed(html)
    r.close()
    return r


def defective_model():
    """S with one defect per kind of place, and hostile text where a firm types names."""
    m = build_model("S")
    b = m.buildings[0]
    fp = b.footprint
    fp[1], fp[2] = fp[2], fp[1]  # site drawing: a self-intersecting footprint (DXF-005, location)
    floor2 = [u for u in b.units if u.sjc == 2]
    floor2[1].label.text = floor2[0].label.text  # floor plan: the same 户号 twice (DXF-007, local)
    b.units[6].fwyt = HOSTILE  # table: a value outside its code list (RPT-005, no place)
    m.parcel.zdmj += 5  # table: cadastral vs planning area (XSV-004) once the cross rules run
    for part in b.shared_parts:  # a shared-part name drawn on the floor-plan map of floor 2
        if part.sjc == 2:
            part.label.text = HOSTILE
    return m


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html-report")
    path = write_package(defective_model(), tmp / "pkg")
    res = precheck(path, load_profile(), tmp / "work")
    kinds = {"location": any(f.location for f in res.findings), "local": any(f.local for f in res.findings),
             "table": any(f.location is None and f.local is None for f in res.findings)}
    assert all(kinds.values()), f"the seeded package lacks a kind of place: {kinds}, {[f.code for f in res.findings]}"
    return res


@pytest.fixture(scope="module")
def report(result, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html-out") / "report.html"
    write_html(result, path)
    return path


def test_every_finding_is_shown_with_a_map_at_every_drawn_place(result, report):
    html = report.read_text(encoding="utf-8")
    doc = parse(html)
    text = "".join(doc.text)
    for f in result.findings:
        assert f.code in text
    assert len(doc.items) == len(result.findings)
    for i, f in enumerate(result.findings):
        item = doc.items[f"f-{i}"]
        assert item["code"] == f.code
        if f.location is not None or f.local is not None:
            assert item["svg"] >= 1, f"{f.code} at {f.object} has no map"
        else:
            assert item["svg"] == 0
    # header, verdict and summary
    for needle in ("项目编号", result.package.project_id, "测绘单位", f"EPSG:{result.zone.epsg}", result.package.sha256,
                   result.ruleset_version, result.profile.name, "问题汇总", result.verdict.name):
        assert needle in text


def test_nothing_is_fetched_from_the_network(report):
    html = report.read_text(encoding="utf-8")
    doc = parse(html)
    assert "http:" not in html and "https:" not in html and "url(" not in html
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(doc.tags)
    for name, value in doc.attrs:
        assert not value.strip().startswith("//"), (name, value)
        if name in ("href", "src", "xlink:href"):
            assert value.startswith("#"), (name, value)
    assert '<meta name="viewport"' in html and "@media print" in html


def test_package_text_is_escaped(result, report):
    html = report.read_text(encoding="utf-8")
    doc = parse(html)
    assert HOSTILE not in html
    assert "script" not in doc.tags
    shown = "".join(doc.text)
    assert shown.count(HOSTILE) >= 2  # in the RPT-005 message and as a label on the floor-plan map
    floor_items = [item for i, f in enumerate(result.findings) if f.local is not None
                   for item in [doc.items[f"f-{i}"]] if HOSTILE in "".join(item["text"])]
    assert floor_items, "the hostile shared-part name is not drawn on the floor-plan map"


def test_map_highlights_the_named_entity(result, report):
    html = report.read_text(encoding="utf-8")
    for i, f in enumerate(result.findings):
        if (f.location or f.local) and f.object.handle:
            item = html.split(f'id="f-{i}"', 1)[1].split("</li>", 1)[0]
            assert 'class="hl' in item and 'class="spot"' in item, f.code


def test_maps_are_capped_per_rule(result, monkeypatch):
    monkeypatch.setattr(html_report, "MAX_MAPS", 1)
    mapped = [f for f in result.findings if f.location or f.local]
    doc = parse(render_html(result))
    maps = sum(item["svg"] for item in doc.items.values())
    assert maps == len({f.code for f in mapped})  # the first of each rule
    if len({f.code for f in mapped}) < len(mapped):
        assert "仅前" in "".join(doc.text)


def test_revision_comparison_shows_status_and_fixed(result):
    first, last = result.findings[0], result.findings[-1]
    previous = {
        first.identity: "new",
        identity_key(last): "open",
        "revision": 3,
        "fixed": [{"code": "PRP-006", "message": f"[PRP-006] 户 {HOSTILE} 套内面积", "object": {"sheet": "户", "row": 12}}],
    }
    html = render_html(result, previous)
    doc = parse(html)
    text = "".join(doc.text)
    assert "与第 3 版比较" in text and "已修正" in text and "PRP-006" in text
    assert "新增" in "".join(doc.items["f-0"]["text"])
    assert "未修正" in "".join(doc.items[f"f-{len(result.findings) - 1}"]["text"])
    assert HOSTILE not in html and "script" not in doc.tags


def test_unreadable_package_still_gets_a_report(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    res = precheck(bad, load_profile(), tmp_path / "work")
    out = tmp_path / "r.html"
    write_html(res, out)
    text = "".join(parse(out.read_text(encoding="utf-8")).text)
    assert "PKG-001" in text and res.verdict.name in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.html")] == []  # atomic: no leftovers


def chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={user_dir}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: headless rendering check skipped "
                    "(apt-get install chromium to run it)")
def test_renders_in_headless_chromium_at_phone_width(result, report, tmp_path):
    dom = chromium("--dump-dom", report.as_uri(), user_dir=tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for f in result.findings:
        assert f.code in dom.stdout
    assert dom.stdout.count("<svg") >= sum(1 for f in result.findings if f.location or f.local)
    png = tmp_path / "phone.png"
    shot = chromium(f"--screenshot={png}", "--window-size=412,900", "--hide-scrollbars", report.as_uri(),
                    user_dir=tmp_path / "profile")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    shutil.copy(png, Path(report).with_suffix(".png"))  # beside the report, for a look by hand


def test_each_rule_shows_its_basis_and_fix_and_a_table_finding_its_cell(result, report):
    from schemas.catalogue import CATALOGUE

    text = "".join(parse(report.read_text(encoding="utf-8")).text)
    for code in {f.code for f in result.findings}:
        assert CATALOGUE[code].basis in text and CATALOGUE[code].fix in text
    bad = next(f for f in result.findings if f.code == "RPT-005")
    assert bad.object.cell and bad.object.cell.startswith("户!") and bad.object.header
    assert bad.object.cell in text and bad.object.header in text
    assert f"[{bad.code}]" not in bad.message  # the code is shown once, beside the message


def _with_tolerated(result):
    """The result with a CAD-013 error added (a 容缺 code of the default profile), decided again."""
    import dataclasses

    from schemas.catalogue import make
    from schemas.findings import Place
    from schemas.verdict import decide

    extra = make("CAD-013", Place(sheet="界址线", row=2, key="k"), expected=10.0, actual=10.3, tolerance=0.15,
                 key="k", edge="J1–J2", grade="二级")
    findings = [*result.findings, extra]
    verdict = decide(findings, result.profile, result.checked_at.date())
    return dataclasses.replace(result, findings=findings, verdict=verdict), extra


def test_tolerated_findings_are_marked_in_every_report_of_a_rejected_package(result):
    from outputs.report_text import finding_line, markdown_summary
    from outputs.results import findings_document

    res, extra = _with_tolerated(result)
    assert res.verdict.verdict == "rejected" and res.verdict.tolerable == ("CAD-013",)
    doc = parse(render_html(res))
    item = doc.items[f"f-{len(res.findings) - 1}"]
    assert "容缺" in "".join(item["text"])
    assert "其中以下为容缺事项" in "".join(doc.text)
    others = [i for i, f in enumerate(res.findings) if f.code != "CAD-013"]
    assert all("容缺" not in "".join(doc.items[f"f-{i}"]["text"]) for i in others)
    js = findings_document(res)
    assert js["tolerable"] == ["CAD-013"] and "tolerated" not in js  # results.md's key is for 容缺受理 only
    assert [d.get("tolerated") for d in js["findings"]].count(True) == 1
    assert js["findings"][-1]["tolerated"] is True and js["findings"][-1]["code"] == "CAD-013"
    assert finding_line(extra, res.verdict).startswith("CAD-013 〔容缺〕宗地 k 界址边 J1–J2")
    assert "〔容缺〕" in markdown_summary(res)


def test_a_huge_message_is_cut_in_the_console_and_kept_whole_in_findings_json(result):
    import dataclasses

    from outputs.report_text import CONSOLE_CHARS, finding_line, markdown_summary
    from outputs.results import findings_document

    huge = "标" * 10_000_000
    f = dataclasses.replace(result.findings[0], message=huge)
    line = finding_line(f)
    assert line.startswith(f.code + " 标") and "…" in line
    assert line.count("标") == CONSOLE_CHARS - 1
    res = dataclasses.replace(result, findings=[f])
    assert len(markdown_summary(res)) < 5_000
    assert findings_document(res)["findings"][0]["message"] == huge
