"""``fangkong riskarea`` (designate, suggest, lift, list, history, needs) and ``fangkong
forecast rooms`` — thin callers of the services; the operator at the CLI acts as ``cli:``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, instant_option, out, settings
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.evaluator import fmt_time
from fangkong.policy.loader import load_pack
from fangkong.riskareas import needs as needs_service
from fangkong.riskareas import service
from fangkong.riskareas.rules import LEVEL_NAMES, RiskAreaRules
from fangkong.riskareas.suggest import suggest
from fangkong.settings import Settings
from fangkong.store import migrate

app = typer.Typer(help="Risk areas: designate, suggest, lift, list. 风险区.", no_args_is_help=True)
needs_app = typer.Typer(help="Needs of sealed areas as tasks. 封控区居民需求.",
                        no_args_is_help=True)  # fmt: skip
forecast_app = typer.Typer(help="Quarantine demand forecast. 隔离需求预测.", no_args_is_help=True)
app.add_typer(needs_app, name="needs")

When = Annotated[str | None, typer.Option(help="Time (ISO 8601 with offset); default now.")]


def _context() -> tuple[CodeContext, Settings]:
    cfg = settings()
    return CodeContext.from_settings(cfg), cfg


class Table:
    """Rows printed tab-separated under a header (greppable, never wrapped)."""

    def __init__(self, *header: str) -> None:
        self.lines = ["\t".join(header)]

    def add_row(self, *cells: str) -> None:
        self.lines.append("\t".join(c.replace("\t", " ") for c in cells))

    def __str__(self) -> str:
        return "\n".join(self.lines)


@app.callback()
def _group() -> None:
    """Risk areas: designate, suggest, lift, list. 风险区."""


@app.command("designate")
def designate_command(
    region: Annotated[str, typer.Argument(help="Region code of the compound or village.")],
    level: Annotated[str, typer.Option(help="high, medium or low (low lifts by hand).")],
    reason: Annotated[str, typer.Option(help="Why (划定理由).")],
    building: Annotated[str | None, typer.Option(help="A building of the compound.")] = None,
    household: Annotated[
        list[str] | None, typer.Option(help="A household of the building (repeat).")
    ] = None,
    at: When = None,
) -> None:
    """Designate an area at a level (its residents' codes follow at once)."""
    ctx, cfg = _context()
    with database(cfg) as engine:
        migrate.require_current(engine)
        result = service.designate(engine, ctx, region_code=region, level=level, reason=reason,
                                   by=cli_actor().name, building=building,
                                   households_in=household or (),
                                   at=instant_option(at))  # fmt: skip
    a = result.area
    lift = "—" if a.expected_lift_at is None else fmt_time(a.expected_lift_at, ctx.tz)
    out.print(f"{a.name} ({a.code}): {LEVEL_NAMES[a.level][0]} / {a.level}; "
              f"居民 / residents {result.residents}; 预计解封 / expected lifting "
              f"{lift}")  # fmt: skip


@app.command("suggest")
def suggest_command(at: When = None) -> None:
    """Areas recent cases point at (residences, venues), not yet designated at that level."""
    ctx, _ = _context()
    with database(settings()) as engine:
        migrate.require_current(engine)
        found = suggest(engine, ctx, now=instant_option(at))
    table = Table("region", "name", "suggested", "current", "cases", "venues", "reason")
    for s in found:
        table.add_row(s.region_code, s.name, s.level, s.current_level or "—", str(len(s.cases)),
                      str(len(s.venues)), f"{s.reason_zh} / {s.reason_en}")  # fmt: skip
    out.print(str(table) if found else "无建议 / no suggestions")


@app.command("lift")
def lift_command(at: When = None) -> None:
    """The daily job: lift every area whose clean days have run (codes follow)."""
    ctx, _ = _context()
    with database(settings()) as engine:
        migrate.require_current(engine)
        done = service.run_lifting(engine, ctx, now=instant_option(at))
    for x in done:
        out.print(f"{x.area_name}: {x.lift.from_level} → {x.lift.to_level} "
                  f"({fmt_time(x.lift.at, ctx.tz)}, {x.lift.days} d; "
                  f"居民 / residents {x.residents})")  # fmt: skip
    out.print(f"解封 / lifted: {len(done)}")


@app.command("list")
def list_command(
    every: Annotated[bool, typer.Option("--all", help="Low (lifted) areas too.")] = False,
) -> None:
    """Current high and medium areas with their expected lifting."""
    ctx, _ = _context()
    with database(settings()) as engine:
        migrate.require_current(engine)
        levels = ("high", "medium", "low") if every else service.CODE_LEVELS
        areas = service.list_areas(engine, ctx, levels=levels)
    table = Table("id", "code", "name", "level", "since", "expected lifting", "reason")
    for a in areas:
        lift = "—" if a.expected_lift_at is None else fmt_time(a.expected_lift_at, ctx.tz)
        table.add_row(str(a.id), a.code, a.name, a.level, fmt_time(a.since, ctx.tz), lift,
                      _both(a.reason, a.reason_en))  # fmt: skip
    out.print(str(table))


def _both(zh: str, en: str) -> str:
    """A reason for the bilingual terminal: "zh / en", or the one text kept in both."""
    return zh if not en or en == zh else f"{zh} / {en}"


@app.command("history")
def history_command(
    area: Annotated[int | None, typer.Argument(help="Area id; default all.")] = None,
) -> None:
    """Level changes, newest first: when, from, to, who or what, rule, reason."""
    ctx, _ = _context()
    with database(settings()) as engine:
        migrate.require_current(engine)
        rows = service.area_history(engine, area)
    table = Table("at", "area", "from", "to", "by", "rule", "reason")
    for h in rows:
        table.add_row(fmt_time(h.at, ctx.tz), h.area_name, h.from_level or "—", h.to_level,
                      h.changed_by, h.rule or "—", _both(h.reason, h.reason_en))  # fmt: skip
    out.print(str(table))


@needs_app.command("add")
def needs_add(
    area: Annotated[int, typer.Argument(help="Area id.")],
    person: Annotated[int, typer.Argument(help="Person id (a resident).")],
    kind: Annotated[str, typer.Argument(help="A kind of the pack's [risk_areas.needs.kinds].")],
    note: Annotated[str, typer.Option(help="What is needed.")] = "",
) -> None:
    """Record a resident's need; it is due within the kind's hours."""
    ctx, _ = _context()
    rules = RiskAreaRules.from_pack(ctx.pack)
    with database(settings()) as engine:
        migrate.require_current(engine)
        need = needs_service.raise_need(engine, rules, area_id=area, person_id=person, kind=kind,
                                        note=note, by=cli_actor().name)  # fmt: skip
    out.print(f"需求 / need {need}")


@needs_app.command("set")
def needs_set(
    need: Annotated[int, typer.Argument(help="Need id.")],
    status: Annotated[str, typer.Argument(help="in_progress, done, cancelled or open.")],
    note: Annotated[str, typer.Option(help="A note (required to cancel).")] = "",
    assign: Annotated[str | None, typer.Option(help="Who handles it.")] = None,
) -> None:
    """Move a need on (a finished one cannot change)."""
    with database(settings()) as engine:
        migrate.require_current(engine)
        needs_service.set_need_status(engine, need, status, by=cli_actor().name, note=note,
                                      assigned_to=assign)  # fmt: skip
    out.print(f"{need}: {status}")


@needs_app.command("list")
def needs_list(
    open_only: Annotated[bool, typer.Option("--open", help="Unfinished only.")] = False,
) -> None:
    """Needs, overdue first (names masked)."""
    from fangkong.identity.masking import mask_name

    ctx, _ = _context()
    with database(settings()) as engine:
        migrate.require_current(engine)
        rows = needs_service.list_needs(engine, open_only=open_only)
    table = Table("id", "area", "person", "kind", "status", "due", "overdue", "note")
    for n in rows:
        table.add_row(str(n.id), n.area_name, mask_name(n.person_name), n.kind, n.status,
                      fmt_time(n.due_at, ctx.tz), "逾期 / OVERDUE" if n.overdue else "",
                      n.note)  # fmt: skip
    out.print(str(table))


@forecast_app.callback()
def _forecast_group() -> None:
    """Quarantine demand forecast. 隔离需求预测."""


@forecast_app.command("rooms")
def forecast_rooms(
    level: Annotated[str | None, typer.Option(help="Region level (default the pack's).")] = None,
    region: Annotated[
        str | None, typer.Option(help="Plot this region (default: the one running out first).")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Write the plot here (.png).")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="All regions, .csv.")
    ] = None,
    pack: Annotated[str | None, typer.Option(help="What-if: another pack's periods.")] = None,
    rt_factor: Annotated[float, typer.Option(help="What-if: Rt × factor.")] = 1.0,
    rt: Annotated[float | None, typer.Option(help="What-if: Rt fixed at this value.")] = None,
    standby: Annotated[bool, typer.Option(help="What-if: standby rooms opened.")] = False,
    contacts: Annotated[
        float | None, typer.Option(help="What-if: close contacts per case (else measured).")
    ] = None,
    draws: Annotated[int, typer.Option(min=50, max=20000)] = 500,
    horizon: Annotated[int, typer.Option(min=1, max=60)] = 14,
    si_mean: Annotated[float, typer.Option(help="Serial interval mean, days.")] = 3.0,
    si_sd: Annotated[float, typer.Option(help="Serial interval sd, days.")] = 2.0,
    seed: Annotated[int, typer.Option()] = 0,
    at: When = None,
) -> None:
    """Rooms needed per day for the next days, with 90% intervals, against capacity."""
    from fangkong.quarantine.forecast import (
        ForecastOptions,
        forecast_from_store,
        run_out_order,
        write_forecast_csv,
    )
    from fangkong.riskareas.charts import forecast_png

    ctx, _ = _context()
    chosen = load_pack(pack) if pack else ctx.pack
    opts = ForecastOptions(level=level, horizon=horizon, si_mean=si_mean, si_sd=si_sd,
                           draws=draws, seed=seed, r_factor=rt_factor, r_fixed=rt,
                           include_standby=standby, contacts_mean=contacts)  # fmt: skip
    with database(settings()) as engine:
        migrate.require_current(engine)
        rf = forecast_from_store(engine, chosen, ctx.tz, opts, now=instant_option(at))
    f = rf.forecast
    run_out = f.run_out_day()
    days = rf.days()
    table = Table("region", "name", "Rt", "rooms", f"day {horizon} median [interval]",
                  "runs out (median)", "runs out (upper)")  # fmt: skip
    upper = f.run_out_day("high")
    order = run_out_order(rf)
    for i in order:
        table.add_row(
            rf.regions[i], rf.names[i], "—" if rf.rt_mean[i] != rf.rt_mean[i] else
            f"{rf.rt_mean[i]:.2f}", f"{f.capacity[i]:.0f}",
            f"{f.median[i, -1]:.0f} [{f.low[i, -1]:.0f}–{f.high[i, -1]:.0f}]",
            days[run_out[i] - 1].isoformat() if run_out[i] else "—",
            days[upper[i] - 1].isoformat() if upper[i] else "—",
        )  # fmt: skip
    out.print(f"{rf.pack}, {f.draws} draws, today {rf.today.isoformat()}")
    out.print(str(table))
    if output is not None:
        rows = write_forecast_csv(rf, output)
        out.print(f"{output}: {rows} rows")
    if png is not None and rf.regions:
        i = rf.regions.index(region) if region in rf.regions else order[0]
        forecast_png(rf, i, png, f"{rf.names[i]} ({rf.regions[i]}) — {rf.pack}")
        out.print(f"{png}: {rf.names[i]}")
