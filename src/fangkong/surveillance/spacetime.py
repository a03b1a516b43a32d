"""Prospective space-time permutation scan statistic (时空重排扫描统计量), Kulldorff et al. 2005.

Cases are counted per region and day. The model needs no population: under the null hypothesis
a case's place and its day are independent, so the expected count of region z on day d is
``C_z * C_d / C`` (region total times day total over the grand total). A *cylinder* is a
circular zone -- a centre region and its k-1 nearest neighbours by centroid -- over the last
``days`` days of the study period (prospective: every cylinder ends on the last day, so only
clusters still going on are found). A cylinder with ``c`` cases against ``mu`` expected
(``c > mu``) scores the Poisson generalised log likelihood ratio

    LLR = c log(c / mu) + (C - c) log((C - c) / (C - mu))

The most likely cluster has the largest LLR. Its p-value is the rank of that LLR among the
largest LLRs of ``replicates`` data sets made by randomly permuting the days of the cases --
which keeps every region's total and every day's total -- as ``rank / (replicates + 1)``.
Secondary clusters are the next best cylinders sharing no region with one already reported;
each is ranked against the same replicate maxima (conservative, as SaTScan).
The recurrence interval, for an analysis repeated every ``analysis_interval_days``, is
``analysis_interval_days / p``: how long one waits for a cluster this strong by chance.

Ties: neighbours at equal distance are taken in region order; among cylinders whose LLR equals
the maximum up to rounding (relative 1e-9) the first in (centre, k, days) order is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import xlogy

from fangkong.errors import BadInput, Problem

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

EARTH_RADIUS_KM = 6371.0088
TIE_RTOL = 1e-9
BATCH_CELLS = 250_000  # cylinder cells per batch of replicates: small enough to stay in cache


def _bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(f"scan.{code}", zh, en))


@dataclass(frozen=True)
class ScanSettings:
    """Limits of the scan. ``max_days`` None: half the study period (SaTScan's default).

    A zone grows to at most ``max_k`` regions and at most ``max_share`` of the total
    population (or, without populations, of all cases, as SaTScan does for this model).
    """

    max_days: int | None = None
    max_k: int | None = None
    max_share: float = 0.5
    replicates: int = 999
    max_clusters: int = 10
    analysis_interval_days: float = 1.0


@dataclass(frozen=True)
class ScanCluster:
    """One cylinder: regions (indices, centre first, nearest next) over the last ``days`` days."""

    centre: int
    regions: I64
    radius: float
    start_day: int  # 0-based index of the cylinder's first day; it ends on the last day
    days: int
    observed: float
    expected: float
    llr: float
    p_value: float
    recurrence_interval_days: float

    @property
    def ratio(self) -> float:
        """Observed over expected cases in the cylinder."""
        return self.observed / self.expected


@dataclass(frozen=True)
class ScanResult:
    """The most likely cluster first, then non-overlapping secondary clusters by LLR."""

    clusters: tuple[ScanCluster, ...]
    null_llr: F64  # the largest LLR of each Monte Carlo replicate
    total_cases: float
    n_days: int
    max_days: int
    n_cylinders: int


@dataclass(frozen=True)
class Zones:
    """Circular zones: ``members[i, :k]`` are the k nearest regions to centre i."""

    members: I64  # (n_centres, K)
    allowed: Bools  # (n_centres, K): zone of the first k+1 members within the limits
    radius: F64  # (n_centres, K): distance from the centre to its (k+1)-th member


def distances(coords: npt.ArrayLike, metric: str = "euclidean") -> F64:
    """Pairwise centroid distances: ``euclidean`` on x,y or ``haversine`` (km) on lon,lat."""
    xy = np.asarray(coords, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.all(np.isfinite(xy)):
        raise _bad("coords", "区域坐标须为 n×2 的有限数值", "region coordinates must be finite n×2")
    if metric == "euclidean":
        diff = xy[:, None, :] - xy[None, :, :]
        return np.asarray(np.sqrt((diff**2).sum(axis=2)), dtype=np.float64)
    if metric == "haversine":
        lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        h = (
            np.sin(dlat / 2) ** 2
            + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
        )
        return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1))), np.float64)
    raise _bad("metric", f"未知距离 {metric}", f"unknown metric {metric} (euclidean, haversine)")


def circular_zones(dist: F64, weight: F64, settings: ScanSettings) -> Zones:
    """The k-nearest-neighbour zones of every centre within ``max_k`` and ``max_share``."""
    n = dist.shape[0]
    k_max = n if settings.max_k is None else min(settings.max_k, n)
    # Stable sort on distance, ties in region order.
    order = np.argsort(dist, axis=1, kind="stable")[:, :k_max]
    share = np.cumsum(weight[order], axis=1) / weight.sum()
    allowed = share <= settings.max_share * (1 + TIE_RTOL)
    keep = max(1, int(allowed.any(axis=0).nonzero()[0].max(initial=0)) + 1)
    radius = np.take_along_axis(dist, order, axis=1)
    return Zones(order[:, :keep], allowed[:, :keep], radius[:, :keep])


def _validate(counts: npt.ArrayLike, settings: ScanSettings) -> tuple[F64, int]:
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] == 0:
        raise _bad(
            "counts", "病例表须为 区域×日期 的二维表", "counts must be a regions × days table"
        )
    if not np.all(np.isfinite(table)) or np.any(table < 0) or np.any(table % 1 != 0):
        raise _bad("counts", "病例数须为非负整数", "case counts must be non-negative integers")
    if table.sum() == 0:
        raise _bad("no_cases", "没有病例，无法扫描", "there are no cases to scan")
    n_days = table.shape[1]
    max_days = settings.max_days if settings.max_days is not None else max(1, n_days // 2)
    if not 1 <= max_days <= n_days:
        raise _bad(
            "max_days",
            f"最长天数须在 1 到 {n_days}（研究期天数）之间",
            f"max_days must be between 1 and the {n_days} days of the study period",
        )
    if not 0 < settings.max_share <= 1:
        raise _bad("max_share", "max_share 须在 (0, 1] 内", "max_share must be in (0, 1]")
    if settings.max_k is not None and settings.max_k < 1:
        raise _bad("max_k", "max_k 须 >= 1", "max_k must be >= 1")
    if settings.replicates < 0:
        raise _bad("replicates", "重复次数须 >= 0", "replicates must be >= 0")
    return table, max_days


def _tail_sums(block: I64) -> I64:
    """Cases in the last d days, d = 1..D, from a (..., D) block of the last D days."""
    return np.cumsum(block[..., ::-1], axis=-1)


def _cylinder_cases(tail: I64, zones: Zones) -> I64:
    """Observed cases per cylinder: (..., centres, K, D) from per-region tails (..., R, D)."""
    return np.cumsum(tail[..., zones.members, :], axis=-2)


def llr(cases: npt.ArrayLike, expected: npt.ArrayLike, total: float) -> F64:
    """Poisson GLR of a cylinder with ``cases`` against ``expected`` (0 unless above)."""
    c = np.asarray(cases, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    high = (c > mu) & (mu > 0)
    c, mu = np.where(high, c, 1.0), np.where(high, mu, 1.0)
    value = xlogy(c, c / mu) + xlogy(total - c, (total - c) / np.where(high, total - mu, 1.0))
    return np.asarray(np.where(high, value, 0.0), dtype=np.float64)


class _Scorer:
    """LLR of many tables of the same cylinders, fast: one table lookup and one multiply-add.

    ``c log(c/mu) + (C-c) log((C-c)/(C-mu))`` = ``g[c] - C log(C-mu) - c (log mu - log(C-mu))``
    with ``g[j] = j log j + (C-j) log(C-j)`` tabulated for whole counts and the logs of the
    (fixed) expectations computed once. Rounding differs from :func:`llr` by about
    1e-16 x C log C, far below ``TIE_RTOL`` for any cluster worth reporting.
    """

    def __init__(self, expected: F64, valid: Bools, total: int) -> None:
        ok = valid & (expected > 0) & (expected < total)
        self.threshold = np.where(ok, expected, np.inf)
        log_mu = np.log(np.where(ok, expected, 1.0))
        log_rest = np.log(np.where(ok, total - expected, 1.0))
        self.base = total * log_rest
        self.slope = log_mu - log_rest
        whole = np.arange(total + 1, dtype=np.float64)
        xlx = xlogy(whole, whole)
        self.g = xlx + xlx[::-1]

    def __call__(self, cases: I64) -> F64:
        value = self.g[cases]
        value -= self.base
        value -= cases * self.slope
        return np.where(cases > self.threshold, value, 0.0)


def permuted_tails(
    region_of_case: I64, day_of_case: I64, n_regions: int, n_days: int, depth: int,
    replicates: int, rng: np.random.Generator,
) -> I64:  # fmt: skip
    """Counts over the last ``depth`` days of ``replicates`` data sets, cases' days permuted.

    Each case keeps its region; the days are shuffled among the cases, so every region's
    total and every day's total stay as observed. Returns (replicates, regions, depth).
    """
    days = rng.permuted(np.broadcast_to(day_of_case, (replicates, len(day_of_case))), axis=1)
    column = days - (n_days - depth)
    keep = column >= 0
    rep = np.broadcast_to(np.arange(replicates)[:, None], days.shape)
    index = (rep * n_regions + region_of_case[None, :]) * depth + column
    flat = np.bincount(index[keep], minlength=replicates * n_regions * depth)
    return flat.reshape(replicates, n_regions, depth)


def _best(llr: F64) -> int:
    """Flat index of the first cylinder whose LLR equals the maximum up to rounding."""
    top = float(llr.max())
    return int(np.flatnonzero(llr.ravel() >= top * (1 - TIE_RTOL))[0])


def scan(
    counts: npt.ArrayLike,
    coords: npt.ArrayLike,
    settings: ScanSettings | None = None,
    *,
    metric: str = "euclidean",
    population: npt.ArrayLike | None = None,
    rng: np.random.Generator | int | None = None,
) -> ScanResult:
    """Run the prospective space-time permutation scan on a regions × days table of cases."""
    cfg = settings or ScanSettings()
    table, max_days = _validate(counts, cfg)
    n_regions, n_days = table.shape
    dist = distances(coords, metric)
    if dist.shape[0] != n_regions:
        raise _bad("coords", "坐标行数与区域数不符", "coordinates and counts differ in regions")
    region_total = table.sum(axis=1)
    weight = region_total if population is None else np.asarray(population, np.float64)
    if weight.shape != (n_regions,) or np.any(weight < 0) or not np.all(np.isfinite(weight)):
        raise _bad(
            "population", "人口须为非负数，每区域一个", "population: one non-negative per region"
        )
    zones = circular_zones(dist, weight, cfg)
    whole = table.astype(np.int64)
    total = int(whole.sum())
    day_mass = _tail_sums(whole.sum(axis=0)[n_days - max_days :])  # (D,)
    zone_total = np.cumsum(whole.sum(axis=1)[zones.members], axis=1)  # (n, K)
    expected = zone_total[:, :, None] * day_mass[None, None, :] / total
    valid = np.broadcast_to(zones.allowed[:, :, None], expected.shape)
    scorer = _Scorer(expected, valid, total)

    observed = _cylinder_cases(_tail_sums(whole[:, n_days - max_days :]), zones)
    null = _null_llr(whole, zones, scorer, max_days, cfg.replicates, rng)
    fit = _Fit(scorer(observed), observed, expected, zones, null, total, n_days)
    found = _clusters(fit, cfg)
    return ScanResult(found, null, float(total), n_days, max_days, int(valid.sum()))


def _null_llr(
    table: I64, zones: Zones, scorer: _Scorer, max_days: int, replicates: int,
    rng: np.random.Generator | int | None,
) -> F64:  # fmt: skip
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n_regions, n_days = table.shape
    cells = table.ravel()
    region_of_case = np.repeat(np.repeat(np.arange(n_regions), n_days), cells)
    day_of_case = np.repeat(np.tile(np.arange(n_days), n_regions), cells)
    per_replicate = max(scorer.threshold.size, len(day_of_case))
    batch = max(1, min(replicates, BATCH_CELLS // per_replicate))
    out = np.zeros(replicates)
    for first in range(0, replicates, batch):
        size = min(batch, replicates - first)
        tails = permuted_tails(region_of_case, day_of_case, n_regions, n_days, max_days, size, gen)
        sims = scorer(_cylinder_cases(_tail_sums(tails), zones))
        out[first : first + size] = sims.reshape(size, -1).max(axis=1)
    return out


@dataclass(frozen=True)
class _Fit:
    """Everything computed for the observed table, per cylinder (centre, k, days)."""

    scores: F64
    observed: I64
    expected: F64
    zones: Zones
    null: F64
    total: int
    n_days: int


def _clusters(fit: _Fit, cfg: ScanSettings) -> tuple[ScanCluster, ...]:
    """Most likely cluster, then the best cylinders that share no region with earlier ones."""
    scores = fit.scores
    best_days = scores.argmax(axis=2)  # per zone, its best duration (overlap is spatial only)
    zone_llr = np.take_along_axis(scores, best_days[:, :, None], axis=2)[:, :, 0]
    found: list[ScanCluster] = []
    used = np.zeros(len(fit.zones.members), dtype=bool)
    first = _best(scores)
    i0, k0, _ = np.unravel_index(first, scores.shape)
    best_days[i0, k0] = first % scores.shape[2]  # the tie rule of the most likely cluster
    order = np.lexsort((np.arange(zone_llr.size), -zone_llr.ravel()))
    order = np.r_[i0 * zone_llr.shape[1] + k0, order]
    for flat in order:
        if len(found) >= cfg.max_clusters or zone_llr.ravel()[flat] <= 0:
            break
        i, k = divmod(int(flat), zone_llr.shape[1])
        members = fit.zones.members[i, : k + 1]
        if used[members].any():
            continue
        used[members] = True
        found.append(_cluster(fit, i, k, int(best_days[i, k]), cfg))
    return tuple(found)


def _cluster(fit: _Fit, i: int, k: int, d: int, cfg: ScanSettings) -> ScanCluster:
    score = float(fit.scores[i, k, d])
    if len(fit.null):
        p = float((1 + np.sum(fit.null >= score * (1 - TIE_RTOL))) / (len(fit.null) + 1))
        recurrence = cfg.analysis_interval_days / p
    else:
        p = recurrence = float("nan")
    observed, expected = float(fit.observed[i, k, d]), float(fit.expected[i, k, d])
    return ScanCluster(
        centre=i,
        regions=fit.zones.members[i, : k + 1].copy(),
        radius=float(fit.zones.radius[i, k]),
        start_day=fit.n_days - d - 1,
        days=d + 1,
        observed=observed,
        expected=expected,
        llr=float(llr(observed, expected, fit.total)),
        p_value=p,
        recurrence_interval_days=recurrence,
    )
