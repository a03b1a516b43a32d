"""Demand forecast (隔离需求预测): rooms needed per day for the next days, with intervals.

A renewal model run as a seeded Monte Carlo, vectorised over regions × draws::

    R[r, d]      ~ Gamma(shape_r, scale_r)            the Rt posterior of the last window
                                                      (Cori et al. 2013, as EpiEstim)
    cases[h]     ~ Poisson(R × Λ[h]),  Λ[h] = Σ_s w_s cases[h - s]   (observed, then drawn)
    contacts[h]  = Σ over the day's cases of NB(mean m_c, size k_c)  (close contacts found)
    coc[h]       = Σ over those contacts of NB(m_cc, k_cc)            (contacts of contacts)
    rooms[h]     = occupied[h]                        placements already running that day
                 + Σ_{j = h-D_c+1..h} contacts[j]     D_c: the pack's centralised days
                 + Σ_{j = h-D_cc+1..h} coc[j]         D_cc: 0 when they stay home

Contacts of a case found on day h enter quarantine that day and hold a room for the
pack's centralised days ([quarantine] close_contact / contact_of_contact phases). Cases
themselves go to hospital and are not counted. The sum of n negative-binomial counts is
drawn at once as a gamma-Poisson mixture (shape n·k), so no per-case loop exists.

With R fixed the expected rooms are a closed form (``expected_rooms``): the renewal
recursion on the means, then the same convolution — the test checks the Monte Carlo mean
against it. ``posterior_last_window`` is EpiEstim's last-window posterior for many
regions at once, tested equal to ``fangkong.surveillance.rt.estimate_r``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, select

from fangkong import clock
from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_READ
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons
from fangkong.tracing.tables import tracing_cases, tracing_exposures

if TYPE_CHECKING:  # readiness imports this module: its type only
    from fangkong.quarantine.readiness import RegionCapacity

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
CHUNK = 256  # regions per block: memory stays ~draws × horizon × CHUNK × 8 bytes per array


@dataclass(frozen=True)
class Spread:
    """Contacts per index person: mean and negative-binomial size (inf: Poisson)."""

    mean: float
    size: float = float("inf")

    @classmethod
    def measured(cls, counts: npt.ArrayLike) -> Spread:
        """From observed counts per person (contacts per traced case): the method of
        moments; Poisson when the variance does not exceed the mean."""
        x = np.asarray(counts, dtype=np.float64)
        if x.size == 0:
            return cls(0.0)
        mean = float(x.mean())
        var = float(x.var(ddof=1)) if x.size > 1 else mean
        size = mean * mean / (var - mean) if var > mean > 0 else float("inf")
        return cls(mean, size)


@dataclass(frozen=True)
class ForecastInputs:
    """Everything one forecast needs, per region (rows) and day (columns)."""

    incidence: F64  # (n, T) local cases per day, oldest first; the last column is today
    shape: F64  # (n,) Rt posterior gamma shape
    scale: F64  # (n,) Rt posterior gamma scale
    si: F64  # serial interval weights w_0.. (w_0 = 0)
    contacts: Spread
    contacts_of_contacts: Spread
    contact_room_days: int  # pack: close contacts' centralised days
    coc_room_days: int  # pack: contacts of contacts' centralised days (0: home)
    capacity: F64  # (n,) rooms that can take people
    occupied: F64 | None = None  # (n, horizon) rooms held by running placements per day
    regions: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Forecast:
    """Rooms needed on days 1..horizon (today is day 0), per region."""

    mean: F64  # (n, H)
    low: F64  # (n, H) lower bound of the interval
    median: F64
    high: F64
    p_exceed: F64  # (n, H) share of draws needing more rooms than capacity
    cases_mean: F64  # (n, H)
    cases_low: F64
    cases_high: F64
    capacity: F64
    interval: float
    draws: int

    def run_out_day(self, which: str = "median") -> I64:
        """Per region the first day (1-based) the ``which`` curve exceeds capacity, 0 if
        none within the horizon."""
        curve = {"median": self.median, "high": self.high, "low": self.low, "mean": self.mean}
        over = curve[which] > self.capacity[:, None]
        first = np.argmax(over, axis=1) + 1
        return np.where(over.any(axis=1), first, 0).astype(np.int64)


def _lambda_observed(incidence: F64, si: F64, horizon: int) -> F64:
    """Σ_s w_s I[T-1+h-s] over observed days only, for h = 1..horizon: (n, horizon)."""
    n, t = incidence.shape
    out = np.zeros((n, horizon))
    for h in range(1, horizon + 1):
        lo = max(h, 1)
        hi = min(len(si) - 1, t - 1 + h)
        if lo > hi:
            continue
        s = np.arange(lo, hi + 1)
        out[:, h - 1] = incidence[:, t - 1 + h - s] @ si[s]
    return out


def posterior_last_window(
    incidence: npt.ArrayLike, si: F64, *, window: int = 7, mean_prior: float = 5.0,
    std_prior: float = 5.0,
) -> tuple[F64, F64]:  # fmt: skip
    """Gamma (shape, scale) of R over the last ``window`` days of each row, as EpiEstim's
    last sliding window (day 1's cases taken as imported; NaN where the window ends on
    or before the mean serial interval)."""
    inc = np.atleast_2d(np.asarray(incidence, dtype=np.float64))
    n, t = inc.shape
    a, b = (mean_prior / std_prior) ** 2, std_prior**2 / mean_prior
    local = inc.copy()
    local[:, 0] = 0.0  # day 1: imported (infectors only)
    w = np.zeros(t)
    w[: min(len(si), t)] = si[: min(len(si), t)]
    start = t - window + 1  # 1-based, as EpiEstim
    lam = np.zeros((n, window))
    for i, day in enumerate(range(start, t + 1)):  # Λ_day = Σ_{s=1}^{day-1} w_s I_{day-s}
        s = np.arange(1, day)
        lam[:, i] = inc[:, day - 1 - s] @ w[s]
    shape = a + local[:, start - 1 :].sum(axis=1)
    scale = 1.0 / (1.0 / b + lam.sum(axis=1))
    mean_si = float(np.sum(si * np.arange(len(si))))
    if not t > mean_si:
        shape = np.full(n, np.nan)
        scale = np.full(n, np.nan)
    return shape, scale


def _nb_sum(rng: np.random.Generator, n: F64, spread: Spread) -> F64:
    """The sum over ``n`` persons of NB(mean, size) counts, elementwise (drawn only where
    n > 0: most region-days of a small outbreak have no case)."""
    out = np.zeros_like(n)
    if spread.mean <= 0:
        return out
    where = np.flatnonzero(n)
    k = n.ravel()[where]
    if np.isinf(spread.size):
        drawn = rng.poisson(k * spread.mean)
    else:
        drawn = rng.poisson(rng.gamma(k * spread.size, spread.mean / spread.size))
    out.ravel()[where] = drawn
    return out


def _window_sum(x: F64, days: int) -> F64:
    """Σ over the last ``days`` entries along the last axis (0 when days is 0)."""
    if days <= 0:
        return np.zeros_like(x)
    c = np.cumsum(x, axis=-1)
    out = c.copy()
    out[..., days:] -= c[..., :-days]
    return out


def _simulate_block(
    inp: ForecastInputs, rows: slice, r: F64, horizon: int, rng: np.random.Generator
) -> tuple[F64, F64]:
    """(cases, rooms) of shape (rows, draws, horizon) for a block of regions."""
    inc = inp.incidence[rows]
    n, draws = r.shape
    lam_obs = _lambda_observed(inc, inp.si, horizon)  # (n, H), the same for every draw
    cases = np.zeros((n, draws, horizon))
    w = inp.si
    for h in range(horizon):
        lam = np.broadcast_to(lam_obs[:, h, None], (n, draws)).copy()
        for j in range(max(0, h - len(w) + 1), h):  # drawn days before h
            lam += w[h - j] * cases[:, :, j]
        cases[:, :, h] = rng.poisson(r * lam)
    contacts = _nb_sum(rng, cases, inp.contacts)
    rooms = _window_sum(contacts, inp.contact_room_days)
    if inp.coc_room_days > 0:  # contacts of contacts at home hold no room: not drawn
        rooms += _window_sum(_nb_sum(rng, contacts, inp.contacts_of_contacts), inp.coc_room_days)
    if inp.occupied is not None:
        rooms += inp.occupied[rows, None, :horizon]
    return cases, rooms


def project(
    inp: ForecastInputs, *, horizon: int = 14, draws: int = 500, seed: int = 0,
    interval: float = 0.9, r_draws: F64 | None = None, r_factor: float = 1.0,
) -> Forecast:  # fmt: skip
    """The Monte Carlo forecast. ``r_draws`` (n, draws) replaces the posterior draws
    (a fixed-R what-if, or the closed-form check); ``r_factor`` scales R (Rt what-if)."""
    n = inp.incidence.shape[0]
    rng = np.random.default_rng(seed)
    q = [(1 - interval) / 2, 0.5, (1 + interval) / 2]
    out = {k: np.zeros((n, horizon)) for k in ("mean", "low", "median", "high", "p",
                                                "c_mean", "c_low", "c_high")}  # fmt: skip
    for start in range(0, n, CHUNK):
        rows = slice(start, min(n, start + CHUNK))
        if r_draws is None:
            size = rows.stop - rows.start
            shape = np.nan_to_num(inp.shape[rows], nan=0.0)[:, None]
            r = rng.gamma(np.broadcast_to(shape, (size, draws)), inp.scale[rows, None])
            r = np.nan_to_num(r, nan=0.0)
        else:
            r = np.asarray(r_draws[rows], dtype=np.float64)
        cases, rooms = _simulate_block(inp, rows, r * r_factor, horizon, rng)
        lo, mid, hi = np.quantile(rooms, q, axis=1)
        out["mean"][rows], out["low"][rows], out["median"][rows], out["high"][rows] = (
            rooms.mean(axis=1), lo, mid, hi)  # fmt: skip
        out["p"][rows] = (rooms > inp.capacity[rows, None, None]).mean(axis=1)
        c_lo, c_hi = np.quantile(cases, [q[0], q[2]], axis=1)
        out["c_mean"][rows], out["c_low"][rows], out["c_high"][rows] = (
            cases.mean(axis=1), c_lo, c_hi)  # fmt: skip
    return Forecast(out["mean"], out["low"], out["median"], out["high"], out["p"],
                    out["c_mean"], out["c_low"], out["c_high"], inp.capacity, interval,
                    draws if r_draws is None else r.shape[1])  # fmt: skip


def expected_rooms(inp: ForecastInputs, r: npt.ArrayLike, horizon: int = 14) -> F64:
    """The exact mean of rooms per day with R fixed per region (no Monte Carlo): the
    renewal recursion on expected cases, then the rooms convolution. Plain loops, one
    region at a time — the independent reference for ``project``."""
    r_fixed = np.broadcast_to(np.asarray(r, dtype=np.float64), (inp.incidence.shape[0],))
    out = np.zeros((inp.incidence.shape[0], horizon))
    w = inp.si
    m_c, m_cc = inp.contacts.mean, inp.contacts_of_contacts.mean
    for i in range(inp.incidence.shape[0]):
        series = list(inp.incidence[i])
        t = len(series)
        for _ in range(horizon):
            k = len(series)
            lam = sum(w[s] * series[k - s] for s in range(1, min(len(w), k + 1)))
            series.append(float(r_fixed[i]) * lam)
        future = series[t:]
        for h in range(horizon):
            c = sum(m_c * future[j] for j in range(max(0, h - inp.contact_room_days + 1), h + 1)
                    ) if inp.contact_room_days > 0 else 0.0  # fmt: skip
            cc = sum(m_c * m_cc * future[j]
                     for j in range(max(0, h - inp.coc_room_days + 1), h + 1)
                     ) if inp.coc_room_days > 0 else 0.0  # fmt: skip
            occ = 0.0 if inp.occupied is None else float(inp.occupied[i, h])
            out[i, h] = occ + c + cc
    return out


def with_pack_days(inp: ForecastInputs, contact_days: int, coc_days: int) -> ForecastInputs:
    """The same inputs under another pack's periods (a what-if)."""
    return replace(inp, contact_room_days=contact_days, coc_room_days=coc_days)


