"""质检报告 — the surveying firm's HTML report of one check: one self-contained file.

What it shows: the project (编号, 名称, 测绘单位, 坐标系, package sha256, rule-set version,
profile, check time); the verdict with its counts, and the 容缺 items with their deadline
when the package is accepted with deficiencies; a summary by survey and rule; then every
finding grouped by survey (domain) and rule, each with its message, figures (expected /
actual / tolerance), its place (sheet + row + field, file + layer + handle) and, when it
has a place on a drawing, a small map drawn from the package's own drawing
(:mod:`outputs.html_maps`).

The file needs nothing from the network (inline CSS and SVG, no fonts, scripts or images),
reads on a phone (viewport meta, one column below 700 px) and prints (a page per survey,
maps never split). Every text that comes from the package is escaped.

A later revision passes ``previous``: a dict mapping a finding's identity
(:attr:`schemas.findings.Finding.identity`, as the tuple or its parts joined by ``|``) to
``"new"``, ``"open"`` or ``"fixed"``, and optionally ``"fixed"``: the findings of the
previous revision that are gone (findings.json dicts) and ``"revision"``: the number of
the revision compared with. Each finding then carries its status, and a 已修正 list follows
the summary.
"""

from __future__ import annotations

import re
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from outputs.html_maps import CSS as MAP_CSS
from outputs.html_maps import FLOOR_ORDER, SITE_ORDER, MapMaker, legend_html
from outputs.results import write_atomic
from schemas.catalogue import CATALOGUE, DOMAIN_NAMES
from schemas.check import DOMAIN_ORDER, CheckResult
from schemas.findings import Finding

MAX_MAPS = 300  # beyond this many, each rule gets maps for its first findings only

SEVERITY_NAMES = {"error": "错误", "warning": "警告", "info": "提示"}
STATUS_NAMES = {"new": "新增", "open": "未修正", "fixed": "已修正"}

CSS = """
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:1000px;
margin:0 auto;padding:12px 14px 40px;color:#1f2328;line-height:1.55;font-size:15px;-webkit-text-size-adjust:100%}
h1{font-size:1.45em;margin:.4em 0 .5em;border-bottom:2px solid #333;padding-bottom:.3em}
h2{font-size:1.2em;margin:1.6em 0 .6em;border-left:5px solid #2a6f97;padding-left:.5em}
h3{font-size:1.02em;margin:1.3em 0 .5em;padding:.35em .6em;background:#f3f5f7;border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border:1px solid #ccd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}td.n{text-align:right;white-space:nowrap}
table.info th{width:7.5em;white-space:nowrap}td.hash{font-family:monospace;font-size:.85em;word-break:break-all}
.verdict{margin:1em 0;padding:.8em 1em;border-radius:6px;border:2px solid}
.verdict .v{font-size:1.5em;font-weight:700;margin-right:.5em}
.accepted{background:#ecf8ee;border-color:#2e8b46;color:#1d5e2f}
.accepted_with_deficiencies{background:#fff8e1;border-color:#c99400;color:#6b4e00}
.rejected{background:#fdecec;border-color:#c62828;color:#8e1b1b}
.verdict p{margin:.35em 0;color:#1f2328}
.sev{display:inline-block;font-size:.8em;font-weight:600;padding:0 .45em;border-radius:3px;white-space:nowrap;vertical-align:1px}
.sev-error{background:#c62828;color:#fff}.sev-warning{background:#e0a100;color:#1f1f1f}.sev-info{background:#5b7f95;color:#fff}
.st{display:inline-block;font-size:.8em;padding:0 .45em;border-radius:3px;border:1px solid;white-space:nowrap;vertical-align:1px}
.st-tol{color:#6b4e00;border-color:#c99400;background:#fff8e1}
.why{margin:.2em 0 .6em;font-size:.88em;background:#f7f9fb;border-left:3px solid #9bb;padding:.35em .6em}
.why p{margin:.15em 0}
.st-new{color:#b00020;border-color:#b00020}.st-open{color:#7a5a00;border-color:#a07800}.st-fixed{color:#1d6b33;border-color:#2e8b46}
ol.fs{list-style:none;margin:0;padding:0}
li.f{display:flex;flex-wrap:wrap;gap:10px 16px;border-top:1px solid #dde;padding:.7em 0}
li.f .tx{flex:1 1 320px;min-width:0}
li.f figure{flex:0 1 400px;margin:0;max-width:100%}
figcaption{font-size:.78em;color:#555;margin-top:2px;word-break:break-all}
.msg{margin:0 0 .3em;word-break:break-word}
.fig{margin:.2em 0;font-size:.92em}.fig b{font-variant-numeric:tabular-nums}
.pl{margin:.2em 0;font-size:.86em;color:#444;word-break:break-all}
.pl span{display:block}
.note{font-size:.88em;color:#555;margin:.3em 0}
.meta{font-size:.82em;color:#555;margin-top:2em;border-top:1px solid #ccc;padding-top:.5em}
.warn{background:#fff3cd;border:1px solid #e0c060;padding:.5em .8em;border-radius:4px}
ul.fixed{list-style:none;padding:0}ul.fixed li{border-top:1px solid #dde;padding:.4em 0}
nav.toc a{margin-right:1em;white-space:nowrap}
a{color:#1f5f8b}
@media (max-width:700px){body{font-size:14px;padding:8px 10px 30px}li.f figure{flex:1 1 100%}
table.sum th:nth-child(1),table.sum td:nth-child(1){display:none}h1{font-size:1.25em}}
@media print{body{max-width:none;font-size:10.5pt;padding:0}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section.survey{break-before:page}li.f,figure,svg.map,.verdict,tr{break-inside:avoid}
h2,h3{break-after:avoid}nav.toc{display:none}a{color:inherit;text-decoration:none}}
"""


