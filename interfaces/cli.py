"""`duoce`: the command line of results.md.

Exit codes: 0 = no error, 1 = errors found (or the package could not be read), 2 = bad
invocation. Bad input never prints a traceback: it becomes findings.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="多测合一 成果包检查、提交与成果共享")
out = Console()
err = Console(stderr=True)

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
VERDICT_STYLE = {"accepted": "bold green", "accepted_with_deficiencies": "bold yellow", "rejected": "bold red"}


def _profile(name: str | None):
    from schemas.profile import load_profile

    ref = name or get_settings().profile
    try:
        return load_profile(ref)
    except (OSError, ValueError) as exc:
        err.print(f"[red]无法读取城市配置 {ref}：{exc}[/red]")
        raise typer.Exit(2) from None


class _Progress:
    """A Rich progress line on stderr for long work (stdout stays clean), redrawn at each
    step: no refresh thread competing with the check for the GIL."""

    def __init__(self) -> None:
        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True, auto_refresh=False
        )
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        self.task = self.bar.add_task("开始", total=None)
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def __call__(self, message: str) -> None:
        self.bar.update(self.task, description=message, refresh=True)


def print_summary(result, limit: int | None = 50) -> None:
    from outputs.report_text import place_text
    from schemas.catalogue import CATALOGUE

    v, c = result.verdict, result.counts
    out.print(f"项目 [bold]{result.package.project_id or '（无法读取）'}[/bold]  sha256 {result.package.sha256 or '—'}")
    out.print(
        f"结论：[{VERDICT_STYLE[v.verdict]}]{v.name}（{v.verdict}）[/]  "
        f"错误 {c['error']} · 警告 {c['warning']} · 提示 {c['info']}"
    )
    if v.deadline:
        basis = "法定工作日" if v.deadline_basis == "statutory" else "按周一至周五估算"
        out.print(f"容缺事项 {', '.join(v.tolerated)}，补正期限 {v.deadline}（{basis}）")
    if not result.findings:
        return
    table = Table(title="按规则统计", show_lines=False)
    for col in ("规则", "级别", "名称", "数量"):
        table.add_column(col)
    counts = Counter((f.code, f.severity) for f in result.findings)
    for (code, sev), n in sorted(counts.items()):
        table.add_row(code, f"[{SEVERITY_STYLE[sev]}]{sev}[/]", CATALOGUE[code].title, str(n))
    out.print(table)
    shown = result.findings if limit is None else result.findings[:limit]
    for f in shown:
        out.print(f"[{SEVERITY_STYLE[f.severity]}]{f.code}[/] {f.message}  [dim]{place_text(f)}[/dim]", highlight=False)
    if len(shown) < len(result.findings):
        out.print(f"[dim]……另有 {len(result.findings) - len(shown)} 条，见 --json 输出或用 --all 显示全部[/dim]")
    for e in result.internal_errors:
        err.print(f"[red]内部错误（请报告）：{e.splitlines()[0]}[/red]")


@app.command()
def check(
    package: Annotated[Path, typer.Argument(help="成果包：目录或 .zip")],
    profile: Annotated[str | None, typer.Option(help="城市配置名称或 .toml 路径")] = None,
    json: Annotated[Path | None, typer.Option("--json", help="写出 findings.json")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="写出质检报告（自包含 HTML，含问题位置图）")] = None,
    dxf: Annotated[Path | None, typer.Option("--dxf", help="写出问题标注 DXF（分层分户图另出一份）")] = None,
    all_: Annotated[bool, typer.Option("--all", help="显示全部问题")] = False,
) -> None:
    """预检：检查成果包，不发布。退出码 0 无错误，1 有错误。"""
    from parsers.pool import read_workers, readers_for, take_early

    settings = get_settings()
    # drawing readers start now (or started before the CLI's imports: interfaces.launch): they
    # import while this process imports the checks
    readers = take_early(str(package))
    if readers is None:
        readers = readers_for(package, read_workers(settings.workers))
    from engine.precheck import precheck, workspace

    prof = _profile(profile)
    with workspace(settings.workdir) as wd, _Progress() as progress:
        result = precheck(package, prof, wd, progress, readers=readers)
    print_summary(result, None if all_ else 50)
    write_outputs(result, json, html, dxf)
    raise typer.Exit(1 if result.counts["error"] else 0)


def write_outputs(result, json: Path | None, html: Path | None, dxf: Path | None, previous: dict | None = None) -> None:
    """findings.json, the firm's HTML report and the DXF overlay, as asked."""
    from outputs.results import write_findings

    if json:
        write_findings(result, json)
        out.print(f"findings.json → {json}")
    if html:
        from outputs.html_report import write_html

        write_html(result, html, previous)
        out.print(f"质检报告 → {html}")
    if dxf:
        from outputs.overlay import write_overlay

        for path in write_overlay(result, dxf):
            out.print(f"问题标注 DXF → {path}")


