"""`fangkong rt` and `fangkong cluster-scan`: read the CSV files (:mod:`csv_files`), call the
library, write the CSV, print a summary."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from fangkong.cli_support import err, out
from fangkong.surveillance.csv_files import (
    cluster_rows,
    read_case_table,
    read_incidence,
    read_regions,
    read_si_distr,
    write_clusters,
    write_rt,
)
from fangkong.surveillance.rt import RtWarning, estimate_r
from fangkong.surveillance.spacetime import ScanResult, ScanSettings, scan


def rt_command(
    incidence: Annotated[Path, typer.Argument(help="CSV date,local[,imported], consecutive days.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output CSV of R per window.")],
    si_mean: Annotated[float | None, typer.Option(help="Serial interval mean (days).")] = None,
    si_sd: Annotated[float | None, typer.Option(help="Serial interval standard deviation.")] = None,
    si_distr: Annotated[
        Path | None, typer.Option(help="CSV k,w: a non-parametric serial interval.")
    ] = None,
    window: Annotated[int, typer.Option(help="Days per sliding window.")] = 7,
) -> None:
    """Time-varying reproduction number R (Cori et al. 2013, as R EpiEstim). 实时再生数."""
    days, local, imported = read_incidence(incidence)
    distr = read_si_distr(si_distr) if si_distr is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RtWarning)
        result = estimate_r(local, imported=imported, si_mean=si_mean, si_sd=si_sd,
                            si_distr=distr, window=window)  # fmt: skip
    for warning in caught:
        err.print(f"[yellow]注意 / note[/yellow] {warning.message}")
    write_rt(result, output)
    defined = np.flatnonzero(~np.isnan(result.mean))
    out.print(f"{len(result)} windows / 个窗口 → {output}")
    if defined.size:
        i = int(defined[-1])
        end = days[int(result.t_end[i]) - 1]
        out.print(f"R ({days[int(result.t_start[i]) - 1]} – {end}): {result.mean[i]:.2f} "
                  f"(95% CrI {result.q025[i]:.2f}–{result.q975[i]:.2f})")  # fmt: skip


def _summary(result: ScanResult, rows: list[list[str]]) -> Table:
    shown = Table("#", "regions / 区域", "from / 自", "days / 天", "obs", "exp", "obs/exp",
                  "LLR", "p", "RI (days)")  # fmt: skip
    for row, c in zip(rows, result.clusters, strict=True):
        shown.add_row(row[0], row[1], row[4], row[6], row[7], f"{c.expected:.1f}",
                      f"{c.ratio:.2f}", f"{c.llr:.2f}", f"{c.p_value:.3g}",
                      f"{c.recurrence_interval_days:.0f}")  # fmt: skip
    return shown


def scan_command(
    cases: Annotated[Path, typer.Argument(help="CSV region_code,date,count.")],
    regions: Annotated[
        Path, typer.Option(help="CSV region_code,x,y or region_code,lon,lat [,population].")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output CSV of clusters.")],
    max_days: Annotated[
        int | None, typer.Option(help="Longest cluster in days (default: half the period).")
    ] = None,
    max_k: Annotated[int | None, typer.Option(help="Most regions in a zone.")] = None,
    max_share: Annotated[
        float, typer.Option(help="Largest share of population (or cases) in a zone.")
    ] = 0.5,
    replicates: Annotated[int, typer.Option(help="Monte Carlo replicates.")] = 999,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable p-values.")] = None,
) -> None:
    """Prospective space-time permutation scan (Kulldorff 2005). 时空聚集性扫描."""
    codes, coords, metric, population = read_regions(regions)
    table, first = read_case_table(cases, codes)
    cfg = ScanSettings(max_days=max_days, max_k=max_k, max_share=max_share, replicates=replicates)
    result = scan(table, coords, cfg, metric=metric, population=population, rng=seed)
    rows = cluster_rows(result, codes, first)
    write_clusters(rows, output)
    out.print(f"{result.total_cases:g} cases / 例, {result.n_days} days / 天 "
              f"(to / 至 {rows[0][5] if rows else ''}), {result.n_cylinders} cylinders, "
              f"{replicates} replicates → {output}")  # fmt: skip
    out.print(_summary(result, rows))
