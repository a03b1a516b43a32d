"""``fangkong user``, ``fangkong role``, ``fangkong token``: accounts, rights, device tokens.

The operator at the command line holds the database and the keys, so acts with every
right (as ``cli:<os user>`` in the audit log).
"""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.table import Table

from fangkong import clock
from fangkong.auth.admin import (
    add_role,
    list_device_tokens,
    remove_role,
    revoke_device_token,
    role_info,
)
from fangkong.auth.devices import issue_device_token, issue_unit_token
from fangkong.auth.model import cli_actor
from fangkong.auth.rights import DEVICE_SCOPES, RIGHTS, UNIT_SCOPES
from fangkong.auth.users import (
    add_user,
    disable_user,
    enable_user,
    grant_right,
    list_roles,
    list_users,
    revoke_right,
    set_password,
    set_role,
)
from fangkong.cli_support import database, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.keys import load_server_keys
from fangkong.store import migrate

ADDRESS = "cli"
TOKEN_DAYS = 30  # default life of a device token; at most 366 (issue 16: was 90)

user_app = typer.Typer(
    help="User accounts: add, change role or password, disable, enable, list.",
    no_args_is_help=True,
)
role_app = typer.Typer(help="Roles and their rights (data, editable).", no_args_is_help=True)
token_app = typer.Typer(help="Device tokens (scanners, lab systems...).", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Login name: 3-64 of a-z 0-9 _ . -"),
    role: str = typer.Option(..., "--role", help="Role, e.g. admin, epidemiologist, viewer."),
    region: str = typer.Option(..., "--region", help="Region code: the user's jurisdiction."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Add a user. Without --password-stdin a random password is made and printed once."""
    cfg = settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        shown = None
    else:
        password = shown = secrets.token_urlsafe(12)
    with database(cfg) as engine:
        migrate.require_current(engine)
        key = load_server_keys(cfg).audit
        user = add_user(engine, key, cli_actor(), username, password, role, region, ADDRESS)
    out.print(f"用户已创建 / user added: {user.username} ({user.role}, {user.region_code})")
    if shown:
        out.print(f"初始密码（仅显示一次）/ password (shown once): {shown}")


@user_app.command("role")
def user_role(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Argument(..., help="The new role."),
) -> None:
    """Change a user's role (their open sessions end)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        user = set_role(engine, load_server_keys(cfg).audit, cli_actor(), username, role, ADDRESS)
    out.print(f"角色已更改 / role changed: {user.username} → {user.role}")


@user_app.command("passwd")
def user_passwd(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from the first line of stdin."
    ),
) -> None:
    """Set a user's password (asked twice, not shown). Their sessions and any lockout end."""
    cfg = settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("新密码 / new password", hide_input=True, confirmation_prompt=True)
    with database(cfg) as engine:
        migrate.require_current(engine)
        key = load_server_keys(cfg).audit
        user = set_password(engine, key, cli_actor(), username, password, ADDRESS)
    out.print(f"密码已更改 / password changed: {user.username}")


@user_app.command("disable")
def user_disable(
    username: str = typer.Argument(..., help="Login name."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the user and audited)."),
) -> None:
    """Disable a user: their sessions end and login is refused until `user enable`."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        key = load_server_keys(cfg).audit
        changed = disable_user(engine, key, cli_actor(), username, reason, ADDRESS)
    out.print(
        f"用户已停用 / user disabled: {username}"
        + ("" if changed else " (已停用 / disabled already)")
    )


@user_app.command("enable")
def user_enable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Enable a disabled user again."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        changed = enable_user(engine, load_server_keys(cfg).audit, cli_actor(), username, ADDRESS)
    out.print(
        f"用户已启用 / user enabled: {username}" + ("" if changed else " (未停用 / not disabled)")
    )


@user_app.command("list")
def user_list() -> None:
    """List users: name, role, region, state."""
    with database() as engine:
        migrate.require_current(engine)
        users = list_users(engine)
    table = Table("username 用户名", "role 角色", "region 区划", "state 状态")
    for u in users:
        state = "active" if u.active else "disabled"
        if u.disabled_at is not None:
            state += f" {u.disabled_at:%Y-%m-%d %H:%M} UTC: {u.disabled_reason}"
        if u.locked_until is not None:
            state += f", locked until {u.locked_until:%Y-%m-%d %H:%M} UTC"
        table.add_row(u.username, u.role, u.region_code, state)
    out.print(table)


@role_app.command("list")
def role_list() -> None:
    """List roles and the rights each holds."""
    with database() as engine:
        migrate.require_current(engine)
        roles = list_roles(engine)
    table = Table("role 角色", "rights 权限")
    for role, held in roles.items():
        table.add_row(role, ", ".join(held))
    out.print(table)


@role_app.command("add")
def role_add(
    name: str = typer.Argument(..., help="Role name: 2-32 of a-z 0-9 _ . -"),
    right: Annotated[
        list[str] | None,
        typer.Option("--right", help="A right the role holds (repeat; see `role list`)."),
    ] = None,
    description: str = typer.Option("", "--description", help="What the role is for."),
) -> None:
    """Create a role holding exactly the given rights (audited)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        key = load_server_keys(cfg).audit
        role = add_role(engine, key, cli_actor(), name, right or [], ADDRESS, description)
    out.print(f"角色已创建 / role added: {role.name} ({', '.join(role.rights)})")


@role_app.command("rights")
def role_rights(name: str = typer.Argument(..., help="Role name.")) -> None:
    """Show a role: its description, its rights and how many users hold it."""
    with database() as engine:
        migrate.require_current(engine)
        role = role_info(engine, name)
    out.print(f"{role.name}: {role.label_zh} / {role.label_en} — 用户 users {role.users}")
    table = Table("right 权限", "说明", "meaning")
    for right in role.rights:
        zh, en = RIGHTS.get(right, ("", ""))
        table.add_row(right, zh, en)
    out.print(table)


@role_app.command("remove")
def role_remove(name: str = typer.Argument(..., help="Role name.")) -> None:
    """Remove a role; refused while a user holds it (audited)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        remove_role(engine, load_server_keys(cfg).audit, cli_actor(), name, ADDRESS)
    out.print(f"角色已删除 / role removed: {name}")


@role_app.command("grant")
def role_grant(
    role: str = typer.Argument(..., help="Role name."),
    right: str = typer.Argument(..., help="Right, e.g. person.read_full."),
) -> None:
    """Give a role a right."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        changed = grant_right(
            engine, load_server_keys(cfg).audit, cli_actor(), role, right, ADDRESS
        )
    out.print(f"{role} + {right}" + ("" if changed else " (已有 / held already)"))


