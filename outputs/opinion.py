"""联合验收意见 — the joint opinion: one self-contained, printable (A4) HTML document per
submission, the same for every department.

It carries a document number derived from the project and the revision (the same
submission always gets the same number), the date, the revision and the package's sha256;
per survey (规划核实 / 房产测绘 / 权籍调查, then the cross checks and the package itself)
the figures with their code-list values decoded (``0701 城镇住宅用地``) and every
deficiency with what it is and where (sheet, row, column or cell; drawing, layer, handle);
the 容缺 items and their deadline; a place for the departments' opinions (filled by the
case, or signed by hand) and the lead office's signature and seal.

A planning indicator (or setback) row is 不符合 only when its own figures fail the permit
(PLN-002/003/004, PLN-012); other findings on the row (PLN-014, a consistency between
tables; PLN-007's recomputation …) are listed beside it and leave the verdict alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

from outputs.gpkg import Provenance
from schemas.catalogue import CATALOGUE, DOMAIN_NAMES
from schemas.check import CheckResult
from schemas.fields import CODE_LISTS, SHEETS_BY_NAME
from schemas.findings import Finding

PERMIT_CODES = frozenset({"PLN-002", "PLN-003", "PLN-004"})  # an indicator's figure against the permit
SETBACK_CODES = frozenset({"PLN-012"})  # a setback shorter than required
SEVERITY_NAMES = {"error": "错误", "warning": "警告", "info": "提示"}
MAX_LISTED = 200  # deficiencies listed per section; the rest are counted (the report lists all)

SURVEYS = [
    ("planning", "竣工规划条件核实"),
    ("property", "房产测绘"),
    ("cadastral", "不动产权籍调查"),
    ("cross", "多测合一交叉检查"),
]
OTHER_DOMAINS = ("package", "report", "drawing", "crs")
DEPARTMENTS = [
    ("planning", "自然资源和规划部门（规划核实）"),
    ("registration", "不动产登记机构"),
    ("housing", "住房和城乡建设部门（房产）"),
    ("archive", "城建档案管理机构"),
]
NUMERALS = "一二三四五六七八九十"

CSS = """
@page{size:A4;margin:18mm 16mm 20mm 16mm}
body{font-family:"Noto Serif CJK SC","Noto Sans CJK SC","SimSun","Microsoft YaHei",serif;max-width:178mm;margin:1.5em auto;padding:0 1em;color:#111;line-height:1.55;font-size:11pt}
.docno{display:flex;justify-content:space-between;font-size:.9em;border-bottom:1px solid #111;padding-bottom:.3em}
h1{font-size:1.55em;text-align:center;margin:.8em 0 .6em;letter-spacing:.1em}
h2{font-size:1.1em;margin:1.3em 0 .4em;break-after:avoid}h3{font-size:1em;margin:.8em 0 .3em;break-after:avoid}
table{border-collapse:collapse;width:100%;margin:.4em 0;font-size:.9em}th,td{border:1px solid #555;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#eee;font-weight:bold}tr{break-inside:avoid}.num{text-align:right;white-space:nowrap}
.info th{width:9em}.mono{font-family:"DejaVu Sans Mono",monospace;font-size:.85em;word-break:break-all}
.verdict{font-size:1.2em;font-weight:bold;padding:.2em .7em;border:2px solid currentColor;display:inline-block}
.accepted{color:#060}.accepted_with_deficiencies{color:#850}.rejected{color:#a00}
.bad{color:#b00;font-weight:bold}.unknown{color:#666}.note{color:#444;font-size:.9em}.meta{color:#444;font-size:.85em}
.deficiencies td:nth-child(2),.deficiencies td:nth-child(5),.deficiencies th{white-space:nowrap}.deficiencies td:nth-child(4){width:30%}
.blank{height:3.2em}.sign{break-inside:avoid;margin-top:1.2em}.opinion-box{border:1px solid #555;min-height:6em;padding:.5em}
.seal{display:flex;justify-content:flex-end;gap:3em;margin-top:1.5em}.seal p{margin:.4em 0}
.seal .stamp{width:42mm;height:42mm;border:1px dashed #999;border-radius:50%;display:flex;align-items:center;justify-content:center;color:#999;font-size:.85em}
@media print{body{margin:0;max-width:none;padding:0}.noprint{display:none}}
@media (max-width:600px){table{font-size:.78em}body{font-size:10pt}}
"""


# ---------------------------------------------------------------- shared with the products


def code_lists(result: CheckResult) -> dict[str, dict[str, str]]:
    """The code lists in force: the contract's, extended by the profile, with severity and
    survey names."""
    lists = {name: dict(values) for name, values in CODE_LISTS.items()}
    for name, values in (result.profile.code_lists or {}).items():
        lists.setdefault(name, {}).update({str(k): str(v) for k, v in values.items()})
    lists["SEVERITY"] = dict(SEVERITY_NAMES)
    lists["DOMAIN"] = dict(DOMAIN_NAMES)
    return lists


def row_verdicts(
    findings: Sequence[Finding], sheet: str, rows: pd.Index, failing: frozenset[str], unknown: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """Per report row of ``sheet``: 不符合 when an error of a ``failing`` code is on it,
    无法核实 where ``unknown`` (its figures are missing), else 符合; and the other findings
    on the row as a note (code and title), which do not change the verdict."""
    bad: set[int] = set()
    notes: dict[int, list[str]] = {}
    for f in findings:
        if f.object.sheet != sheet or f.object.row is None:
            continue
        if f.code in failing and f.severity == "error":
            bad.add(f.object.row)
        else:
            title = CATALOGUE[f.code].title if f.code in CATALOGUE else ""
            text = f"{f.code} {title}".strip()
            if text not in notes.setdefault(f.object.row, []):
                notes[f.object.row].append(text)
    missing = unknown.reindex(rows, fill_value=False).to_numpy(dtype=bool) if unknown is not None else [False] * len(rows)
    verdict = ["不符合" if r in bad else "无法核实" if m else "符合" for r, m in zip(rows, missing, strict=True)]
    note = ["；".join(notes[r]) if r in notes else None for r in rows]
    return pd.Series(verdict, index=rows, dtype=object), pd.Series(note, index=rows, dtype=object)


def document_number(provenance: Provenance) -> str:
    """The opinion's number: the project and revision, and four check characters of both
    (the same submission always has the same number)."""
    project = provenance.project or "未知项目"
    if provenance.revision is None:
        return f"联验（预检）{project}"
    check = hashlib.sha256(f"{project}\x00{provenance.revision}".encode()).hexdigest()[:4].upper()
    return f"联验〔{provenance.created.year}〕{project}-R{provenance.revision:02d}-{check}"


# ---------------------------------------------------------------- text


def _num(v, nd: int = 2) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, int | float):
        return f"{v:,.{nd}f}".rstrip("0").rstrip(".") if nd else f"{v:,.0f}"
    return escape(str(v))


def _text(v) -> str:
    """A cell as escaped text; missing (None, NaN, NA) as an em dash."""
    return "—" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else escape(str(v))


def _decoded(lists: Mapping[str, Mapping[str, str]], codelist: str, value) -> str:
    """``0701 城镇住宅用地``: the code and its name (the code alone when not in the list)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    name = lists.get(codelist, {}).get(str(value))
    if name is None:
        return f"{escape(str(value))} <span class='bad'>（不在代码表中）</span>"
    return escape(str(value)) if name == str(value) else f"{escape(str(value))} {escape(name)}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _column_name(sheet: str | None, code: str | None) -> str | None:
    if not code:
        return None
    s = SHEETS_BY_NAME.get(sheet or "")
    name = next((f.name for f in s.fields if f.code == code), None) if s else None
    return f"{name}({code})" if name else code


def place(f: Finding) -> str:
    """Where a finding is, in words: sheet, row, column (or cell), key; drawing, layer,
    handle; else the package."""
    o = f.object
    parts = []
    if o.sheet:
        cell = getattr(o, "cell", None)
        where = (cell if "!" in cell else f"{o.sheet}!{cell}") if cell else f"「{o.sheet}」" + (
            f"第 {o.row} 行" if o.row is not None else "")
        column = getattr(o, "header", None) or _column_name(o.sheet, o.field)
        parts.append(where + (f" {column}" if column else "") + (f"（{o.key}）" if o.key else ""))
    if o.file:
        parts.append(o.file + (f" 图层 {o.layer}" if o.layer else "") + (f" 句柄 {o.handle}" if o.handle else ""))
    if not o.file and f.location is not None:
        parts.append(f"X {f.location[0]:.2f}，Y {f.location[1]:.2f}")
    return escape("；".join(parts)) if parts else "成果包"


def _deficiencies(result: CheckResult, domains: set[str]) -> str:
    """Each error and warning of these surveys: rule, what, where."""
    tolerated = set(result.profile.tolerated.codes)
    fs = [f for f in result.findings if f.domain in domains]
    shown = [f for f in fs if f.severity in ("error", "warning")]
    info = len(fs) - len(shown)
    if not shown:
        return "<p>未发现问题。</p>" + (f"<p class='note'>另有提示 {info} 条，见质检报告。</p>" if info else "")
    err = sum(f.severity == "error" for f in shown)
    rows = []
    for i, f in enumerate(shown[:MAX_LISTED], 1):
        kind = SEVERITY_NAMES[f.severity] + ("（容缺）" if f.severity == "error" and f.code in tolerated else "")
        title = CATALOGUE[f.code].title if f.code in CATALOGUE else ""
        rows.append([str(i), escape(f.code), f"<b>{escape(title)}</b><br>{escape(f.message)}", place(f),
                     f"<span class='bad'>{kind}</span>" if f.severity == "error" else kind])
    more = len(shown) - MAX_LISTED
    tail = f"<p class='note'>另有 {more} 条未列出，详见质检报告（report.html）。</p>" if more > 0 else ""
    tail += f"<p class='note'>另有提示 {info} 条，见质检报告。</p>" if info else ""
    return (f"<h3>存在问题（错误 <span class='bad'>{err}</span> 条，警告 {len(shown) - err} 条）</h3>"
            + _table(["序号", "规则", "问题", "位置", "类别"], rows, {0}, "deficiencies") + tail)


# ---------------------------------------------------------------- the surveys


def _verdict_cell(v: str) -> str:
    return {"不符合": "<span class='bad'>不符合</span>", "无法核实": "<span class='unknown'>无法核实</span>"}.get(v, v)


def _planning(result: CheckResult, lists) -> str:
    ind = result.tables.get("planning_indicator")
    verdict, note = row_verdicts(result.findings, "规划指标", ind.index, PERMIT_CODES,
                                 unknown=ind["GHZ"].isna() | ind["SCZ"].isna())
    rows = [
        [_decoded(lists, "ZBDM", r["ZBDM"]), _text(r["FW"]), _num(r["GHZ"]), _num(r["SCZ"]), _text(r["DW"]),
         _verdict_cell(verdict[row]), _text(note[row]) if note[row] else ""]
        for row, r in ind.iterrows()
    ]
    out = _table(["指标", "范围", "规划许可值", "实测值", "单位", "核实结论", "其他问题"], rows, {2, 3}) if rows \
        else "<p>无规划指标表。</p>"
    sb = result.tables.get("setback")
    if len(sb):
        verdict, note = row_verdicts(result.findings, "退让", sb.index, SETBACK_CODES, unknown=sb["SCZ"].isna())
        rows = [[_text(r["ZRZH"]), _decoded(lists, "DX", r["DX"]), _num(r["GHYQ"]), _num(r["SCZ"]),
                 _verdict_cell(verdict[row]), _text(note[row]) if note[row] else ""] for row, r in sb.iterrows()]
        out += "<h3>退让距离</h3>" + _table(["自然幢号", "退让对象", "规划要求 m", "实测 m", "核实结论", "其他问题"],
                                          rows, {2, 3})
    return ("<p class='note'>核实结论“不符合”仅指该行实测值不满足规划许可（PLN-002/003/004、PLN-012）；"
            "表间一致性等其他问题列于“其他问题”并在下方逐条列出。</p>" + out)


def _property(result: CheckResult, lists) -> str:
    b = result.tables.get("building")
    u = result.tables.get("unit")
    rows = []
    for _, r in b.iterrows():
        mine = u[u["ZRZH"] == r["ZRZH"]]
        rows.append([_text(r["ZRZH"]), _text(r["JZWMC"]), _decoded(lists, "FWJG", r["FWJG"]), _num(r["DSCS"], 0),
                     _num(r["DXCS"], 0), str(len(mine)), _num(mine["SCTNJZMJ"].sum()), _num(mine["SCFTJZMJ"].sum()),
                     _num(r["SCJZMJ"])])
    out = _table(["自然幢号", "名称", "房屋结构", "地上层数", "地下层数", "户数", "套内面积合计 m²", "分摊面积合计 m²",
                  "实测建筑面积 m²"], rows, {3, 4, 5, 6, 7, 8}) if rows else "<p>无自然幢表。</p>"
    if len(u):
        uses = u["FWYT"].astype(object).value_counts(dropna=False, sort=False)
        items = "；".join(f"{_decoded(lists, 'FWYT', code)}：{n} 户" for code, n in uses.items())
        out += f"<p>房屋用途：{items}。</p>"
    return out


def _cadastral(result: CheckResult, lists) -> str:
    p = result.tables.get("parcel")
    rows = [[_text(r["ZDDM"]), _text(r["BDCDYH"]), _text(r["ZL"]), _num(r["ZDMJ"]), _decoded(lists, "YT", r["YT"]),
             _decoded(lists, "QLLX", r["QLLX"]), _decoded(lists, "QLXZ", r["QLXZ"])]
            for _, r in p.iterrows()]
    return _table(["宗地代码", "不动产单元号", "坐落", "宗地面积 m²", "土地用途", "权利类型", "权利性质"], rows, {3}) \
        if rows else "<p>无宗地表。</p>"


# ---------------------------------------------------------------- the document


@dataclass(frozen=True)
class DepartmentOpinion:
    """One department's opinion as the case records it (joined by the case issue)."""

    department: str  # a key of DEPARTMENTS
    opinion: str
    person: str = ""
    date: str = ""


def _departments(opinions: Sequence[DepartmentOpinion] | None) -> str:
    """The departments' opinions: as recorded, or blank rows to be filled in and signed."""
    given = {o.department: o for o in opinions or ()}
    rows = []
    for key, name in DEPARTMENTS:
        o = given.get(key)
        rows.append(f"<tr data-department='{key}'><th>{escape(name)}</th>"
                    + (f"<td>{escape(o.opinion)}</td><td>{escape(o.person)}</td><td>{escape(o.date)}</td>" if o
                       else "<td class='blank'></td><td></td><td></td>") + "</tr>")
    return ("<table class='departments'><thead><tr><th>部门</th><th>意见</th><th>经办人（签字）</th><th>日期</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def _date(provenance: Provenance) -> str:
    d = provenance.created
    return f"{d.year} 年 {d.month} 月 {d.day} 日"


def render_opinion(
    result: CheckResult, provenance: Provenance | None = None, departments: Sequence[DepartmentOpinion] | None = None
) -> str:
    """The joint opinion as one printable HTML page. Without ``provenance`` it is taken
    from the result (no revision: marked as a pre-check)."""
    p = provenance or Provenance(result.package.project_id, None, result.package.sha256, result.ruleset_version,
                                 result.profile.name, result.checked_at)
    lists = code_lists(result)
    proj = result.tables.project
    v = result.verdict
    number = document_number(p)
    info = [
        ("项目编号", _text(result.package.project_id)), ("项目名称", _text(proj.get("XMMC"))), ("坐落", _text(proj.get("ZL"))),
        ("建设单位", _text(proj.get("JSDW"))), ("测绘单位", _text(proj.get("CHDW"))),
        ("规划许可证号", _text(proj.get("GHXKZH"))), ("坐标系", f"EPSG:{result.zone.epsg}"),
        ("成果版本", f"第 {p.revision} 版" if p.revision else "预检（未提交）"),
        ("成果包 sha256", f"<span class='mono'>{_text(p.sha256)}</span>"),
    ]
    info_rows = "".join(f"<tr><th>{k}</th><td>{x}</td></tr>" for k, x in info)
    tolerated = ""
    if v.verdict == "accepted_with_deficiencies":
        items = "".join(f"<li>{escape(c)} {escape(CATALOGUE[c].title)}</li>" for c in v.tolerated)
        basis = "（法定工作日）" if v.deadline_basis == "statutory" else "（按周一至周五估算，节假日安排未公布）"
        tolerated = f"<h3>容缺事项</h3><ul>{items}</ul><p>请于 <b>{v.deadline}</b> 前补正{basis}。</p>"
    sections = {"planning": _planning, "property": _property, "cadastral": _cadastral}
    body, n = "", 1
    for domain, title in SURVEYS:
        figures = sections[domain](result, lists) if domain in sections else ""
        body += (f"<section id='s-{domain}'><h2>{NUMERALS[n]}、{title}</h2>{figures}"
                 f"{_deficiencies(result, {domain})}</section>")
        n += 1
    if any(f.domain in OTHER_DOMAINS for f in result.findings):
        names = "、".join(DOMAIN_NAMES[d] for d in OTHER_DOMAINS)
        body += (f"<section id='s-package'><h2>{NUMERALS[n]}、成果包与数据（{names}）</h2>"
                 f"{_deficiencies(result, set(OTHER_DOMAINS))}</section>")
        n += 1
    c = result.counts
    departments_html = (f"<section id='department-opinions' class='sign'><h2>{NUMERALS[n]}、各部门意见</h2>"
                        f"{_departments(departments)}</section>")
    lead = (f"<section id='lead-office' class='sign'><h2>{NUMERALS[n + 1]}、牵头部门意见</h2>"
            "<div class='opinion-box'></div>"
            "<div class='seal'><div><p>牵头部门（盖章）：</p><p>负责人（签字）：</p>"
            "<p>日期：　　　　年　　月　　日</p></div><div class='stamp'>（印章）</div></div></section>")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>联合验收意见 {escape(number)}</title>
<style>{CSS}</style></head><body>
<div class="docno"><span>文号：<b class="number">{escape(number)}</b></span><span>日期：{_date(p)}</span></div>
<h1>建设工程竣工联合验收意见（多测合一）</h1>
<section id="s-project"><h2>一、项目与成果</h2><table class="info">{info_rows}</table>
<p>检查结论：<span class="verdict {v.verdict}">{escape(v.name)}</span>　错误 {c['error']} 条 · 警告 {c['warning']} 条 · 提示 {c['info']} 条</p>
{tolerated}</section>
{body}{departments_html}{lead}
<p class="meta">规则集版本 {escape(p.ruleset)} · 城市配置 {escape(p.profile)} · 检查时间 {p.created.isoformat(timespec='seconds')}
· 文号 {escape(number)} · 成果包 sha256 <span class="mono">{_text(p.sha256)}</span></p>
</body></html>"""
