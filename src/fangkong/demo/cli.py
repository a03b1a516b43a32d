"""``fangkong demo``: the main job on the embedded default.

Generate a synthetic province (the twin: synthetic people only), create or migrate the
database, import its regions, venues and persons through the same service the CLI uses,
print what the database holds, then run the province loop (``fangkong.demo.loop``) for
``--days`` days beside two reference arms and print the score against the twin's truth
(``fangkong.demo.run``); finally give the web service two logins and print them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong import clock
from fangkong.audit.anchor import anchor_paths
from fangkong.auth.users import demo_admin
from fangkong.cli_support import database, out, settings
from fangkong.demo.province import import_registry
from fangkong.demo.run import run_outbreak
from fangkong.demo.summary import AGE_BANDS, holds_cases, province_code, store_summary
from fangkong.errors import BadInput, Problem
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.keys import load_server_keys
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.twin.registry import Registry, generate_registry
from fangkong.twin.scenario import default_scenario


def _summary(engine: Engine, sealer: Sealer, today: date) -> None:
    held = store_summary(engine, sealer, today)
    table = Table("区划层级 region level", "数量 count", title="区划 Regions")
    for level in ("province", "city", "county", "township", "community", "compound"):
        table.add_row(level, f"{held.levels.get(level, 0):,}")
    out.print(table)

    table = Table("场所类型 venue type", "数量 count", title="场所 Venues")
    for vtype, count in sorted(held.venue_types.items(), key=lambda kv: -kv[1]):
        table.add_row(vtype, f"{count:,}")
    out.print(table)

    n_households = held.households
    table = Table("人员 persons", "数量 count", title="人口 Persons")
    table.add_row("total 总数", f"{held.persons:,}")
    table.add_row("households 户数", f"{n_households:,}")
    if n_households:
        table.add_row("mean household size 户均人口", f"{held.persons / n_households:.2f}")
    table.add_row("male / female 男 / 女", f"{held.sexes['M']:,} / {held.sexes['F']:,}")
    for band in AGE_BANDS:
        table.add_row(f"age 年龄 {band}", f"{held.age_bands[band]:,}")
    for job, count in held.occupations.most_common(6):
        table.add_row(f"occupation 职业 {job}", f"{count:,}")
    out.print(table)

    table = Table("姓名 name", "证件号 ID", "手机 phone", "性别 sex", "出生 born",
                  title="样例（脱敏）Sample, masked")  # fmt: skip
    for row in held.sample:
        table.add_row(*row)
    out.print(table)


def demo_command(
    people: int = typer.Option(20_000, "--people", min=50, help="Synthetic persons to generate."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the synthetic province."),
    days: int = typer.Option(21, "--days", min=0, help="Days of the outbreak to simulate."),
) -> None:
    """Run the main job: a synthetic province → the database → the province loop, day by day."""
    cfg = settings()
    _fresh_store(cfg)
    with database(cfg) as engine:
        registry = _run_demo(engine, cfg, people, seed)
        if days:
            run_outbreak(engine, cfg, registry, seed, days)
        _admin_login(engine, cfg)


def _fresh_store(cfg: Settings) -> None:
    """The demo replays an outbreak from its first day, so it needs a store without one:
    its own SQLite file in ``{home}`` is made anew; any other database must hold no
    operational records yet (nothing of anyone else's is ever deleted)."""
    default = f"sqlite:///{cfg.home}/fangkong.db"
    if cfg.database_url == default:
        for suffix in ("", "-wal", "-shm"):
            (cfg.home / f"fangkong.db{suffix}").unlink(missing_ok=True)
        # the old log's checkpoints would read as a wiped log against the new database
        anchor_paths(cfg)[0].unlink(missing_ok=True)
        return
    from fangkong.store.engine import make_engine

    engine = make_engine(cfg.database_url)
    try:
        migrate.upgrade(engine)
        used = holds_cases(engine)
    finally:
        engine.dispose()
    if used:
        raise BadInput(Problem(
            "demo.store_in_use",
            "演示需要一个没有疫情记录的数据库：FANGKONG_DATABASE_URL 指向的数据库已有病例记录，"
            "请换用一个新数据库（演示自己的 SQLite 文件每次都会重建）",
            "the demo needs a database without an outbreak: the one FANGKONG_DATABASE_URL "
            "names already holds cases; point it at a new database (the demo's own SQLite "
            "file is made anew on every run)",
        ))  # fmt: skip


def _run_demo(engine: Engine, cfg: Settings, people: int, seed: int) -> Registry:
    out.print(f"[bold]fangkong demo[/bold] — 数据目录 data directory: {cfg.home}")
    migrate.upgrade(engine)
    out.print(f"数据库 database: {engine.url.render_as_string(hide_password=True)} "
              f"(schema {migrate.current_revision(engine)})")  # fmt: skip
    # the demo is a replay: the system clock stands at the province's first day, so
    # imports, pages and jobs read the data's own time (the persons file is as of then)
    scenario = default_scenario()
    tz = ZoneInfo(scenario.run.timezone)
    start = datetime.combine(scenario.run.start_date, time(0), tz)
    clock.set_replay(engine, start, by="demo")
    today = clock.today(tz)

    folder = cfg.home / "demo"
    registry = generate_registry(people, seed=seed)
    sealer = Sealer(load_or_create_key(cfg))
    imported = import_registry(engine, registry, folder, sealer, today=today,
                               phone_region=cfg.phone_region)  # fmt: skip
    out.print(f"孪生省份 synthetic province: {people:,} persons, seed {seed} → {folder}")
    for kind, r in imported.items():
        out.print(f"  import {kind:8} read {r.rows_read:>7,}  inserted {r.inserted:>7,}  "
                  f"updated {r.updated:>6,}  unchanged {r.unchanged:>7,}")  # fmt: skip
    _summary(engine, sealer, today)
    return registry


def _admin_login(engine: Engine, cfg: Settings) -> None:
    """Give the demo an administrator for the province and print the login once."""
    province = province_code(engine)
    if province is None:
        return
    key = load_server_keys(cfg).audit
    username, password = demo_admin(engine, key, province)
    epi, epi_password = demo_admin(engine, key, province, username="epi", role="epidemiologist")
    out.print(
        f"\n网页与接口 web and API: [bold]fangkong serve[/bold] → http://127.0.0.1:8000  "
        f"登录 login: [bold]{username}[/bold] / [bold]{password}[/bold] "
        "（用户、令牌、审计 users, tokens, audit）; "
        f"[bold]{epi}[/bold] / [bold]{epi_password}[/bold] "
        "（疾控：健康码、流调、隔离、预警、风险区、检测、入境 epidemiologist: codes, tracing, "
        "quarantine, alerts, risk areas, testing, arrivals）"
        "（每次运行 demo 都会重置 / reset on every demo run）"
    )


def generate_facilities_command(
    facilities: Annotated[Path, typer.Argument(help="Facilities CSV to write.")],
    sites: Annotated[Path | None, typer.Option("--sites", help="Candidate sites CSV.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    coverage: Annotated[float, typer.Option("--coverage", help="Share of the norm.")] = 1.0,
) -> None:
    """A realistic facility file for the province in the store (e.g. the twin's).

    Mounted as ``fangkong quarantine generate`` by the root CLI: synthetic facilities are a
    demo feed, so the command lives with the demo and the quarantine package never
    imports it."""
    from fangkong.demo.facilities import generate, write_facilities, write_sites
    from fangkong.policy import load_pack
    from fangkong.quarantine.rules import QuarantineRules

    cfg = settings()
    rules = QuarantineRules.from_pack(load_pack(cfg.policy_pack))
    with database(cfg) as engine:
        made, candidates = generate(engine, rules, seed=seed, coverage=coverage)
    write_facilities(facilities, made)
    if sites is not None:
        write_sites(sites, candidates)
    out.print(
        f"{len(made)} 个场所 facilities → {facilities}"
        + (f"; {len(candidates)} 个备选场地 sites → {sites}" if sites else "")
    )
