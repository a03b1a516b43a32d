"""The surge ladder (扩容): which rooms will come, and what to activate for whom.

Pure planning over plain data, then the writes that carry it out. For the people still
without a room after the open rooms in reach were tried (``intake``), in order of their
deadline (none last)::

    pending   rooms of facilities already activating (备用转启用 under way), in reach
              (own county, then the city, then the province: pack ``reach``), usable by
              the group (its facility kinds, then its surge kinds); the one ready first
              among those ready by the deadline, the narrowest reach first
    when none, or none ready by the deadline, activate (each covers its rooms' worth):
      1 standby facilities of the group's own kinds (hotels; a case's fangcang or
        designated hospital), ready after ``standby_activation_hours``
      2 standby facilities of the group's surge kinds (fangcang for close contacts)
      3 the best-scored surveyed site in reach (方舱医院潜力调查) becomes a fangcang, ready
        after the survey's ``activation_days`` for its type — only when nothing at all
        would come (a site never opens within a deadline of hours)
      a standby is activated for a late-covered person only if it would be ready in time

Besides: a county whose demand forecast (median) exceeds its rooms within
``forecast_days`` gets sites activated until their beds cover the shortfall.

"Ready" is when the job will next run after the opening (``every``: its cadence; None:
at the opening itself) — a room opening between runs is taken at the next run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update

from fangkong.quarantine.facilities import MAX_ROOMS, FacilityInput, _save
from fangkong.quarantine.regions import RegionIndex
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import SiteScore, list_sites, rank_sites
from fangkong.quarantine.tables import quarantine_facilities, quarantine_rooms

SITE_PREFIX = "FC"  # a fangcang made from surveyed site X is facility FC + X


@dataclass
class Supply:
    """Rooms that are coming: an activating facility (or one activated by the plan)."""

    ref: int  # facility id (a site's index in the candidates while planned)
    kind: str
    region: str | None
    opens_at: datetime
    rooms: int  # free rooms not yet promised to anyone


@dataclass(frozen=True)
class Candidate:
    """Something that can be activated: a standby facility, or a surveyed site."""

    ref: int  # facility id, or the site's index in ``sites``
    step: str  # standby | surge_standby | site
    kind: str
    region: str | None
    rooms: int
    lead: timedelta
    score: float = 0.0


@dataclass(frozen=True)
class Need:
    """A person still without a room: what they may use, where, and by when."""

    key: int
    kinds: tuple[str, ...]  # the group's facility kinds
    extra: tuple[str, ...]  # the group's surge kinds (used once the others are full)
    region: str | None
    deadline: datetime | None


@dataclass
class Plan:
    supply: list[Supply | None]  # per need: the rooms promised (None: nothing comes)
    ready: list[datetime | None]  # per need: when that room can be taken
    activated: list[tuple[Candidate, Supply]] = field(default_factory=list)

    def in_time(self, i: int, deadline: datetime | None) -> bool:
        ready = self.ready[i]
        return ready is not None and (deadline is None or ready <= deadline)


def _key(c: Candidate) -> tuple[str, int]:
    """A standby facility is offered at two steps (own kinds, surge kinds): one key."""
    return ("site" if c.step == "site" else "facility", c.ref)


def ready_time(opens_at: datetime, at: datetime, every: timedelta | None) -> datetime:
    """The first run of the job at or after ``opens_at`` (runs at ``at`` + k × ``every``)."""
    if every is None or opens_at <= at:
        return max(opens_at, at)
    return at + math.ceil((opens_at - at) / every) * every


def _level_of(
    region: str | None, place: str | None, index: RegionIndex, reach: Sequence[str]
) -> int | None:
    """The narrowest reach level (its position) at which ``place`` is within reach of
    ``region``; None when out of reach (a person without a region reaches everywhere)."""
    if region is None:
        return len(reach) - 1
    for k, level in enumerate(reach):
        mine = index.ancestor(region, level)
        if mine is not None and mine == index.ancestor(place, level):
            return k
    return None


def plan(
    needs: Sequence[Need],
    pending: list[Supply],
    candidates: Sequence[Candidate],
    index: RegionIndex,
    reach: Sequence[str],
    *,
    at: datetime,
    every: timedelta | None = None,
) -> Plan:
    """Promise coming rooms to ``needs`` and choose what to activate (module docstring).
    ``pending`` is consumed (rooms promised); activated candidates are added to it."""
    order = sorted(
        range(len(needs)),
        key=lambda i: (needs[i].deadline is None, needs[i].deadline or at, needs[i].key),
    )
    out = Plan([None] * len(needs), [None] * len(needs))
    used: set[tuple[str, int]] = set()
    levels: dict[tuple[str | None, str | None], int | None] = {}

    def level(need: Need, place: str | None) -> int | None:
        key = (need.region, place)
        if key not in levels:
            levels[key] = _level_of(need.region, place, index, reach)
        return levels[key]

    def best_pending(need: Need) -> Supply | None:
        found: tuple[tuple[bool, int, datetime, int], Supply] | None = None
        usable = need.kinds + need.extra
        for s in pending:
            if s.rooms <= 0 or s.kind not in usable:
                continue
            k = level(need, s.region)
            if k is None:
                continue
            ready = ready_time(s.opens_at, at, every)
            late = need.deadline is not None and ready > need.deadline
            rank = (late, k, ready, s.ref)
            if found is None or rank < found[0]:
                found = (rank, s)
        return None if found is None else found[1]

    def best_candidate(need: Need, step: str, kinds: tuple[str, ...]) -> Candidate | None:
        found: tuple[tuple[int, float, int, int], Candidate] | None = None
        for c in candidates:
            if c.step != step or _key(c) in used or c.kind not in kinds:
                continue
            k = level(need, c.region)
            if k is None:
                continue
            rank = (k, -c.score, -c.rooms, c.ref)
            if found is None or rank < found[0]:
                found = (rank, c)
        return None if found is None else found[1]

    for i in order:
        need = needs[i]
        s = best_pending(need)
        late = (
            s is not None
            and need.deadline is not None
            and (ready_time(s.opens_at, at, every) > need.deadline)
        )
        if s is None or late:
            steps = (
                ("standby", need.kinds),
                ("surge_standby", need.extra),
                ("site", ("fangcang",) if "fangcang" in need.kinds + need.extra else ()),
            )
            for step, kinds in steps:
                c = best_candidate(need, step, kinds)
                if c is None:
                    continue
                ready = ready_time(at + c.lead, at, every)
                if s is not None and need.deadline is not None and ready > need.deadline:
                    continue  # would not help in time: the late room stays the promise
                if step == "site" and s is not None:
                    continue  # a site opens in days: only when nothing at all would come
                used.add(_key(c))
                new = Supply(c.ref, c.kind, c.region, at + c.lead, c.rooms)
                pending.append(new)
                out.activated.append((c, new))
                s = best_pending(need)
                break
        if s is not None:
            s.rooms -= 1
            out.supply[i] = s
            out.ready[i] = ready_time(s.opens_at, at, every)
    return out


def forecast_sites(
    shortfall: Mapping[str, int],
    pending: Sequence[Supply],
    candidates: Sequence[Candidate],
    index: RegionIndex,
    reach: Sequence[str],
    level: str,
    already: set[int],
) -> list[Candidate]:
    """Sites to activate for a forecast shortfall of rooms per region (at ``level``): the
    rooms coming there are counted first; then the best sites in reach until covered.
    ``already``: site indices activated before (skipped)."""
    out: list[Candidate] = []
    for region, short in sorted(shortfall.items()):
        coming = sum(s.rooms for s in pending if index.ancestor(s.region, level) == region)
        short -= coming
        ranked = sorted(
            (c for c in candidates if c.step == "site"),
            key=lambda c: (
                _level_of(region, c.region, index, reach) is None,
                _level_of(region, c.region, index, reach) or 0,
                -c.score,
                c.ref,
            ),
        )
        for c in ranked:
            if short <= 0:
                break
            if c.ref in already or _level_of(region, c.region, index, reach) is None:
                continue
            already.add(c.ref)
            out.append(c)
            short -= c.rooms
    return out


# ---- from the store and back -----------------------------------------------------------------


def open_due(conn: Connection, *, at: datetime, by: str) -> int:
    """Activating facilities whose opening time has come are open (take placements)."""
    f = quarantine_facilities
    return int(
        conn.execute(
            update(f)
            .where(f.c.status == "activating", f.c.opens_at.is_not(None), f.c.opens_at <= at)
            .values(status="open", updated_at=at, updated_by=by[:80])
        ).rowcount
    )


def _free_rooms(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    r = quarantine_rooms.c
    if not ids:
        return {}
    return {
        int(fid): int(n)
        for fid, n in conn.execute(
            select(r.facility_id, func.count())
            .where(r.facility_id.in_(list(ids)), r.state == "free")
            .group_by(r.facility_id)
        )
    }


def load_ladder(
    conn: Connection, rules: QuarantineRules, *, at: datetime
) -> tuple[list[Supply], list[Candidate], list[SiteScore]]:
    """(rooms coming from activating facilities, what could be activated, the ranked
    sites not yet made fangcang — candidates of step ``site`` index into it)."""
    f = quarantine_facilities.c
    rows = conn.execute(
        select(f.id, f.kind, f.region_code, f.status, f.opens_at, f.code)
        .where(f.status.in_(["activating", "standby"]))
        .order_by(f.id)
    ).all()
    free = _free_rooms(conn, [int(x.id) for x in rows])
    pending: list[Supply] = []
    candidates: list[Candidate] = []
    lead = timedelta(hours=rules.surge.standby_activation_hours)
    for x in rows:
        rooms = free.get(int(x.id), 0)
        if rooms <= 0:
            continue
        if x.status == "activating":
            pending.append(Supply(int(x.id), x.kind, x.region_code, x.opens_at or at, rooms))
        else:
            for step in ("standby", "surge_standby"):  # which one applies is the need's kinds
                candidates.append(Candidate(int(x.id), step, x.kind, x.region_code, rooms, lead))
    made = set(conn.execute(select(f.code).where(f.code.like(f"{SITE_PREFIX}%"))).scalars())
    sites = [
        s
        for s in rank_sites(list_sites(conn), rules.survey)
        if site_facility_code(s.site.code) not in made and s.beds > 0
    ]
    for k, s in enumerate(sites):
        days = timedelta(days=s.activation_days)
        candidates.append(
            Candidate(
                k, "site", "fangcang", s.site.region_code, min(s.beds, MAX_ROOMS), days, s.score
            )
        )
    return pending, candidates, sites


def site_facility_code(site_code: str) -> str:
    return f"{SITE_PREFIX}{site_code}"[:40]


def activate_standby(
    conn: Connection, facility_ids: Sequence[int], *, opens_at: datetime, at: datetime, by: str
) -> int:
    """Standby facilities start activating (备用转启用): they open at ``opens_at``."""
    f = quarantine_facilities
    if not facility_ids:
        return 0
    return int(
        conn.execute(
            update(f)
            .where(f.c.id.in_(list(facility_ids)), f.c.status == "standby")
            .values(status="activating", opens_at=opens_at, updated_at=at, updated_by=by[:80])
        ).rowcount
    )


def activate_site(
    conn: Connection, score: SiteScore, rules: QuarantineRules, *, at: datetime, by: str
) -> int:
    """A surveyed site becomes a fangcang (kind fangcang, one bed a room, zones per the
    pack), activating until the survey's activation days for its type have passed."""
    site = score.site
    beds = min(score.beds, MAX_ROOMS)
    zones = max(1, min(100, math.ceil(beds / rules.surge.fangcang_zone_beds)))
    fid, _, _ = _save(
        conn,
        FacilityInput(
            code=site_facility_code(site.code),
            name=f"{site.name}（方舱 fangcang）"[:200],
            kind="fangcang",
            region_code=site.region_code,
            status="activating",
            single_rooms=beds,
            zones=zones,
            address=site.address,
        ),
        by,
        at,
    )
    f = quarantine_facilities
    conn.execute(
        update(f).where(f.c.id == fid).values(opens_at=at + timedelta(days=score.activation_days))
    )
    return fid