# ---------------------------------------------------------------- small helpers


def _t(value: Any) -> str:
    """Any value as escaped text; None (and NaN) as an em dash."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return escape(str(value))


def _fig(value: Any, unit: str = "", digits: int | None = None) -> str:
    """A compared figure: numbers without float noise (or to ``digits`` decimals) with their
    unit, a ratio (unit ``%ratio``) as a percent; text escaped."""
    if unit == "%ratio":
        try:
            return f"{float(value) * 100:.{digits or 0}f}%"
        except (TypeError, ValueError):
            return escape(str(value))
    if digits is not None and not isinstance(value, str):
        try:
            v = float(value)
            if v == v:
                return f"{v:.{digits}f}{escape(unit)}"
        except (TypeError, ValueError):
            pass
    if unit and not isinstance(value, str):
        text = _fig(value)
        return text if text == "—" else text + escape(unit)
    if value is None:
        return "—"
    if isinstance(value, str):
        return escape(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return escape(str(value))
    if v != v:
        return "—"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v)}"
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def _title(code: str) -> str:
    rule = CATALOGUE.get(code)
    return rule.title if rule else ""


def identity_key(f: Finding) -> str:
    """A finding's identity as one string: the parts of ``Finding.identity`` joined by ``|``."""
    return "|".join(f.identity)


def finding_status(previous: dict | None, f: Finding) -> str | None:
    if not previous:
        return None
    status = previous.get(f.identity)
    if status is None:
        status = previous.get(identity_key(f))
    return status if status in STATUS_NAMES else None


def _badge(status: str | None) -> str:
    return f'<span class="st st-{status}">{STATUS_NAMES[status]}</span> ' if status else ""


# ---------------------------------------------------------------- sections


def _header(result: CheckResult) -> str:
    proj = result.tables.project
    z = result.zone
    crs = f"CGCS2000 3° 高斯-克吕格 EPSG:{z.epsg}" + (f"（中央子午线 {z.cm}°E）" if z.cm else "")
    if z.declared and z.declared != z.epsg:
        crs += f"，申报 EPSG:{z.declared}"
    rows = [
        ("项目编号", _t(result.package.project_id)),
        ("项目名称", _t(proj.get("XMMC"))),
        ("坐落", _t(proj.get("ZL"))),
        ("建设单位", _t(proj.get("JSDW"))),
        ("测绘单位", _t(proj.get("CHDW"))),
        ("坐标系", escape(crs)),
        ("成果包 sha256", f'<span class="hash">{_t(result.package.sha256)}</span>'),
        ("规则集版本", _t(result.ruleset_version)),
        ("城市配置", _t(result.profile.name)),
        ("检查时间", _t(result.checked_at.isoformat(timespec="seconds"))),
    ]
    body = "".join(f"<tr><th>{k}</th><td{' class=hash' if k.endswith('sha256') else ''}>{v}</td></tr>" for k, v in rows)
    return f'<table class="info">{body}</table>'


