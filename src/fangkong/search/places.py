"""The pages a place's name links to (issue 19, point 2): a region (地区) and a venue (场所).

Every region and venue a page names is a link here. Both pages hold no personal data —
names of places, counts, the current risk areas, the board's figures — so they are read
without an audit row, like the venue read of the API (``auth.records.read_venue``):

- a **region** needs ``dashboard.view`` (every staff role) and lies in the reader's
  jurisdiction; one outside it is answered as absent. Its parents above the jurisdiction
  are named but not linked; the board's figures need ``command.read``.
- a **venue** needs ``venue.read`` through ``read_venue`` (jurisdiction, devices bound to
  one venue); the counts of cases and contacts exposed there are counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, Engine, Select, Table, distinct, func, select

from fangkong.auth.guard import Call, hidden, inside, within
from fangkong.auth.records import VENUE_NOT_FOUND, read_venue
from fangkong.auth.rights import COMMAND_READ, DASHBOARD_VIEW
from fangkong.command.tables import command_figures
from fangkong.errors import NotFound, Problem
from fangkong.riskareas.tables import risk_areas
from fangkong.store.regions import subtree
from fangkong.store.schema import households, persons, regions, venues
from fangkong.tracing.tables import tracing_exposures

REGION_NOT_FOUND = Problem("region.not_found", "未找到此地区", "no such region")
VENUES_SHOWN = 50  # the venues of a region listed on its page (the rest: a count)
# the board's figures a region's page shows, in this order (command.model.FIGURES)
REGION_FIGURES = (
    "cases.new",
    "cases.cumulative",
    "contacts.identified",
    "contacts.placed",
    "contacts.home_orders",
    "contacts.awaiting",
    "risk_areas.high",
    "risk_areas.medium",
)


@dataclass(frozen=True)
class Place:
    """A region as a link: its code, name and level; ``linked`` when the reader may open it."""

    code: str
    name: str
    level: str
    linked: bool = True


@dataclass(frozen=True)
class AreaRow:
    """A risk area in force inside the region."""

    name: str
    level: str
    granularity: str
    region: Place
    since: datetime


@dataclass(frozen=True)
class VenueRow:
    code: str
    name: str
    type: str


@dataclass(frozen=True)
class RegionPage:
    region: Place
    population: int | None
    parents: list[Place]  # the top first
    children: list[Place]
    areas: list[AreaRow]
    persons: int  # residents in the subtree
    households: int
    venues: int
    venue_rows: list[VenueRow]  # the venues of this region itself, up to VENUES_SHOWN
    figures_day: date | None
    figures: dict[str, float]  # REGION_FIGURES of that day (empty without command.read)


@dataclass(frozen=True)
class VenuePage:
    code: str
    name: str
    type: str
    region: Place
    parents: list[Place]
    capacity: int | None
    address: str | None
    latitude: float | None
    longitude: float | None
    members: int  # persons whose school or workplace it is
    cases: int  # cases with an exposure recorded at this venue
    contacts: int  # contacts found through an exposure there


class RegionNames:
    """Region names by code for one page (a page shows a region by its name, linked):
    looked up once per code, on first use, for the codes the page shows."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: dict[str, str | None] = {}

    def __call__(self, code: str | None) -> str | None:
        if not code:
            return None
        if code not in self._known:
            with self._engine.connect() as conn:
                self._known[code] = conn.execute(
                    select(regions.c.name).where(regions.c.code == code)
                ).scalar()
        return self._known[code]


def _place(row: object, linked: bool = True) -> Place:
    return Place(str(row.code), str(row.name), str(row.level), linked)  # type: ignore[attr-defined]


def _parents(conn: Connection, call: Call, parent_code: str | None) -> list[Place]:
    """The region's ancestors, the top first; those outside the reader's jurisdiction
    (above it) are named, not linked."""
    out: list[Place] = []
    seen: set[str] = set()
    code = parent_code
    while code is not None and code not in seen:
        seen.add(code)
        row = conn.execute(
            select(regions.c.code, regions.c.name, regions.c.level, regions.c.parent_code)
            .where(regions.c.code == code)
        ).first()  # fmt: skip
        if row is None:
            break
        out.append(_place(row, inside(conn, call.actor, row.code)))
        code = row.parent_code
    return out[::-1]


