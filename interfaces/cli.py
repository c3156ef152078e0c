"""`duoce`: the command line of results.md.

Exit codes: 0 = no error, 1 = errors found (or the package could not be read), 2 = bad
invocation or an environment that cannot serve it (an output path that is a folder, a store
path that is a file, a folder that cannot be written, an optional package not installed).
Bad input never prints a traceback: it becomes findings. A bug of ours prints one Chinese
line and leaves its traceback in a log of its own under the user's state folder.

Everything the user reads is Chinese, Typer's own words included: the help panels, the
usage line, the help option and the error box come from :class:`ZhGroup` and
:class:`ZhCommand` (Typer's ``cls=``), which also coerce the plain parameters (str, Path,
bool) without Typer's pydantic adapters, so ``duoce check`` does not build any.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer import _click
from typer._coercion import RuntimeParam
from typer.core import TyperCommand, TyperGroup

from engine.settings import get_settings

out = Console()
err = Console(stderr=True)

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
VERDICT_STYLE = {"accepted": "bold green", "accepted_with_deficiencies": "bold yellow", "rejected": "bold red"}
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


# --- Typer's own words, in Chinese -----------------------------------------------------------

HELP_TEXT = "显示此帮助并退出。"
RICH_WORDS = {  # typer.rich_utils reads these module constants when it draws help and errors
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "（已弃用）",
}


def _chinese_rich_utils():
    """typer.rich_utils with its panel titles and notes in Chinese (imported only when help
    or an error box is drawn)."""
    from typer import rich_utils

    for name, text in RICH_WORDS.items():
        setattr(rich_utils, name, text)
    return rich_utils


class _Plain(RuntimeParam):
    """Coerce a str, Path or bool parameter by hand: Typer's own coercion builds a pydantic
    TypeAdapter for every parameter (≈ 60 ms of imports on each ``duoce check``)."""

    def _coerce_value(self, value: Any, param, ctx) -> Any:
        kind = self.annotation
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        if kind is bool:
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in ("1", "true", "yes", "y", "on", "是"):
                return True
            if word in ("", "0", "false", "no", "n", "off", "否"):
                return False
            raise _click.exceptions.BadParameter(f"应为是或否：{value!r}", ctx=ctx, param=param)
        if kind is Path:
            return value if isinstance(value, Path) else Path(value)
        return str(value)


PLAIN = (str, Path, bool)


def _no_type(ctx) -> None:
    return None


def _lean(param) -> None:
    """Give a plain parameter the hand-made coercion (others keep Typer's)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.annotation in PLAIN and descriptor.parameter_info.parser is None:
        param._runtime_param = _Plain(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)


OUR_ROOMS = {"interfaces", "flows", "analysis", "storage", "outputs", "engine", "parsers", "schemas", "sample_data"}


class _Chinese:
    """What a Chinese command and group share: the usage line, the help option, the help."""

    def _lean_params(self) -> None:
        for param in self.params:
            _lean(param)
            if param.param_type_name == "argument" and param.metavar:  # its Chinese name says it
                param.display_type_rich = _no_type

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None and option.help != HELP_TEXT:
            option.help = HELP_TEXT
            option.metavar = ""  # a flag: no type to show
            _lean(option)
        return option

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix="用法：")

    def format_help(self, ctx, formatter) -> None:
        _chinese_rich_utils()
        super().format_help(ctx, formatter)


class ZhCommand(_Chinese, TyperCommand):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lean_params()


class ZhGroup(_Chinese, TyperGroup):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lean_params()

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Typer's main, with its errors in Chinese, environment errors as exit 2 and a bug as
        one line (its traceback in a log of its own)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click.exceptions.ClickException as exc:
            show_usage_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("[red]已中止。[/red]")
            sys.exit(1)
        except EnvironmentProblem as exc:
            err.print(f"[red]{exc}[/red]", highlight=False)
            sys.exit(2)
        except OSError as exc:  # the machine, not the package: a folder, a disk, a permission
            err.print(f"[red]{describe_os_error(exc)}[/red]", highlight=False)
            sys.exit(2)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in OUR_ROOMS:  # one of ours missing: a bug
                report_bug(exc)
                sys.exit(1)
            err.print(f"[red]缺少 Python 包 {exc.name}：请安装后重试（uv sync 或 pip install）。[/red]", highlight=False)
            sys.exit(2)
        except Exception as exc:  # our bug, never the firm's: no traceback on their screen
            report_bug(exc)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


