"""``fangkong evaluate``: each pack through the province loop over seeds 1..N, in worker
processes; per pack the median and 80 % interval of every metric, as a table, a JSON
file and a PNG of cost against infections averted (docs/evaluation.md)."""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from time import perf_counter
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from fangkong.cli_support import out, settings
from fangkong.demo.evaluation.jobs import no_control, platform_run
from fangkong.demo.evaluation.plot import cost_effect_png
from fangkong.errors import BadInput, Problem

VERSION = 1
# (metric, label zh/en, format) in the order the table shows them
METRICS: tuple[tuple[str, str, str], ...] = (
    ("infections", "感染 infections (truth)", ",.0f"),
    ("infections_without_control", "无干预感染 infections without control", ",.0f"),
    ("averted_share", "避免比例 averted share", ".1%"),
    ("infections_averted", "避免感染 infections averted", ",.0f"),
    ("confirmed", "确诊 confirmed cases", ",.0f"),
    ("found_under_control_share", "管控中发现 found under control", ".1%"),
    ("isolation_delay_days", "感染到隔离 infection → isolation (days)", ".1f"),
    ("close_contacts_per_case", "每例密接 close contacts per case", ",.1f"),
    ("tracing_precision", "流调精确 tracing precision", ".2%"),
    ("tracing_recall", "流调召回 tracing recall", ".1%"),
    ("contacts_infected_share", "密接感染比例 close contacts infected", ".1%"),
    ("alert_lead_days", "预警提前 alert lead (days)", "+.1f"),
    ("alerts_kept", "真预警 alerts kept", ",.0f"),
    ("alerts_dropped", "弃预警 alerts dropped", ",.0f"),
    ("red_person_days", "红码人日 red-code person-days", ",.0f"),
    ("yellow_person_days", "黄码人日 yellow-code person-days", ",.0f"),
    ("centralised_person_days", "集中隔离人日 centralised person-days", ",.0f"),
    ("home_person_days", "居家隔离人日 home-order person-days", ",.0f"),
    ("sealed_person_days", "封控人日 sealed person-days", ",.0f"),
    ("restricted_person_days", "受限人日 restricted person-days", ",.0f"),
    ("venue_closure_days", "场所关闭日 venue-closure days", ",.0f"),
    ("samples", "采样人次 samples (persons)", ",.0f"),
    ("tubes", "采样管 tubes", ",.0f"),
    ("seconds", "用时 seconds per run", ",.0f"),
)


def _refuse(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(f"evaluate.{code}", zh, en))


def check_arguments(packs: list[str], seeds: int, people: int, days: int, workers: int,
                    out_dir: Path) -> None:  # fmt: skip
    """Refuse bad arguments before any work (nothing is written)."""
    from fangkong.policy import load_pack

    if not packs:
        raise _refuse("no_pack", "请至少给出一个政策包（--pack）",
                      "give at least one policy pack (--pack)")  # fmt: skip
    if len(set(packs)) != len(packs):
        raise _refuse("pack_twice", f"政策包重复：{', '.join(packs)}",
                      f"a pack is named twice: {', '.join(packs)}")  # fmt: skip
    for pack in packs:
        try:
            load_pack(pack)
        except BadInput as exc:
            raise _refuse("pack", f"政策包 {pack!r} 无法使用：{exc}",
                          f"policy pack {pack!r} cannot be used: {exc}") from exc  # fmt: skip
    for name, value, least in (("--seeds", seeds, 1), ("--people", people, 50),
                               ("--days", days, 1), ("--workers", workers, 1)):  # fmt: skip
        if value < least:
            raise _refuse("range", f"{name} 须不小于 {least}（收到 {value}）",
                          f"{name} must be at least {least} (got {value})")  # fmt: skip
    if out_dir.exists() and not out_dir.is_dir():
        raise _refuse("out", f"--out {out_dir} 已存在且不是目录",
                      f"--out {out_dir} exists and is not a directory")  # fmt: skip


def _stats(xs: list[float]) -> dict[str, Any]:
    """Median, 10th and 90th percentile (linear) and the count of ``xs``."""
    if not xs:
        return {"median": None, "p10": None, "p90": None, "n": 0}
    p10, median, p90 = np.percentile(np.array(xs, np.float64), [10, 50, 90])
    return {"median": float(median), "p10": float(p10), "p90": float(p90), "n": len(xs)}


def summarise(runs: list[dict[str, Any]], packs: list[str]) -> dict[str, dict[str, Any]]:
    """Per pack and metric: median, 10th and 90th percentile and the runs with a value."""
    return {
        pack: {
            metric: _stats([r[metric] for r in runs
                            if r["pack"] == pack and r.get(metric) is not None])
            for metric, _, _ in METRICS
        }
        for pack in packs
    }  # fmt: skip


# Paired by seed (the arms share the seed's province, seeds, importations and mobility):
# each later pack minus the first, seed by seed; labels as in METRICS, signed.
PAIRED_METRICS = ("infections", "restricted_person_days", "red_person_days",
                  "yellow_person_days", "samples")  # fmt: skip
PAIRED: tuple[tuple[str, str, str], ...] = tuple(
    (metric, label, "+" + fmt) for metric, label, fmt in METRICS if metric in PAIRED_METRICS
)