def _count(conn: Connection, table: Table, column: ColumnElement[str | None],
           codes: Select[tuple[str]]) -> int:  # fmt: skip
    query = select(func.count()).select_from(table).where(column.in_(codes))
    return int(conn.execute(query).scalar_one())


def read_region(call: Call, code: str) -> RegionPage:
    """A region's page: ``NotFound`` for a region absent or outside the jurisdiction."""
    call.require(DASHBOARD_VIEW)
    r = regions.c
    with call.engine.connect() as conn:
        row = conn.execute(
            select(r.code, r.name, r.level, r.parent_code, r.population).where(r.code == code)
        ).first()
        if row is None:
            raise NotFound(REGION_NOT_FOUND)
        if not inside(conn, call.actor, code):
            raise hidden(NotFound(REGION_NOT_FOUND))
        below = select(r.code, r.name, r.level).where(r.parent_code == code).order_by(r.code)
        children = [_place(c) for c in conn.execute(below)]
        tree = subtree(code)
        a = risk_areas.c
        areas = [
            AreaRow(x.name, x.level, x.granularity, Place(x.region_code, x.region_name, x.rlevel),
                    x.since)
            for x in conn.execute(
                select(a.name, a.level, a.granularity, a.region_code, a.since,
                       r.name.label("region_name"), r.level.label("rlevel"))
                .join(regions, r.code == a.region_code)
                .where(a.region_code.in_(tree), a.level.in_(("high", "medium")))
                .order_by(a.level, a.since.desc())
            )
        ]  # fmt: skip
        v = venues.c
        venue_rows = [
            VenueRow(x.code, x.name, x.type)
            for x in conn.execute(
                select(v.code, v.name, v.type).where(v.region_code == code)
                .order_by(v.name).limit(VENUES_SHOWN)
            )
        ]  # fmt: skip
        day, figures = _figures(conn, code) if call.actor.can(COMMAND_READ) else (None, {})
        return RegionPage(
            _place(row),
            row.population,
            _parents(conn, call, row.parent_code),
            children,
            areas,
            _count(conn, persons, persons.c.residence_code, tree),
            _count(conn, households, households.c.residence_code, tree),
            _count(conn, venues, v.region_code, tree),
            venue_rows,
            day,
            figures,
        )


def _figures(conn: Connection, code: str) -> tuple[date | None, dict[str, float]]:
    """The board's figures of the region on the latest day computed (the daily job)."""
    f = command_figures.c
    day = conn.execute(select(func.max(f.day)).where(f.region_code == code)).scalar()
    if day is None:
        return None, {}
    rows = conn.execute(
        select(f.key, f.value).where(f.region_code == code, f.day == day, f.key.in_(REGION_FIGURES))
    )
    return day, {str(k): float(value) for k, value in rows}


def read_venue_page(call: Call, code: str) -> VenuePage:
    """A venue's page (``venue.read``, jurisdiction): ``NotFound`` otherwise."""
    venue = read_venue(call, code)
    v, e, r = venues.c, tracing_exposures.c, regions.c
    with call.engine.connect() as conn:
        row = conn.execute(
            select(v.address, v.latitude, v.longitude, r.name, r.level, r.parent_code)
            .join(regions, r.code == v.region_code)
            .where(v.code == code, within(call.actor, v.region_code))
        ).first()  # fmt: skip
        if row is None:  # removed since read_venue looked
            raise NotFound(VENUE_NOT_FOUND)
        members = int(
            conn.execute(select(func.count()).where(persons.c.venue_code == code)).scalar_one()
        )
        at_venue = (e.setting == "venue", e.place_code == code)
        cases, contacts = conn.execute(
            select(func.count(distinct(e.case_id)), func.count(distinct(e.contact_id))).where(
                *at_venue
            )
        ).one()
        region = Place(venue.region_code, row.name, row.level)
        return VenuePage(
            venue.code,
            venue.name,
            venue.type,
            region,
            _parents(conn, call, row.parent_code),
            venue.capacity,
            row.address,
            row.latitude,
            row.longitude,
            members,
            int(cases),
            int(contacts),
        )