_ENGLISH_USAGE = (  # the messages the vendored click raises as plain text
    (re.compile(r"Option '(.+)' requires an argument\.?"), "选项 {0} 需要一个值"),
    (re.compile(r"Option '(.+)' requires (\d+) arguments\.?"), "选项 {0} 需要 {1} 个值"),
    (re.compile(r"No such command '(.+)'\.?"), "没有命令 {0}"),
    (re.compile(r"Missing command\.?"), "缺少命令"),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)"), "多余的参数：{0}"),
    (re.compile(r"Option '(.+)' does not take a value\.?"), "选项 {0} 不接受值"),
)


def usage_message(exc: _click.exceptions.ClickException) -> str:
    """The Chinese sentence for one of click's usage errors."""
    ex = _click.exceptions
    if isinstance(exc, ex.NoSuchOption):
        text = f"没有选项 {exc.option_name}"
        if exc.possibilities:
            text += f"（您是否要用：{'、'.join(sorted(exc.possibilities))}）"
        return text
    if isinstance(exc, ex.MissingParameter):
        param = exc.param
        name = param.get_error_hint() if param is not None else ""
        what = "选项" if getattr(param, "param_type_name", "") == "option" else "参数"
        return f"缺少{what} {name}".rstrip()
    if isinstance(exc, ex.BadParameter):
        param = exc.param
        name = param.get_error_hint() if param is not None else ""
        return f"{name} 的值无效：{exc.message}".lstrip()
    message = exc.message if isinstance(exc, ex.UsageError) else exc.format_message()
    for pattern, zh in _ENGLISH_USAGE:
        hit = pattern.fullmatch(message.strip())
        if hit:
            return zh.format(*hit.groups())
    suggestion = re.search(r"Did you mean (.+)\?$", message)
    if suggestion:
        return f"{usage_message(type(exc)(message[: suggestion.start()].rstrip('. ')))}（您是否要用 {suggestion.group(1)}）"
    return message


def show_usage_error(exc: _click.exceptions.ClickException) -> None:
    """The usage line, where to find help, and the error in a box — all in Chinese."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help itself, already printed
        return
    from rich.markup import escape
    from rich.panel import Panel

    rich_utils = _chinese_rich_utils()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        err.print(escape(ctx.get_usage()), style="bold", highlight=False)
        if ctx.command.get_help_option(ctx) is not None:
            hint = rich_utils.RICH_HELP.format(command_path=escape(ctx.command_path), help_option=ctx.help_option_names[0])
            err.print(hint, style="dim")
    err.print(Panel(escape(usage_message(exc)), border_style="red", title="错误", title_align="left"), highlight=False)


class EnvironmentProblem(Exception):
    """The invocation or the machine cannot serve the command (exit 2): say what and where."""


def describe_os_error(exc: OSError) -> str:
    """One Chinese sentence for an operating-system error, naming the path."""
    import errno

    where = exc.filename if exc.filename is not None else ""
    reasons = {
        errno.EACCES: "没有权限",
        errno.EPERM: "不允许此操作",
        errno.ENOENT: "不存在",
        errno.EISDIR: "是一个目录，应为文件",
        errno.ENOTDIR: "路径中有一项是文件，应为目录",
        errno.ENOSPC: "磁盘空间不足",
        errno.EROFS: "所在文件系统只读",
        errno.ENAMETOOLONG: "路径过长",
        errno.EEXIST: "已存在",
    }
    reason = reasons.get(exc.errno, exc.strerror or type(exc).__name__)
    return f"无法读写 {where}：{reason}（{type(exc).__name__}）" if where else f"读写失败：{reason}（{type(exc).__name__}）"


def state_dir() -> Path:
    """The user's state folder for duoce: ``$XDG_STATE_HOME/duoce`` or ``~/.local/state/duoce``."""
    base = os.environ.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "duoce"


def write_error_log(text: str) -> Path:
    """A new log file for this run, created with ``O_EXCL`` (never through a planted link,
    never shared with another run) in the user's state folder."""
    import datetime as dt

    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for n in range(100):
        path = folder / f"error-{stamp}-{os.getpid()}{f'-{n}' if n else ''}.log"
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return path
    raise FileExistsError(str(folder))


