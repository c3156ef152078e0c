"""Analysts (and the lead office): statistics per firm, rule and month
(:func:`analysis.stats.stats`) with bar charts drawn on the server as inline SVG (no
script), and reruns of the archive (:func:`analysis.rerun.rerun`, in the check pool, off
the request) with their results. Read-only across projects; a rerun is its
organisation's."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup, escape

from interfaces.web.deps import Auth, PersonAuth, services
from interfaces.web.pages import render

router = APIRouter(include_in_schema=False)

BAR_H, GAP, LABEL_W, CHART_W = 22, 6, 150, 560
VERDICT_LABELS = {
    "accepted": "通过",
    "accepted_with_deficiencies": "容缺通过",
    "rejected": "退回补正",
}


def _analyst(auth: Auth) -> None:
    if auth.role not in ("analyst", "lead"):
        raise HTTPException(403, "无权访问：此功能仅限分析人员和牵头部门")


def svg_bars(title: str, items: list[tuple[str, int]], colour: str = "#0b5cad") -> Markup:
    """A horizontal bar chart as inline SVG: one bar per (label, value), value written at
    its end. Scales to the page's width (viewBox)."""
    items = items[:20]
    top = max((v for _, v in items), default=0) or 1
    height = len(items) * (BAR_H + GAP) + GAP
    rows = []
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR_H + GAP)
        w = round((CHART_W - LABEL_W - 60) * value / top, 1)
        rows.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR_H * 0.7}" text-anchor="end" '
            f'font-size="13">{escape(str(label)[:14])}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{BAR_H}" fill="{colour}"/>'
            f'<text x="{LABEL_W + w + 4}" y="{y + BAR_H * 0.7}" font-size="13">{value}</text>'
        )
    if not items:
        rows.append(f'<text x="8" y="{BAR_H}" font-size="13">暂无数据</text>')
        height = BAR_H + GAP * 2
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {CHART_W} '
        f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}'
        f"</title>{''.join(rows)}</svg>"
    )


def _table(frame, columns: list[str]) -> list[dict]:
    out = []
    for index, row in frame.iterrows():
        out.append({"key": index, **{c: (row[c] if c in row else "") for c in columns}})
    return out


@router.get("/stats")
def stats_page(request: Request, auth: PersonAuth):
    _analyst(auth)
    from analysis.stats import stats

    s = stats(services(request).store)
    firm_cols = [
        "projects",
        "revisions",
        "accepted",
        "accepted_with_deficiencies",
        "rejected",
        "errors",
    ]
    rule_cols = ["title", "findings", "revisions", "projects"]
    month_cols = ["submissions", "revisions", "accepted", "rejected", "errors"]

    def pairs(frame, col: str) -> list[tuple[str, int]]:
        if col not in frame.columns:
            return []
        return [(str(k), int(v)) for k, v in frame[col].items()]

    charts = [
        svg_bars("各测绘单位的版本数", pairs(s.by_firm, "revisions")),
        svg_bars("各规则的问题数（前 20）", pairs(s.by_rule, "findings"), "#b3261e"),
        svg_bars("各月提交数", sorted(pairs(s.by_month, "submissions")), "#1b7f3b"),
    ]
    return render(
        request,
        "stats.html",
        auth,
        charts=charts,
        by_firm=_table(s.by_firm, firm_cols),
        by_rule=_table(s.by_rule.head(50), rule_cols),
        by_month=_table(s.by_month, month_cols),
    )


@router.get("/reruns")
def reruns_page(request: Request, auth: PersonAuth):
    _analyst(auth)
    runs = services(request).accounts.runs_of(auth.org.id, "rerun")
    return render(request, "reruns.html", auth, runs=runs)


@router.post("/reruns")
def start_rerun(request: Request, auth: PersonAuth):
    _analyst(auth)
    run = services(request).jobs.rerun(auth.org.id, auth.person.id)
    return RedirectResponse(f"/reruns/{run.id}", status_code=303)


@router.get("/reruns/{run_id}")
def rerun_page(request: Request, auth: PersonAuth, run_id: str):
    _analyst(auth)
    svc = services(request)
    run = svc.accounts.run(run_id, auth.org.id)
    if run is None or run.kind != "rerun":
        raise HTTPException(404, "重查任务不存在")
    rows = []
    path = svc.jobs.rerun_path(run.id)
    if run.state == "done" and path.is_file():
        rows = json.loads(path.read_text(encoding="utf-8"))
    return render(request, "rerun.html", auth, run=run, rows=rows, VERDICT_LABELS=VERDICT_LABELS)