# ---- from the store: cases, tracing, placements and capacity per region ----------------------


@dataclass(frozen=True)
class ForecastOptions:
    """What a forecast run is asked: level of the regions, history and horizon, the serial
    interval (days; Omicron estimates are about 3 ± 2), draws, seed, what-ifs."""

    level: str | None = None  # default: the pack's [quarantine.readiness] level
    history_days: int = 28
    window: int = 7
    horizon: int = 14
    si_mean: float = 3.0
    si_sd: float = 2.0
    draws: int = 500
    seed: int = 0
    interval: float = 0.9
    r_factor: float = 1.0  # what-if: Rt × factor
    r_fixed: float | None = None  # what-if: Rt fixed (no posterior draws)
    contacts_mean: float | None = None  # what-if: close contacts per case (else measured)
    include_standby: bool = False  # what-if: standby (and activating) rooms opened


@dataclass(frozen=True)
class RegionForecast:
    """The forecast of many regions, with their codes and names, and what it was fed."""

    regions: tuple[str, ...]
    names: tuple[str, ...]
    today: date
    forecast: Forecast
    inputs: ForecastInputs
    rt_mean: F64
    pack: str

    def days(self) -> list[date]:
        return [self.today + timedelta(days=h) for h in range(1, self.forecast.mean.shape[1] + 1)]