@role_app.command("revoke")
def role_revoke(
    role: str = typer.Argument(..., help="Role name."),
    right: str = typer.Argument(..., help="Right to take away."),
) -> None:
    """Take a right from a role."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        changed = revoke_right(
            engine, load_server_keys(cfg).audit, cli_actor(), role, right, ADDRESS
        )
    out.print(f"{role} - {right}" + ("" if changed else " (未持有 / not held)"))


@token_app.command("issue")
def token_issue(
    scope: str = typer.Option(
        ..., "--scope", help=f"What the device may do: {', '.join(DEVICE_SCOPES)}."
    ),
    venue: str | None = typer.Option(
        None, "--venue", help="Venue code the device is bound to (every scope but "
        f"{', '.join(sorted(UNIT_SCOPES))})."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Or: the unit's region (township and above) for a unit's "
        f"duty terminal (scope {', '.join(sorted(UNIT_SCOPES))}); its jurisdiction."
    ),
    role: str | None = typer.Option(
        None, "--role", help="With --region: the role within the unit the device stands for "
        "(its rights are the scope's the role holds)."
    ),
    days: int = typer.Option(
        TOKEN_DAYS, "--days", help=f"Days until the token expires (1-366; default {TOKEN_DAYS})."
    ),
) -> None:  # fmt: skip
    """Issue a device token bound to a venue (--venue) or to a unit (--region [--role]);
    it is printed once and stored only as a hash."""
    if (venue is None) == (region is None) or (role is not None and region is None):
        raise BadInput(Problem(
            "token.binding",
            "请只给出 --venue（场所设备）或 --region [--role]（单位值班终端）之一；--role 只能与 "
            "--region 同用",
            "give either --venue (a venue's device) or --region [--role] (a unit's duty "
            "terminal); --role goes with --region only",
        ))  # fmt: skip
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        key = load_server_keys(cfg).audit
        if region is not None:
            token, expires = issue_unit_token(
                engine, key, cli_actor(), scope, region, role, days, ADDRESS
            )
        else:
            assert venue is not None  # noqa: S101 - checked above
            token, expires = issue_device_token(
                engine, key, cli_actor(), scope, venue, days, ADDRESS
            )
    out.print(f"设备令牌（仅显示一次）/ device token (shown once), expires {expires:%Y-%m-%d} UTC:")
    out.print(token, markup=False)


@token_app.command("list")
def token_list() -> None:
    """List device tokens: id, scope, venue, region, role, created, expires, state (never
    the token: only its hash is stored)."""
    with database() as engine:
        migrate.require_current(engine)
        tokens = list_device_tokens(engine, cli_actor())
    now = clock.wall()
    table = Table("id", "scope 范围", "venue 场所", "region 区划", "role 角色",
                  "created 签发 (UTC)", "expires 到期 (UTC)", "state 状态")  # fmt: skip
    for t in tokens:
        state = t.state(now)
        if t.revoked_at is not None:
            state += f" {t.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(str(t.id), t.scope, t.venue_code or "", t.region_code or "",
                      t.role or "", f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.expires_at:%Y-%m-%d %H:%M}", state)  # fmt: skip
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="The token's id (`token list`)."),
) -> None:
    """Revoke a device token: refused from then on (a server that checked it in the last
    30 seconds may still take its scans until then)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        fresh = revoke_device_token(
            engine, load_server_keys(cfg).audit, cli_actor(), token_id, ADDRESS
        )
    out.print(
        f"设备令牌已撤销 / device token revoked: {token_id}"
        + ("" if fresh else " (已撤销 / revoked already)")
    )
