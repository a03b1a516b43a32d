"""``fangkong twin``: generate a synthetic province, run its outbreak, score the response."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.table import Table

from fangkong.cli_support import out, progress
from fangkong.errors import BadInput, Problem
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import generate_registry, read_registry, write_registry
from fangkong.twin.response import ReferenceResponse
from fangkong.twin.scenario import default_scenario, load_scenario
from fangkong.twin.score import epidemic_curve, plot_curves, read_truth, score
from fangkong.twin.sim import Twin, write_run

app = typer.Typer(
    help="Digital twin (数字孪生): a synthetic province and its outbreak, with ground truth.",
    no_args_is_help=True,
)


@app.command("generate")
def generate_command(
    people: Annotated[int, typer.Option("--people", help="Number of residents.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for regions, venues, persons.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    scenario_path: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario TOML whose [units] size classes and teams."),
    ] = None,
) -> None:
    """Generate a synthetic registry (regions, venues, persons) in the import formats."""
    if fmt not in ("csv", "parquet"):
        raise BadInput(
            Problem(
                "twin.format",
                f"格式应为 csv 或 parquet，而不是 {fmt}",
                f"--format must be csv or parquet, not {fmt}",
            )
        )
    try:
        units = (load_scenario(scenario_path) if scenario_path else default_scenario()).units
        registry = generate_registry(people, seed=seed, units=units)
    except ValueError as exc:
        raise BadInput(Problem("twin.people", str(exc), str(exc))) from exc
    kind: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    paths = write_registry(registry, out_dir, kind)
    for name, path in paths.items():
        rows = registry.tables()[name].num_rows
        out.print(f"{name}: {rows:,} 行 rows → {path}")


def _summary(events: DayEvents) -> str:
    positives = int(events.test_results["positive"].to_numpy(zero_copy_only=False).sum())
    return (
        f"第 {events.day} 天 day {events.day}: 新感染 new infections {events.truth.num_rows:,}, "
        f"扫码 check-ins {events.checkins.num_rows:,}, 发热门诊 fever clinic "
        f"{events.fever_clinic_visits.num_rows:,}, 阳性 positives {positives:,}"
    )


@app.command("run")
def run_command(
    registry_dir: Annotated[
        Path, typer.Option("--registry", help="Folder written by 'twin generate'.")
    ],
    days: Annotated[int, typer.Option("--days", min=1, help="Days to simulate.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for events (and truth/).")],
    scenario_path: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario TOML (default: shipped).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Override the scenario's run.seed.")
    ] = None,
    respond: Annotated[
        bool,
        typer.Option(
            "--respond",
            help="Apply the reference response (isolate positives, "
            "quarantine their households); its orders go to decisions.parquet.",
        ),
    ] = False,
) -> None:
    """Simulate the outbreak day by day: events as Parquet by day, ground truth in truth/."""
    scenario = load_scenario(scenario_path) if scenario_path else default_scenario()
    try:
        registry = read_registry(registry_dir)
    except FileNotFoundError as exc:
        raise BadInput(Problem("twin.registry", str(exc), str(exc))) from exc
    twin = Twin.from_registry(registry, scenario, seed=seed)
    response = ReferenceResponse(twin) if respond else None
    with progress("twin run", total=days) as (bar, task):

        def on_day(events: DayEvents) -> None:
            out.print(_summary(events))
            bar.advance(task)

        rows = write_run(twin, days, out_dir, interventions_fn=response, on_day=on_day)
    if response is not None:
        pq.write_table(response.decisions(), out_dir / "decisions.parquet")
    out.print(
        "合计 total: "
        + ", ".join(f"{name} {count:,}" for name, count in rows.items())
        + f" → {out_dir}"
    )


@app.command("score")
def score_command(
    run_dir: Annotated[Path, typer.Option("--run", help="Run folder (events + truth/) to score.")],
    baseline_dir: Annotated[
        Path | None, typer.Option("--baseline", help="The same seed's run without control.")
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option("--decisions", help="Decisions Parquet (default: RUN/decisions.parquet)."),
    ] = None,
    first_alert_day: Annotated[
        int | None, typer.Option("--first-alert-day", help="Day of the first alert.")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="PNG of the epidemic curves.")] = None,
) -> None:
    """Score a run against its ground truth: infections, averted share, in-control share."""
    truth = read_truth(run_dir)
    path = decisions or run_dir / "decisions.parquet"
    decided = pq.read_table(path) if path.exists() else None
    baseline = read_truth(baseline_dir) if baseline_dir else None
    from fangkong.twin.score import DECISIONS

    result = score(
        truth, decided if decided is not None else DECISIONS.empty_table(),
        baseline=baseline, first_alert_day=first_alert_day,
    )  # fmt: skip
    table = Table("指标 measure", "值 value", title="孪生评分 Twin score")
    for name, value in vars(result).items():
        shown = (
            "-" if value is None else f"{value:.3f}" if isinstance(value, float) else f"{value:,}"
        )
        table.add_row(name, shown)
    out.print(table)
    if plot:
        days = int(pc_max_day(truth, baseline)) + 1
        curves = {"with control": epidemic_curve(truth, days)}
        if baseline is not None:
            curves["without control"] = epidemic_curve(baseline, days)
        out.print(f"图 plot → {plot_curves(curves, plot)}")


def pc_max_day(truth: pa.Table, baseline: pa.Table | None) -> int:
    days = [int(t["day"].to_numpy().max(initial=0)) for t in (truth, baseline) if t is not None]
    return max(days)