def _room_days(pack: Any) -> tuple[int, int]:
    from fangkong.quarantine.rules import QuarantineRules

    rules = QuarantineRules.from_pack(pack)

    def centralised(group: str) -> int:
        if group not in rules.groups:
            return 0
        return sum(p.days or 0 for p in rules.groups[group].phases if p.kind == "centralised")

    return centralised("close_contact"), centralised("contact_of_contact")


def measured_spreads(conn: Connection) -> tuple[Spread, Spread]:
    """Close contacts per traced case and contacts of contacts per close contact, as
    found by tracing so far (traced cases without contacts count as zeros)."""
    e = tracing_exposures.c
    traced = conn.execute(
        select(tracing_cases.c.id).where(tracing_cases.c.traced_at.is_not(None))
    ).scalars()
    per_case: dict[int, int] = {
        int(c): int(k)
        for c, k in conn.execute(
            select(e.case_id, func.count(func.distinct(e.contact_id)))
            .where(e.kind == "close")
            .group_by(e.case_id)
        )
    }
    close = [per_case.get(int(c), 0) for c in traced]
    sources = conn.execute(select(e.contact_id).where(e.kind == "close").distinct()).scalars()
    per_contact: dict[int, int] = {
        int(c): int(k)
        for c, k in conn.execute(
            select(e.source_contact_id, func.count(func.distinct(e.contact_id)))
            .where(e.kind == "contact_of_contact", e.source_contact_id.is_not(None))
            .group_by(e.source_contact_id)
        )
    }
    coc = [per_contact.get(int(c), 0) for c in sources]
    return Spread.measured(close), Spread.measured(coc)