def report_bug(exc: BaseException) -> None:
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        where = f"详情已写入 {write_error_log(text)}"
    except OSError as log_error:
        where = f"错误日志无法写入（{describe_os_error(log_error)}）"
    err.print(f"[red]内部错误：{type(exc).__name__}: {exc}。{where}，请报告此问题。[/red]", highlight=False)


# --- the application ---------------------------------------------------------------------------

app = typer.Typer(
    cls=ZhGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    options_metavar="[选项]",
    subcommand_metavar="命令 [参数]...",
    help="多测合一 成果包检查、提交与成果共享。",
)


def command(name: str | None = None):
    return app.command(name, cls=ZhCommand, options_metavar="[选项]")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from schemas.check import RULESET_VERSION

        try:
            mine = version("duoce")
        except PackageNotFoundError:
            mine = "（未安装，源码运行）"
        out.print(f"duoce {mine}（规则集 {RULESET_VERSION}）", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="显示版本（程序与规则集）并退出。", is_eager=True, callback=_version, metavar="")
    ] = False,
) -> None:
    """多测合一 成果包检查、提交与成果共享。"""


PackageArg = Annotated[Path, typer.Argument(help="成果包：目录或 .zip", metavar="成果包", show_default=False)]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="城市配置名称或 .toml 路径；? 列出可用配置", metavar="配置")
]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="成果库目录（默认 ./store，或 DUOCE_STORE）", metavar="目录")]


def profile_names() -> list[str]:
    from schemas.profile import PROFILES_DIR

    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def list_profiles() -> None:
    from schemas.profile import load_profile

    table = Table(title="可用城市配置", caption="--profile 名称，或一个 .toml 文件的路径")
    table.add_column("名称", no_wrap=True)
    table.add_column("说明")
    default = get_settings().profile
    for name in profile_names():
        try:
            prof = load_profile(name)
            note = getattr(prof, "title", None) or getattr(prof, "city", None) or prof.name
        except (OSError, ValueError) as exc:
            note = f"无法读取：{exc}"
        table.add_row(name + ("（默认）" if name == default else ""), str(note))
    out.print(table)