@app.command()
def submit(
    package: Annotated[Path, typer.Argument(help="成果包：目录或 .zip")],
    profile: Annotated[str | None, typer.Option(help="城市配置名称或 .toml 路径")] = None,
    store: Annotated[Path | None, typer.Option(help="成果库目录（默认 ./store）")] = None,
    json: Annotated[Path | None, typer.Option("--json", help="另外写出 findings.json")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="另外写出质检报告（含与上一版本的对比）")] = None,
    dxf: Annotated[Path | None, typer.Option("--dxf", help="另外写出问题标注 DXF")] = None,
) -> None:
    """提交：入库（按 sha256 存一次）、检查、向各部门发布成果。"""
    settings = get_settings(store=store)
    prof_ref = profile or settings.profile
    _profile(prof_ref)
    if not package.exists():
        from engine.precheck import precheck, workspace

        with workspace(settings.workdir) as wd:
            result = precheck(package, _profile(prof_ref), wd)
        print_summary(result)
        raise typer.Exit(1)
    outcome = run_submit(package, settings.store, prof_ref, json)
    print_summary(outcome.result)
    previous = outcome.comparison.as_previous_map() if outcome.comparison is not None else None
    write_outputs(outcome.result, None, html, dxf, previous)
    if outcome.revision is not None:
        state = "新版本" if outcome.is_new else "与已有版本相同，未改变任何已发布成果"
        out.print(f"版本 r{outcome.revision}（{state}）")
        c = outcome.comparison
        if c is not None and c.has_previous:
            n = c.counts
            out.print(f"与上一版本 r{c.previous_revision} 相比：已修正 {n.get('fixed', 0)} · 新增 {n.get('new', 0)} · 仍存在 {n.get('open', 0)}")
        for dep, path in outcome.published.items():
            out.print(f"  {dep}: {path}")
    raise typer.Exit(1 if outcome.result.counts["error"] else 0)


def run_submit(package: Path, store: Path, profile: str, json: Path | None = None):
    from flows.pipeline import submit_package

    return submit_package(str(package), str(store), profile, str(json) if json else None)


@app.command()
def demo(
    size: Annotated[str, typer.Option(help="样例规模：S（24 户）或 L（9600 户）")] = "S",
    out_dir: Annotated[Path, typer.Option("--out", help="样例成果包输出目录")] = Path("out/demo"),
    store: Annotated[Path | None, typer.Option(help="成果库目录（默认 ./store）")] = None,
) -> None:
    """生成样例成果包并走完整流程：预检 → 提交 → 发布四个部门成果。"""
    from sample_data import make_package

    if size not in ("S", "L"):
        err.print("size 只能是 S 或 L")
        raise typer.Exit(2)
    settings = get_settings(store=store)
    with _Progress() as progress:
        progress(f"生成样例成果包 {size}")
        pkg = make_package(out_dir, size)
    out.print(f"样例成果包 → {pkg}")
    outcome = run_submit(pkg, settings.store, settings.profile, out_dir / "findings.json")
    print_summary(outcome.result)
    out.print(f"版本 r{outcome.revision}；已发布：")
    for dep, path in outcome.published.items():
        out.print(f"  {dep}: {path}")
    raise typer.Exit(1 if outcome.result.counts["error"] else 0)