def _verdict(result: CheckResult) -> str:
    v, c = result.verdict, result.counts
    by_code = Counter(f.code for f in result.findings if f.severity == "error")
    lines = [f'<p><span class="v">{escape(v.name)}</span>错误 <b>{c["error"]}</b> 处 · 警告 <b>{c["warning"]}</b> 处 · 提示 <b>{c["info"]}</b> 处</p>']
    if v.verdict == "accepted":
        lines.append("<p>未发现错误，成果包可以受理。" + ("警告与提示不影响结论，请核对。" if c["warning"] or c["info"] else "") + "</p>")
    elif v.verdict == "accepted_with_deficiencies":
        items = "".join(f"<li>{escape(code)} {escape(_title(code))}：{by_code.get(code, 0)} 处</li>" for code in v.tolerated)
        basis = "（法定工作日）" if v.deadline_basis == "statutory" else "（节假日安排尚未公布，按周一至周五估算）"
        lines.append(f"<p>以下容缺事项可先受理、限期补正：</p><ul>{items}</ul>"
                     f"<p>补正期限：<b>{_t(v.deadline)}</b>{basis}</p>")
    else:
        tolerated = set(result.profile.tolerated.codes)
        blocking = sum(n for code, n in by_code.items() if code not in tolerated)
        lines.append(f"<p>有 <b>{blocking}</b> 处不可容缺的错误，请全部修正后重新提交（一次性告知，以下为全部问题）。</p>")
        if v.tolerable:
            items = "".join(f"<li>{escape(code)} {escape(_title(code))}：{by_code.get(code, 0)} 处</li>" for code in v.tolerable)
            lines.append(f"<p>其中以下为容缺事项（单独出现时可容缺受理），也须一并修正：</p><ul>{items}</ul>")
    return f'<section class="verdict {escape(v.verdict)}" id="verdict">{"".join(lines)}</section>'


def _groups(findings: list[Finding]) -> dict[str, dict[str, list[int]]]:
    """Finding indices by domain (in DOMAIN_ORDER) and code (sorted)."""
    out: dict[str, dict[str, list[int]]] = {}
    for i, f in enumerate(findings):
        out.setdefault(f.domain, {}).setdefault(f.code, []).append(i)
    rank = {d: n for n, d in enumerate(DOMAIN_ORDER)}
    return {d: dict(sorted(out[d].items())) for d in sorted(out, key=lambda d: (rank.get(d, 99), d))}


def _severity_cell(findings: list[Finding], idx: list[int]) -> str:
    sev = Counter(findings[i].severity for i in idx)
    return " ".join(f'<span class="sev sev-{s}">{SEVERITY_NAMES.get(s, escape(s))}</span>' for s in ("error", "warning", "info") if sev[s])


