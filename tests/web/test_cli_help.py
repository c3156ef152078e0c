"""``duoce admin … --help`` and ``duoce case … --help`` speak Chinese: every option's value
has a Chinese name (目录, 名称 …), boolean options are plain flags, no English type name."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from interfaces.cli import app

ENGLISH_TYPE = re.compile(r"<(?:str|bool|path|int|float)>|\b(?:TEXT|INTEGER|BOOLEAN|PATH|FLOAT)\b")


def _commands() -> list[list[str]]:
    import typer.main

    out = []

    def walk(group, path):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                walk(cmd, [*path, name])
            else:
                out.append([*path, name])

    root = typer.main.get_command(app)
    for sub in ("admin", "case"):
        walk(root.commands[sub], [sub])
    return out


COMMANDS = _commands()


def test_every_admin_and_case_command_is_walked():
    names = {" ".join(c) for c in COMMANDS}
    assert {"admin org add", "admin user add", "admin token add", "case open", "case board"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_names_no_english_type(command):
    done = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "用法：" in done.output
    assert not ENGLISH_TYPE.search(done.output), done.output


def test_admin_booleans_are_plain_flags(tmp_path):
    done = CliRunner().invoke(app, ["admin", "user", "add", "--help"], env={"COLUMNS": "200"})
    for flag in ("--analyst", "--admin", "--password-stdin"):
        line = next(x for x in done.output.splitlines() if flag + " " in x)
        assert re.search(re.escape(flag) + r"\s{2,}[\u4e00-\u9fff]", line), line  # help next
    store = tmp_path / "store"
    runner = CliRunner()
    assert runner.invoke(app, ["admin", "org", "add", "甲测绘", "--store", str(store)]).exit_code == 0
    made = runner.invoke(app, ["admin", "user", "add", "u1", "--org", "甲测绘", "--admin",
                               "--password-stdin", "--store", str(store)],
                         input="long-enough-password\n")  # fmt: skip
    assert made.exit_code == 0, made.output
    from storage.accounts import Accounts, catalogue_url

    assert Accounts(catalogue_url(store)).person_by_username("u1").is_admin
