"""A whole demo run: the province loop, the two reference arms, the score, the files.

Three arms of the same province and seed: the **platform** (the province loop: the
platform's own decisions drive the twin), **no control** (the twin alone) and the
**reference response** (``fangkong.twin.response``: isolate positives, quarantine their
households at home, test their compound — the least a platform would do). The score is
the platform arm's infections against no control, in the twin's truth; the reference arm
is printed beside it for comparison. ``{home}/demo/report.json`` and ``cases.csv`` are
written for scripts (docs/formats.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.table import Table
from sqlalchemy import Engine, func, select

from fangkong.cli_support import out
from fangkong.command.model import KIND
from fangkong.demo.areas import forecast_summary
from fangkong.demo.loop import CAPABILITIES, LoopDay, ProvinceLoop
from fangkong.demo.report import (
    TASK_OUTCOMES,
    TruthChecks,
    codes_by_colour,
    confirmed_day,
    cost_figures,
    task_outcomes,
    truth_checks,
    write_cases_csv,
    write_report,
)
from fangkong.demo.warning import summary as alert_summary
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.tables import quarantine_placements
from fangkong.settings import Settings
from fangkong.tracing.control import case_origins
from fangkong.twin.registry import Registry
from fangkong.twin.response import ReferenceResponse
from fangkong.twin.scenario import Scenario, default_scenario
from fangkong.twin.score import Score, read_truth, score
from fangkong.twin.sim import Twin, write_run


@dataclass(frozen=True)
class RunResult:
    loop: ProvinceLoop
    score: Score
    reference: Score
    checks: TruthChecks
    report: Path
    cases: Path


def day_line(d: LoopDay) -> str:
    f = d.figures
    c = f.codes
    return (
        f"  第 {f.day:>2} 天 day {f.day:>2} {f.date:%m-%d}"
        f" │ 真值 truth 新感染 infected {f.infections:>4,}"
        f" │ 确诊 confirmed {f.confirmed:>3,} (管控中 under control {f.under_control:>3,}"
        f" 社会面 community {f.community:>3,})"
        f" │ 健康码 codes 红 red {c.get('red', 0):>5,} 黄 yellow {c.get('yellow', 0):>5,}"
        f" │ 管控 controls 集中 central {f.isolated:>4,} 居家 home {f.home:>4,}"
        f" 封控 sealed {f.sealed_residents:>5,}"
        f" │ 扫码 check-ins {f.checkins:>7,} 拒入 refused {f.refused_scans:>5,}"
        + d.labs.line()
        + f" │ 流调 traced 病例 cases {d.traced.new_cases:>3,} 密接 close"
        f" {d.traced.close_contacts:>4,} 次密接 contacts of close"
        f" {d.traced.contacts_of_contacts:>4,}"
        f" │ 风险区 areas 高 high {d.areas.high} 中 medium {d.areas.medium}"
        f" │ 隔离 rooms {d.rooms.occupied:,} (+{d.rooms.placed} 居家 home +{d.rooms.home}"
        f" −{d.rooms.released} 出院 discharged {d.rooms.discharged} 待安置 waiting"
        f" {d.rooms.no_room} 超时 overdue {d.rooms.overdue})"
        + d.arrivals.line()
        + "".join(x.line() for x in (d.checkpoints, d.supply, d.care) if x is not None)
    )


def run_outbreak(
    engine: Engine, cfg: Settings, registry: Registry, seed: int, days: int,
    scenario: Scenario | None = None,
) -> RunResult:  # fmt: skip
    """Run the three arms for ``days`` days, print the days and the summary, write the
    report files."""
    folder = cfg.home / "demo"
    scenario = scenario or default_scenario()
    ctx = CodeContext.from_settings(cfg)
    out.print(f"\n[bold]省级闭环 province loop[/bold]: {days} 天 days, 情景 scenario default, "
              f"种子 seed {seed}, 政策包 pack {ctx.pack.ref} → {folder / 'run'}")  # fmt: skip
    loop = ProvinceLoop(engine, ctx, registry, scenario, seed, folder / "run", briefings=True)
    loop.run(days, on_day=lambda d: out.print(day_line(d)))

    truth = read_truth(folder / "run")
    write_run(Twin.from_registry(registry, scenario, seed=seed), days, folder / "baseline")
    ref_twin = Twin.from_registry(registry, scenario, seed=seed)
    response = ReferenceResponse(ref_twin)
    write_run(ref_twin, days, folder / "reference", interventions_fn=response)
    baseline = read_truth(folder / "baseline")
    result = score(truth, loop.adapter.decisions(), baseline=baseline,
                   found=loop.tracing.found_pairs())  # fmt: skip
    reference = score(read_truth(folder / "reference"), response.decisions(), baseline=baseline)

    origins = case_origins(engine, loop.seal_levels)
    rows = loop.adapter.rows([o.person_id for o in origins])
    checks = truth_checks(engine, rows, truth)
    end = loop.midnight(days)
    placements = _placements(engine)
    codes = codes_by_colour(engine)
    by_control = Counter(o.control or "community" for o in origins)
    cases = [
        (loop.adapter.row(o.person_id), confirmed_day(o, loop.start, loop.tz), o.under_control)
        for o in origins
    ]
    cases_csv = write_cases_csv(
        folder / "cases.csv", [(r, d, u) for r, d, u in cases if r is not None]
    )
    report = write_report(
        folder / "report.json",
        run={
            "people": registry.persons.num_rows,
            "days": days,
            "seed": seed,
            "start_date": loop.start,
            "pack": ctx.pack.ref,
            "seconds": dict(loop.seconds),
        },
        days=[d.figures for d in loop.days],
        score=result,
        reference=reference,
        checks=checks,
        origins=by_control,
        codes=codes,
        placements=placements,
        extra={
            "cost": cost_figures(engine, [d.figures for d in loop.days]),
            "tasks": task_outcomes(engine, end),
            "truth": {"infections_per_day": [d.figures.infections for d in loop.days]},
        },
    )
    _print_summary(loop, result, reference, checks, by_control, codes, placements, end)
    out.print(f"报告 report → {report}; 病例 cases → {cases_csv}")
    out.print(forecast_summary(engine, ctx, end, folder / "forecast.png"))
    return RunResult(loop, result, reference, checks, report, cases_csv)


def task_lines(outcomes: dict[str, dict[str, int]]) -> list[str]:
    """The tasks by final status (``report.task_outcomes``), in all and per kind."""

    def line(c: dict[str, int]) -> str:
        total = sum(c[k] for k in TASK_OUTCOMES)
        return (f"{total:,}: 按时完成 done on time {c['done_on_time']:,}, 超时完成 done late "
                f"{c['done_late']:,}, 未完成 open {c['open'] + c['open_overdue']:,} (逾期 "
                f"overdue {c['open_overdue']:,}), 取消 cancelled {c['cancelled']:,}; 曾上报 "
                f"escalated {c['escalated']:,}")  # fmt: skip

    kinds = sorted(k for k in outcomes if k != "all")
    return [f"任务 tasks {line(outcomes['all'])}"] + [
        f"  {KIND[k].zh} {KIND[k].en} {line(outcomes[k])}" for k in kinds if k in KIND
    ]


def _placements(engine: Engine) -> dict[str, int]:
    q = quarantine_placements.c
    with engine.connect() as conn:
        made = {
            str(k): int(n) for k, n in conn.execute(select(q.kind, func.count()).group_by(q.kind))
        }
        active = {
            str(k): int(n)
            for k, n in conn.execute(
                select(q.kind, func.count()).where(q.active.is_(True)).group_by(q.kind)
            )
        }
    out: dict[str, int] = {}
    for kind in ("centralised", "home_quarantine", "home_monitoring"):
        out[f"made_{kind}"] = int(made.get(kind, 0))
        out[f"active_{kind}"] = int(active.get(kind, 0))
    return out


CAPABILITY_LABELS = {
    "twin": "孪生 twin", "arrivals": "入境 arrivals", "testing": "检测 testing",
    "tracing": "流调 tracing", "risk_areas": "风险区 risk areas", "quarantine": "隔离 quarantine",
    "warning": "预警 warning", "command": "指挥 command", "codes": "健康码 codes",
    "report": "报告 report", "logistics": "卡口 checkpoints", "supply": "保供 supply",
    "care": "就医 care",
}  # fmt: skip


def _share(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _print_summary(
    loop: ProvinceLoop, result: Score, reference: Score, checks: TruthChecks,
    by_control: Counter[str], codes: dict[str, int], placements: dict[str, int], end: datetime,
) -> None:  # fmt: skip
    days = loop.days
    confirmed = sum(d.figures.confirmed for d in days)
    under = sum(d.figures.under_control for d in days)
    table = Table(
        "指标 measure", "值 value", title="孪生评分（真值）Score against the twin's truth"
    )
    table.add_row("感染 infections, platform (closed loop)", f"{result.infections:,}")
    table.add_row("无干预感染 infections without control", f"{result.baseline_infections or 0:,}")
    table.add_row("避免比例 averted share (platform)", _share(result.averted_share))
    table.add_row("参照处置感染 infections, reference response", f"{reference.infections:,}")
    table.add_row("参照处置避免比例 averted share (reference)", _share(reference.averted_share))
    table.add_row("管控中感染 infections by controlled infectors", _share(result.in_control_share))
    restricted = sum(d.figures.isolated + d.figures.home + d.figures.sealed_residents
                     for d in days)  # fmt: skip
    table.add_row("受限人日 person-days restricted (central+home+sealed)", f"{restricted:,}")
    table.add_row("拒入扫码 check-ins refused at gates",
                  f"{sum(d.figures.refused_scans for d in days):,}")  # fmt: skip
    out.print(table)

    table = Table(
        "病例 cases", "值 value", title="确诊病例（平台）Confirmed cases (the platform's)"
    )
    table.add_row("确诊 confirmed", f"{confirmed:,}")
    table.add_row("管控中发现 found under control", f"{under:,}")
    for kind, label in (("centralised", "  集中隔离 centralised"), ("home_quarantine",
                        "  居家隔离 home order"), ("sealed", "  封控区 sealed area")):  # fmt: skip
        table.add_row(label, f"{by_control.get(kind, 0):,}")
    table.add_row("社会面发现 found in the community", f"{confirmed - under:,}")
    table.add_row("真值核对：从未感染 checked: never infected", f"{checks.never_infected:,}")
    table.add_row("真值核对：重复登记 checked: registered twice", f"{checks.registered_twice:,}")
    table.add_row("流调召回 tracing recall of true pairs", _share(result.contact_recall))
    table.add_row("流调精确 tracing precision", _share(result.contact_precision))
    out.print(table)

    table = Table("健康码 codes / 隔离 placements", "值 value", title="期末 At the end")
    for colour, label in (("green", "绿码 green"), ("yellow", "黄码 yellow"), ("red", "红码 red"),
                          ("none", "无码 no code")):  # fmt: skip
        table.add_row(f"健康码 code: {label}", f"{codes.get(colour, 0):,}")
    kinds = {"centralised": "集中隔离 centralised", "home_quarantine": "居家隔离 home order",
             "home_monitoring": "居家健康监测 home monitoring"}  # fmt: skip
    for kind, label in kinds.items():
        made, active = placements[f"made_{kind}"], placements[f"active_{kind}"]
        table.add_row(f"{label}: 累计 made / 期末在管 active", f"{made:,} / {active:,}")
    out.print(table)

    table = Table(*(CAPABILITY_LABELS[c] for c in CAPABILITIES),
                  title="每项用时（秒）Seconds by capability")  # fmt: skip
    table.add_row(*(f"{loop.seconds[c]:.1f}" for c in CAPABILITIES))
    out.print(table)
    if loop.days:
        for line in task_lines(task_outcomes(loop.engine, end)):
            out.print(line)
    for line in alert_summary(loop.engine, loop.warning, loop.duty):
        out.print(line)
    for line in loop.rooms.summary(end):
        out.print(line)
    for item in loop.arrivals.summary(end):
        out.print(item)
    for line in loop.labs.summary(end):
        out.print(line)
    for line in [*loop.checkpoints.summary(), *loop.supply.summary(), *loop.care.summary()]:
        out.print(line)
