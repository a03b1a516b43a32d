"""``fangkong supply ...``: outlets, reports (one, or a file), days of supply, the floors'
check, deliveries to sealed areas — thin callers of ``fangkong.supply.access``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, out, settings
from fangkong.keys import load_server_keys
from fangkong.policy import load_pack
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.supply import access
from fangkong.supply.files import import_reports
from fangkong.supply.service import OutletIn, ReportResult, SupplyPolicy
from fangkong.supply.tables import OUTLET_KINDS

app = typer.Typer(help="Necessities: outlets, stock and sales, days of supply, deliveries to "
                  "sealed areas. 民生物资保供.", no_args_is_help=True,
                  rich_markup_mode=None)  # fmt: skip
outlet_app = typer.Typer(help="Outlets: markets, supermarkets, suppliers, pharmacies. 保供网点.",
                         no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
deliveries_app = typer.Typer(help="Deliveries to sealed areas. 封控区配送.", no_args_is_help=True,
                             rich_markup_mode=None)  # fmt: skip
app.add_typer(outlet_app, name="outlet")
app.add_typer(deliveries_app, name="deliveries")


@app.callback()
def _group() -> None:
    """Necessities: outlets, stock and sales, days of supply, deliveries. 民生物资保供."""


def _call(cfg: Settings, engine: Engine) -> Call:
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)


def _policy(cfg: Settings) -> SupplyPolicy:
    return SupplyPolicy.from_pack(load_pack(cfg.policy_pack), cfg.tz)


def _done(r: ReportResult) -> None:
    out.print(f"读取 read {r.rows:,}  新增 inserted {r.inserted:,}  更新 replaced {r.updated:,}  "
              f"未变 unchanged {r.unchanged:,}  底线预警 floors raised {r.floors.raised}, "
              f"closed {r.floors.closed}")  # fmt: skip


@outlet_app.command("add")
def outlet_add(
    code: Annotated[str, typer.Argument(help="The outlet's code (≤ 40 characters).")],
    name: Annotated[str, typer.Argument(help="Its name.")],
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(OUTLET_KINDS)}.")],
    region: Annotated[str, typer.Option(help="The region it lies in (a code).")],
    venue: Annotated[str | None, typer.Option(help="Its venue (a supply device's).")] = None,
) -> None:
    """Add a market, supermarket, supplier or pharmacy."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        access.add_outlet(_call(cfg, engine), OutletIn(code, name, kind, region, venue))
    out.print(f"网点 outlet {code}: 已添加 added")


@outlet_app.command("list")
def outlet_list(
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """The outlets, by code."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        rows, total = access.read_outlets(_call(cfg, engine), kind=kind, bounded=None)
    table = Table("code", "name 名称", "kind 类型", "region 区划", "venue 场所")
    for r in rows:
        table.add_row(r.code, r.name, r.kind, r.region_code, r.venue_code or "—")
    out.print(table)
    out.print(f"{total} 个网点 outlets")


@app.command("report")
def report_command(
    outlet: Annotated[str, typer.Argument(help="The outlet's code.")],
    good: Annotated[str, typer.Argument(help="A good of the pack's [supply.goods].")],
    stock: Annotated[str, typer.Argument(help="Stock at the end of the day (the good's unit).")],
    sales: Annotated[str, typer.Argument(help="The day's sales (the good's unit).")],
    day: Annotated[str | None, typer.Option("--date", help="The day (default today).")] = None,
) -> None:
    """Report one outlet's stock and sales of one good for a day (a resend replaces it)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        call = _call(cfg, engine)
        row = {"outlet_code": outlet, "good": good, "stock": stock, "sales": sales,
               "date": day or call.today().isoformat()}  # fmt: skip
        _done(access.submit_reports(call, _policy(cfg), [row], via="form"))


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Reports file, CSV or Parquet (docs/formats.md).")],
) -> None:
    """Import reports (outlet_code, date, good, stock, sales): all or none."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        _done(import_reports(_call(cfg, engine), _policy(cfg), path))


@app.command("days")
def days_command() -> None:
    """Days of supply per region and good (stock ÷ mean daily sales); * below the floor."""
    cfg = settings()
    policy = _policy(cfg)
    with database(cfg) as engine:
        migrate.require_current(engine)
        found = access.read_days(_call(cfg, engine), policy)
    goods = policy.supply.goods
    table = Table("region 区划", *(f"{g.label_zh} {g.key}" for g in goods.values()))
    for region in sorted({r for r, _ in found}):
        cells = []
        for g in goods.values():
            s = found.get((region, g.key))
            days = None if s is None else s.days
            cells.append("—" if days is None else f"{days:.1f}"
                         + (" *" if days < g.floor_days else ""))  # fmt: skip
        table.add_row(region, *cells)
    out.print(table)


@app.command("check")
def check_command() -> None:
    """Hold every unit to the floors: raise alerts and tasks, close those restored."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        r = access.check(_call(cfg, engine), _policy(cfg))
    out.print(f"新预警 raised {r.raised}  已解除 closed {r.closed}  仍未解除 open {r.still_open}")


@deliveries_app.command("plan")
def plan_command() -> None:
    """Plan the deliveries to the sealed areas (the day delivery_lead_days ahead)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        planned = access.plan(_call(cfg, engine), _policy(cfg))
    table = Table("id", "day 日期", "area 封控区", "good 物资", "people 人数", "quantity 数量",
                  "status 状态")  # fmt: skip
    for d in planned:
        table.add_row(str(d.id), d.planned_for.isoformat(), d.area_name, d.good, str(d.people),
                      f"{d.quantity_planned:g}", d.status)  # fmt: skip
    out.print(table)


@deliveries_app.command("confirm")
def confirm_command(
    delivery: Annotated[int, typer.Argument(help="The delivery's id.", min=1, max=2**31 - 1)],
    quantity: Annotated[
        float | None, typer.Option(help="Quantity delivered (default planned).", min=0, max=1e7)
    ] = None,
) -> None:
    """Confirm a delivery made (无接触配送 送达)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        d = access.confirm(_call(cfg, engine), _policy(cfg), delivery, quantity)
    out.print(f"配送 delivery {d.id}: {d.status} {d.quantity_delivered or 0:g}")
