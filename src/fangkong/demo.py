"""``fangkong demo``: the main job on the embedded default. Grows with every capability.

Today: generate a synthetic province of 50,000 people (the twin: synthetic people only),
create or migrate the database, import regions, venues and persons through the same
service the CLI uses, print what the database holds, then run the twin's outbreak for
30 days with the reference response (and once without, to score it), printing a line
a day; finally give the web service an administrator and print its login.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer
from rich.table import Table
from sqlalchemy import Engine, func, select

from fangkong import clock
from fangkong.alerts.demo_feed import AlertFeed, managed_before
from fangkong.alerts.demo_feed import summary as alert_summary
from fangkong.alerts.rules import AlertRules
from fangkong.arrivals.demo_feed import ArrivalsFeed
from fangkong.auth.keys import load_server_keys
from fangkong.auth.service import demo_admin
from fangkong.cli_support import database, out, settings
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.service import CodeContext, FactInput, recompute_all
from fangkong.healthcode.tables import health_codes
from fangkong.identity.masking import mask_id, mask_name, mask_phone
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.quarantine.demo_feed import QuarantineFeed
from fangkong.registry.service import ImportOptions, import_file
from fangkong.riskareas.demo_feed import RiskAreaFeed, forecast_summary
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.store.schema import households, persons, regions, venues
from fangkong.testing.demo_feed import TestingFeed
from fangkong.tracing.twin_feed import DayCounts, TracingFeed
from fangkong.twin.events import DayEvents
from fangkong.twin.ids import person_ids as _person_ids
from fangkong.twin.registry import Registry, generate_registry, write_registry
from fangkong.twin.response import ReferenceResponse
from fangkong.twin.scenario import default_scenario
from fangkong.twin.score import Score, read_truth, score
from fangkong.twin.sim import Twin, write_run


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
    people: int = typer.Option(20_000, "--people", min=50, help="Synthetic persons to generate."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the synthetic province."),
    days: int = typer.Option(21, "--days", min=0, help="Days of the outbreak to simulate."),
) -> None:
    """Run the main job: a synthetic province → the database → its outbreak, day by day."""
    cfg = settings()
    with database(cfg) as engine:
        registry = _run_demo(engine, cfg, people, seed)
        if days:
            _outbreak(engine, cfg, registry, seed, days)
        _admin_login(engine, cfg)


def _day_line(events: DayEvents, isolated: int, colours: dict[str, int]) -> str:
    positives = int(pc.sum(events.test_results["positive"]).as_py() or 0)
    sales = events.pharmacy_sales.num_rows
    return (
        f"  第 {events.day:>2} 天 day {events.day:>2}"
        f" │ 扫码 check-ins {events.checkins.num_rows:>9,}"
        f" │ 发热门诊 fever clinic {events.fever_clinic_visits.num_rows:>4,}"
        f" │ 购药 medicine {sales:>5,} │ 检测 tests {events.test_results.num_rows:>6,}"
        f" 阳性 positive {positives:>4,} │ 入境 arrivals {events.travellers.num_rows:>4,}"
        f" │ 管控 isolated {isolated:>5,}"
        f" │ 健康码 codes 红 red {colours['red']:>5,} 黄 yellow {colours['yellow']:>5,}"
        f" │ 真值 truth: 新感染 infected {events.truth.num_rows:>5,}"
    )


class _CodeFeed:
    """Hands the twin's observables and the response's orders to the health codes.

    Positive results become test facts, isolations case facts, household quarantines
    close-contact exposures — as a lab system and a tracer would record them — and the
    codes are recomputed at the end of each simulated day.
    """

    def __init__(self, engine: Engine, cfg: Settings, twin: Twin, registry: Registry) -> None:
        self.engine = engine
        self.ctx = CodeContext.from_settings(cfg)
        self.tz = ZoneInfo(twin.scenario.run.timezone)
        self.start = twin.scenario.run.start_date
        self.ids = _person_ids(engine, self.ctx.sealer, registry)
        self.total = int((self.ids > 0).sum())

    def day_start(self, day: int) -> datetime:
        local = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return local.astimezone(UTC)

    def feed(self, events: DayEvents, orders: pa.Table) -> dict[str, int]:
        facts: list[tuple[int, FactInput]] = []
        positives = events.test_results.filter(pc.field("positive"))
        for k, r in enumerate(
            positives.select(["person", "sample_time", "result_time"]).to_pylist()
        ):
            detail = {"result": "positive", "reported_at": r["result_time"].isoformat(),
                      "sample_id": f"twin-{events.day}-{k}"}  # fmt: skip
            facts.append(self._fact(r["person"], "test", r["sample_time"], detail, events.day, k))
        start = self.day_start(events.day)
        for k, r in enumerate(orders.filter(pc.field("day") == events.day).to_pylist()):
            kind, detail = (
                ("case", {"status": "confirmed"}) if r["action"] == "isolate"
                else ("close_contact", {})
            )  # fmt: skip
            facts.append(self._fact(r["person"], kind, start, detail, events.day, -1 - k))
        facts = [f for f in facts if f[0] > 0]
        record_facts(self.engine, facts, recorded_by="twin", now=start)
        recompute_all(self.engine, self.ctx, self.day_start(events.day + 1), trigger="day")
        with self.engine.connect() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(health_codes.c.colour, func.count()).group_by(health_codes.c.colour)
                ).all()
            )
        return {"red": counts.get("red", 0), "yellow": counts.get("yellow", 0)}

    def _fact(
        self, person: int, kind: str, at: datetime, detail: dict[str, str], day: int, k: int
    ) -> tuple[int, FactInput]:
        event = f"twin-{day}-{k}-{kind}-{person}"
        return int(self.ids[person]), FactInput(kind, at, None, detail, event)


def _outbreak(engine: Engine, cfg: Settings, registry: Registry, seed: int, days: int) -> None:
    """Run the twin's outbreak with the reference response and without, and score it.

    The response's world feeds the health codes day by day. Events go to
    ``{home}/demo/run`` as Parquet by day for the capabilities that read them; the
    ground truth stays in ``truth/`` and is read only by the score.
    """
    folder = cfg.home / "demo"
    scenario = default_scenario()
    runs = {"run": folder / "run", "baseline": folder / "baseline"}
    for path in runs.values():
        shutil.rmtree(path, ignore_errors=True)
    out.print(f"\n[bold]疫情模拟 outbreak[/bold]: {days} 天 days, 情景 scenario default, "
              f"种子 seed {seed} → {runs['run']}")  # fmt: skip
    twin = Twin.from_registry(registry, scenario, seed=seed)
    response = ReferenceResponse(twin)
    codes = _CodeFeed(engine, cfg, twin, registry)
    out.print(f"健康码 health codes: 政策包 pack {codes.ctx.pack.name} {codes.ctx.pack.version}")
    warning = AlertFeed.build(engine, AlertRules.from_pack(codes.ctx.pack), registry, scenario)
    warning.history(registry, scenario, seed, detect=False)  # the detectors' baseline

    # contact tracing (流调): the day's positives become cases, their contacts exposure
    # facts; the codes' recompute below turns them red
    tracing = TracingFeed(engine, codes.ctx, twin, registry, ids=codes.ids, recompute=False)
    traced: list[tuple[DayCounts, float]] = []
    # risk areas (风险区): suggested areas designated, due ones lifted; codes recomputed below
    areas = RiskAreaFeed(engine, codes.ctx)
    # quarantine (集中隔离): facilities for the province; traced contacts placed, periods ended
    rooms = QuarantineFeed.build(engine, codes.ctx, seed)
    # arrivals (入境闭环): the twin's travellers by manifest, landing tests, transfers, the job
    arrivals = ArrivalsFeed(engine, codes.ctx, registry, codes.start, codes.tz)
    # testing (核酸检测): the twin's samples in tubes, custody to county labs, results, retests
    labs = TestingFeed(engine, codes.ctx, registry, codes.ids, codes.start, codes.tz)

    def on_day(events: DayEvents) -> None:
        orders = response.decisions()
        tic = perf_counter()
        traced.append((tracing.feed(events), perf_counter() - tic))
        area_day = areas.day(codes.day_start(events.day + 1))
        q_day = rooms.day(codes.day_start(events.day + 1))
        arrived = arrivals.day(events)  # before the codes' recompute: arrival facts count
        tested = labs.day(events)  # before the codes' recompute: result facts count
        colours = codes.feed(events, orders)
        warning.day(events, managed_before(orders, len(codes.ids), events.day))
        out.print(_day_line(events, orders.num_rows, colours) + _traced_line(traced[-1][0])
                  + f" │ 风险区 areas 高 high {area_day.high} 中 medium {area_day.medium}"
                  f" (+{area_day.designated} −{area_day.lifted})"
                  f" │ 隔离 rooms {q_day.occupied} (+{q_day.placed} −{q_day.released}"
                  f" 无房 no room {q_day.no_room})" + arrived.line() + tested.line())  # fmt: skip

    write_run(twin, days, runs["run"], interventions_fn=response, on_day=on_day)
    decisions = response.decisions()
    pq.write_table(decisions, runs["run"] / "decisions.parquet")
    write_run(Twin.from_registry(registry, scenario, seed=seed), days, runs["baseline"])
    result = score(read_truth(runs["run"]), decisions, baseline=read_truth(runs["baseline"]),
                   found=tracing.found_pairs())  # fmt: skip
    title = "孪生评分（对照无干预）Score against no control"
    table = Table("指标 measure", "值 value", title=title)
    table.add_row("感染 infections (with response)", f"{result.infections:,}")
    table.add_row("无干预感染 infections without control", f"{result.baseline_infections or 0:,}")
    if result.averted_share is not None:
        table.add_row("避免比例 averted share", f"{result.averted_share:.1%}")
    table.add_row("管控中感染 infections by isolated infectors", f"{result.in_control_share:.1%}")
    out.print(table)
    _tracing_summary(result, traced)
    for line in alert_summary(engine, warning):  # early warning: alerts and the first case
        out.print(line)
    for line in rooms.summary(codes.day_start(days)):  # rooms used, readiness per county
        out.print(line)
    for item in arrivals.summary(codes.day_start(days)):  # the arrivals board at the end
        out.print(item)
    for line in labs.summary(codes.day_start(days)):  # campaigns, results, retests, overdue
        out.print(line)
    out.print(forecast_summary(engine, codes.ctx, codes.day_start(days), folder / "forecast.png"))


def _traced_line(day: DayCounts) -> str:
    return (f" │ 流调 traced: 病例 cases {day.new_cases:>3,} 密接 close {day.close_contacts:>4,}"
            f" 次密接 contacts of close {day.contacts_of_contacts:>4,}")  # fmt: skip


def _tracing_summary(result: Score, traced: list[tuple[DayCounts, float]]) -> None:
    """Contact tracing over the run: counts, time, and the close contacts found against
    the twin's true infector → infectee pairs (recall; precision is low by nature: most
    close contacts are not infected)."""
    table = Table("流调 contact tracing", "值 value", title="流调评分 Tracing against the truth")
    for name, field in (("病例 cases", "new_cases"), ("密接 close contacts", "close_contacts"),
                        ("次密接 contacts of close contacts", "contacts_of_contacts"),
                        ("一般接触 general contacts", "general_contacts")):  # fmt: skip
        table.add_row(name, f"{sum(getattr(d, field) for d, _ in traced):,}")
    table.add_row("用时 time", f"{sum(s for _, s in traced):.1f} s")
    for name, value in (("召回 recall of true pairs", result.contact_recall),
                        ("精确 precision", result.contact_precision)):  # fmt: skip
        table.add_row(name, "-" if value is None else f"{value:.2%}")
    out.print(table)


def _run_demo(engine: Engine, cfg: Settings, people: int, seed: int) -> Registry:
    today = clock.today(ZoneInfo(cfg.timezone))
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
    return registry


def _admin_login(engine: Engine, cfg: Settings) -> None:
    """Give the demo an administrator for the province and print the login once."""
    with engine.connect() as conn:
        province = conn.execute(
            select(regions.c.code).where(regions.c.level == "province").order_by(regions.c.code)
        ).scalar()
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