@app.command()
def rerun(
    project: Annotated[str | None, typer.Option(help="只重查此项目")] = None,
    since: Annotated[str | None, typer.Option(help="只重查此日期（YYYY-MM-DD）以后提交的版本")] = None,
    profile: Annotated[str | None, typer.Option(help="城市配置名称或 .toml 路径")] = None,
    store: Annotated[Path | None, typer.Option(help="成果库目录（默认 ./store）")] = None,
    all_: Annotated[bool, typer.Option("--all", help="也列出结论未变的版本")] = False,
) -> None:
    """分析：用今天的规则与配置重查已入库的成果包，列出结论发生变化的版本及原因（不改变任何已存内容）。"""
    import datetime as dt

    from analysis.rerun import rerun as rerun_store
    from storage.store import Store

    settings = get_settings(store=store)
    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        err.print(f"--since 应为 YYYY-MM-DD：{since}")
        raise typer.Exit(2) from None
    if not settings.store.exists():
        err.print(f"成果库 {settings.store} 不存在")
        raise typer.Exit(2)
    prof = _profile(profile)
    with _Progress() as progress:
        progress("重查已入库成果包")
        if settings.backend == "dask":  # the Prefect flow, its tasks on Dask workers
            from flows.rerun import rerun_archive_flow

            flow = rerun_archive_flow(settings)
            rows = flow(str(settings.store), profile or settings.profile, project, day, all_)
        else:
            rows = rerun_store(Store(settings.store), prof, project, day, include_unchanged=all_)
    table = Table(title=f"重查结果（配置 {prof.name}）")
    for col in ("项目", "版本", "测绘单位", "原结论", "新结论", "原因"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.project_id, f"r{r.revision}", r.firm or "", r.old_verdict or "", r.new_verdict or "", r.reason)
    out.print(table)
    out.print(f"结论变化 {sum(r.status == 'changed' for r in rows)} 个；损坏 {sum(r.status == 'damaged' for r in rows)} 个")
    raise typer.Exit(1 if any(r.status in ("damaged", "failed") for r in rows) else 0)


@app.command()
def stats(store: Annotated[Path | None, typer.Option(help="成果库目录（默认 ./store）")] = None) -> None:
    """分析：按测绘单位、规则、月份统计问题。"""
    from analysis.stats import stats as store_stats
    from storage.store import Store

    root = get_settings(store=store).store
    if not root.exists():
        err.print(f"成果库 {root} 不存在")
        raise typer.Exit(2)
    s = store_stats(Store(root))
    for title, frame in (("按测绘单位", s.by_firm), ("按规则", s.by_rule), ("按月份", s.by_month)):
        table = Table(title=title)
        frame = frame.reset_index()
        for col in frame.columns:
            table.add_column(str(col))
        for row in frame.itertuples(index=False):
            table.add_row(*["" if v is None else str(v) for v in row])
        out.print(table)


@app.command("verify-store")
def verify_store(store: Annotated[Path | None, typer.Option(help="成果库目录（默认 ./store）")] = None) -> None:
    """重新计算成果库中所有原始成果包与已发布成果的校验值，报告任何损坏。"""
    from storage.store import Store

    root = get_settings(store=store).store
    if not root.exists():
        err.print(f"成果库 {root} 不存在")
        raise typer.Exit(2)
    damage = Store(root).verify_all()
    for d in damage:
        out.print(f"[red]{d.kind}[/red] {d.path} {d.detail or ''}")
    out.print(f"成果库 {root}：{f'发现 {len(damage)} 处损坏' if damage else '全部完好'}")
    raise typer.Exit(1 if damage else 0)


def main() -> None:  # pragma: no cover - console entry
    import logging

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    logging.getLogger("ezdxf").setLevel(logging.ERROR)  # what ezdxf repaired is DXF-002's to say
    try:
        app(standalone_mode=True)
    except SystemExit as done:
        if sys.argv[1:2] == ["check"] and isinstance(done.code, int | None):
            _exit_now(done.code or 0)
        raise
    except BaseException as exc:  # our bug, never the firm's: no traceback on their screen
        import tempfile
        import traceback

        log = Path(tempfile.gettempdir()) / "duoce-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        err.print(f"[red]内部错误：{type(exc).__name__}: {exc}。详情已写入 {log}，请报告此问题。[/red]")
        raise SystemExit(1) from None


def _exit_now(code: int) -> None:  # pragma: no cover - ends the process
    """End ``duoce check`` without tearing the interpreter down.

    Once the findings are written and printed nothing is left to do but free a few hundred
    thousand objects and unload pandas, geopandas, ezdxf … one by one: ~0.2 s of an L
    check. Every output is already closed (written atomically); the readers have ended.
    Only ``check``: ``submit`` has a Prefect server to stop on the way out.
    """
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
