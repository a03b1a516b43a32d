"""Placement service (安置): a batch of requests → rooms, home quarantine, home monitoring.

``place(engine, requests, rules, by=...)`` is the one use case that the CLI, the pages,
tracing's hand-off and arrivals (point-to-point transfer) call. Each request names a
person, their risk group (the pack's ``[quarantine]`` group: close_contact, inbound, …),
and optionally the kind (default: the group's first phase in the pack), a household and
a guardian (placed together), accessibility needs, where they are (a region code;
default: the registry's residence), when the placement takes effect (``starts_at``), day 1
of its period (``period_from``: a close contact's period counts from the last exposure,
自末次暴露; default ``starts_at``) and a caller reference (idempotency: a repeated ``ref``
returns the stored placement). One ``Assignment`` comes back per request, in order.
``reach`` (a region level: county, city, province) keeps each person to the facilities
of their own region at that level (the intake job widens it step by step, pack:
``[quarantine.surge] reach``); None reaches everywhere, nearest first.

Never double-booked, on both backends::

    round (one write transaction; SQLite: BEGIN IMMEDIATE, one writer at a time)
      ├─ free rooms + zone groups ─▶ assign (pure, nearest first) ─▶ facilities wanted
      ├─ PostgreSQL: lock those facility rows (SELECT … ORDER BY id FOR UPDATE: one
      │  statement, sorted, so no deadlock), reload their rooms and zones, assign again
      ├─ UPDATE rooms SET state='occupied' WHERE id IN (…) AND state='free' RETURNING id
      │  (a room another writer took is simply not returned: its unit tries again)
      └─ bookings (UNIQUE (room_id, active): the database refuses a second holder),
         placements (UNIQUE (person_id, active): one active placement per person)
    units that lost a race go round again (fresh snapshot); the rest get ``no_room``

Codes follow placements: after the commit each new placement is recorded as a health-code
``period`` fact (centralised_quarantine / home_quarantine / home_monitoring, from its
start to its planned end; idempotent by client event id) and, given a ``CodeContext``,
the codes are recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine, String, and_, cast, func, select, update

from fangkong import clock
from fangkong.errors import BadInput, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.writer import FactInput
from fangkong.quarantine.assign import RoomPool, Unit, assign, form_units
from fangkong.quarantine.regions import RegionIndex, load_regions
from fangkong.quarantine.rules import FACT_PERIOD, KINDS, Phase, QuarantineRules
from fangkong.quarantine.tables import (
    quarantine_bookings,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction

SHANGHAI = ZoneInfo("Asia/Shanghai")
OUTCOMES = ("placed", "home", "no_room", "not_managed", "already_placed")
_CHUNK = 5_000
_ROUNDS = 10


@dataclass(frozen=True)
class PlacementRequest:
    """One person to place. ``kind``: centralised | home_quarantine | home_monitoring."""

    person_id: int
    risk_group: str
    kind: str | None = None
    household: str | None = None  # None: the registry's household
    guardian_id: int | None = None  # a child's guardian, placed in the same room
    needs_accessible: bool = False
    region_code: str | None = None  # where the person is; None: the registry's residence
    starts_at: datetime | None = None  # when the placement takes effect; None: now
    ref: str | None = None  # the caller's reference: a repeated ref changes nothing
    period_from: datetime | None = None  # day 1 of the period; None: starts_at


@dataclass(frozen=True)
class Assignment:
    """What became of one request (``outcome`` one of ``OUTCOMES``)."""

    person_id: int
    outcome: str
    placement_id: int | None = None
    kind: str | None = None
    facility_code: str | None = None
    facility_name: str | None = None
    room_code: str | None = None
    zone: str | None = None
    starts_at: datetime | None = None
    planned_end: datetime | None = None
    test_days: tuple[int, ...] = ()
    facility_kind: str | None = None
    facility_region: str | None = None
    period_from: datetime | None = None


class PlacementInvalid(BadInput):
    """quarantine.request_invalid: a request names an unknown kind, group or person."""


def _invalid(zh: str, en: str) -> PlacementInvalid:
    return PlacementInvalid(Problem("quarantine.request_invalid", zh, en))


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _among(conn: Connection, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    """WHERE clauses putting ``column`` in ``values``: on SQLite one clause reading the
    values from one JSON parameter (``json_each``: no statement of thousands of
    parameters to build), elsewhere one ``IN`` per chunk."""
    if conn.dialect.name == "sqlite":
        table = func.json_each(json.dumps(list(values))).table_valued("value")
        yield column.in_(select(table.c.value))
        return
    for chunk in _chunks(values):
        yield column.in_(chunk)


def period_end(start: datetime, phase: Phase) -> datetime | None:
    return None if phase.days is None else start + timedelta(days=phase.days)


def test_dates(start: datetime, days: Sequence[int], tz: ZoneInfo) -> list[date]:
    """Day N of a placement is the N-th local calendar day from its start (day 1)."""
    first = start.astimezone(tz).date()
    return [first + timedelta(days=d - 1) for d in days]


# ---- loading what the algorithm reads -------------------------------------------------------


@dataclass
class _Person:
    household: str | None
    residence: str | None
    birth: date | None


def _people(conn: Connection, ids: Sequence[int]) -> dict[int, _Person]:
    p = persons.c
    out: dict[int, _Person] = {}
    # the date as text: the driver's string, parsed once here, costs less than the
    # dialect's date processing of every row
    birth = cast(p.birth_date, String(10)).label("birth")
    parsed: dict[str | None, date | None] = {None: None}
    for among in _among(conn, p.id, list(ids)):
        for pid, household, residence, born in conn.execute(
            select(p.id, p.household_code, p.residence_code, birth).where(among)
        ):
            if born not in parsed:
                parsed[born] = date.fromisoformat(born[:10])
            out[int(pid)] = _Person(household, residence, parsed[born])
    return out


def _active(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    q = quarantine_placements.c
    out: dict[int, int] = {}
    for among in _among(conn, q.person_id, list(ids)):
        for pid, plid in conn.execute(select(q.person_id, q.id).where(among, q.active.is_(True))):
            out[int(pid)] = int(plid)
    return out


def load_pool(
    conn: Connection,
    rules: QuarantineRules,
    index: RegionIndex,
    only: Sequence[int] | None = None,
    *,
    lock: bool = False,
) -> RoomPool:
    """Free rooms of the facilities that take placements now (pack: placeable_statuses)."""
    f, r, b = quarantine_facilities.c, quarantine_rooms.c, quarantine_bookings.c
    q = select(f.id, f.kind, f.latitude, f.longitude, f.region_code).where(
        f.status.in_(rules.placement.placeable_statuses)
    )
    if only is not None:
        q = q.where(f.id.in_(list(only)))
    q = q.order_by(f.id)
    if lock:
        q = q.with_for_update()
    facilities = conn.execute(q).all()
    position = {int(row.id): i for i, row in enumerate(facilities)}
    lat = np.empty(len(facilities))
    lon = np.empty(len(facilities))
    for i, row in enumerate(facilities):
        lat[i], lon[i] = (
            (row.latitude, row.longitude)
            if row.latitude is not None
            else index.point(row.region_code)
        )
    ids = list(position)
    zone_index: dict[tuple[int, str], int] = {}
    zone_group: list[str] = []
    zone_facility: list[int] = []

    def zone_of(fid: int, zone: str) -> int:
        key = (fid, zone)
        z = zone_index.get(key)
        if z is None:
            z = zone_index[key] = len(zone_group)
            zone_group.append("")
            zone_facility.append(position[fid])
        return z

    room_id: list[int] = []
    room_facility: list[int] = []
    room_zone: list[int] = []
    room_kind: list[str] = []
    room_beds: list[int] = []
    room_label: list[tuple[str, str]] = []
    held: list[tuple[int, str, str]] = []
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(r.id, r.facility_id, r.kind, r.beds, r.zone, r.code)
            .where(r.facility_id.in_(chunk), r.state == "free")
            .order_by(r.facility_id, r.code)
        ).all()
        for room in rows:
            room_id.append(int(room.id))
            room_facility.append(position[int(room.facility_id)])
            room_zone.append(zone_of(int(room.facility_id), room.zone))
            room_kind.append(room.kind)
            room_beds.append(int(room.beds))
            room_label.append((room.code, room.zone))
        held += [
            (int(x.facility_id), x.zone, x.risk_group)
            for x in conn.execute(
                select(r.facility_id, r.zone, b.risk_group)
                .distinct()
                .join(quarantine_rooms, r.id == b.room_id)
                .where(b.active.is_(True), r.facility_id.in_(chunk))
            )
        ]
    facility_groups: list[set[str]] = [set() for _ in ids]
    for fid, zone, group in held:
        z = zone_of(fid, zone)
        zone_group[z] = zone_group[z] or group  # a mixed zone (pack changed) keeps one
        facility_groups[position[fid]].add(group)
    return RoomPool(
        facility_ids=ids,
        facility_kind=[row.kind for row in facilities],
        facility_lat=lat,
        facility_lon=lon,
        room_id=room_id,
        room_facility=room_facility,
        room_zone=room_zone,
        room_kind=room_kind,
        room_beds=room_beds,
        zone_group=zone_group,
        zone_facility=zone_facility,
        facility_groups=facility_groups,
        room_label=room_label,
        facility_region=[row.region_code for row in facilities],
    )


# ---- the use case ---------------------------------------------------------------------------


@dataclass
class _Job:
    """A request being placed: its phase and times."""

    index: int
    request: PlacementRequest
    kind: str
    phase: Phase
    start: datetime
    end: datetime | None
    region: str | None
    household: str | None
    child: bool
    anchor: datetime | None = None  # day 1 of the period (None: start)


def _check(requests: Sequence[PlacementRequest], rules: QuarantineRules) -> None:
    seen: set[int] = set()
    for r in requests:
        if r.kind is not None and r.kind not in KINDS:
            raise _invalid(
                f"无效的安置方式 {r.kind!r}（可选：{'、'.join(KINDS)}）",
                f"not a placement kind: {r.kind!r} (one of: {', '.join(KINDS)})",
            )
        rules.group(r.risk_group)
        if r.person_id in seen:
            raise _invalid(
                f"人员 {r.person_id} 在同一批次中出现多次",
                f"person {r.person_id} appears twice in the batch",
            )
        seen.add(r.person_id)
        if r.starts_at is not None and r.starts_at.tzinfo is None:
            raise _invalid("starts_at 须带时区", "starts_at must carry a time zone")
        if r.period_from is not None and r.period_from.tzinfo is None:
            raise _invalid("period_from 须带时区", "period_from must carry a time zone")


def place(
    engine: Engine,
    requests: Sequence[PlacementRequest],
    rules: QuarantineRules,
    *,
    by: str,
    at: datetime | None = None,
    tz: ZoneInfo = SHANGHAI,
    pack_ref: str = "",
    codes: CodeContext | None = None,
    record_codes: bool = True,
    reach: str | None = None,
) -> list[Assignment]:
    """Place a batch (see the module's docstring); one ``Assignment`` per request."""
    at = at or clock.now()
    _check(requests, rules)
    out: list[Assignment | None] = [None] * len(requests)
    jobs: list[_Job] = []
    memo: dict[tuple[str, str | None], tuple[Phase, ...]] = {}
    with write_transaction(engine) as conn:
        stored = _by_ref(conn, [r.ref for r in requests if r.ref])
        people = _people(conn, [r.person_id for r in requests])
        missing = sorted({r.person_id for r in requests} - set(people))
        if missing:
            raise PlacementInvalid(
                Problem(
                    "quarantine.person_unknown",
                    f"无此人员：{', '.join(map(str, missing[:10]))}",
                    f"no such person: {', '.join(map(str, missing[:10]))}",
                )
            )
        active = _active(conn, [r.person_id for r in requests])
        for i, r in enumerate(requests):
            if r.ref and r.ref in stored:
                out[i] = stored[r.ref]
                continue
            if r.person_id in active:
                out[i] = Assignment(r.person_id, "already_placed", active[r.person_id])
                continue
            phases = _phases(rules, r.risk_group, r.kind, memo)
            if not phases:
                out[i] = Assignment(r.person_id, "not_managed")
                continue
            person = people[r.person_id]
            start = r.starts_at or at
            anchor = r.period_from or start
            age = _age(person.birth, start.astimezone(tz).date())
            jobs.append(
                _Job(
                    i,
                    r,
                    phases[0].kind,
                    phases[0],
                    start,
                    period_end(anchor, phases[0]),
                    r.region_code or person.residence,
                    r.household or person.household,
                    age is not None and age < rules.placement.child_age_below,
                    anchor,
                )
            )
        home = [j for j in jobs if j.kind != "centralised"]
        if home:
            ids = _insert_placements(
                conn, [(j, None, None, None) for j in home], rules, by, at, pack_ref
            )
            for j, pid in zip(home, ids, strict=True):
                out[j.index] = _assignment(j, pid, "home", None, tz)
        index = load_regions(conn)
    centralised = [j for j in jobs if j.kind == "centralised"]
    if centralised:
        for j, result in _place_rooms(
            engine, centralised, rules, index, by, at, pack_ref, tz, reach
        ):
            out[j.index] = result
    final = [a for a in out if a is not None]
    if record_codes:
        _send_codes(engine, final, by, at, codes)
    return final


def _phases(
    rules: QuarantineRules,
    group: str,
    kind: str | None,
    memo: dict[tuple[str, str | None], tuple[Phase, ...]],
) -> tuple[Phase, ...]:
    """The phases a request starts (one lookup per group and kind of a batch)."""
    found = memo.get((group, kind))
    if found is None:
        phases = rules.phases(group)
        if kind is not None and phases:
            # a kind the group lacks (a guardian staying with a child, a placement
            # ordered by an officer) keeps the group's first period and tests
            phases = rules.phases(group, kind) or (replace(phases[0], kind=kind),)
        found = memo[(group, kind)] = phases
    return found


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _assignment(
    j: _Job,
    placement_id: int,
    outcome: str,
    room: tuple[str, str, str, str] | None,
    tz: ZoneInfo,
    where: tuple[str, str | None] | None = None,  # the facility's kind and region
) -> Assignment:
    fcode, fname, rcode, zone = room or (None, None, None, None)
    fkind, fregion = where or (None, None)
    return Assignment(
        j.request.person_id,
        outcome,
        placement_id,
        j.kind,
        fcode,
        fname,
        rcode,
        zone,
        j.start,
        j.end,
        j.phase.test_days,
        fkind,
        fregion,
        j.anchor,
    )


def _by_ref(conn: Connection, refs: Sequence[str]) -> dict[str, Assignment]:
    if not refs:
        return {}
    q, f, r = quarantine_placements.c, quarantine_facilities.c, quarantine_rooms.c
    out = {}
    for chunk in _chunks(list(refs)):
        rows = conn.execute(
            select(
                q.id,
                q.person_id,
                q.kind,
                q.request_ref,
                q.starts_at,
                q.planned_end,
                q.test_days,
                q.period_from,
                f.kind.label("fkind"),
                f.region_code.label("fregion"),
                f.code.label("fcode"),
                f.name.label("fname"),
                r.code.label("rcode"),
                r.zone,
            )
            .outerjoin(quarantine_facilities, f.id == q.facility_id)
            .outerjoin(quarantine_rooms, r.id == q.room_id)
            .where(q.request_ref.in_(chunk))
        ).all()
        for row in rows:
            out[row.request_ref] = Assignment(
                int(row.person_id),
                "placed" if row.kind == "centralised" else "home",
                int(row.id),
                row.kind,
                row.fcode,
                row.fname,
                row.rcode,
                row.zone,
                row.starts_at,
                row.planned_end,
                tuple(json.loads(row.test_days)),
                row.fkind,
                row.fregion,
                row.period_from or row.starts_at,
            )
    return out


def _insert_placements(
    conn: Connection,
    items: Sequence[tuple[_Job, int | None, int | None, int | None]],  # job, booking, room, fac
    rules: QuarantineRules,
    by: str,
    at: datetime,
    pack_ref: str,
) -> list[int]:
    jobs = [item[0] for item in items]
    days: dict[tuple[int, ...], str] = {}
    columns: dict[str, Any] = {
        "person_id": [j.request.person_id for j in jobs],
        "kind": [j.kind for j in jobs],
        "risk_group": [j.request.risk_group for j in jobs],
        "status": Same("active"),
        "active": Same(True),
        "booking_id": [item[1] for item in items],
        "room_id": [item[2] for item in items],
        "facility_id": [item[3] for item in items],
        "region_code": [j.region for j in jobs],
        "starts_at": [j.start for j in jobs],
        "period_from": [j.anchor or j.start for j in jobs],
        "planned_end": [j.end for j in jobs],
        "ended_at": Same(None),
        "test_days": [
            days.get(j.phase.test_days)
            or days.setdefault(j.phase.test_days, json.dumps(list(j.phase.test_days)))
            for j in jobs
        ],
        "follows_id": Same(None),
        "request_ref": [j.request.ref for j in jobs],
        "pack_ref": Same(pack_ref[:80]),
        "created_at": Same(at),
        "created_by": Same(by[:80]),
        "end_reason": Same(None),
    }
    return insert_with_ids(conn, quarantine_placements, len(items), columns, key="person_id")


@dataclass(frozen=True)
class Same:
    """A column holding one value on every row of an insert."""

    value: Any


def _column(conn: Connection, table: Any, name: str, values: Any) -> Any:
    """A column's values as the driver takes them, each distinct value converted once
    (a batch shares its times, kinds and groups): a ``Same`` stays one value."""
    proc = table.c[name].type.bind_processor(conn.dialect)

    def convert(v: Any) -> Any:
        v = v if proc is None or v is None else proc(v)
        # what sqlite3's default adapter would store, done once per value, not per row
        return v.isoformat(" ") if isinstance(v, datetime) else v

    if isinstance(values, Same):
        return Same(convert(values.value))
    if proc is None and not any(isinstance(v, datetime) for v in values[:1]):
        return values
    memo = {v: convert(v) for v in set(values)}
    return [memo[v] for v in values]


def _executemany(conn: Connection, table: Any, n: int, columns: dict[str, Any]) -> None:
    """One driver-level executemany (SQLite): SQLAlchemy's per-row parameter handling
    would cost more than SQLite's insert itself. A column NULL on every row is left out
    (its default is NULL); one value on every row is bound once per row from a repeat."""
    names = [c for c, v in columns.items() if not (isinstance(v, Same) and v.value is None)]
    converted = {c: _column(conn, table, c, columns[c]) for c in names}
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=names)
    order = list(compiled.positiontup or [])  # the statement's parameter order
    streams = [
        repeat(converted[c].value, n) if isinstance(converted[c], Same) else converted[c]
        for c in order
    ]
    conn.exec_driver_sql(str(compiled), list(zip(*streams, strict=True)))


