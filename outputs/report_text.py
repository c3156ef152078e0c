"""Short textual summaries of a check result: markdown (Prefect artifact) and plain lines.

A message is shown whole in findings.json and the HTML report; in a console line or the
markdown summary it is cut at :data:`CONSOLE_CHARS` characters with "…" (a 10 MB label
made the console's line wrapping take 198 s). The code is shown once, beside the message
(the message itself does not carry it), and a 容缺 item is marked 〔容缺〕.
"""

from __future__ import annotations

from collections import Counter

from schemas.catalogue import CATALOGUE, DOMAIN_NAMES
from schemas.check import CheckResult
from schemas.findings import Finding
from schemas.verdict import Verdict

CONSOLE_CHARS = 300  # a console line's message at most this long; the rest is in findings.json
TOLERATED_MARK = "〔容缺〕"


def shorten(text: str, limit: int = CONSOLE_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters, "…" where it was cut. Linear: the
    text is cut before it is split, so a 10 MB message costs no more than a short one."""
    cut = len(text) > limit
    head = " ".join(text[: limit + 1].split())
    if cut or len(head) > limit:
        return head[: limit - 1] + "…"
    return head


def place_text(f: Finding) -> str:
    o = f.object
    parts = []
    if o.cell:
        parts.append(shorten(o.cell, 80) + (f"（{shorten(o.header, 40)}）" if o.header else ""))
    elif o.sheet:
        parts.append(f"「{shorten(o.sheet, 40)}」" + (f"第{o.row}行" if o.row else ""))
    if o.file:
        parts.append(shorten(o.file, 120) + (f" {shorten(o.layer, 40)}" if o.layer else "") + (f" #{o.handle}" if o.handle else ""))
    if f.location:
        parts.append(f"({f.location[0]:.2f}, {f.location[1]:.2f})")
    return " ".join(parts)


def message_text(f: Finding, verdict: Verdict | None = None, limit: int = CONSOLE_CHARS) -> str:
    """A finding's message for a console or summary line: 〔容缺〕 first where the verdict
    tolerates it, then the message cut at ``limit`` characters. Without the code: the line
    shows ``f.code`` beside it once."""
    mark = TOLERATED_MARK if verdict is not None and verdict.is_tolerated(f) else ""
    return mark + shorten(f.message, limit)


def finding_line(f: Finding, verdict: Verdict | None = None, limit: int = CONSOLE_CHARS) -> str:
    """One plain line: ``CODE 〔容缺〕message  place`` (the code once)."""
    return f"{f.code} {message_text(f, verdict, limit)}  {place_text(f)}".rstrip()


def markdown_summary(result: CheckResult, limit: int = 200) -> str:
    v, c = result.verdict, result.counts
    lines = [
        f"# 检查结果 {result.package.project_id or '（无法读取）'}",
        "",
        f"**结论：{v.name}**（{v.verdict}） · 错误 {c['error']} · 警告 {c['warning']} · 提示 {c['info']}",
    ]
    if v.deadline:
        lines.append(f"\n容缺事项 {', '.join(v.tolerated)}，补正期限 {v.deadline}")
    elif v.tolerable:
        lines.append(f"\n其中容缺事项 {', '.join(v.tolerable)}（另有不可容缺的错误，须一并修正）")
    by_code = Counter(f.code for f in result.findings)
    if by_code:
        lines += ["", "| 规则 | 领域 | 名称 | 数量 |", "|---|---|---|---|"]
        for code, n in sorted(by_code.items()):
            r = CATALOGUE[code]
            mark = TOLERATED_MARK if code in v.tolerable else ""
            lines.append(f"| {code} | {DOMAIN_NAMES[r.domain]} | {mark}{r.title} | {n} |")
        lines += ["", f"## 问题（前 {limit} 条）", ""]
        for f in result.findings[:limit]:
            lines.append(f"- **{f.code}** [{f.severity}] {message_text(f, v)} — {place_text(f)}")
    lines += ["", f"规则集 {result.ruleset_version} · 配置 {result.profile.name} · sha256 `{result.package.sha256}`"]
    return "\n".join(lines)
