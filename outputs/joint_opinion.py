"""联合验收意见书 — the combined opinion the lead office issues once a case is concluded.

One self-contained, printable (A4) HTML document rendered from a concluded case
(:class:`cases.case.Case`, what the events say) and the check of the case's revision
(:class:`schemas.check.CheckResult`, the project's names and the findings' words). It
carries the number and the date of the conclusion, the revision and its package's sha256;
every requested department's opinion in force with its person and date, and the earlier
versions below it; the 容缺 items with their deadlines and their state on the day of the
conclusion; the exceptions the departments accepted (department, reason, person); the joint
site inspection; the conclusion — 通过 only if no department's opinion in force is 不通过 —
and the lead office's signature and seal.

The document says only what the case and the check say: rendering it twice gives the same
bytes (no clock is read), so a conclusion re-published after a crash is the same document.
Once a case is concluded it replaces the generated opinion page (:mod:`outputs.opinion`).
"""

from __future__ import annotations

import datetime as dt
from html import escape

from cases.board import findings_view
from cases.case import Case, Item, conclusion_of
from cases.profile import CaseRules
from schemas.catalogue import CATALOGUE
from schemas.check import CheckResult
from schemas.findings import Finding

__all__ = ["DOCUMENT_NAME", "render_joint_opinion"]

DOCUMENT_NAME = "联合验收意见书.html"
VERDICT_NAMES = {
    "accepted": "通过",
    "accepted_with_deficiencies": "容缺通过",
    "rejected": "退回补正",
}
NUMERALS = "一二三四五六七八九十"

CSS = """
@page{size:A4;margin:18mm 16mm 20mm 16mm}
body{font-family:"Noto Serif CJK SC","Noto Sans CJK SC","SimSun","Microsoft YaHei",serif;max-width:178mm;margin:1.5em auto;padding:0 1em;color:#111;line-height:1.55;font-size:11pt}
.docno{display:flex;justify-content:space-between;font-size:.9em;border-bottom:1px solid #111;padding-bottom:.3em}
h1{font-size:1.55em;text-align:center;margin:.8em 0 .6em;letter-spacing:.1em}
h2{font-size:1.1em;margin:1.2em 0 .4em;break-after:avoid}
table{border-collapse:collapse;width:100%;margin:.4em 0;font-size:.9em}th,td{border:1px solid #555;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#eee}tr{break-inside:avoid}.info th{width:9em}
.mono{font-family:"DejaVu Sans Mono",monospace;font-size:.85em;word-break:break-all}
.bad{color:#b00;font-weight:bold}.ok{color:#060}.note{color:#444;font-size:.9em}.meta{color:#444;font-size:.85em}
.conclusion{font-size:1.3em;font-weight:bold;padding:.2em .8em;border:2px solid currentColor;display:inline-block}
.sign{break-inside:avoid;margin-top:1.2em}
.seal{display:flex;justify-content:flex-end;gap:3em;margin-top:1.5em}.seal p{margin:.4em 0}
.seal .stamp{width:42mm;height:42mm;border:1px dashed #999;border-radius:50%;display:flex;align-items:center;justify-content:center;color:#999;font-size:.85em}
@media print{body{margin:0;max-width:none;padding:0}}
"""


def _e(value: object) -> str:
    return "—" if value is None or value == "" else escape(str(value))


def _day(t: dt.datetime | dt.date | None) -> str:
    if t is None:
        return "—"
    return f"{t.year} 年 {t.month} 月 {t.day} 日"


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _title(code: str) -> str:
    rule = CATALOGUE.get(code)
    return f"{escape(code)} {escape(rule.title)}" if rule is not None else escape(code)


def _where(identity: tuple[str, ...]) -> str:
    """A finding's object in words: sheet, key or row, field; drawing, layer."""
    _, sheet, key, field, file, layer = identity
    parts = []
    if sheet:
        parts.append(f"「{sheet}」" + (f" {key}" if key else "") + (f" {field}" if field else ""))
    if file:
        parts.append(file + (f" 图层 {layer}" if layer else ""))
    return escape("；".join(parts)) if parts else "成果包"