def insert_with_ids(
    conn: Connection, table: Any, n: int, columns: dict[str, Any], key: str | None = None
) -> list[int]:
    """Insert ``n`` rows given as columns (lists of ``n`` values, or ``Same``); their new
    ids in order. SQLite runs one writer at a time (BEGIN IMMEDIATE), so ids after the
    largest are ours to give and one executemany writes them all (RETURNING in order
    would cost a statement per row there), in the order of ``key`` (a column of an
    index) when given; PostgreSQL returns them from batched multi-row inserts."""
    if not n:
        return []
    if conn.dialect.name == "sqlite":
        top = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        if key is None:
            ids = list(range(top + 1, top + 1 + n))
            _executemany(conn, table, n, {"id": ids, **columns})
            return ids
        # rows written in ``key`` order, ids given in the same order: the table and the
        # key's index both grow at their end instead of taking each row at random
        perm = sorted(range(n), key=columns[key].__getitem__)
        ids = [0] * n
        for k, i in enumerate(perm, start=top + 1):
            ids[i] = k
        permuted = {
            c: v if isinstance(v, Same) else [v[i] for i in perm] for c, v in columns.items()
        }
        _executemany(conn, table, n, {"id": list(range(top + 1, top + 1 + n)), **permuted})
        return ids
    rows = [
        {c: (v.value if isinstance(v, Same) else v[i]) for c, v in columns.items()}
        for i in range(n)
    ]
    out: list[int] = []
    for chunk in _chunks(rows):
        result = conn.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), list(chunk)
        )
        out += [int(x) for x in result.scalars()]
    return out


