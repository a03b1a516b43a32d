"""The ``fangkong`` command: one group per capability, each a thin caller of services."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from fangkong import __version__
from fangkong.cli_support import err, fail, out
from fangkong.errors import FangkongError
from fangkong.files import lock_down_process
from fangkong.settings import SETTINGS, SettingError, load_settings, setting_sources


class _Group(TyperGroup):
    """The root group: turns the platform's typed errors into a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FangkongError as exc:
            raise fail(exc) from exc


app = typer.Typer(
    cls=_Group,
    name="fangkong",
    help="fangkong (防控): outbreak prevention and control. 疫情防控平台.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"fangkong {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """fangkong (防控): outbreak prevention and control. 疫情防控平台."""


@app.command("settings")
def settings_command() -> None:
    """Show every setting: value in force, where it came from, environment variable, help."""
    try:
        load_settings()
    except SettingError as exc:
        err.print(f"[red]设置错误 / bad setting[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table("name", "value", "source", "environment variable", "help")
    for s in SETTINGS:
        value, source = setting_sources()[s.name]
        if s.name in ("seal_key", "server_key") and value:
            value = "(set, hidden)"
        table.add_row(s.name, value, source, s.env, s.help)
    out.print(table)


def _register() -> None:
    from fangkong.alerts.cli import app as alerts_app
    from fangkong.arrivals.cli import app as arrivals_app
    from fangkong.audit.cli import app as audit_app
    from fangkong.auth.cli import role_app, token_app, user_app
    from fangkong.clock_cli import app as clock_app
    from fangkong.command.cli import app as command_app
    from fangkong.demo import demo_command
    from fangkong.demo.cli import generate_facilities_command
    from fangkong.demo.evaluation import evaluate_command
    from fangkong.healthcode.cli import app as code_app
    from fangkong.identity.cli import app as id_app
    from fangkong.logistics.cli import app as logistics_app
    from fangkong.passes.cli import app as passes_app
    from fangkong.policy.cli import app as policy_app
    from fangkong.quarantine.cli import app as quarantine_app
    from fangkong.registry.cli import export_app, import_app
    from fangkong.riskareas.cli import app as riskarea_app
    from fangkong.riskareas.cli import forecast_app
    from fangkong.server.cli import serve_command
    from fangkong.store.cli import app as db_app
    from fangkong.supply.cli import app as supply_app
    from fangkong.surveillance.cli import detect_command
    from fangkong.surveillance.rt_cli import rt_command, scan_command
    from fangkong.testing.cli import app as testing_app
    from fangkong.testing.cli import pooling_app
    from fangkong.tracing.cli import app as checkins_app
    from fangkong.tracing.cli import contacts_app, trace_command, tracing_app
    from fangkong.twin.cli import app as twin_app

    app.add_typer(db_app, name="db")
    app.add_typer(id_app, name="id")
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
    app.add_typer(twin_app, name="twin")
    app.command("demo")(demo_command)
    app.command("evaluate")(evaluate_command)
    app.command("serve")(serve_command)
    app.add_typer(user_app, name="user")
    app.add_typer(role_app, name="role")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")
    app.add_typer(policy_app, name="policy")
    app.add_typer(code_app, name="code")
    app.add_typer(checkins_app, name="checkins")
    app.command("trace")(trace_command)
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(tracing_app, name="tracing")
    app.add_typer(testing_app, name="testing")
    app.add_typer(pooling_app, name="pooling")
    # synthetic facilities are a demo feed: the command lives in fangkong.demo
    quarantine_app.command("generate")(generate_facilities_command)
    app.add_typer(quarantine_app, name="quarantine")
    app.command("rt")(rt_command)
    app.command("cluster-scan")(scan_command)
    app.command("detect")(detect_command)
    app.add_typer(riskarea_app, name="riskarea")
    app.add_typer(forecast_app, name="forecast")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(arrivals_app, name="arrivals")
    app.add_typer(clock_app, name="clock")
    app.add_typer(command_app, name="command")
    app.add_typer(logistics_app, name="logistics")
    app.add_typer(passes_app, name="passes")
    app.add_typer(supply_app, name="supply")  # issue 20: necessities


_register()


def main() -> None:
    lock_down_process()  # whatever this process writes is private (0700/0600)
    try:
        app()
    except FangkongError as exc:
        raise SystemExit(fail(exc).exit_code) from exc
    except KeyboardInterrupt:
        err.print("interrupted / 已中断: nothing was committed / 未写入任何数据")
        sys.exit(130)