def _profile(name: str | None):
    """The profile named (or the settings' one); ``?`` lists them; an unknown one exits 2."""
    from schemas.profile import load_profile

    if name == "?":
        list_profiles()
        raise typer.Exit(0)
    ref = name or get_settings().profile
    is_file = Path(ref).suffix == ".toml"
    if not is_file and ref not in profile_names():
        err.print(f"[red]没有城市配置 {ref}。可用：{'、'.join(profile_names())}（或给出 .toml 文件路径）[/red]", highlight=False)
        raise typer.Exit(2)
    try:
        return load_profile(ref)
    except (OSError, ValueError) as exc:
        err.print(f"[red]无法读取城市配置 {ref}：{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


# --- paths checked before any work -------------------------------------------------------------


def output_file(path: Path | None, option: str) -> Path | None:
    """An output file the command will write: not a folder, its folder there and writable."""
    if path is None:
        return None
    if path.is_dir():
        raise EnvironmentProblem(f"{option} {path} 是一个目录，请给出文件路径（例如 {path / 'findings.json'}）")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentProblem(f"{option} {path}：无法创建目录 {folder}（{describe_os_error(exc)}）") from None
    elif not folder.is_dir():
        raise EnvironmentProblem(f"{option} {path}：{folder} 是一个文件，不是目录")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise EnvironmentProblem(f"{option} {path}：没有写入权限")
    return path


def output_folder(path: Path, option: str) -> Path:
    """A folder the command will write into (created if missing)."""
    if path.exists() and not path.is_dir():
        raise EnvironmentProblem(f"{option} {path} 是一个文件，应为目录")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(f"{option} {path}：无法创建（{describe_os_error(exc)}）") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise EnvironmentProblem(f"{option} {path}：没有写入权限")
    return path


def store_root(store: Path | None, *, existing: bool, writable: bool):
    """The store folder of the settings (or ``--store``): a folder, there when it must be,
    writable when the command writes. Returns the settings."""
    settings = get_settings(store=store)
    root = settings.store
    if root.exists() and not root.is_dir():
        raise EnvironmentProblem(f"成果库路径 {root} 是一个文件，应为目录（--store 或 DUOCE_STORE）")
    # the catalogue is catalogue.sqlite in the folder, or the database of DUOCE_DATABASE_URL
    found = (root / "products").is_dir() if settings.database_url else (root / "catalogue.sqlite").is_file()
    if existing and not found:
        marker = "products/" if settings.database_url else "catalogue.sqlite"
        what = "不存在" if not root.exists() else f"不是成果库（没有 {marker}）"
        raise EnvironmentProblem(f"成果库 {root} {what}（--store 或 DUOCE_STORE）")
    if writable:
        output_folder(root, "成果库")
    return settings


def open_store(root: Path):
    """The Store, or exit 2 saying why it cannot be opened (SQLite file or database)."""
    from storage.catalogue import db_errors
    from storage.store import Store

    try:
        return Store(root)
    except db_errors() as exc:
        raise EnvironmentProblem(f"成果库 {root} 的目录库无法打开：{exc}") from None


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
    from rich.markup import escape

    from outputs.report_text import message_text, place_text
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
    elif v.verdict == "rejected" and v.tolerable:
        out.print(f"其中可容缺的问题（单独出现时可容缺受理）：{', '.join(v.tolerable)}", highlight=False)
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
        text, place = escape(message_text(f, v)), escape(place_text(f))
        out.print(f"[{SEVERITY_STYLE[f.severity]}]{f.code}[/] {text}  [dim]{place}[/dim]", highlight=False)
    if len(shown) < len(result.findings):
        out.print(f"[dim]……另有 {len(result.findings) - len(shown)} 条，见 --json 输出或用 --all 显示全部[/dim]")
    for e in result.internal_errors:
        err.print(f"[red]内部错误（请报告）：{e.splitlines()[0]}[/red]")


JsonOut = Annotated[Path | None, typer.Option("--json", help="写出 findings.json", metavar="文件")]
HtmlOut = Annotated[Path | None, typer.Option("--html", help="写出质检报告（自包含 HTML，含问题位置图）", metavar="文件")]
DxfOut = Annotated[Path | None, typer.Option("--dxf", help="写出问题标注 DXF（分层分户图另出一份）", metavar="文件")]
GpkgOut = Annotated[Path | None, typer.Option("--gpkg", help="写出问题图层 GeoPackage（供 QGIS 使用）", metavar="文件")]


@command()
def check(
    package: PackageArg,
    profile: ProfileOpt = None,
    json: JsonOut = None,
    html: HtmlOut = None,
    dxf: DxfOut = None,
    gpkg: GpkgOut = None,
    all_: Annotated[bool, typer.Option("--all", help="显示全部问题", metavar="")] = False,
) -> None:
    """预检：检查成果包，不发布。退出码 0 无错误，1 有错误，2 调用有误。"""
    settings = get_settings()
    prof = _profile(profile)
    outputs = (output_file(json, "--json"), output_file(html, "--html"), output_file(dxf, "--dxf"), output_file(gpkg, "--gpkg"))
    if settings.workdir is not None:
        output_folder(settings.workdir, "工作目录（DUOCE_WORKDIR）")
    from engine.precheck import precheck, workspace

    with workspace(settings.workdir) as wd, _Progress() as progress:
        result = precheck(package, prof, wd, progress)
    print_summary(result, None if all_ else 50)
    write_outputs(result, *outputs)
    raise typer.Exit(1 if result.counts["error"] else 0)


def write_outputs(result, json: Path | None, html: Path | None, dxf: Path | None, gpkg: Path | None = None, previous: dict | None = None) -> None:
    """findings.json, the firm's HTML report, the DXF overlay and the findings GeoPackage, as asked."""
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
    if gpkg:
        try:
            from outputs.products import write_findings_gpkg
        except ImportError:
            raise EnvironmentProblem("此版本尚不能写出问题图层 GeoPackage（--gpkg）") from None
        write_findings_gpkg(result, Path(gpkg))
        out.print(f"问题图层 GeoPackage → {gpkg}")


@command()
def submit(
    package: PackageArg,
    profile: ProfileOpt = None,
    store: StoreOpt = None,
    json: Annotated[Path | None, typer.Option("--json", help="另外写出 findings.json", metavar="文件")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="另外写出质检报告（含与上一版本的对比）", metavar="文件")] = None,
    dxf: Annotated[Path | None, typer.Option("--dxf", help="另外写出问题标注 DXF", metavar="文件")] = None,
) -> None:
    """提交：入库（按 sha256 存一次）、检查、向各部门发布成果。"""
    prof_ref = profile or get_settings().profile
    _profile(prof_ref)
    for path, option in ((json, "--json"), (html, "--html"), (dxf, "--dxf")):
        output_file(path, option)
    settings = store_root(store, existing=False, writable=package.exists())
    if not package.exists():
        from engine.precheck import precheck, workspace

        with workspace(settings.workdir) as wd:
            result = precheck(package, _profile(prof_ref), wd)
        print_summary(result)
        write_outputs(result, json, None, None)
        raise typer.Exit(1)
    outcome = run_submit(package, settings.store, prof_ref, json)
    print_summary(outcome.result)
    previous = outcome.comparison.as_previous_map() if outcome.comparison is not None else None
    write_outputs(outcome.result, None, html, dxf, None, previous)
    for line in outcome.summary_lines():
        out.print(line, highlight=False)
    if outcome.revision is not None:
        c = outcome.comparison
        if c is not None and c.has_previous:
            n = c.counts
            out.print(f"与上一版本 r{c.previous_revision} 相比：已修正 {n.get('fixed', 0)} · 新增 {n.get('new', 0)} · 仍存在 {n.get('open', 0)}")
        for dep, path in outcome.published.items():
            out.print(f"  {dep}: {path}")
    raise typer.Exit(1 if outcome.result.counts["error"] or outcome.failed else 0)


