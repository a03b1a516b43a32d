"""``fangkong passes issue|revoke|show|list`` — thin callers of ``fangkong.passes.access``;
the operator at the CLI acts as ``cli:<user>`` (every right, audited)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, instant_option, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.keys import load_server_keys
from fangkong.passes import access
from fangkong.passes.access import PassDesk
from fangkong.passes.service import DriverIn, PassRequest, PassView
from fangkong.policy import load_pack
from fangkong.settings import Settings
from fangkong.store import migrate

app = typer.Typer(help="Key-freight vehicle passes. 重点物资运输车辆通行证.", no_args_is_help=True,
                  rich_markup_mode=None)  # fmt: skip
SerialArg = Annotated[str, typer.Argument(help="The pass's serial (通行证编号).")]
QrOption = Annotated[Path | None, typer.Option("--qr", help="Write the QR here (.svg, .png).")]


@app.callback()
def _group() -> None:
    """Key-freight vehicle passes. 重点物资运输车辆通行证."""


def _call(cfg: Settings, engine: Engine) -> Call:
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)


def _desk(cfg: Settings) -> PassDesk:
    return PassDesk.of(load_pack(cfg.policy_pack), Sealer(load_or_create_key(cfg)), cfg.home)


def _driver(text: str) -> DriverIn:
    """``ID,NAME,TESTED_AT[,COLOUR][,risk]`` → a driver."""
    cells = [c.strip() for c in text.split(",")]
    if len(cells) < 3 or len(cells) > 5 or (len(cells) == 5 and cells[4] != "risk"):
        raise BadInput(Problem(
            "pass.driver_option",
            f"--driver 应为 证件号,姓名,采样时间[,健康码颜色][,risk]，实为 {text!r}",
            f"--driver must be ID,NAME,TESTED_AT[,COLOUR][,risk], got {text!r}",
        ))  # fmt: skip
    risk = cells[-1] == "risk"
    colour = cells[3] if len(cells) > 3 and cells[3] != "risk" else "green"
    return DriverIn(cells[0], cells[1], instant_option(cells[2]), code_colour=colour,
                    from_risk_area=risk)  # fmt: skip


def _print(view: PassView, status: str) -> None:
    route = " → ".join((view.origin_region, *view.via, view.destination_region))
    loop = " closed_loop" if view.closed_loop else ""
    out.print(f"{view.serial} (rev {view.revision}) {view.plate} {view.vehicle_kind} "
              f"{view.cargo_class} {status}{loop}")  # fmt: skip
    out.print(f"  路线 / route: {route}")
    out.print(f"  有效期 / valid: {view.valid_from.isoformat()} — {view.valid_until.isoformat()}")
    for d in view.drivers:
        out.print(f"  驾驶员 / driver {d.person_id} {d.name} tested {d.tested_at.isoformat()} "
                  f"{d.code_colour}{' risk_area' if d.from_risk_area else ''}")  # fmt: skip
    if view.revoked_at is not None:
        out.print(f"  撤销 / revoked {view.revoked_at.isoformat()} by {view.revoked_by}: "
                  f"{view.revoke_reason}")  # fmt: skip


def _show(call: Call, desk: PassDesk, serial: str, qr: Path | None) -> None:
    page = access.read_pass(call, desk, serial)
    _print(page.view, page.status)
    out.print(f"  token: {page.token}")
    if qr is not None:
        import segno

        segno.make(page.token, error="m").save(str(qr), scale=6, border=2)
        out.print(f"  QR → {qr}")


@app.command("issue")
def issue_command(
    plate: Annotated[str, typer.Option(help="Vehicle plate, e.g. 晋A12345.")],
    kind: Annotated[str, typer.Option(help="lorry | van | car | bus.")],
    cargo: Annotated[str, typer.Option(help="key_supplies | medical | ordinary | none.")],
    origin: Annotated[str, typer.Option(help="Origin admin-division code.")],
    destination: Annotated[str, typer.Option(help="Destination admin-division code.")],
    valid_from: Annotated[str, typer.Option("--from", help="ISO 8601 with offset.")],
    valid_until: Annotated[str, typer.Option("--until", help="ISO 8601 with offset.")],
    region: Annotated[str, typer.Option(help="The issuing region's code.")],
    driver: Annotated[list[str], typer.Option(help="ID,NAME,TESTED_AT[,COLOUR][,risk] (repeat).")],
    via: Annotated[list[str] | None, typer.Option(help="A via point's code (repeat).")] = None,
    carrier: Annotated[str | None, typer.Option(help="The carrier (承运单位).")] = None,
    qr: QrOption = None,
) -> None:
    """Issue a pass if it qualifies under the pack's [passes]; print it and its token."""
    cfg = settings()
    desk = _desk(cfg)
    start, end = instant_option(valid_from), instant_option(valid_until)
    if start is None or end is None:  # typer makes both required
        raise typer.Exit(2)
    req = PassRequest(plate, kind, cargo, origin, destination, start, end, region,
                      tuple(_driver(d) for d in driver), tuple(via or ()), carrier)  # fmt: skip
    with database(cfg) as engine:
        migrate.require_current(engine)
        call = _call(cfg, engine)
        issued = access.issue_pass(call, desk, req)
        out.print(f"签发 / issued {issued.serial}")
        _show(call, desk, issued.serial, qr)