def forecast_from_store(
    bind: Engine | Connection, pack: Any, tz: ZoneInfo,
    options: ForecastOptions = ForecastOptions(), *, now: datetime | None = None,
    within: str | None = None, capacity: Sequence[RegionCapacity] | None = None,
) -> RegionForecast:  # fmt: skip
    """Read the store and project: cases per region and day (residence → the region at
    ``level``), Rt posteriors, contact spreads from tracing, rooms and running placements
    from quarantine (``capacity_by_region``; ``capacity``: its rows for the same pack,
    level, ``now`` and ``within`` when the caller has just read them, not read again),
    the pack's periods."""
    from fangkong.quarantine.readiness import capacity_by_region
    from fangkong.quarantine.regions import load_regions
    from fangkong.quarantine.rules import QuarantineRules
    from fangkong.store.tx import write_transaction
    from fangkong.surveillance.rt import discr_si

    now = now or clock.now()
    today = now.astimezone(tz).date()
    qrules = QuarantineRules.from_pack(pack)
    level = options.level or qrules.readiness.level
    if capacity is None:
        capacity = capacity_by_region(bind, qrules, level=level, at=now, within=within,
                                      demand=False)  # fmt: skip
    codes = tuple(c.region_code for c in capacity)
    row = {c: i for i, c in enumerate(codes)}
    n, t, h = len(codes), options.history_days, options.horizon
    first = today - timedelta(days=t - 1)
    day = func.coalesce(tracing_cases.c.sample_date, tracing_cases.c.onset_date)
    incidence = np.zeros((n, t))
    occupied = np.zeros((n, h))
    with write_transaction(bind) as conn:
        index = load_regions(conn)
        for d, home in conn.execute(
            select(day, persons.c.residence_code)
            .join(persons, persons.c.id == tracing_cases.c.person_id)
            .where(day >= first, day <= today)
        ):
            i = row.get(index.ancestor(home, level) or "")
            if i is not None:
                incidence[i, (d - first).days] += 1
        p = quarantine_placements.c
        ends = np.array([datetime.combine(today + timedelta(days=k), time(0), tzinfo=tz)
                         .timestamp() for k in range(1, h + 1)])  # fmt: skip
        at_row, until = [], []  # a running placement: its region's row, its planned end
        for region, planned_end in conn.execute(
            select(p.region_code, p.planned_end).where(
                p.active.is_(True), p.kind == "centralised", p.room_id.is_not(None)
            )
        ):
            i = row.get(index.ancestor(region, level) or "")
            if i is not None:
                at_row.append(i)
                until.append(np.inf if planned_end is None else planned_end.timestamp())
        # occupied on day k: the placements still running at its end (no end: all days)
        still = np.asarray(until)[:, None] > ends[None, :]
        np.add.at(occupied, np.asarray(at_row, dtype=np.intp), still)
        contacts, coc = measured_spreads(conn)
    if options.contacts_mean is not None:
        contacts = Spread(options.contacts_mean, contacts.size)
    si = discr_si(np.arange(t + 1), options.si_mean, options.si_sd)
    shape, scale = posterior_last_window(incidence, si, window=options.window)
    rooms = np.array([c.available + c.occupied
                      + (c.standby + c.activating if options.include_standby else 0)
                      for c in capacity], dtype=np.float64)  # fmt: skip
    contact_days, coc_days = _room_days(pack)
    inp = ForecastInputs(incidence, shape, scale, si, contacts, coc, contact_days, coc_days,
                         rooms, occupied, codes)  # fmt: skip
    r_draws = None
    if options.r_fixed is not None:
        r_draws = np.full((n, options.draws), options.r_fixed)
    fc = project(inp, horizon=h, draws=options.draws, seed=options.seed,
                 interval=options.interval, r_draws=r_draws, r_factor=options.r_factor)  # fmt: skip
    quiet = incidence[:, -options.window :].sum(axis=1) == 0  # the prior alone: not shown
    rt = np.where(np.isnan(shape) | quiet, np.nan, shape * scale)
    names = tuple(c.name for c in capacity)
    return RegionForecast(codes, names, today, fc, inp, rt, f"{pack.name}@{pack.version}")


