"""`fangkong arrivals ...` — thin callers of the arrivals services (the operator acts)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fangkong import clock
from fangkong.arrivals.rules import STAGES, ArrivalRules
from fangkong.cli_support import database, err, out, settings
from fangkong.policy import load_pack

app = typer.Typer(
    help="Arrivals closed loop: manifests, landing tests, transfers, hand-offs, alerts. "
    "入境/来返人员闭环管理.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _rules() -> ArrivalRules:
    return ArrivalRules.from_pack(load_pack(settings().policy_pack))


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="Manifest CSV (columns: docs/formats.md).")],
    ref: Annotated[str, typer.Option("--ref", help="Manifest id, e.g. CA1234-20220318.")],
    mode: Annotated[str, typer.Option("--mode", help="flight, train or highway.")],
    carrier: Annotated[str, typer.Option("--carrier", help="Flight/train number or lane.")],
    point: Annotated[str, typer.Option("--point", help="Arrival point (a venue code).")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Error report (default FILE.errors.csv).")
    ] = None,
) -> None:
    """Register a manifest's travellers (all rows or none; sent again, nothing changes).
    Bad rows: nothing is registered and FILE.errors.csv names each row and column."""
    from fangkong.arrivals.manifest_rows import ManifestRejected, read_file
    from fangkong.arrivals.manifests import ManifestHeader, import_manifest
    from fangkong.healthcode.context import CodeContext
    from fangkong.registry.service import report_path_for, write_report

    cfg = settings()
    codes = CodeContext.from_settings(cfg)
    rows = read_file(file)
    with database(cfg) as engine:
        try:
            got = import_manifest(
                engine,
                ManifestHeader(ref, mode, carrier, point),
                rows,
                ArrivalRules.from_pack(codes.pack),
                sealer=codes.sealer,
                codes=codes,
                by=_who(),
                source=str(file),
            )
        except ManifestRejected as exc:
            path = report or report_path_for(file)
            write_report(path, exc.rows)
            err.print(f"错误报告 / error report: {path}")
            raise
    risks = ", ".join(f"{k} {v}" for k, v in sorted(got.by_risk.items()))
    out.print(
        f"{file}: {got.rows} 行 / rows, 登记 / registered {got.registered}, 未变 / unchanged "
        f"{got.unchanged}, 新建人员 / persons created {got.persons_created}, 移交 / hand-offs "
        f"{got.handoffs}; {risks}"
    )


@app.command("sample")
def sample_command(
    barcode: Annotated[str, typer.Argument(help="Tube barcode.")],
    travellers: Annotated[list[int], typer.Argument(help="Traveller ids sampled into it.")],
    collector: Annotated[str, typer.Option("--collector", help="Who took the sample.")],
) -> None:
    """Register a landing test (落地核酸): one tube, one or more travellers (pack pool size)."""
    from fangkong.arrivals.dispatch import sample
    from fangkong.healthcode.context import CodeContext
    from fangkong.testing.rules import TestingRules

    cfg = settings()
    codes = CodeContext.from_settings(cfg)
    with database(cfg) as engine:
        tube = sample(
            engine,
            ArrivalRules.from_pack(codes.pack),
            TestingRules.from_pack(codes.pack),
            travellers,
            barcode,
            collector=collector,
            codes=codes,
            by=_who(),
            via="cli",
        )
    out.print(f"管 / tube {tube.barcode}: {tube.pool_size} 人 / people")


@app.command("plan")
def plan_command(
    point: Annotated[str, typer.Argument(help="Arrival point (venue code).")],
) -> None:
    """Place the travellers ready at a point and plan their trips (点对点转运)."""
    from fangkong.arrivals.dispatch import plan
    from fangkong.healthcode.context import CodeContext
    from fangkong.quarantine.rules import QuarantineRules

    cfg = settings()
    codes = CodeContext.from_settings(cfg)
    with database(cfg) as engine:
        got = plan(
            engine,
            ArrivalRules.from_pack(codes.pack),
            QuarantineRules.from_pack(codes.pack),
            point,
            by=_who(),
            codes=codes,
        )
    table = Table("trip", "vehicle", "risk", "destination", "seats", "departs", "eta", "km")
    for t in got.trips:
        table.add_row(
            str(t.id),
            t.vehicle,
            t.risk,
            t.destination,
            str(t.seats),
            f"{t.departs_at:%H:%M}",
            f"{t.eta:%H:%M}",
            f"{t.distance_km:.1f}",
        )
    out.print(table)
    out.print(
        f"安置 / placed {got.placed}, 无房 / no room {len(got.no_room)}, "
        f"待车 / waiting for a vehicle {len(got.waiting_vehicle)}"
    )


@app.command("confirm")
def confirm_command(
    traveller: Annotated[int, typer.Argument(help="Traveller id.")],
    stage: Annotated[str, typer.Argument(help=f"One of: {', '.join(STAGES[2:])}.")],
    note: Annotated[str | None, typer.Option("--note", help="A short note.")] = None,
) -> None:
    """Confirm a stage (boarded, handed_over, managed, released) as by form."""
    from fangkong.arrivals.loop import advance

    cfg = settings()
    with database(cfg) as engine:
        now = advance(engine, _rules(), traveller, stage, by=_who(), via="cli", note=note)
    out.print(f"旅客 / traveller {traveller}: {now}")


@app.command("acknowledge")
def acknowledge_command(
    traveller: Annotated[int, typer.Argument(help="Traveller id.")],
) -> None:
    """Take over a traveller handed to this jurisdiction (接收确认)."""
    from fangkong.arrivals.loop import acknowledge

    with database(settings()) as engine:
        fresh = acknowledge(engine, traveller, by=_who())
    out.print("已接收 / acknowledged" if fresh else "此前已接收 / acknowledged before")


@app.command("team")
def team_command(
    code: Annotated[str, typer.Argument(help="Team code.")],
    name: Annotated[str, typer.Option("--name", help="Team name.")],
    kind: Annotated[str, typer.Option("--kind", help="checkpoint, transfer, receiving, command.")],
    region: Annotated[str, typer.Option("--region", help="Region code it answers for.")],
    point: Annotated[str | None, typer.Option("--point", help="Arrival point it staffs.")] = None,
    superior: Annotated[str | None, typer.Option("--superior", help="Superior team.")] = None,
) -> None:
    """Register a team (专班) or change it."""
    from fangkong.arrivals.dispatch import save_team

    with database(settings()) as engine:
        save_team(engine, code, name, kind, region, venue_code=point, superior_code=superior)
    out.print(f"班组 / team {code}")


@app.command("vehicle")
def vehicle_command(
    code: Annotated[str, typer.Argument(help="Vehicle code or plate.")],
    kind: Annotated[str, typer.Option("--kind", help="A kind with a pack speed (bus, van…).")],
    capacity: Annotated[int, typer.Option("--capacity", help="Passenger seats.")],
    team: Annotated[str, typer.Option("--team", help="The transfer team.")],
    lat: Annotated[float, typer.Option("--lat", help="Where it stands: latitude.")],
    lon: Annotated[float, typer.Option("--lon", help="Where it stands: longitude.")],
) -> None:
    """Register a transfer vehicle or change it."""
    from fangkong.arrivals.dispatch import save_vehicle

    with database(settings()) as engine:
        save_vehicle(engine, _rules(), code, kind, capacity, team, lat, lon)
    out.print(f"车辆 / vehicle {code}")


@app.command("check")
def check_command() -> None:
    """The closed-loop job: sync with quarantine, raise overdue and hand-off alerts (run
    it every few minutes). Exit 1 when anyone is overdue. Escalation is the tasks':
    `fangkong command raise` and `fangkong command escalate`."""
    from fangkong.arrivals.loop import check

    with database(settings()) as engine:
        got = check(engine, _rules())
    out.print(
        f"转入管控 / managed {got.managed}, 解除 / released {got.released}, 新预警 / alerts "
        f"{got.raised}, 移交超时 / hand-offs late "
        f"{got.handoff_alerts}, 超时 / overdue {len(got.overdue)}"
    )
    if got.overdue:
        raise typer.Exit(1)


@app.command("board")
def board_command() -> None:
    """Per arrival point: how many at each stage, who is overdue (ids, no names)."""
    from fangkong.arrivals.board import point_boards

    with database(settings()) as engine:
        points = point_boards(engine, at=clock.now())
    table = Table("point", *STAGES, "overdue", "hand-offs")
    for b in points:
        table.add_row(
            f"{b.name} ({b.point})",
            *(str(b.stages[s]) for s in STAGES),
            str(len(b.overdue)),
            str(b.pending_handoffs),
        )
    out.print(table)