def _locations(jobs: Sequence[_Job], index: RegionIndex) -> tuple[list[int], Any, Any]:
    codes: dict[str | None, int] = {}
    loc = [codes.setdefault(j.region, len(codes)) for j in jobs]
    points = [index.point(code) for code in codes]
    lat = np.array([p[0] for p in points], dtype=np.float64)
    lon = np.array([p[1] for p in points], dtype=np.float64)
    return loc, lat, lon


def _split(units: list[Unit], pool: RoomPool) -> list[Unit]:
    """Units larger than the largest free family room are split into room-sized parts."""
    biggest = max(
        (b for b, k in zip(pool.room_beds, pool.room_kind, strict=True) if k != "single"), default=1
    )
    out: list[Unit] = []
    for u in units:
        if len(u.members) <= biggest:
            out.append(u)
            continue
        for s in range(0, len(u.members), biggest):
            out.append(replace(u, members=u.members[s : s + biggest]))
    return out


def _place_rooms(
    engine: Engine,
    jobs: Sequence[_Job],
    rules: QuarantineRules,
    index: RegionIndex,
    by: str,
    at: datetime,
    pack_ref: str,
    tz: ZoneInfo,
    reach: str | None = None,
) -> list[tuple[_Job, Assignment]]:
    loc, lat, lon = _locations(jobs, index)
    located = list(dict.fromkeys(j.region for j in jobs))  # the order of _locations' codes
    position = {j.request.person_id: k for k, j in enumerate(jobs)}
    guardians = [position.get(j.request.guardian_id or -1, -1) for j in jobs]
    units = form_units(
        [j.request.risk_group for j in jobs],
        [j.household for j in jobs],
        guardians,
        [j.request.needs_accessible for j in jobs],
        loc,
        [j.child for j in jobs],
        rules.placement,
    )
    done: list[tuple[_Job, Assignment]] = []
    pending = units
    lost: list[Unit] = []
    postgres = engine.dialect.name == "postgresql"
    for round_no in range(_ROUNDS):
        with write_transaction(engine) as conn:
            pool = load_pool(conn, rules, index)
            if round_no == 0:
                pending = _split(pending, pool)
            areas = _areas(located, pool, index, reach)
            choice = assign(pending, pool, lat, lon, rules.placement, areas=areas)
            if postgres:
                wanted = sorted(
                    {pool.facility_ids[pool.room_facility[c]] for c in choice if c >= 0}
                )
                pool = load_pool(conn, rules, index, wanted, lock=True)
                areas = _areas(located, pool, index, reach)
                choice = assign(pending, pool, lat, lon, rules.placement, areas=areas)
            placed, lost = _book(conn, pending, choice, pool, jobs, rules, by, at, pack_ref, tz)
            done += placed
        if not lost:
            break
        pending = lost  # another writer took their rooms: a fresh snapshot, nearest again
    placed_people = {j.request.person_id for j, _ in done}
    for j in jobs:
        if j.request.person_id not in placed_people:
            done.append((j, Assignment(j.request.person_id, "no_room")))
    return done