def run_submit(package: Path, store: Path, profile: str, json: Path | None = None):
    from flows.pipeline import submit_package

    return submit_package(str(package), str(store), profile, str(json) if json else None)


@command()
def demo(
    size: Annotated[str, typer.Option("--size", help="样例规模：S（24 户）或 L（9600 户）", metavar="S|L")] = "S",
    out_dir: Annotated[Path, typer.Option("--out", help="样例成果包输出目录", metavar="目录")] = Path("out/demo"),
    store: StoreOpt = None,
) -> None:
    """生成样例成果包并走完整流程：预检 → 提交 → 发布四个部门成果，再以样例项目走完一件联合验收案件。"""
    from sample_data import make_package

    if size not in ("S", "L"):
        err.print(f"[red]--size 只能是 S 或 L，而不是 {size}[/red]", highlight=False)
        raise typer.Exit(2)
    output_folder(out_dir, "--out")
    settings = store_root(store, existing=False, writable=True)
    with _Progress() as progress:
        progress(f"生成样例成果包 {size}")
        pkg = make_package(out_dir, size)
    out.print(f"样例成果包 → {pkg}")
    outcome = run_submit(pkg, settings.store, settings.profile, out_dir / "findings.json")
    print_summary(outcome.result)
    for line in outcome.summary_lines():
        out.print(line, highlight=False)
    out.print("已发布：")
    for dep, path in outcome.published.items():
        out.print(f"  {dep}: {path}")
    if outcome.result.counts["error"] or outcome.failed:
        raise typer.Exit(1)
    from interfaces.case_demo import run_demo

    out.print("\n联合验收案件演示（联验即发证）：", highlight=False)
    run_demo(settings.store, out, profile=settings.profile, seed=1)
    raise typer.Exit(0)


# --- tables for analysts: on screen, as JSON, as CSV ------------------------------------------

