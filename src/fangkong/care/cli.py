"""``fangkong care need add|list|plan|start|done|cancel|escalate`` and ``fangkong care ward
add|list`` — thin callers of the guarded use cases; the operator acts as ``cli:``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine

from fangkong import clock
from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.care import access
from fangkong.care.rules import KINDS, CareRules
from fangkong.care.service import escalate_overdue
from fangkong.care.tables import OUTCOMES
from fangkong.care.wards import WardIn
from fangkong.cli_support import database, instant_option, out, settings
from fangkong.keys import load_server_keys
from fangkong.policy import load_pack
from fangkong.settings import Settings
from fangkong.store import migrate

app = typer.Typer(help="Urgent medical needs of controlled areas, wards. 急需就医保障.",
                  no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
need_app = typer.Typer(help="The register of urgent medical needs. 急需就医台账.",
                       no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
ward_app = typer.Typer(help="Designated wards and buffer wards. 定点/缓冲病区.",
                       no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
app.add_typer(need_app, name="need")
app.add_typer(ward_app, name="ward")

When = Annotated[str | None, typer.Option("--at", help="Time (ISO 8601 with offset); default now.")]


@app.callback()
def _group() -> None:
    """Urgent medical needs of controlled areas, wards. 急需就医保障."""


def _call(cfg: Settings, engine: Engine, at: str | None = None) -> Call:
    call = Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)
    return call.at_time(instant_option(at))


def _rules(cfg: Settings) -> CareRules:
    return CareRules.from_pack(load_pack(cfg.policy_pack))


def _fmt(t: datetime | None, tz: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@need_app.command("add")
def need_add(
    person: Annotated[int, typer.Argument(help="Person id (registry).")],
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)} (the pack's).")],
    detail: Annotated[str, typer.Option(help="What is needed (≤ 500 characters).")] = "",
    area: Annotated[
        int | None, typer.Option(help="Risk area id (default: where they live).")
    ] = None,
    at: When = None,
) -> None:
    """Register a resident's urgent medical need; it is due within the kind's hours."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        need = access.register(_call(cfg, engine, at), _rules(cfg), person_id=person, kind=kind,
                               detail=detail, area_id=area)  # fmt: skip
    out.print(f"就医需求 / medical need {need}")


@need_app.command("list")
def need_list(
    all_needs: Annotated[bool, typer.Option("--all", help="Finished needs too.")] = False,
    at: When = None,
) -> None:
    """Needs, the most urgent first (overdue at the top)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        rows, _ = access.read_needs(_call(cfg, engine, at), open_only=not all_needs,
                                    bounded=None)  # fmt: skip
    out.print("id\tkind\tstatus\tdue\tarea\tperson\tward\tvehicle\tarrives\toverdue")
    for n in rows:
        out.print("\t".join((str(n.id), n.kind, n.status, _fmt(n.due_at, cfg.tz), n.area_name,
                             n.person_name, n.ward_code or "—", n.vehicle_code or "—",
                             _fmt(n.arrives_at, cfg.tz), "overdue" if n.overdue else "")),
                  markup=False)  # fmt: skip


@need_app.command("plan")
def need_plan(
    need: Annotated[int, typer.Argument(help="Need id.")],
    late: Annotated[bool, typer.Option("--late", help="Plan even if it arrives late.")] = False,
    at: When = None,
) -> None:
    """Plan the green-channel transfer: a free vehicle, a ward with a free bed, before the
    deadline (else the reason, exit 2)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        got = access.plan(_call(cfg, engine, at), _rules(cfg), need, allow_late=late)
    out.print(f"{need}: {got.vehicle} → {got.ward}  出发 departs {_fmt(got.departs_at, cfg.tz)}  "
              f"到达 arrives {_fmt(got.arrives_at, cfg.tz)}  {got.distance_km} km"
              + ("  晚于时限 late" if got.late else ""), markup=False)  # fmt: skip