def _areas(
    located: Sequence[str | None], pool: RoomPool, index: RegionIndex, reach: str | None
) -> tuple[list[str | None], list[str | None]] | None:
    """Each location's and each facility's region at the ``reach`` level (None: no limit)."""
    if reach is None:
        return None
    return (
        [index.ancestor(code, reach) for code in located],
        [index.ancestor(code, reach) for code in pool.facility_region],
    )


def _book(
    conn: Connection,
    units: Sequence[Unit],
    choice: Sequence[int],
    pool: RoomPool,
    jobs: Sequence[_Job],
    rules: QuarantineRules,
    by: str,
    at: datetime,
    pack_ref: str,
    tz: ZoneInfo,
) -> tuple[list[tuple[_Job, Assignment]], list[Unit]]:
    """Take the chosen rooms (conditional update), book them, write the placements.
    Returns the placed people and the units whose room another writer took first."""
    r, b = quarantine_rooms, quarantine_bookings
    chosen = [(u, c) for u, c in zip(units, choice, strict=True) if c >= 0]
    room_ids = [pool.room_id[c] for _, c in chosen]
    won: set[int] = set()
    if conn.dialect.name == "sqlite" and room_ids:
        # one writer at a time: every room still free in the snapshot is ours to take
        taken = conn.exec_driver_sql(
            "UPDATE quarantine_rooms SET state = 'occupied' WHERE state = 'free' "
            "AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(room_ids),),
        ).rowcount
        if taken == len(room_ids):
            won, room_ids = set(room_ids), []
        else:  # cannot happen under BEGIN IMMEDIATE: refuse rather than guess
            raise RuntimeError("a room changed under the SQLite write lock")
    for chunk in _chunks(sorted(room_ids)):
        won.update(
            int(x)
            for x in conn.execute(
                update(r)
                .where(and_(r.c.id.in_(chunk), r.c.state == "free"))
                .values(state="occupied")
                .returning(r.c.id)
            ).scalars()
        )
    lost = [u for u, c in chosen if pool.room_id[c] not in won]
    chosen = [(u, c) for u, c in chosen if pool.room_id[c] in won]
    booking_ids = insert_with_ids(
        conn,
        b,
        len(chosen),
        {
            "room_id": [pool.room_id[c] for _, c in chosen],
            "active": Same(True),
            "risk_group": [u.group for u, _ in chosen],
            "booked_at": Same(at),
            "freed_at": Same(None),
        },
        key="room_id",
    )
    names = _facility_names(conn, {pool.facility_ids[pool.room_facility[c]] for _, c in chosen})
    items: list[tuple[_Job, int | None, int | None, int | None]] = []
    labels: list[tuple[str, str, str, str]] = []
    where: list[tuple[str, str | None]] = []
    for (u, c), booking in zip(chosen, booking_ids, strict=True):
        f = pool.room_facility[c]
        fid = pool.facility_ids[f]
        rid = pool.room_id[c]
        for m in u.members:
            items.append((jobs[m], booking, rid, fid))
            labels.append((*names[fid], *pool.room_label[c]))
            where.append((pool.facility_kind[f], pool.facility_region[f]))
    ids = _insert_placements(conn, items, rules, by, at, pack_ref)
    placed = [
        (item[0], _assignment(item[0], pid, "placed", label, tz, w))
        for item, pid, label, w in zip(items, ids, labels, where, strict=True)
    ]
    return placed, lost