def paired(runs: list[dict[str, Any]], packs: list[str]) -> dict[str, dict[str, Any]]:
    """Per later pack and metric: the seed-by-seed difference against the first pack
    (median, 10th and 90th percentile, and on how many seeds it was lower)."""
    first = {r["seed"]: r for r in runs if r["pack"] == packs[0]}
    result: dict[str, dict[str, Any]] = {}
    for pack in packs[1:]:
        mine = {r["seed"]: r for r in runs if r["pack"] == pack}
        result[pack] = {}
        for metric, _, _ in PAIRED:
            both = [
                s
                for s in sorted(set(first) & set(mine))
                if mine[s].get(metric) is not None and first[s].get(metric) is not None
            ]
            d = [mine[s][metric] - first[s][metric] for s in both]
            result[pack][metric] = {**_stats(d), "lower": sum(x < 0 for x in d)}
    return result


def _cell(stats: dict[str, Any], fmt: str) -> str:
    if stats["median"] is None:
        return "–"
    return f"{stats['median']:{fmt}}  [{stats['p10']:{fmt}} – {stats['p90']:{fmt}}]"


def evaluate_command(
    pack: Annotated[
        list[str] | None, typer.Option("--pack", help="A policy pack (repeat).")
    ] = None,
    seeds: Annotated[int, typer.Option(help="Seeds 1..N, each a province and outbreak.")] = 20,
    people: Annotated[int, typer.Option(help="Synthetic persons per province.")] = 20_000,
    days: Annotated[int, typer.Option(help="Days of the outbreak to simulate.")] = 21,
    workers: Annotated[int, typer.Option(help="Worker processes (0: the CPU count).")] = 0,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the JSON and PNG ({home}/evaluation).")
    ] = None,
) -> None:
    """Score every pack for effect and cost over many seeds (用最小的代价实现最大的防控效果)."""
    cfg = settings()
    pack = list(pack or [])
    workers = workers or os.cpu_count() or 1
    folder = out_dir if out_dir is not None else cfg.home / "evaluation"
    check_arguments(pack, seeds, people, days, workers, folder)
    out.print(f"[bold]fangkong evaluate[/bold] — 政策包 packs {', '.join(pack)}; "
              f"种子 seeds 1..{seeds}; {people:,} 人 persons × {days} 天 days; "
              f"{workers} 进程 workers")  # fmt: skip
    tic = perf_counter()
    baselines, runs = _run_all(cfg, pack, seeds, people, days, workers)
    for r in runs:
        base = baselines[r["seed"]]["infections"]
        r["infections_without_control"] = base
        r["averted_share"] = 1 - r["infections"] / base if base else None
        r["infections_averted"] = base - r["infections"]
    runs.sort(key=lambda r: (pack.index(r["pack"]), r["seed"]))
    summary = summarise(runs, pack)
    pairs = paired(runs, pack)
    body = {
        "version": VERSION,
        "people": people,
        "days": days,
        "seeds": list(range(1, seeds + 1)),
        "packs": pack,
        "workers": workers,
        "seconds": perf_counter() - tic,
        "no_control": [baselines[s] for s in sorted(baselines)],
        "runs": runs,
        "summary": summary,
        "paired": pairs,
    }
    table = Table("指标 metric", *(f"{p}\n中位数 [10%–90%] median [80 % interval]" for p in pack),
                  title=f"{seeds} 个种子 seeds × {len(pack)} 个政策包 packs")  # fmt: skip
    for metric, label, fmt in METRICS:
        table.add_row(label, *(_cell(summary[p][metric], fmt) for p in pack))
    out.print(table)
    for other in pack[1:]:
        table = Table("指标 metric", f"{other} − {pack[0]}\n中位数 [10%–90%] median [80 %]",
                      "更低的种子 seeds lower",
                      title=f"逐种子配对差 paired by seed: {other} − {pack[0]}")  # fmt: skip
        for metric, label, fmt in PAIRED:
            st = pairs[other][metric]
            table.add_row(label, _cell(st, fmt), f"{st['lower']} / {st['n']}")
        out.print(table)
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "evaluation.json"
    report.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", "utf-8")
    png = cost_effect_png(runs, summary, pack, folder / "evaluation.png")
    out.print(f"报告 report → {report}; 图 chart → {png}; 用时 {body['seconds']:.0f} s")


def _run_all(cfg: Any, packs: list[str], seeds: int, people: int, days: int,
             workers: int) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Every job in the pool: the long platform runs first, the no-control twins last."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        platform: list[Future[dict[str, Any]]] = [
            pool.submit(platform_run, cfg, s, p, people, days)
            for s in range(1, seeds + 1) for p in packs
        ]  # fmt: skip
        alone = [pool.submit(no_control, s, people, days) for s in range(1, seeds + 1)]
        runs = []
        for f in platform:
            r = f.result()
            runs.append(r)
            out.print(f"  种子 seed {r['seed']:>3} {r['pack']:<18} 感染 infections "
                      f"{r['infections']:>6,}  受限人日 restricted "
                      f"{r['restricted_person_days']:>8,}"
                      f"  {r['seconds']:>5.0f} s")  # fmt: skip
        baselines = {b["seed"]: b for b in (f.result() for f in alone)}
    return baselines, runs