FORECAST_CSV_COLUMNS = ("region_code", "day", "rooms_mean", "rooms_low", "rooms_median",
                        "rooms_high", "capacity", "p_exceed", "cases_mean")  # fmt: skip


def write_forecast_csv(rf: RegionForecast, path: Path) -> int:
    """Every region's forecast, one row per region × day (UTF-8 CSV); the rows written."""
    f, days = rf.forecast, rf.days()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(FORECAST_CSV_COLUMNS)
        for i, code in enumerate(rf.regions):
            for h, d in enumerate(days):
                w.writerow([code, d.isoformat(), f"{f.mean[i, h]:.2f}", f"{f.low[i, h]:g}",
                            f"{f.median[i, h]:g}", f"{f.high[i, h]:g}", f"{f.capacity[i]:g}",
                            f"{f.p_exceed[i, h]:.3f}", f"{f.cases_mean[i, h]:.2f}"])  # fmt: skip
    return len(rf.regions) * len(days)


def run_out_order(rf: RegionForecast) -> list[int]:
    """The regions' indexes, the first to run out of rooms (median) first, those that do
    not within the horizon last."""
    run_out = rf.forecast.run_out_day()
    return sorted(range(len(rf.regions)), key=lambda i: (run_out[i] == 0, run_out[i], i))


def forecast_view(call: Call, pack: Any, options: ForecastOptions) -> RegionForecast:
    """:func:`forecast_from_store` for a reader with ``quarantine.read``, over the regions
    of their jurisdiction (aggregate counts only: no audit row, as for the readiness list)."""
    call.require(QUARANTINE_READ)
    return forecast_from_store(call.engine, pack, call.tz, options, within=call.actor.region_code)