RERUN_COLUMNS = {  # RerunRow field → header
    "project_id": "项目",
    "revision": "版本",
    "firm": "测绘单位",
    "status": "状态",
    "old_verdict": "原结论",
    "new_verdict": "新结论",
    "reason": "原因",
}
STATUS_ZH = {"changed": "结论变化", "unchanged": "未变", "damaged": "损坏", "failed": "重查失败"}
VERDICT_ZH = {"accepted": "通过", "accepted_with_deficiencies": "容缺通过", "rejected": "退回补正"}
STATS_HEADERS = {
    "firm": "测绘单位",
    "code": "规则",
    "month": "月份",
    "title": "名称",
    "domain": "类别",
    "projects": "项目数",
    "submissions": "提交次数",
    "revisions": "版本数",
    "findings": "问题数",
    "firms": "单位数",
    "accepted": "通过",
    "accepted_with_deficiencies": "容缺通过",
    "rejected": "退回",
    "errors": "错误",
    "warnings": "警告",
    "infos": "提示",
    "first_accepted": "首版即通过",
}
STATS_TABLES = (("by_firm", "按测绘单位"), ("by_rule", "按规则"), ("by_month", "按月份"))


def print_table(title: str, headers: list[str], rows: list[list[str]], wide: set[int] = frozenset()) -> None:
    """A table that never cuts a header or a figure: when the columns do not fit the
    terminal they are shown in groups, the first column repeated in each."""
    from rich import box
    from rich.cells import cell_len

    width = out.size.width
    need = [max([cell_len(h)] + [cell_len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for i in wide:  # long text (a reason, a firm's name) may wrap: it asks for less room
        need[i] = max(cell_len(headers[i]), min(need[i], 16))
    groups: list[list[int]] = []
    current: list[int] = [0]
    used = need[0] + 3
    for i in range(1, len(headers)):
        if used + need[i] + 3 > width - 1 and len(current) > 1:
            groups.append(current)
            current, used = [0], need[0] + 3
        current.append(i)
        used += need[i] + 3
    groups.append(current)
    for n, group in enumerate(groups):
        suffix = f"（{n + 1}/{len(groups)}）" if len(groups) > 1 else ""
        table = Table(title=title + suffix, box=box.SIMPLE_HEAD, show_edge=False)
        for i in group:
            table.add_column(headers[i], min_width=cell_len(headers[i]), no_wrap=i not in wide, overflow="fold")
        for r in rows:
            table.add_row(*[r[i] for i in group])
        out.print(table)


def write_csv(path: Path, headers: list[str], rows: list[list[Any]]) -> None:
    """A CSV with a BOM (Excel opens the Chinese headers right), written whole or not at all."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(buf.getvalue(), encoding="utf-8-sig")
    os.replace(tmp, path)


def write_json(path: Path, doc: Any) -> None:
    import json

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


CsvOut = Annotated[Path | None, typer.Option("--csv", help="另外写出 CSV（UTF-8，带 BOM，Excel 可直接打开）", metavar="文件")]
JsonTable = Annotated[Path | None, typer.Option("--json", help="另外写出 JSON", metavar="文件")]


@command()
def rerun(
    project: Annotated[str | None, typer.Option("--project", help="只重查此项目", metavar="项目编号")] = None,
    since: Annotated[str | None, typer.Option("--since", help="只重查此日期以后提交的版本", metavar="YYYY-MM-DD")] = None,
    profile: ProfileOpt = None,
    store: StoreOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="也列出结论未变的版本", metavar="")] = False,
    json: JsonTable = None,
    csv: CsvOut = None,
) -> None:
    """分析：用今天的规则与配置重查已入库的成果包，列出结论发生变化的版本及原因（不改变任何已存内容）。"""
    import datetime as dt

    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        err.print(f"[red]--since 应为 YYYY-MM-DD，而不是 {since}[/red]", highlight=False)
        raise typer.Exit(2) from None
    prof = _profile(profile)
    output_file(json, "--json")
    output_file(csv, "--csv")
    settings = store_root(store, existing=True, writable=True)  # a rerun extracts into the store's tmp/
    st = open_store(settings.store)
    if project is not None and project not in st.projects():
        known = st.projects()
        listing = "、".join(known[:20]) + ("……" if len(known) > 20 else "") if known else "（成果库中还没有项目）"
        err.print(f"[red]成果库 {settings.store} 中没有项目 {project}。已有：{listing}[/red]", highlight=False)
        raise typer.Exit(2)
    with _Progress() as progress:
        progress("重查已入库成果包")
        if settings.backend == "dask":  # the Prefect flow, its tasks on Dask workers
            from flows.rerun import rerun_archive_flow

            flow = rerun_archive_flow(settings)
            rows = flow(str(settings.store), profile or settings.profile, project, day, all_)
        else:
            from analysis.rerun import rerun as rerun_store

            rows = rerun_store(st, prof, project, day, include_unchanged=all_)
    headers = list(RERUN_COLUMNS.values())
    cells = [
        [r.project_id, f"r{r.revision}", r.firm or "", STATUS_ZH.get(r.status, r.status),
         VERDICT_ZH.get(r.old_verdict or "", r.old_verdict or ""), VERDICT_ZH.get(r.new_verdict or "", r.new_verdict or ""), r.reason]
        for r in rows
    ]
    print_table(f"重查结果（配置 {prof.name}）", headers, cells, wide={2, 6})
    changed = sum(r.status == "changed" for r in rows)
    damaged = sum(r.status == "damaged" for r in rows)
    failed = sum(r.status == "failed" for r in rows)
    out.print(f"重查 {len(rows) if all_ else '（仅列出有变化的）'}；结论变化 {changed} 个；损坏 {damaged} 个；重查失败 {failed} 个")
    if json:
        write_json(json, {"profile": prof.name, "rows": [r.as_dict() for r in rows]})
        out.print(f"JSON → {json}")
    if csv:
        write_csv(csv, headers, cells)
        out.print(f"CSV → {csv}")
    raise typer.Exit(1 if damaged or failed else 0)


@command()
def stats(
    store: StoreOpt = None,
    json: JsonTable = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="另外写出 CSV：此目录下 by_firm.csv、by_rule.csv、by_month.csv", metavar="目录")
    ] = None,
) -> None:
    """分析：按测绘单位、规则、月份统计问题。"""
    from analysis.stats import stats as store_stats

    output_file(json, "--json")
    if csv is not None:
        output_folder(csv, "--csv")
    settings = store_root(store, existing=True, writable=False)
    s = store_stats(open_store(settings.store))
    doc: dict[str, Any] = {}
    for attr, title in STATS_TABLES:
        frame = getattr(s, attr).reset_index()
        columns = [str(c) for c in frame.columns]
        headers = [STATS_HEADERS.get(c, c) for c in columns]
        records = [[None if v is None else (v.item() if hasattr(v, "item") else v) for v in row] for row in frame.itertuples(index=False)]
        wide = {i for i, c in enumerate(columns) if c in ("firm", "title")}
        print_table(title, headers, [["" if v is None else str(v) for v in r] for r in records], wide=wide)
        doc[attr] = [dict(zip(columns, r, strict=True)) for r in records]
        if csv is not None:
            write_csv(csv / f"{attr}.csv", headers, records)
    if json:
        write_json(json, doc)
        out.print(f"JSON → {json}")
    if csv is not None:
        out.print(f"CSV → {csv}（by_firm.csv、by_rule.csv、by_month.csv）")


@command()
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址（默认只在本机）", metavar="地址")] = "127.0.0.1",
    port: Annotated[str, typer.Option("--port", help="网页端口（1–65535）", metavar="端口")] = "8000",
    store: StoreOpt = None,
) -> None:
    """启动检查服务（一网通办）：网页、Prefect 服务与检查进程，Ctrl-C 全部停止。"""
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise EnvironmentProblem(f"--port 应为 1–65535 的整数，而不是 {port}")
    settings = store_root(store, existing=False, writable=True)
    from interfaces.web.serve import serve_all
    from storage.accounts import Accounts, catalogue_url

    accounts = Accounts(catalogue_url(settings.store))
    try:
        if not accounts.people():
            out.print(
                "成果库中尚无账户，请先建立单位与人员，例如：\n"
                "  duoce admin org add 示例测绘有限公司 --kind firm\n"
                "  duoce admin user add firm1 --org 示例测绘有限公司",
                highlight=False,
            )
    finally:
        accounts.dispose()
    out.print(f"服务启动中（Prefect 服务与检查进程需约半分钟）；网页：http://{host}:{port}/", highlight=False)
    serve_all(host, int(port), settings.store)


@command("verify-store")
def verify_store(store: StoreOpt = None) -> None:
    """重新计算成果库中所有原始成果包与已发布成果的校验值，报告任何损坏（不改动成果库，只读副本也可核对）。"""
    from storage.audit import KIND_TEXT
    from storage.store import verify_store as audit

    settings = get_settings(store=store)
    root = settings.store
    if root.exists() and not root.is_dir():
        raise EnvironmentProblem(f"成果库路径 {root} 是一个文件，应为目录（--store 或 DUOCE_STORE）")
    if not any((root / part).exists() for part in ("catalogue.sqlite", "raw", "products")):
        what = "不存在" if not root.exists() else "不是成果库（没有 catalogue.sqlite、raw/、products/）"
        raise EnvironmentProblem(f"成果库 {root} {what}（--store 或 DUOCE_STORE）")
    damage = audit(root)
    for d in damage:
        out.print(f"[red]{KIND_TEXT.get(d.kind, d.kind)}[/red] {d.path} {d.detail or ''}", highlight=False)
    out.print(f"成果库 {root}：", highlight=False)
    for line in damage.summary_lines():
        out.print(f"  {line}", highlight=False)
    raise typer.Exit(1 if damage else 0)


@command()
def profiles() -> None:
    """列出可用的城市配置（也可用 check --profile ?）。"""
    list_profiles()


@command()
def rules(code: Annotated[str | None, typer.Argument(help="规则编号，如 PRP-006；不给则列出全部", metavar="规则编号", show_default=False)] = None) -> None:
    """规则目录：全部规则一览，或一条规则的全文（依据与修改方法）。"""
    from schemas.catalogue import CATALOGUE

    if code is not None:
        rule = CATALOGUE.get(code.strip().upper())
        if rule is None:
            prefix = code.strip().upper().split("-")[0]
            near = [c for c in CATALOGUE if c.startswith(prefix)]
            hint = f"同类规则：{'、'.join(near)}" if near else "用 duoce rules 列出全部规则"
            err.print(f"[red]没有规则 {code}。{hint}[/red]", highlight=False)
            raise typer.Exit(2)
        table = Table(title=f"{rule.code} {rule.title}", show_header=False, box=None, padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in (
            ("规则", rule.code), ("名称", rule.title), ("类别", rule.domain),
            ("默认级别", f"{SEVERITY_ZH.get(rule.severity, rule.severity)}（{rule.severity}）"),
            ("提示文字", rule.template), ("依据", rule.basis or "（尚未填写）"), ("修改方法", rule.fix or "（尚未填写）"),
        ):
            table.add_row(label, value)
        out.print(table, highlight=False)
        return
    rows = [[r.code, SEVERITY_ZH.get(r.severity, r.severity), r.domain, r.title] for r in CATALOGUE.values()]
    print_table(f"规则目录（{len(rows)} 条；duoce rules 规则编号 查看依据与修改方法）", ["规则", "级别", "类别", "名称"], rows, wide={3})


# --- the sub-applications: joint acceptance cases and administration ------------------------


def _in_chinese(sub: typer.Typer) -> typer.Typer:
    """A sub-application's groups and commands drawn like the main one (Chinese boilerplate)."""
    sub.info.cls = ZhGroup
    sub.info.options_metavar = "[选项]"
    sub.info.subcommand_metavar = "命令 [参数]..."
    for info in sub.registered_commands:
        info.cls = ZhCommand
        info.options_metavar = "[选项]"
    for group in sub.registered_groups:
        if group.typer_instance is not None:
            _in_chinese(group.typer_instance)
        group.cls = ZhGroup
        group.options_metavar = "[选项]"
        group.subcommand_metavar = "命令 [参数]..."
    return sub


from interfaces.case_cli import case_app  # noqa: E402 - loads only typer at import time
from interfaces.web.admin_cli import admin_app  # noqa: E402 - loads only typer at import time

app.add_typer(
    _in_chinese(case_app),
    name="case",
    help="联合验收案件：受理、征求意见、现场勘察、部门意见、联合验收意见、存档、登记与看板。",
)
app.add_typer(_in_chinese(admin_app), name="admin", help="管理：单位、人员与 API 令牌。")


def main() -> None:  # pragma: no cover - console entry
    import logging

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    logging.getLogger("ezdxf").setLevel(logging.ERROR)  # what ezdxf repaired is DXF-002's to say
    try:
        app()
    except SystemExit as done:
        if sys.argv[1:2] == ["check"] and isinstance(done.code, int | None):
            _exit_now(done.code or 0)
        raise


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
