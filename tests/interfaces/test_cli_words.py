"""The command line speaks Chinese throughout and says plainly what is wrong with an
invocation or the machine: exit 2, a Chinese sentence, never 内部错误, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interfaces import cli
from interfaces.cli import app

ENGLISH = re.compile(
    r"Usage|Options|Arguments|Commands|Show this message|No such|Missing|Error|Try '|required|default:|"
    r"\b(TEXT|PATH|BOOL|INTEGER)\b|<(str|path|bool)>"
)


def run(*args, env: dict | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "80", **(env or {})})
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text and "内部错误" not in text, text
    return result, flat(text)


def flat(text: str) -> str:
    """The text without line breaks, box edges and runs of spaces (Rich wraps at 80 columns)."""
    text = re.sub(r"[│╭╮╰╯─┃━┏┓┗┛]", " ", text)
    return re.sub(r"(?<=[^\x00-\x7f]) +| +(?=[^\x00-\x7f])", "", re.sub(r"\s+", " ", text))


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["submit", "--help"], ["rerun", "--help"],
                                  ["stats", "--help"], ["verify-store", "--help"], ["rules", "--help"], []])
def test_help_has_no_english_boilerplate(args):
    result, text = run(*args)
    assert result.exit_code in (0, 2)
    assert "用法" in text and "显示此帮助并退出" in text
    assert not ENGLISH.findall(text), ENGLISH.findall(text)


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "x", "--nope"], "没有选项 --nope"),
        (["check"], "缺少参数"),
        (["bogus"], "没有命令 bogus"),
        (["demo", "--size"], "需要一个值"),
        (["check", "a", "b"], "多余的参数"),
    ],
)
def test_usage_errors_in_chinese_exit_two(args, words):
    result, text = run(*args)
    assert result.exit_code == 2
    assert flat(words) in text and "错误" in text
    assert not ENGLISH.findall(text), ENGLISH.findall(text)


def test_version():
    result, text = run("--version")
    assert result.exit_code == 0 and re.search(r"duoce \S+（规则集 ?\d", text)


def test_profiles_listed_and_unknown_profile_exits_two(tmp_path):
    for args in (["profiles"], ["check", tmp_path, "--profile", "?"]):
        result, text = run(*args)
        assert result.exit_code == 0 and "liaocheng" in text and "聊城市" in text
    result, text = run("check", tmp_path, "--profile", "atlantis")
    assert result.exit_code == 2 and "没有城市配置atlantis" in text and "liaocheng" in text


def test_rules_catalogue_and_one_rule():
    result, text = run("rules")
    assert result.exit_code == 0 and "PRP-006" in text and "PKG-001" in text
    result, text = run("rules", "prp-006")
    assert result.exit_code == 0 and "依据" in text and "修改方法" in text and "图上套内面积超限" in text
    result, text = run("rules", "PRP-999")
    assert result.exit_code == 2 and "没有规则PRP-999" in text


def a_file(tmp_path: Path) -> Path:
    f = tmp_path / "plain-file"
    f.write_text("x", encoding="utf-8")
    return f


def wrong_paths(tmp_path: Path, sample: Path) -> list[tuple[list, str]]:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    f = a_file(tmp_path)
    return [
        (["check", sample, "--json", tmp_path], "是一个目录"),
        (["check", sample, "--html", tmp_path], "是一个目录"),
        (["check", sample, "--dxf", f / "x.dxf"], "是一个文件"),
        (["check", sample, "--json", locked / "f.json"], "没有写入权限"),
        (["submit", sample, "--store", f], "是一个文件"),
        (["submit", sample, "--store", locked / "store"], "无法创建"),
        (["submit", sample, "--json", tmp_path], "是一个目录"),
        (["demo", "--out", f], "是一个文件"),
        (["rerun", "--store", f], "是一个文件"),
        (["rerun", "--store", tmp_path / "none"], "不存在"),
        (["stats", "--store", f], "是一个文件"),
        (["stats", "--store", tmp_path], "不是成果库"),
        (["verify-store", "--store", f], "是一个文件"),
        (["verify-store", "--store", tmp_path / "none"], "不存在"),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_every_verb_with_wrong_paths_exits_two_in_chinese(tmp_path, sample_s):
    for args, words in wrong_paths(tmp_path, sample_s):
        result, text = run(*args)
        assert result.exit_code == 2, (args, text)
        assert flat(words) in text, (args, text)


def test_wrong_paths_as_root_too(tmp_path, sample_s):
    """The cases that do not depend on permissions."""
    for args, words in wrong_paths(tmp_path, sample_s):
        if "没有写入权限" in words or "无法创建" in words:
            continue
        result, text = run(*args)
        assert result.exit_code == 2 and flat(words) in text, (args, text)


def test_a_bug_is_one_line_and_a_log_of_its_own(tmp_path, monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "list_profiles", broken)
    state = tmp_path / "state"
    planted = state / "duoce"
    planted.mkdir(parents=True)
    runner = CliRunner()
    logs = []
    for _ in range(2):
        result = runner.invoke(app, ["profiles"], env={"XDG_STATE_HOME": str(state)})
        text = result.output + result.stderr
        assert result.exit_code == 1 and "Traceback" not in text
        assert "内部错误：RuntimeError: boom" in flat(text)
        logs = sorted(planted.glob("error-*.log"))
    assert len(logs) == 2  # one per run, never shared
    assert all("RuntimeError: boom" in p.read_text(encoding="utf-8") for p in logs)
    assert all(p.stat().st_mode & 0o077 == 0 for p in logs)


def test_error_log_never_follows_a_planted_link(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    target = tmp_path / "victim"
    target.write_text("keep", encoding="utf-8")
    path = cli.write_error_log("first")
    path.unlink()
    path.symlink_to(target)  # same name planted as a link
    other = cli.write_error_log("second")
    assert other != path and target.read_text(encoding="utf-8") == "keep"


def test_rerun_unknown_project_exits_two(tmp_path):
    from storage.store import Store

    Store(tmp_path / "store")
    result, text = run("rerun", "--store", tmp_path / "store", "--project", "NOPE-1")
    assert result.exit_code == 2 and "没有项目NOPE-1" in text


def test_verify_store_says_what_it_checked(tmp_path):
    from storage.store import Store

    Store(tmp_path / "store")
    result, text = run("verify-store", "--store", tmp_path / "store")
    assert result.exit_code == 0
    assert "已检查：原始成果包0个，版本0个，部门成果0份，文件0个" in text, text
    assert "全部完好" in text, text


def test_check_builds_no_pydantic_adapter(sample_s, tmp_path):
    """Typer coerces every parameter through a pydantic TypeAdapter; duoce's plain
    parameters are coerced by hand, so ``duoce check`` never imports typer._adapters."""
    code = (
        "import sys\n"
        "from interfaces.cli import app\n"
        "try:\n"
        f"    app(['check', {str(sample_s)!r}, '--json', {str(tmp_path / 'f.json')!r}])\n"
        "except SystemExit as done:\n"
        "    print('exit', done.code, 'adapters' if 'typer._adapters' in sys.modules else 'no-adapters')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=Path.cwd())
    assert done.stdout.strip().splitlines()[-1] == "exit 0 no-adapters", done.stdout + done.stderr
    assert json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))["verdict"] == "accepted"