def _summary(result: CheckResult, groups: dict[str, dict[str, list[int]]]) -> str:
    if not result.findings:
        return "<h2>问题汇总</h2><p>未发现问题。</p>"
    rows = []
    for domain, codes in groups.items():
        for code, idx in codes.items():
            rows.append(f'<tr><td>{_t(DOMAIN_NAMES.get(domain, domain))}</td><td><a href="#r-{_anchor(code)}">{escape(code)}</a></td>'
                        f'<td>{escape(_title(code))}</td><td>{_severity_cell(result.findings, idx)}</td><td class="n">{len(idx)}</td></tr>')
    toc = " ".join(f'<a href="#d-{_anchor(d)}">{_t(DOMAIN_NAMES.get(d, d))}（{sum(map(len, c.values()))}）</a>' for d, c in groups.items())
    return (f'<h2>问题汇总</h2><nav class="toc">{toc}</nav>'
            f'<table class="sum"><thead><tr><th>测绘类别</th><th>规则</th><th>名称</th><th>严重程度</th><th>数量</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _place(f: Finding) -> str:
    o = f.object
    parts = []
    if o.sheet:
        cell = f"报表「{escape(o.sheet)}」" + (f" 第 {o.row} 行" if o.row is not None else "")
        if o.header:
            cell += f" · 列「{escape(o.header)}」"
        if o.cell:
            cell += f" · 单元格 {escape(o.cell)}"
        if o.field:
            cell += f" · 字段 {escape(o.field)}"
        if o.key:
            cell += f" · {escape(o.key)}"
        parts.append(cell)
    if o.file:
        parts.append(f"图纸 {escape(o.file)}" + (f" · 图层 {escape(o.layer)}" if o.layer else "")
                     + (f" · 句柄 {escape(o.handle)}" if o.handle else ""))
    if f.location is not None:
        parts.append(f"坐标 X(东) {f.location[0]:.2f} · Y(北) {f.location[1]:.2f}")
    if f.local is not None:
        parts.append(f"图上局部坐标 ({f.local[0]:.2f}, {f.local[1]:.2f})")
    if not parts:
        return ""
    return '<p class="pl">' + "".join(f"<span>{p}</span>" for p in parts) + "</p>"


def _figures(f: Finding) -> str:
    units = _units(f.code)
    items = [(name, key, v) for name, key, v in (("应为", "expected", f.expected), ("实际", "actual", f.actual),
                                                  ("限差", "tolerance", f.tolerance)) if v is not None]
    if not items:
        return ""
    return '<p class="fig">' + " · ".join(f"{name} <b>{_fig(v, *units.get(key, ('', None)))}</b>" for name, key, v in items) + "</p>"


_TEMPLATE_FIELD = re.compile(r"\{(expected|actual|tolerance)(?::[^{}]*?(?:\{\w+\})?[^{}]*?)?\}(%| m²| m)?")


def _units(code: str) -> dict[str, tuple[str, int | None]]:
    """The unit and decimals of each compared figure as the rule's template shows it:
    ``{actual:.2f} m²`` → (" m²", 2); ``{tolerance:.0%}`` → ("%", 0) (a ratio as a percent)."""
    rule = CATALOGUE.get(code)
    out: dict[str, tuple[str, int | None]] = {}
    for m in _TEMPLATE_FIELD.finditer(rule.template if rule else ""):
        spec = m.group(0)
        digits = re.search(r"\.(\d)[f%]", spec)
        if spec.endswith("%}"):
            out.setdefault(m.group(1), ("%ratio", int(digits.group(1)) if digits else 0))
        else:
            out.setdefault(m.group(1), (m.group(2) or "", int(digits.group(1)) if digits else None))
    return out


def _why(code: str) -> str:
    """The rule's basis and how to fix it (the catalogue's), beside its findings."""
    rule = CATALOGUE.get(code)
    if rule is None:
        return ""
    return (f'<div class="why"><p><b>依据</b> {escape(rule.basis)}</p>'
            f'<p><b>修改方法</b> {escape(rule.fix)}</p></div>')


def _map_budget(groups: dict[str, dict[str, list[int]]], mappable: set[int]) -> dict[str, int]:
    """How many maps each rule gets: all while the total stays within MAX_MAPS, else the
    largest equal share per rule that fits (at least one)."""
    per_rule = {code: sum(i in mappable for i in idx) for codes in groups.values() for code, idx in codes.items()}
    if sum(per_rule.values()) <= MAX_MAPS:
        return per_rule
    n = 1
    while sum(min(k, n + 1) for k in per_rule.values()) <= MAX_MAPS:
        n += 1
    return {code: min(k, n) for code, k in per_rule.items()}


def _finding(i: int, f: Finding, maps: MapMaker, with_map: bool, status: str | None, tolerated: bool = False) -> str:
    sev = f'<span class="sev sev-{escape(f.severity)}">{SEVERITY_NAMES.get(f.severity, escape(f.severity))}</span>'
    tol = '<span class="st st-tol">容缺</span> ' if tolerated else ""
    text = f'<p class="msg">{_badge(status)}{tol}{sev} {escape(f.code)} {escape(f.message)}</p>{_figures(f)}{_place(f)}'
    figure = ""
    if with_map:
        m = maps.draw(f)
        if m is not None:
            note = "（窗口内图上无要素）" if m.empty else ""
            figure = f"<figure>{m.svg}<figcaption>{m.caption}{note}</figcaption></figure>"
    elif f.local is not None and maps.kind(f) is None:
        text += '<p class="note">（图上局部坐标未注明所在图纸，无法绘制位置图）</p>'
    return (f'<li class="f" id="f-{i}" data-code="{escape(f.code)}">'
            f'<div class="tx">{text}</div>{figure}</li>')


def _findings(result: CheckResult, groups: dict[str, dict[str, list[int]]], maps: MapMaker, previous: dict | None) -> str:
    mappable = {i for i, f in enumerate(result.findings) if maps.kind(f) is not None}
    budget = _map_budget(groups, mappable)
    out = []
    for domain, codes in groups.items():
        n = sum(map(len, codes.values()))
        out.append(f'<section class="survey" id="d-{_anchor(domain)}"><h2>{_t(DOMAIN_NAMES.get(domain, domain))}（{n} 处）</h2>')
        for code, idx in codes.items():
            tol = '<span class="st st-tol">容缺</span> ' if code in result.verdict.tolerable else ""
            out.append(f'<section class="rule" id="r-{_anchor(code)}"><h3>{escape(code)} {escape(_title(code))} '
                       f'{tol}{_severity_cell(result.findings, idx)} · {len(idx)} 处</h3>{_why(code)}')
            with_place = [i for i in idx if i in mappable]
            allowed = set(with_place[: budget.get(code, 0)])
            if len(allowed) < len(with_place):
                out.append(f'<p class="note">本规则有 {len(with_place)} 处图上位置；为控制报告大小，仅前 {len(allowed)} 处附位置图，'
                           f"其余见坐标与句柄。</p>")
            items = "".join(_finding(i, result.findings[i], maps, i in allowed, finding_status(previous, result.findings[i]),
                                     result.verdict.is_tolerated(result.findings[i]))
                            for i in idx)
            out.append(f'<ol class="fs">{items}</ol></section>')
        out.append("</section>")
    return "".join(out)


def _comparison(result: CheckResult, previous: dict | None) -> str:
    if previous is None:
        return ""
    status = Counter(finding_status(previous, f) for f in result.findings)
    fixed = [d for d in previous.get("fixed", []) if isinstance(d, dict)]
    if not fixed:  # only identities: show what they say
        fixed = [{"code": k[0] if isinstance(k, tuple) else str(k).split("|")[0], "object": _object_of(k)}
                 for k, s in previous.items() if s == "fixed" and k not in ("fixed", "revision")]
    rev = previous.get("revision")
    title = f"与第 {_t(rev)} 版比较" if rev is not None else "与上一版比较"
    rows = []
    for d in fixed:
        o: dict = d["object"] if isinstance(d.get("object"), dict) else {}
        where = " · ".join(escape(str(o[k])) for k in ("sheet", "row", "key", "field", "file", "layer", "handle") if o.get(k) not in (None, ""))
        msg = d.get("message") or _title(str(d.get("code", "")))
        rows.append(f'<li><span class="st st-fixed">已修正</span> <b>{_t(d.get("code"))}</b> {_t(msg)}'
                    + (f'<br><span class="pl">{where}</span>' if where else "") + "</li>")
    fixed_html = f'<ul class="fixed">{"".join(rows)}</ul>' if rows else "<p>上一版的问题均未修正。</p>"
    return (f'<section class="compare"><h2>{title}</h2><p>新增 <b>{status["new"]}</b> 处 · 未修正 <b>{status["open"]}</b> 处 · '
            f'已修正 <b>{len(fixed)}</b> 处</p><h3>已修正</h3>{fixed_html}</section>')


def _object_of(key: Any) -> dict[str, str]:
    parts = list(key) if isinstance(key, tuple) else str(key).split("|")
    names = ("code", "sheet", "key", "field", "file", "layer")
    return {n: p for n, p in zip(names, parts, strict=False) if n != "code" and p}


def _legend(result: CheckResult, maps: MapMaker) -> str:
    kinds = {maps.kind(f) for f in result.findings}
    layers: tuple[str, ...] = ()
    if "site" in kinds:
        layers += tuple(x for x in SITE_ORDER if x != "JZX")
    if "floor" in kinds:
        layers += FLOOR_ORDER
    if not layers:
        return ""
    return f'<p class="note">位置图图例：</p>{legend_html(layers)}'


# ---------------------------------------------------------------- public API


def render_html(result: CheckResult, previous: dict | None = None) -> str:
    """The 质检报告 of one check result as one self-contained HTML document."""
    groups = _groups(result.findings)
    pid = result.package.project_id or "（无法读取）"
    internal = ""
    if result.internal_errors:
        names = "".join(f"<li>{escape(e.splitlines()[0] if e else '')}</li>" for e in result.internal_errors)
        internal = f'<p class="warn">有规则执行出错，本次检查不完整，请联系检查系统维护方：</p><ul>{names}</ul>'
    maps = MapMaker(result)
    findings = _findings(result, groups, maps, previous) if result.findings else ""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>质检报告 {escape(pid)}</title><style>{CSS}{MAP_CSS}</style></head><body>"
        f"<h1>多测合一成果质检报告</h1>{_header(result)}{_verdict(result)}{internal}"
        f"{_summary(result, groups)}{_comparison(result, previous)}{_legend(result, maps) if findings else ''}{findings}"
        f'<p class="meta">本报告由 duoce 按规则集 {_t(result.ruleset_version)}（城市配置 {_t(result.profile.name)}）生成；'
        f"问题一次性告知。位置图取自成果包自带图纸。</p></body></html>"
    )


def write_html(result: CheckResult, path: Path, previous: dict | None = None) -> None:
    """Write the report atomically (aside, then renamed into place)."""
    write_atomic(Path(path), render_html(result, previous).encode("utf-8"))