def _message(findings: dict[tuple[str, ...], Finding], identity: tuple[str, ...]) -> str:
    f = findings.get(identity)
    return f"<br><span class='note'>{escape(f.message)}</span>" if f is not None else ""


def _item_state(item: Item, on: dt.date) -> str:
    if not item.is_open:
        return f"<span class='ok'>已于第 {item.closed_revision} 版消除（{_day(item.closed_at)}）</span>"
    if item.overdue_on(on):
        return "<span class='bad'>未办结，已超期</span>"
    return "未办结"


def _deadline(item: Item) -> str:
    if item.deadline is None:
        return "—"
    basis = "" if item.deadline_basis in (None, "statutory") else "（按周一至周五估算）"
    return f"{_day(item.deadline)}{basis}"


def render_joint_opinion(case: Case, rules: CaseRules, result: CheckResult) -> str:
    """The combined opinion of a concluded case as one printable HTML page.

    Parameters
    ----------
    case
        The case's state; it must be concluded (its number, date and conclusion).
    rules
        The profile's ``[case]`` rules (the organisations' names, the surveys).
    result
        The check of the case's revision: its package sha256 must be the case's.

    Raises
    ------
    ValueError
        The case is not concluded, or the result is not of the case's revision.
    """
    if case.concluded_at is None or case.number is None or case.conclusion is None:
        raise ValueError(f"案件 {case.case_id} 尚未出具联合验收意见")
    if result.package.sha256 != case.package_sha256:
        raise ValueError(
            f"检查结果的成果包 sha256 {result.package.sha256} 不是案件第 {case.revision} 版的"
            f" {case.package_sha256}"
        )
    on = case.concluded_at.date()
    project = result.tables.project if result.tables is not None else {}
    findings = {f.identity: f for f in result.findings}
    flags = "（绿色通道）" if case.green else ""
    info = [
        ("案件编号", _e(case.case_id) + flags),
        ("项目编号", _e(case.project_id)),
        ("项目名称", _e(project.get("XMMC"))),
        ("坐落", _e(project.get("ZL"))),
        ("建设单位", _e(project.get("JSDW"))),
        ("测绘单位", _e(case.firm or project.get("CHDW"))),
        ("受理", f"{_day(case.opened_at)}（{_e(case.opened_by)}）"),
        ("成果版本", f"第 {case.revision} 版"),
        ("检查结论", _e(VERDICT_NAMES.get(case.verdict, case.verdict))),
        ("成果包 sha256", f"<span class='mono'>{_e(case.package_sha256)}</span>"),
    ]
    sections: list[tuple[str, str, str]] = [
        ("s-project", "项目与成果", "<table class='info'>"
         + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in info) + "</table>"),
    ]  # fmt: skip

    # every requested department's opinion in force, then the earlier versions
    rows, earlier = [], []
    for dep in case.requested:
        versions = case.opinions.get(dep, ())
        name = escape(rules.name(dep))
        if not versions:
            rows.append([name, "<span class='bad'>未出具</span>", "—", "—", "—"])
            continue
        o = versions[-1]
        decision = (
            f"<b class='bad'>{o.decision}</b>" if o.decision == "不通过" else f"<b>{o.decision}</b>"
        )
        text = f"<br>{escape(o.text)}" if o.text else ""
        relies = (
            f"<br><span class='note'>依据：{escape('、'.join(o.relies_on))}</span>"
            if o.relies_on
            else ""
        )
        rows.append(
            [name, decision + text + relies, escape(o.person), _day(o.at), f"第 {o.version} 稿"]
        )
        for old in versions[:-1]:
            earlier.append([name, f"第 {old.version} 稿", escape(old.decision) + (
                f"：{escape(old.text)}" if old.text else ""), escape(old.person), _day(old.at)])  # fmt: skip
    body = _table(["部门", "意见", "经办人", "日期", "稿次"], rows, "departments")
    if earlier:
        body += "<p class='note'>此前各稿（已被替代）：</p>" + _table(
            ["部门", "稿次", "意见", "经办人", "日期"], earlier, "earlier"
        )
    sections.append(("department-opinions", "各部门意见", body))

    # 容缺 items
    if case.items:
        rows = [
            [_title(i.code) + _message(findings, i.identity), _where(i.identity),
             f"第 {i.opened_revision} 版", _deadline(i), _item_state(i, on)]
            for i in case.items
        ]  # fmt: skip
        body = _table(["问题", "位置", "受理版本", "期限", "状态"], rows, "items")
        open_n = len(case.open_items)
        body += (
            f"<p>尚有 <b class='bad'>{open_n}</b> 项容缺事项未办结，测绘单位应于期限前补正。</p>"
            if open_n
            else "<p>容缺事项均已办结。</p>"
        )
    else:
        body = "<p>无容缺事项。</p>"
    sections.append(("tolerated-items", "容缺事项", body))

    # accepted exceptions
    accepted = [(f, exc) for f, exc in findings_view(case, rules) if exc is not None]
    if accepted:
        rows = [
            [escape(rules.name(exc.department)), _title(f.code) + _message(findings, f.identity),
             _where(f.identity), escape(exc.reason), escape(exc.person), _day(exc.at)]
            for f, exc in accepted
        ]  # fmt: skip
        body = _table(["部门", "问题", "位置", "理由", "经办人", "日期"], rows, "exceptions")
        body += "<p class='note'>认可的例外只涉及该部门本身的测绘成果，不改变其他部门的问题。</p>"
    else:
        body = "<p>无认可的例外。</p>"
    sections.append(("exceptions", "认可的例外", body))

    # the site inspection
    ins = case.inspection
    if ins is not None:
        body = (
            f"<p>{_day(ins.inspected_on)}联合现场勘察；参加人：{_e('、'.join(ins.participants))}。"
            f"{escape(ins.notes)}</p>"
        )
    else:
        body = "<p>未记录现场勘察。</p>"
    sections.append(("inspection", "现场勘察", body))

    # the conclusion: 通过 only if no department's opinion in force is 不通过
    conclusion = case.conclusion
    computed = conclusion_of(case)
    if conclusion != computed:  # the log's conclusion was checked against the opinions
        raise ValueError(
            f"案件 {case.case_id} 的结论 {conclusion} 与各部门意见不符（应为 {computed}）"
        )
    refusing = [
        rules.name(d) for d in case.requested if (o := case.opinion(d)) and o.decision == "不通过"
    ]
    cls = "bad" if conclusion == "不通过" else "ok"
    why = (
        f"{escape('、'.join(refusing))}出具了不通过意见。"
        if refusing
        else "各部门均未出具不通过意见。"
    )
    conditional = [
        rules.name(d)
        for d in case.requested
        if (o := case.opinion(d)) and o.decision == "有条件通过"
    ]
    if conditional and not refusing:
        why += f"{escape('、'.join(conditional))}的条件见其意见。"
    body = f"<p><span class='conclusion {cls}'>{conclusion}</span></p><p>{why}</p>"
    sections.append(("conclusion", "联合验收结论", body))

    html_sections = "".join(
        f"<section id='{sid}'><h2>{NUMERALS[n]}、{title}</h2>{content}</section>"
        for n, (sid, title, content) in enumerate(sections)
    )
    lead = (
        "<section id='lead-office' class='sign'><div class='seal'><div>"
        f"<p>牵头部门：{escape(rules.name(rules.lead))}（盖章）</p><p>负责人（签字）：</p>"
        f"<p>日期：{_day(case.concluded_at)}</p></div><div class='stamp'>（印章）</div></div></section>"
    )
    number = escape(case.number)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>联合验收意见书 {number}</title>
<style>{CSS}</style></head><body>
<div class="docno"><span>文号：<b class="number">{number}</b></span><span>日期：{_day(case.concluded_at)}</span></div>
<h1>建设工程竣工联合验收意见书</h1>
{html_sections}{lead}
<p class="meta">案件 {_e(case.case_id)} · 第 {case.revision} 版 · 成果包 sha256 <span class="mono">{_e(case.package_sha256)}</span>
· 规则集版本 {_e(result.ruleset_version)} · 城市配置 {_e(result.profile.name)} · 事件 {case.version} 项</p>
</body></html>"""
