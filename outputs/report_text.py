"""Short textual summaries of a check result: markdown (Prefect artifact) and plain lines."""

from __future__ import annotations

from collections import Counter

from schemas.catalogue import CATALOGUE, DOMAIN_NAMES
from schemas.check import CheckResult


def place_text(f) -> str:
    o = f.object
    parts = []
    if o.sheet:
        parts.append(f"「{o.sheet}」" + (f"第{o.row}行" if o.row else ""))
    if o.file:
        parts.append(o.file + (f" {o.layer}" if o.layer else "") + (f" #{o.handle}" if o.handle else ""))
    if f.location:
        parts.append(f"({f.location[0]:.2f}, {f.location[1]:.2f})")
    return " ".join(parts)


def markdown_summary(result: CheckResult, limit: int = 200) -> str:
    v, c = result.verdict, result.counts
    lines = [
        f"# 检查结果 {result.package.project_id or '（无法读取）'}",
        "",
        f"**结论：{v.name}**（{v.verdict}） · 错误 {c['error']} · 警告 {c['warning']} · 提示 {c['info']}",
    ]
    if v.deadline:
        lines.append(f"\n容缺事项 {', '.join(v.tolerated)}，补正期限 {v.deadline}")
    by_code = Counter(f.code for f in result.findings)
    if by_code:
        lines += ["", "| 规则 | 领域 | 名称 | 数量 |", "|---|---|---|---|"]
        for code, n in sorted(by_code.items()):
            r = CATALOGUE[code]
            lines.append(f"| {code} | {DOMAIN_NAMES[r.domain]} | {r.title} | {n} |")
        lines += ["", f"## 问题（前 {limit} 条）", ""]
        for f in result.findings[:limit]:
            lines.append(f"- **{f.code}** [{f.severity}] {f.message} — {place_text(f)}")
    lines += ["", f"规则集 {result.ruleset_version} · 配置 {result.profile.name} · sha256 `{result.package.sha256}`"]
    return "\n".join(lines)