def _move(need: int, to: str, outcome: str, note: str, at: str | None) -> None:
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        access.move(_call(cfg, engine, at), _rules(cfg), need, to, outcome=outcome, note=note)
    out.print(f"{need}: {to}")


@need_app.command("start")
def need_start(need: Annotated[int, typer.Argument(help="Need id.")], at: When = None) -> None:
    """The patient is on board (planned → in transfer)."""
    _move(need, "in_transfer", "", "", at)


@need_app.command("done")
def need_done(
    need: Annotated[int, typer.Argument(help="Need id.")],
    outcome: Annotated[str, typer.Option(help=f"One of: {', '.join(OUTCOMES)}.")] = "admitted",
    note: Annotated[str, typer.Option(help="What was done.")] = "",
    at: When = None,
) -> None:
    """The need is met (handed over at the ward, or medicines brought); its task closes."""
    _move(need, "done", outcome, note, at)


@need_app.command("cancel")
def need_cancel(
    need: Annotated[int, typer.Argument(help="Need id.")],
    note: Annotated[str, typer.Option(help="Why (required).")],
    at: When = None,
) -> None:
    """Withdraw a need (a planned bed is given back)."""
    _move(need, "cancelled", "", note, at)


@need_app.command("escalate")
def need_escalate(at: When = None) -> None:
    """The desk's sweep: tasks raised for needs without one, closed for finished ones,
    overdue ones escalated one level up at [care.escalation]'s pace."""
    cfg = settings()
    when = instant_option(at)
    with database(cfg) as engine:
        migrate.require_current(engine)
        swept = escalate_overdue(engine, when or clock.now(), _rules(cfg), by=cli_actor().name)
    out.print(f"任务 tasks raised {swept.raised}  closed {swept.closed}  "
              f"升级 escalated {len(swept.escalated)}  逾期 overdue {swept.overdue}")  # fmt: skip


@ward_app.command("add")
def ward_add(
    code: Annotated[str, typer.Argument(help="Ward code (letters, digits, _ . -).")],
    hospital: Annotated[str, typer.Option(help="Hospital name.")],
    name: Annotated[str, typer.Option(help="Ward name.")],
    region: Annotated[str, typer.Option(help="Region code of the hospital.")],
    lat: Annotated[float, typer.Option(help="Latitude.")],
    lon: Annotated[float, typer.Option(help="Longitude.")],
    kinds: Annotated[str, typer.Option(help=f"Kinds treated, comma-separated: {','.join(KINDS)}.")],
    beds: Annotated[int, typer.Option(help="Beds.")],
    free: Annotated[int | None, typer.Option(help="Free beds (default: all).")] = None,
    buffer: Annotated[bool, typer.Option(help="A buffer ward (缓冲病区).")] = False,
    venue: Annotated[str | None, typer.Option(help="The hospital's venue code.")] = None,
) -> None:
    """Create or change a designated ward (its free beds as the hospital reports them)."""
    cfg = settings()
    ward = WardIn(code, hospital, name, region, lat, lon,
                  tuple(k.strip() for k in kinds.split(",") if k.strip()), beds,
                  beds if free is None else free, buffer, venue)  # fmt: skip
    with database(cfg) as engine:
        migrate.require_current(engine)
        new = access.keep_ward(_call(cfg, engine), ward)
    out.print(f"{code}: {'新增 added' if new else '更新 updated'}")


@ward_app.command("list")
def ward_list() -> None:
    """Wards, most free beds first."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        wards = access.read_wards(_call(cfg, engine))
    out.print("code\thospital\tward\tregion\tbuffer\tbeds\tfree\tkinds")
    for w in wards:
        out.print("\t".join((w.code, w.hospital, w.name, w.region_code,
                             "yes" if w.buffer else "no", str(w.beds), str(w.beds_free),
                             ",".join(w.kinds))), markup=False)  # fmt: skip
