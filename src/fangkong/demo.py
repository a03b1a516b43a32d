"""``fangkong demo``: the main job on the embedded default. Grows with every capability.

Today: generate a small synthetic province (the twin's registry: synthetic people only),
create or migrate the database, import regions, venues and persons through the same
service the CLI uses, and print what the database holds.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import Engine, func, select

from fangkong.auth.keys import load_server_keys
from fangkong.auth.service import demo_admin
from fangkong.cli_support import database, out, settings
from fangkong.identity.masking import mask_id, mask_name, mask_phone
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.registry.service import ImportOptions, import_file
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.store.schema import households, persons, regions, venues
from fangkong.twin.registry import generate_registry, write_registry


def _age_band(birth: date, today: date) -> str:
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    for limit, band in ((6, "0-5"), (18, "6-17"), (60, "18-59"), (80, "60-79")):
        if age < limit:
            return band
    return "80+"


def _summary(engine: Engine, sealer: Sealer, today: date) -> None:
    with engine.connect() as conn:
        levels: dict[str, int] = dict(
            conn.execute(select(regions.c.level, func.count()).group_by(regions.c.level)).all()
        )
        vtypes: dict[str, int] = dict(
            conn.execute(select(venues.c.type, func.count()).group_by(venues.c.type)).all()
        )
        n_households = conn.execute(select(func.count()).select_from(households)).scalar_one()
        people = conn.execute(
            select(persons.c.sex, persons.c.birth_date, persons.c.occupation)
        ).all()
        sample = conn.execute(select(persons).order_by(persons.c.id).limit(5)).mappings().all()

    table = Table("区划层级 region level", "数量 count", title="区划 Regions")
    for level in ("province", "city", "county", "township", "community", "compound"):
        table.add_row(level, f"{levels.get(level, 0):,}")
    out.print(table)

    table = Table("场所类型 venue type", "数量 count", title="场所 Venues")
    for vtype, count in sorted(vtypes.items(), key=lambda kv: -kv[1]):
        table.add_row(vtype, f"{count:,}")
    out.print(table)

    sexes = Counter(p.sex for p in people)
    bands = Counter(_age_band(p.birth_date, today) for p in people)
    jobs = Counter(p.occupation for p in people)
    table = Table("人员 persons", "数量 count", title="人口 Persons")
    table.add_row("total 总数", f"{len(people):,}")
    table.add_row("households 户数", f"{n_households:,}")
    if n_households:
        table.add_row("mean household size 户均人口", f"{len(people) / n_households:.2f}")
    table.add_row("male / female 男 / 女", f"{sexes['M']:,} / {sexes['F']:,}")
    for band in ("0-5", "6-17", "18-59", "60-79", "80+"):
        table.add_row(f"age 年龄 {band}", f"{bands[band]:,}")
    for job, count in jobs.most_common(6):
        table.add_row(f"occupation 职业 {job}", f"{count:,}")
    out.print(table)

    table = Table("姓名 name", "证件号 ID", "手机 phone", "性别 sex", "出生 born",
                  title="样例（脱敏）Sample, masked")  # fmt: skip
    for row in sample:
        number = sealer.unseal("document", row["doc_sealed"]).split("|", 2)[2]
        phone = sealer.unseal("phone", row["phone_sealed"]) if row["phone_sealed"] else ""
        table.add_row(mask_name(row["name"]), mask_id(number), mask_phone(phone) if phone else "",
                      row["sex"], row["birth_date"].isoformat())  # fmt: skip
    out.print(table)


def demo_command(
    people: int = typer.Option(2000, "--people", min=50, help="Synthetic persons to generate."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the synthetic province."),
) -> None:
    """Run the main job: build a synthetic province, import it, show what the database holds."""
    cfg = settings()
    with database(cfg) as engine:
        _run_demo(engine, cfg, people, seed)


def _run_demo(engine: Engine, cfg: Settings, people: int, seed: int) -> None:
    today = datetime.now(ZoneInfo(cfg.timezone)).date()
    out.print(f"[bold]fangkong demo[/bold] — 数据目录 data directory: {cfg.home}")
    migrate.upgrade(engine)
    out.print(f"数据库 database: {engine.url.render_as_string(hide_password=True)} "
              f"(schema {migrate.current_revision(engine)})")  # fmt: skip

    folder = cfg.home / "demo"
    registry = generate_registry(people, seed=seed)
    files: dict[str, Path] = write_registry(registry, folder, "csv")
    out.print(f"孪生省份 synthetic province: {people:,} persons, seed {seed} → {folder}")

    sealer = Sealer(load_or_create_key(cfg))
    options = ImportOptions(today=today, phone_region=cfg.phone_region)
    for kind in ("regions", "venues", "persons"):
        r = import_file(engine, kind, files[kind], options, sealer=sealer)
        out.print(f"  import {kind:8} read {r.rows_read:>7,}  inserted {r.inserted:>7,}  "
                  f"updated {r.updated:>6,}  unchanged {r.unchanged:>7,}")  # fmt: skip
    _summary(engine, sealer, today)
    _admin_login(engine, cfg)


def _admin_login(engine: Engine, cfg: Settings) -> None:
    """Give the demo an administrator for the province and print the login once."""
    with engine.connect() as conn:
        province = conn.execute(
            select(regions.c.code).where(regions.c.level == "province").order_by(regions.c.code)
        ).scalar()
    if province is None:
        return
    username, password = demo_admin(engine, load_server_keys(cfg).audit, province)
    out.print(
        f"\n网页与接口 web and API: [bold]fangkong serve[/bold] → http://127.0.0.1:8000  "
        f"登录 login: [bold]{username}[/bold] / [bold]{password}[/bold] "
        "（每次运行 demo 都会重置 / reset on every demo run）"
    )