@app.command("revoke")
def revoke_command(
    serial: SerialArg, reason: Annotated[str, typer.Option(help="Why (撤销原因).")]
) -> None:
    """Revoke a pass; checkpoints see it at once."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        view = access.revoke_pass(_call(cfg, engine), serial, reason)
    _print(view, "revoked")


@app.command("renew")
def renew_command(
    serial: SerialArg,
    valid_until: Annotated[str, typer.Option("--until", help="ISO 8601 with offset.")],
    tested: Annotated[list[str], typer.Option(help="PERSON_ID=TESTED_AT per driver (repeat).")],
    qr: QrOption = None,
) -> None:
    """Renew a pass (a new revision; the old QR stops verifying); print it and its token."""
    cfg = settings()
    desk = _desk(cfg)
    samples = {}
    for item in tested:
        pid, _, when = item.partition("=")
        if not pid.strip().isdigit() or not when:
            raise BadInput(Problem(
                "pass.tested_option", f"--tested 应为 人员编号=采样时间，实为 {item!r}",
                f"--tested must be PERSON_ID=TESTED_AT, got {item!r}",
            ))  # fmt: skip
        samples[int(pid)] = instant_option(when.strip())
    until = instant_option(valid_until)
    if until is None:
        raise typer.Exit(2)
    with database(cfg) as engine:
        migrate.require_current(engine)
        call = _call(cfg, engine)
        access.renew_pass(call, desk, serial, valid_until=until,
                          tested={k: v for k, v in samples.items() if v is not None})  # fmt: skip
        _show(call, desk, serial, qr)


@app.command("show")
def show_command(serial: SerialArg, qr: QrOption = None) -> None:
    """One pass: vehicle, route, period, drivers, status and its QR token."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        _show(_call(cfg, engine), _desk(cfg), serial, qr)


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="valid | pending | expired | revoked.")] = None,
    plate: Annotated[str | None, typer.Option(help="Only this plate.")] = None,
) -> None:
    """Every pass (newest first), tab-separated."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        call = _call(cfg, engine)
        rows, total = access.read_passes(call, status=status, plate=plate, bounded=None)
        out.print("serial\tplate\tcargo\tvalid_from\tvalid_until\tstatus")
        for v in rows:
            out.print(f"{v.serial}\t{v.plate}\t{v.cargo_class}\t{v.valid_from.isoformat()}\t"
                      f"{v.valid_until.isoformat()}\t{v.status(call.now())}")  # fmt: skip
        out.print(f"# {total}")
