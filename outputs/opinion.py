"""联合验收意见 — the joint opinion: one self-contained HTML page per submission, the same
for every department: project, verdict, one section per survey, 容缺 items and deadline,
rule-set version and package checksum."""

from __future__ import annotations

from html import escape

import pandas as pd

from schemas.catalogue import CATALOGUE, DOMAIN_NAMES
from schemas.check import CheckResult
from schemas.fields import CODE_LISTS

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:960px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.5em;border-bottom:2px solid #444;padding-bottom:.3em}h2{font-size:1.15em;margin-top:1.6em;border-left:4px solid #2a6;padding-left:.5em}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left}
th{background:#f2f2f2}.num{text-align:right}.verdict{font-size:1.3em;font-weight:bold;padding:.4em .8em;display:inline-block;border-radius:4px}
.accepted{background:#dfd;color:#060}.accepted_with_deficiencies{background:#ffd;color:#760}.rejected{background:#fdd;color:#900}
.bad{color:#b00;font-weight:bold}.meta{color:#555;font-size:.85em}@media print{body{margin:0}}
@media (max-width:600px){table{font-size:.8em}}
"""

SURVEYS = [
    ("planning", "竣工规划条件核实"),
    ("property", "房产测绘"),
    ("cadastral", "不动产权籍调查"),
    ("cross", "多测合一交叉检查"),
]


def _num(v, nd: int = 2) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return "—"
    if isinstance(v, (int, float)):
        return f"{v:,.{nd}f}".rstrip("0").rstrip(".") if nd else f"{v:,.0f}"
    return escape(str(v))


def _text(v) -> str:
    """A cell as escaped text; missing (None, NaN, NA) as an em dash."""
    return "—" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else escape(str(v))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _counts_by_domain(result: CheckResult, domain: str) -> str:
    fs = [f for f in result.findings if f.domain == domain]
    err = sum(f.severity == "error" for f in fs)
    warn = sum(f.severity == "warning" for f in fs)
    if not fs:
        return "<p>未发现问题。</p>"
    codes = sorted({f.code for f in fs})
    items = "".join(
        f"<li>{escape(c)} {escape(CATALOGUE[c].title)}：{sum(f.code == c for f in fs)} 处</li>" for c in codes
    )
    return f"<p>错误 <span class='bad'>{err}</span> 处，警告 {warn} 处：</p><ul>{items}</ul>"


def _planning(result: CheckResult) -> str:
    ind = result.tables.get("planning_indicator")
    bad = {f.object.row for f in result.findings if f.object.sheet == "规划指标" and f.severity == "error"}
    rows = []
    for row, r in ind.iterrows():
        name = CODE_LISTS["ZBDM"].get(str(r["ZBDM"]), str(r["ZBDM"]))
        verdict = "<span class='bad'>不符合</span>" if row in bad else "符合"
        rows.append([escape(name), _text(r["FW"]), _num(r["GHZ"]), _num(r["SCZ"]), _text(r["DW"]), verdict])
    table = _table(["指标", "范围", "规划许可值", "实测值", "单位", "核实结论"], rows) if rows else "<p>无规划指标表。</p>"
    return table + _counts_by_domain(result, "planning")


def _property(result: CheckResult) -> str:
    b = result.tables.get("building")
    u = result.tables.get("unit")
    rows = []
    for _, r in b.iterrows():
        mine = u[u["ZRZH"] == r["ZRZH"]]
        rows.append([_text(r["ZRZH"]), _text(r["JZWMC"]), _num(r["DSCS"], 0), _num(r["DXCS"], 0),
                     str(len(mine)), _num(mine["SCTNJZMJ"].sum()), _num(mine["SCFTJZMJ"].sum()), _num(r["SCJZMJ"])])
    table = _table(["自然幢号", "名称", "地上层数", "地下层数", "户数", "套内面积合计 m²", "分摊面积合计 m²", "实测建筑面积 m²"], rows) if rows else ""
    return table + _counts_by_domain(result, "property")


def _cadastral(result: CheckResult) -> str:
    p = result.tables.get("parcel")
    rows = [[_text(r["ZDDM"]), _text(r["BDCDYH"]), _text(r["ZL"]), _num(r["ZDMJ"]), _text(r["YT"]), _text(r["QLXZ"])]
            for _, r in p.iterrows()]
    table = _table(["宗地代码", "不动产单元号", "坐落", "宗地面积 m²", "土地用途", "权利性质"], rows) if rows else ""
    return table + _counts_by_domain(result, "cadastral")


def render_opinion(result: CheckResult) -> str:
    proj = result.tables.project
    v = result.verdict
    info = [
        ("项目编号", result.package.project_id), ("项目名称", proj.get("XMMC")), ("坐落", proj.get("ZL")),
        ("建设单位", proj.get("JSDW")), ("测绘单位", proj.get("CHDW")), ("规划许可证号", proj.get("GHXKZH")),
        ("坐标系", f"EPSG:{result.zone.epsg}"),
    ]
    info_rows = "".join(f"<tr><th>{k}</th><td>{escape(str(x)) if x else '—'}</td></tr>" for k, x in info)
    tolerated = ""
    if v.verdict == "accepted_with_deficiencies":
        items = "".join(f"<li>{escape(c)} {escape(CATALOGUE[c].title)}</li>" for c in v.tolerated)
        basis = "（法定工作日）" if v.deadline_basis == "statutory" else "（按周一至周五估算，节假日安排未公布）"
        tolerated = f"<h2>容缺事项</h2><ul>{items}</ul><p>请于 <b>{v.deadline}</b> 前补正{basis}。</p>"
    sections = {"planning": _planning, "property": _property, "cadastral": _cadastral}
    body = ""
    for domain, title in SURVEYS:
        body += f"<h2>{title}</h2>" + (sections[domain](result) if domain in sections else _counts_by_domain(result, domain))
    other = [d for d in ("package", "report", "drawing", "crs") if any(f.domain == d for f in result.findings)]
    for d in other:
        body += f"<h2>{DOMAIN_NAMES[d]}</h2>" + _counts_by_domain(result, d)
    c = result.counts
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>联合验收意见 {escape(str(result.package.project_id))}</title>
<style>{CSS}</style></head><body>
<h1>建设工程竣工联合验收意见（多测合一）</h1>
<table>{info_rows}</table>
<p>结论：<span class="verdict {v.verdict}">{v.name}</span> 错误 {c['error']} 处 · 警告 {c['warning']} 处 · 提示 {c['info']} 处</p>
{tolerated}{body}
<p class="meta">规则集版本 {escape(result.ruleset_version)} · 城市配置 {escape(result.profile.name)} · 检查时间 {result.checked_at.isoformat(timespec='seconds')}<br>
成果包 sha256 {escape(str(result.package.sha256))}</p>
</body></html>"""