def _facility_names(conn: Connection, ids: set[int]) -> dict[int, tuple[str, str]]:
    f = quarantine_facilities.c
    rows = conn.execute(select(f.id, f.code, f.name).where(f.id.in_(list(ids)))).all()
    return {int(x.id): (x.code, x.name) for x in rows}


# ---- codes follow placements ----------------------------------------------------------------


def period_fact(
    placement_id: int,
    kind: str,
    start: datetime,
    end: datetime | None,
    place: str,
    *,
    version: str = "",
) -> FactInput:
    """The health-code fact of a placement (a new ``version`` when its end changes)."""
    stamp = "open" if end is None else str(int(end.timestamp()))
    return FactInput(
        "period",
        start,
        end,
        {"period": FACT_PERIOD[kind], "place": place[:200]},
        f"quarantine-{placement_id}-{stamp}{version}",
    )


def _send_codes(
    engine: Engine,
    done: Sequence[Assignment],
    by: str,
    at: datetime,
    codes: CodeContext | None,
) -> None:
    facts = [
        (
            a.person_id,
            period_fact(
                a.placement_id, a.kind, a.starts_at, a.planned_end, a.facility_name or "居家 / home"
            ),
        )
        for a in done
        if a.placement_id is not None
        and a.kind is not None
        and a.starts_at is not None
        and a.outcome in ("placed", "home")
    ]
    if facts:
        record_facts(engine, facts, recorded_by=by[:80], now=at)
        if codes is not None:
            recompute_all(engine, codes, at, trigger="quarantine")
