"""``duoce admin``: organisations, people and API tokens, from the shell.

Mounted in the CLI with ``app.add_typer(admin_app, name="admin")``. Imports of the store
stay inside the commands, so ``duoce check`` pays nothing for this sub-app.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

admin_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="账户管理：单位、人员、API 令牌"
)
org_app = typer.Typer(no_args_is_help=True, help="单位")
user_app = typer.Typer(no_args_is_help=True, help="人员")
token_app = typer.Typer(no_args_is_help=True, help="API 令牌")
admin_app.add_typer(org_app, name="org")
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(token_app, name="token")

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="成果库目录（默认 ./store，或 DUOCE_STORE）", metavar="目录"),
]


def _accounts(store: Path | None):
    import os

    from engine.settings import get_settings
    from storage.accounts import Accounts, catalogue_url
    from storage.store import Store

    root = Store(get_settings(store=store).store).root
    return Accounts(os.environ.get("DUOCE_WEB_DATABASE_URL") or catalogue_url(root))


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="单位名称", metavar="单位名称", show_default=False)],
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="firm 测绘单位 / department 职能部门 / lead 牵头部门", metavar="类型"
        ),
    ] = "firm",
    department: Annotated[
        str | None,
        typer.Option(
            "--department",
            help="职能部门的部门代码：planning、registration、housing、archive …",
            metavar="部门代码",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """新建单位。"""
    from storage.accounts import AccountError

    try:
        org = _accounts(store).add_org(name, kind, department)
    except AccountError as exc:
        _fail(str(exc))
    typer.echo(f"已新建单位 {org.name}（{org.kind}） id={org.id}")


@org_app.command("list")
def org_list(store: StoreOpt = None) -> None:
    """列出单位。"""
    for org in _accounts(store).orgs():
        typer.echo(f"{org.id}\t{org.kind}\t{org.department or ''}\t{org.name}")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="用户名", metavar="用户名", show_default=False)],
    org: Annotated[str, typer.Option("--org", help="所属单位名称", metavar="单位名称")],
    name: Annotated[str, typer.Option("--name", help="姓名（默认同用户名）", metavar="姓名")] = "",
    analyst: Annotated[
        bool, typer.Option("--analyst", help="分析人员（牵头部门或职能部门）", metavar="")
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="系统管理员", metavar="")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="从标准输入读密码", metavar="")
    ] = False,
    store: StoreOpt = None,
) -> None:
    """新建人员（密码交互输入，或 --password-stdin）。"""
    from interfaces.web.security import hash_password
    from storage.accounts import AccountError

    accounts = _accounts(store)
    found = accounts.org_by_name(org)
    if found is None:
        _fail(f"单位不存在：{org}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        person = accounts.add_person(
            found.id,
            username,
            name,
            hash_password(password),
            role="analyst" if analyst else "member",
            is_admin=admin,
        )
    except (AccountError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"已新建人员 {person.username}（{found.name}）")


@token_app.command("add")
def token_add(
    username: Annotated[str, typer.Argument(help="用户名", metavar="用户名", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="令牌名称", metavar="名称")] = "脚本",
    store: StoreOpt = None,
) -> None:
    """为人员新建 API 令牌（只显示一次）。"""
    from interfaces.web.security import digest, new_api_token

    accounts = _accounts(store)
    person = accounts.person_by_username(username)
    if person is None:
        _fail(f"人员不存在：{username}")
    token = new_api_token()
    accounts.add_token(person.id, name, digest(token))
    typer.echo(token)
