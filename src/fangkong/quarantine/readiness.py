"""Readiness (大规模集中隔离准备): demand against all capacity per region — rooms per
region against the norm, occupancy, intake, rooms coming and potential, people waiting.

The function other capabilities read (the demand forecast in
``fangkong.quarantine.forecast`` among them)::

    capacity_by_region(bind, rules, *, level=None, at=None, within=None)
        -> list[RegionCapacity]       one row per region at ``level`` (default: the pack's
                                      [quarantine.readiness] level, "county"), in code
                                      order; ``within``: only regions under that code

    RegionCapacity fields (rooms; a family room counts once, a fangcang bed once):
      available    free rooms in facilities that take placements now (pack:
                   placement.placeable_statuses, "open")
      occupied     rooms held by an active booking (any facility status)
      standby      free rooms of standby facilities (备用)
      activating   free rooms of activating facilities (备用转启用 under way); opens_at:
                   when the first of them opens
      fangcang     beds (rooms in service) of fangcang hospitals open or activating
      convertible  beds the surveyed candidate sites not yet made fangcang would add
                   (潜力调查, pack's survey)
      rooms        available + occupied + standby + activating: against the norm
      norm_rooms   population × rooms_per_10000 ÷ 10,000 (pack: 20)
      per_10000    rooms per 10,000 population; meets_norm: rooms ≥ norm_rooms
      occupancy    occupied ÷ (available + occupied), None without open rooms
      intake_per_day, releases_per_day
                   centralised placements started / ended over the last window_days (pack)
      turnover     releases_per_day ÷ (available + occupied)
      days_left    available ÷ intake_per_day (None when nobody is coming in)

      awaiting     persons due for a room (``demand``: cases not isolated, close
                   contacts) without one, their deadline not passed (by residence)
      overdue      the same, past their deadline (pack: placement_deadline_hours)
      forecast_peak, run_out
                   with ``with_forecast``: the forecast's highest median of rooms needed
                   over its horizon, and the first day that exceeds the rooms

Rooms out of service and facilities that are closing count nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from fangkong import clock
from fangkong.quarantine.demand import due_for_placement
from fangkong.quarantine.regions import RegionIndex, load_regions
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.surge import site_facility_code
from fangkong.quarantine.survey import list_sites, score_site
from fangkong.quarantine.tables import (
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.store.tx import Bind, write_transaction


@dataclass(frozen=True)
class RegionCapacity:
    region_code: str
    name: str
    population: int
    available: int
    occupied: int
    standby: int
    convertible: int
    rooms: int
    norm_rooms: float
    per_10000: float | None
    meets_norm: bool
    occupancy: float | None
    intake_per_day: float
    releases_per_day: float
    turnover: float | None
    days_left: float | None
    activating: int = 0
    opens_at: datetime | None = None
    fangcang: int = 0
    awaiting: int = 0
    overdue: int = 0
    forecast_peak: float | None = None
    run_out: date | None = None


@dataclass
class _Tally:
    available: int = 0
    occupied: int = 0
    standby: int = 0
    convertible: int = 0
    intake: int = 0
    released: int = 0
    activating: int = 0
    opens_at: datetime | None = None
    fangcang: int = 0
    awaiting: int = 0
    overdue: int = 0


def capacity_by_region(
    bind: Bind,
    rules: QuarantineRules,
    *,
    level: str | None = None,
    at: datetime | None = None,
    within: str | None = None,
    demand: bool = True,
) -> list[RegionCapacity]:
    """Readiness per region (see the module's docstring); ``demand`` False leaves out
    the people awaiting a room (the forecast reads rooms only)."""
    level = level or rules.readiness.level
    at = at or clock.now()
    with write_transaction(bind) as conn:
        index = load_regions(conn)
        tallies = _tallies(conn, rules, index, level, at)
        sites = list_sites(conn)
        made = set(conn.execute(select(quarantine_facilities.c.code)).scalars())
        for due in due_for_placement(conn, rules, at=at).due if demand else ():
            code = index.ancestor(due.region_code, level)
            if code is None or due.kind != "centralised":
                continue
            t = tallies.setdefault(code, _Tally())
            if due.deadline is not None and due.deadline < at:
                t.overdue += 1
            else:
                t.awaiting += 1
    for site in sites:
        if site_facility_code(site.code) in made:
            continue  # already a fangcang: counted with the facilities
        code = index.ancestor(site.region_code, level)
        if code is not None:
            tallies.setdefault(code, _Tally()).convertible += score_site(site, rules.survey).beds
    out = []
    window = rules.readiness.window_days
    for code in sorted(c for c, i in index.info.items() if i.level == level):
        if within is not None and not _under(index, code, within):
            continue
        t = tallies.get(code, _Tally())
        info = index.info[code]
        rooms = t.available + t.occupied + t.standby + t.activating
        norm = info.population * rules.readiness.rooms_per_10000 / 10_000
        open_rooms = t.available + t.occupied
        intake, released = t.intake / window, t.released / window
        out.append(
            RegionCapacity(
                code,
                info.name,
                info.population,
                t.available,
                t.occupied,
                t.standby,
                t.convertible,
                rooms,
                norm,
                rooms * 10_000 / info.population if info.population else None,
                rooms >= norm,
                t.occupied / open_rooms if open_rooms else None,
                intake,
                released,
                released / open_rooms if open_rooms else None,
                t.available / intake if intake > 0 else None,
                t.activating,
                t.opens_at,
                t.fangcang,
                t.awaiting,
                t.overdue,
            )
        )
    return out


def with_forecast(rows: list[RegionCapacity], forecast: Any) -> list[RegionCapacity]:
    """The rows with the forecast's demand (a ``RegionForecast`` of the same level): the
    highest median of rooms needed over the horizon, the first day it exceeds the rooms."""
    fc = forecast.forecast
    position = {code: i for i, code in enumerate(forecast.regions)}
    days = forecast.days()
    run_out = fc.run_out_day()
    out = []
    for r in rows:
        i = position.get(r.region_code)
        if i is None:
            out.append(r)
            continue
        first = int(run_out[i])
        out.append(replace(r, forecast_peak=float(fc.median[i].max(initial=0.0)),
                           run_out=days[first - 1] if first else None))  # fmt: skip
    return out


def _under(index: RegionIndex, code: str, root: str) -> bool:
    seen = 0
    current: str | None = code
    while current is not None and seen < 12:
        if current == root:
            return True
        current = index.info[current].parent if current in index.info else None
        seen += 1
    return False


def _tallies(
    conn: Connection, rules: QuarantineRules, index: RegionIndex, level: str, at: datetime
) -> dict[str, _Tally]:
    f, r, p = quarantine_facilities.c, quarantine_rooms.c, quarantine_placements.c
    placeable = set(rules.placement.placeable_statuses)
    out: dict[str, _Tally] = {}
    rows = conn.execute(
        select(f.region_code, f.status, f.kind, r.state, func.count(), func.min(f.opens_at))
        .join(quarantine_rooms, r.facility_id == f.id)
        .group_by(f.region_code, f.status, f.kind, r.state)
    ).all()
    for region, status, kind, state, n, opens in rows:
        code = index.ancestor(region, level)
        if code is None:
            continue
        t = out.setdefault(code, _Tally())
        if (
            kind == "fangcang"
            and state != "out_of_service"
            and status in (*placeable, "activating")
        ):
            t.fangcang += int(n)
        if state == "occupied":
            t.occupied += int(n)
        elif state == "free" and status in placeable:
            t.available += int(n)
        elif state == "free" and status == "standby":
            t.standby += int(n)
        elif state == "free" and status == "activating":
            t.activating += int(n)
            if opens is not None and (t.opens_at is None or opens < t.opens_at):
                t.opens_at = opens
    since = at - timedelta(days=rules.readiness.window_days)
    for column, attr in ((p.created_at, "intake"), (p.ended_at, "released")):
        rows = conn.execute(
            select(f.region_code, func.count())
            .join(quarantine_facilities, f.id == p.facility_id)
            .where(p.kind == "centralised", column >= since, column < at)
            .group_by(f.region_code)
        ).all()
        for region, n in rows:
            code = index.ancestor(region, level)
            if code is not None:
                t = out.setdefault(code, _Tally())
                setattr(t, attr, getattr(t, attr) + int(n))
    return out
