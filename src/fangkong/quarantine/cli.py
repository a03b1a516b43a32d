"""`fangkong quarantine ...` — thin callers of the quarantine services (集中隔离)."""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from fangkong import clock
from fangkong.cli_support import database, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.policy import load_pack
from fangkong.quarantine.rules import QuarantineRules
from fangkong.settings import Settings

app = typer.Typer(
    help="Quarantine facilities, placement, follow-up, readiness, site survey. 集中隔离.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
survey_app = typer.Typer(
    help="Candidate sites (方舱医院潜力调查): import, ranked list.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(survey_app, name="survey")


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _rules(cfg: Settings) -> QuarantineRules:
    return QuarantineRules.from_pack(load_pack(cfg.policy_pack))


def _time(text: str | None, tz: ZoneInfo) -> datetime:
    if text is None:
        return clock.now()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            Problem(
                "value.invalid",
                f"无法识别的时间 {text!r}（如 2026-11-20T10:00）",
                f"not a time: {text!r} (e.g. 2026-11-20T10:00)",
            )
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _local(t: datetime | None, tz: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Facilities file, CSV or Parquet.")],
    encoding: Annotated[str, typer.Option("--encoding", help="CSV text encoding.")] = "utf-8",
) -> None:
    """Import facilities and their rooms (one transaction; bad rows → FILE.errors.csv)."""
    from fangkong.quarantine.facilities import import_facilities

    with database() as engine:
        r = import_facilities(engine, path, by=_who(), encoding=encoding)
    out.print(
        f"{r.rows_read} 行 rows: {r.inserted} 新增 inserted, {r.updated} 更新 updated, "
        f"{r.rooms_added} 房间 rooms added"
    )


@app.command("facilities")
def facilities_command(
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
) -> None:
    """Facilities with their rooms in service and free rooms by kind."""
    from fangkong.quarantine.facilities import list_facilities

    with database() as engine:
        found = list_facilities(engine, region_codes=[region] if region else None)
    table = Table(
        "code",
        "name 名称",
        "kind",
        "status 状态",
        "region",
        "rooms 房间",
        "free 空闲",
        title=f"{len(found)} 个隔离场所 / facilities",
    )
    for f in found:
        table.add_row(
            f.code,
            f.name,
            f.kind,
            f.status,
            f.region_code,
            str(sum(f.rooms.values())),
            str(sum(f.free.values())),
        )
    out.print(table)


@app.command("status")
def status_command(
    code: Annotated[str, typer.Argument(help="Facility code.")],
    status: Annotated[str, typer.Argument(help="standby, activating, open or closing.")],
) -> None:
    """Move a facility to another status."""
    from fangkong.quarantine.facilities import set_status

    with database() as engine:
        old = set_status(engine, code, status, by=_who())
    out.print(f"{code}: {old} → {status}")


@app.command("place")
def place_command(
    persons: Annotated[list[int], typer.Argument(help="Person ids (one household together).")],
    group: Annotated[str, typer.Option("--group", help="Risk group of the pack.")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="centralised, home_quarantine or home_monitoring (default: the pack's)."
        ),
    ] = None,
    accessible: Annotated[bool, typer.Option("--accessible")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Period anchor (ISO time).")] = None,
) -> None:
    """Place people; prints the room (or home) of each."""
    from fangkong.quarantine.placement import place
    from fangkong.quarantine.terms import PlacementRequest

    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    start = _time(since, tz) if since else None
    pack = load_pack(cfg.policy_pack)
    reqs = [
        PlacementRequest(p, group, kind, needs_accessible=accessible, starts_at=start)
        for p in persons
    ]
    with database(cfg) as engine:
        done = place(
            engine, reqs, QuarantineRules.from_pack(pack), by=_who(), tz=tz, pack_ref=pack.ref
        )
    table = Table(
        "person", "outcome 结果", "placement", "kind", "facility 场所", "room 房间", "until 至"
    )
    for a in done:
        table.add_row(
            str(a.person_id),
            a.outcome,
            str(a.placement_id or "—"),
            a.kind or "—",
            a.facility_name or "—",
            a.room_code or "—",
            _local(a.planned_end, tz),
        )
    out.print(table)
    if any(a.outcome == "no_room" for a in done):
        raise typer.Exit(1)


@app.command("check")
def check_command(
    placement: Annotated[int, typer.Argument(help="Placement id.")],
    day: Annotated[str, typer.Option("--day", help="Local date, YYYY-MM-DD.")],
    temperature: Annotated[float | None, typer.Option("--temperature")] = None,
    symptoms: Annotated[str, typer.Option("--symptoms")] = "",
    not_done: Annotated[bool, typer.Option("--not-done")] = False,
) -> None:
    """Record a daily health check (abnormal when feverish or symptomatic)."""
    from fangkong.quarantine.checks import record_check

    cfg = settings()
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise BadInput(
            Problem("value.invalid", f"无法识别的日期 {day!r}", f"not a date: {day!r}")
        ) from None
    with database(cfg) as engine:
        status = record_check(
            engine,
            placement,
            when,
            _rules(cfg),
            by=_who(),
            status="not_done" if not_done else "done",
            temperature=temperature,
            symptoms=symptoms,
        )
    out.print(f"placement {placement} {when}: {status}")


@app.command("test")
def record_test_command(
    placement: Annotated[int, typer.Argument(help="Placement id.")],
    day_number: Annotated[int, typer.Option("--day-number", help="Day of the schedule.")],
    result: Annotated[str, typer.Option("--result", help="negative, positive or pending.")],
    sampled: Annotated[
        str | None, typer.Option("--sampled", help="ISO time (default now).")
    ] = None,
) -> None:
    """Record a scheduled test; a positive converts the person to a case (traced next)."""
    from fangkong.quarantine.scheduled_tests import record_test
    from fangkong.tracing.rules import ContactRules

    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    pack = load_pack(cfg.policy_pack)
    with database(cfg) as engine:
        outcome = record_test(
            engine,
            placement,
            day_number=day_number,
            sampled_at=_time(sampled, tz),
            result=result,
            by=_who(),
            contact_rules=ContactRules.from_pack(pack),
            tz=tz,
        )
    extra = f"; 转为病例 converted: case {outcome.case_id}" if outcome.converted else ""
    out.print(f"test {outcome.test_id}: {result}{extra}")


@app.command("release")
def release_command(
    placement: Annotated[int, typer.Argument(help="Placement id.")],
) -> None:
    """Release at the end of the period with the final negative test; the next phase starts."""
    from fangkong.quarantine.ending import release

    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    pack = load_pack(cfg.policy_pack)
    with database(cfg) as engine:
        done = release(
            engine, placement, QuarantineRules.from_pack(pack), by=_who(), tz=tz, pack_ref=pack.ref
        )
    nxt = (
        f"; 下一阶段 next: {done.next_kind} #{done.next_placement_id} "
        f"至 until {_local(done.next_end, tz)}"
        if done.next_placement_id
        else ""
    )
    out.print(f"placement {placement}: 已解除 released{nxt}")


@app.command("extend")
def extend_command(
    placement: Annotated[int, typer.Argument(help="Placement id.")],
    days: Annotated[int, typer.Option("--days", help="Days to add (negative: shorten).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")],
) -> None:
    """Extend or shorten a period, with a reason."""
    from fangkong.quarantine.periods import change_period

    cfg = settings()
    with database(cfg) as engine:
        change = change_period(engine, placement, days=days, reason=reason, by=_who(),
                               longest_days=_rules(cfg).longest_days())  # fmt: skip
    tz = ZoneInfo(cfg.timezone)
    out.print(f"placement {placement}: {_local(change.old_end, tz)} → {_local(change.new_end, tz)}")


@app.command("abscond")
def abscond_command(
    placement: Annotated[int, typer.Argument(help="Placement id.")],
    note: Annotated[str, typer.Option("--note")] = "",
) -> None:
    """Record that a person left without release (raises an alert)."""
    from fangkong.quarantine.ending import abscond

    with database() as engine:
        alert = abscond(engine, placement, by=_who(), note=note)
    out.print(f"placement {placement}: 脱管 absconded; alert {alert}")


@app.command("alerts")
def alerts_command() -> None:
    """Open alerts: absconded, abnormal checks, missed checks, positive tests, not placed
    by the deadline."""
    from fangkong.quarantine.alerts import open_alerts

    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    with database(cfg) as engine:
        found = open_alerts(engine)
    table = Table(
        "alert",
        "kind",
        "placement",
        "person",
        "at",
        "deadline 时限",
        "detail",
        title=f"{len(found)} 条未处理预警 / open alerts",
    )
    for a in found:
        table.add_row(
            str(a.id),
            a.kind,
            "—" if a.placement_id is None else str(a.placement_id),
            str(a.person_id),
            _local(a.at, tz),
            _local(a.due_at, tz),
            a.detail,
        )
    out.print(table)


@app.command("readiness")
def readiness_command(
    level: Annotated[
        str | None, typer.Option("--level", help="county (pack default), city...")
    ] = None,
    within: Annotated[str | None, typer.Option("--within", help="Only under this region.")] = None,
) -> None:
    """Demand against all capacity per region: people awaiting a room (and overdue), rooms
    against the norm (pack: 20 per 10,000), activating, standby, fangcang, convertible."""
    from fangkong.quarantine.readiness import capacity_by_region

    cfg = settings()
    rules = _rules(cfg)
    with database(cfg) as engine:
        rows = capacity_by_region(engine, rules, level=level, within=within)
    table = Table(
        "region",
        "name",
        "population",
        "rooms",
        "norm",
        "per 10k",
        "ok",
        "awaiting",
        "overdue",
        "available",
        "occupied",
        "activating",
        "standby",
        "fangcang",
        "convertible",
        "days left",
        title=f"准备情况 readiness (norm {rules.readiness.rooms_per_10000:g}/10,000)",
    )
    for r in rows:
        table.add_row(
            r.region_code,
            r.name,
            str(r.population),
            str(r.rooms),
            f"{r.norm_rooms:.0f}",
            "—" if r.per_10000 is None else f"{r.per_10000:.1f}",
            "✓" if r.meets_norm else "✗",
            str(r.awaiting),
            str(r.overdue),
            str(r.available),
            str(r.occupied),
            str(r.activating),
            str(r.standby),
            str(r.fangcang),
            str(r.convertible),
            "—" if r.days_left is None else f"{r.days_left:.1f}",
        )
    out.print(table)


_AT = typer.Option("--at", help="The job's time (ISO 8601; default now).")


def _run_job(job: Any, at: str | None) -> Any:
    """Run one of the daily jobs (intake, releases, discharges) at ``at``, codes after."""
    from fangkong.healthcode.context import CodeContext

    cfg = settings()
    ctx = CodeContext.from_settings(cfg)
    with database(cfg) as engine:
        return job(engine, ctx, _rules(cfg), at=_time(at, ctx.tz), by=_who(), recompute=True)


@app.command("intake")
def intake_command(at: Annotated[str | None, _AT] = None) -> None:
    """The intake job (安置作业): place everyone due, along the surge ladder (pack)."""
    from fangkong.quarantine.intake import run_intake

    r = _run_job(run_intake, at)
    placed = ", ".join(f"{k} {n}" for k, n in sorted(r.placed.items())) or "0"
    out.print(
        f"安置 placed: {placed}; 居家 home {r.home_orders} (无房 fallback {r.home_fallback}); "
        f"跨县 transferred {r.transferred}; 待安置 awaiting {r.awaiting}; 超时 overdue "
        f"{r.overdue}; 启用 activated: 备用 standby {r.standby_activated}, 方舱 fangcang "
        f"{r.fangcang_activated}; 病例收治 cases isolated {r.cases_isolated} (waiting "
        f"{r.cases_waiting}); 预警 alerts +{r.alerts_raised} −{r.alerts_resolved}"
    )


@app.command("releases")
def releases_command(at: Annotated[str | None, _AT] = None) -> None:
    """The release job: scheduled tests from single-tube results; periods ended."""
    from fangkong.quarantine.releases import run_releases

    r = _run_job(run_releases, at)
    out.print(
        f"检测记录 tests recorded {r.recorded} (阳性转病例 converted {r.converted}); 解除 "
        f"released {r.released} (next phase {r.next_phases}); 待检测 waiting for a test "
        f"{r.waiting_test}"
    )


@app.command("discharges")
def discharges_command(at: Annotated[str | None, _AT] = None) -> None:
    """Discharge cases meeting the pack's criterion (Ct, consecutive, gap); order tests."""
    from fangkong.quarantine.discharge import run_discharges

    r = _run_job(run_discharges, at)
    out.print(
        f"出院 discharged {r.discharged} (居家监测 home monitoring {r.monitoring}); 隔离中 "
        f"in isolation {r.in_isolation}; 检测任务 test orders {r.orders}"
    )


@survey_app.command("import")
def survey_import_command(
    path: Annotated[Path, typer.Argument(help="Candidate sites, CSV or Parquet.")],
) -> None:
    """Import candidate sites (one transaction; bad rows → FILE.errors.csv)."""
    from fangkong.quarantine.survey import import_sites

    with database() as engine:
        n = import_sites(engine, path, by=_who())
    out.print(f"{n} 个备选场地 sites imported")


@survey_app.command("rank")
def survey_rank_command(
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
) -> None:
    """Candidate sites ranked by score: beds, what opening adds, activation days."""
    from fangkong.quarantine.survey import list_sites, rank_sites

    cfg = settings()
    rules = _rules(cfg)
    with database(cfg) as engine:
        ranked = rank_sites(list_sites(engine, [region] if region else None), rules.survey)
    table = Table(
        "rank",
        "code",
        "name",
        "type",
        "region",
        "beds 床位",
        "score 得分",
        "activation 启用天数",
        f"≤{rules.survey.target_activation_days} d",
        title="方舱医院潜力调查 / site survey",
    )
    for i, s in enumerate(ranked, 1):
        table.add_row(
            str(i),
            s.site.code,
            s.site.name,
            s.site.site_type,
            s.site.region_code,
            str(s.beds),
            f"{s.score:.1f}",
            str(s.activation_days),
            "✓" if s.meets_target else "✗",
        )
    out.print(table)
