"""`fangkong testing ...` and `fangkong pooling plan` — thin callers of the testing services."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from fangkong.cli_support import database, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.policy import load_pack
from fangkong.testing import pooling
from fangkong.testing.files import read_table
from fangkong.testing.rules import TestingRules

app = typer.Typer(
    help="Testing: results, retests, orders, campaigns, labs. 核酸检测.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
pooling_app = typer.Typer(
    help="Pooling maths: tests per person, best pool size. 混采方案.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _rules() -> TestingRules:
    return TestingRules.from_pack(load_pack(settings().policy_pack))


@app.command("import-results")
def import_results_command(
    file: Annotated[Path, typer.Argument(help="Results, .csv or .parquet (docs/formats.md).")],
    lab: Annotated[str, typer.Option("--lab", help="Code of the lab that tested them.")],
) -> None:
    """Store a lab's results file (all rows or none; resent rows change nothing), then
    resolve: retests, code facts, cases."""
    from fangkong.healthcode.context import CodeContext
    from fangkong.testing.resolve import resolve
    from fangkong.testing.results import post_results
    from fangkong.tracing.rules import ContactRules

    cfg = settings()
    pack = load_pack(cfg.policy_pack)
    rules = TestingRules.from_pack(pack)
    table = read_table(file)
    with database(cfg) as engine:
        got = post_results(
            engine, rules, table, lab_code=lab, posted_by=_who(), source=str(file), first_row=2
        )
        done = resolve(
            engine,
            rules,
            codes=CodeContext.from_settings(cfg),
            by=_who(),
            tz=ZoneInfo(cfg.timezone),
            contact_rules=ContactRules.from_pack(pack),
        )
    out.print(
        f"{file}: {got.rows} 行 / rows, 新增 / new {got.inserted}, 重复 / resent "
        f"{got.repeated}; 复核 / retests ordered {done.retests_ordered}, "
        f"病例 / cases {len(done.cases)}"
    )


@app.command("resolve")
def resolve_command() -> None:
    """Act on result batches not yet resolved (after a crash, or when run as a job)."""
    from fangkong.healthcode.context import CodeContext
    from fangkong.testing.resolve import resolve
    from fangkong.tracing.rules import ContactRules

    cfg = settings()
    pack = load_pack(cfg.policy_pack)
    with database(cfg) as engine:
        done = resolve(
            engine,
            TestingRules.from_pack(pack),
            codes=CodeContext.from_settings(cfg),
            by=_who(),
            tz=ZoneInfo(cfg.timezone),
            contact_rules=ContactRules.from_pack(pack),
        )
    out.print(
        f"{done.batches} 批 / batches, {done.results} 结果 / results, 复核 / retests "
        f"{done.retests_ordered}, 事实 / facts {done.facts}, 病例 / cases {len(done.cases)}"
    )


@app.command("schedule")
def schedule_command() -> None:
    """Make the test orders the pack gives (managed people, key groups); flag missed
    orders and overdue tubes (late results, lost tubes)."""
    from fangkong.testing.flags import flag_overdue
    from fangkong.testing.schedules import flag_missed, schedule_orders

    cfg = settings()
    rules = _rules()
    with database(cfg) as engine:
        made = schedule_orders(engine, rules, tz=ZoneInfo(cfg.timezone), by=_who())
        missed = flag_missed(engine)
        flags = flag_overdue(engine, rules)
    out.print(
        f"新任务 / new orders {made.created}, 纳入重点人群 / enrolled {made.enrolled}, "
        f"已完成 / fulfilled {made.fulfilled}, 应检未检 / missed {missed}, "
        f"超时 / late {flags.late}, 遗失 / lost {flags.lost}"
    )


@app.command("lab")
def lab_command(
    code: Annotated[str, typer.Argument(help="Lab code.")],
    name: Annotated[str, typer.Option("--name", help="Lab name.")],
    region: Annotated[str, typer.Option("--region", help="Region code of the lab.")],
    capacity: Annotated[int, typer.Option("--capacity", help="Tubes per day.")],
) -> None:
    """Register a lab, or change its name, region or capacity."""
    from fangkong.testing.campaigns import add_lab

    with database() as engine:
        add_lab(engine, code, name, region, capacity)
    out.print(f"实验室 / lab {code}: {capacity} 管/天 / tubes per day")


def _plan_table(rows: list[object], title: str) -> Table:
    table = Table(
        "labs tubes/day",
        "pool",
        "samplers",
        "sampling h",
        "tubes",
        "all results h",
        "settled h",
        "target h",
        "met",
        title=title,
    )
    for p in rows:
        d = p.as_json()  # type: ignore[attr-defined]
        table.add_row(
            str(d["lab_capacity_per_day"]),
            str(d["pool_size"]),
            str(d["samplers"]),
            f"{d['sampling_hours']:.1f}",
            str(d["tubes"]),
            f"{d['results_hours']:.1f}",
            f"{d['settled_hours']:.1f}",
            f"{d['target_hours']:.0f}",
            "yes 是" if d["meets_target"] else "NO 否",
        )
    return table


@app.command("plan")
def plan_command(
    population: Annotated[int | None, typer.Option("--population", help="People to test.")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region (population from the registry).")
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option("--capacity", help="Lab tubes per day (default: the labs registered)."),
    ] = None,
    pool: Annotated[
        int | None, typer.Option("--pool", help="Pool size (default from the pack).")
    ] = None,
) -> None:
    """Plan a mass-testing campaign: points, samplers, completion against the target,
    and the what-if for more labs and each pool size."""
    from fangkong.testing.campaigns import lab_capacity, plan, population_of, what_if

    rules = _rules()
    if population is None or capacity is None:
        with database() as engine:
            if population is None:
                if region is None:
                    raise BadInput(
                        Problem(
                            "value.missing",
                            "请给出 --population 或 --region",
                            "give --population or --region",
                        )
                    )
                population = population_of(engine, region)
            if capacity is None:
                capacity = lab_capacity(engine, region)
    p = plan(population, capacity, rules.campaign, pool_size=pool)
    out.print(
        f"人口 / population {p.population}; 采样点 / sampling points {p.points_min}–"
        f"{p.points_max}; 采样人员 / samplers {p.samplers}; 混采 / pool {p.pool_size}"
    )
    out.print(_plan_table([p], "plan 计划"))
    out.print(_plan_table(list(what_if(population, capacity, rules)), "what if 推演"))


@pooling_app.command("plan")
def pooling_plan_command(
    prevalence: Annotated[float, typer.Option("--prevalence", help="Share infected, 0–1.")],
    sensitivity: Annotated[float, typer.Option("--sensitivity", help="Of one test.")] = 1.0,
    specificity: Annotated[float, typer.Option("--specificity", help="Of one test.")] = 1.0,
    max_size: Annotated[int, typer.Option("--max-size", help="Largest pool searched.")] = 64,
) -> None:
    """Expected tests per person and the best pool size: Dorfman two-stage and the square
    array, from their closed forms; then Dorfman at the pool sizes the pack allows."""
    acc = pooling.Accuracy(sensitivity, specificity)
    sizes = tuple(k for k in _rules().pool_sizes if k > 1)
    table = Table("scheme 方案", "size 规模", "tests/person 人均检测", "saving 节省")
    for row in pooling.plan(prevalence, acc, sizes, max_size):
        label = {
            "dorfman": "Dorfman two-stage 两步混采",
            "array": "square array 矩阵混采",
            "individual": "individual 单检",
        }[row.scheme]
        size = f"{row.size}×{row.size}" if row.scheme == "array" else str(row.size)
        table.add_row(label, size, f"{row.tests_per_person:.4f}", f"{row.saving:.1%}")
    out.print(table)
