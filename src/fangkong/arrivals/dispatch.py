"""Landing tests and transfers: the work an arrival point does after a manifest is in.

``landing_queue`` lists who waits for a landing test (落地核酸) at a point, in order of
arrival; ``sample`` registers their tube through testing's ``collect`` (purpose
``landing``, the pack's pool size per risk) and moves them to ``sampled`` — the result
flows back through testing's ``resolve`` (codes, retests), and the traveller's page reads
it by the tube's barcode. ``plan`` places the travellers who need a transfer through
quarantine's ``place`` (rooms in hotels with free rooms, or home quarantine), groups them
by risk and destination and gives each group vehicles (``transfer.plan_loads``).
Teams and vehicles are registered with ``save_team`` and ``save_vehicle``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, select, update

from fangkong import clock
from fangkong.arrivals.loop import _row, enter_stage
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import TEAM_KINDS, handoffs, teams, travellers, trips, vehicles
from fangkong.arrivals.transfer import Car, Group, plan_loads
from fangkong.care.tables import care_needs
from fangkong.errors import BadInput, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.placement import place
from fangkong.quarantine.regions import load_regions
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_facilities, quarantine_placements
from fangkong.quarantine.terms import PlacementRequest
from fangkong.settings import default_tz
from fangkong.store.schema import regions, venues
from fangkong.store.tx import write_transaction
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, TubeView, collect

Bind = Engine | Connection
_SHANGHAI = default_tz()


def _bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(f"arrivals.{code}", zh, en))


# ---- teams and vehicles ----------------------------------------------------------------------


def save_team(
    bind: Bind,
    code: str,
    name: str,
    kind: str,
    region_code: str,
    *,
    venue_code: str | None = None,
    superior_code: str | None = None,
) -> None:
    """Create or change a team (专班)."""
    if kind not in TEAM_KINDS:
        raise _bad(
            "team_kind",
            f"班组类型应为 {'、'.join(TEAM_KINDS)}",
            f"team kind must be one of {', '.join(TEAM_KINDS)}",
        )
    values = {
        "name": name,
        "kind": kind,
        "region_code": region_code,
        "venue_code": venue_code,
        "superior_code": superior_code,
    }
    with write_transaction(bind) as conn:
        if (
            conn.execute(select(regions.c.code).where(regions.c.code == region_code)).first()
            is None
        ):
            raise _bad("team_region", f"无此地区 {region_code}", f"no region {region_code}")
        if (
            superior_code
            and conn.execute(select(teams.c.code).where(teams.c.code == superior_code)).first()
            is None
        ):
            raise _bad(
                "team_superior",
                f"无此上级班组 {superior_code}",
                f"no superior team {superior_code}",
            )
        if conn.execute(select(teams.c.code).where(teams.c.code == code)).first() is None:
            conn.execute(teams.insert().values(code=code, **values))
        else:
            conn.execute(update(teams).where(teams.c.code == code).values(**values))


def save_vehicle(
    bind: Bind,
    rules: ArrivalRules,
    code: str,
    kind: str,
    capacity: int,
    team_code: str,
    lat: float,
    lon: float,
    *,
    in_service: bool = True,
) -> None:
    """Create or change a transfer vehicle (转运车辆); its kind must have a pack speed."""
    if kind not in rules.transfer.speeds_kmh:
        raise _bad(
            "vehicle_kind",
            f"车型应为 {'、'.join(rules.transfer.speeds_kmh)}（政策包车速）",
            f"vehicle kind must be one of {', '.join(rules.transfer.speeds_kmh)} (pack speeds)",
        )
    if capacity < 1:
        raise _bad("vehicle_capacity", "载客数至少为 1", "capacity must be at least 1")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad("vehicle_location", "经纬度超出范围", "latitude/longitude out of range")
    values = {
        "kind": kind,
        "capacity": capacity,
        "team_code": team_code,
        "latitude": lat,
        "longitude": lon,
        "in_service": in_service,
    }
    with write_transaction(bind) as conn:
        if conn.execute(select(teams.c.code).where(teams.c.code == team_code)).first() is None:
            raise _bad("vehicle_team", f"无此班组 {team_code}", f"no team {team_code}")
        if conn.execute(select(vehicles.c.code).where(vehicles.c.code == code)).first() is None:
            conn.execute(vehicles.insert().values(code=code, **values))
        else:
            conn.execute(update(vehicles).where(vehicles.c.code == code).values(**values))


# ---- landing tests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    traveller_id: int
    person_id: int
    risk: str
    pool_size: int
    arrived_at: datetime
    due_at: datetime | None


def landing_queue(bind: Bind, rules: ArrivalRules, point: str) -> list[QueueRow]:
    """Travellers at ``point`` waiting for their landing test, first arrived first."""
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(
                travellers.c.id,
                travellers.c.person_id,
                travellers.c.risk,
                travellers.c.rule_id,
                travellers.c.arrived_at,
                travellers.c.due_at,
            )
            .where(
                travellers.c.point_code == point,
                travellers.c.stage == "registered",
                travellers.c.landing_test.is_(True),
            )
            .order_by(travellers.c.arrived_at, travellers.c.id)
        ).all()
    return [
        QueueRow(
            int(r.id),
            int(r.person_id),
            r.risk,
            rules.risks[r.rule_id.rsplit(".", 1)[-1]].pool_size,
            r.arrived_at,
            r.due_at,
        )
        for r in rows
    ]


def sample(
    engine: Engine,
    rules: ArrivalRules,
    testing: TestingRules,
    traveller_ids: Sequence[int],
    barcode: str,
    *,
    collector: str,
    codes: CodeContext | None = None,
    by: str,
    via: str = "form",
    at: datetime | None = None,
) -> TubeView:
    """Sample travellers at their arrival point into one tube (a pool if several): the
    tube links to them through testing's members; each moves to ``sampled``."""
    at = at or clock.now()
    ids = sorted(set(traveller_ids))
    with write_transaction(engine) as conn:
        rows = [_row(conn, t) for t in ids]
        if not rows:
            raise _bad("sample_empty", "至少一名旅客", "at least one traveller")
        points = {r.point_code for r in rows}
        if len(points) != 1:
            raise _bad("sample_points", "同一管的旅客须在同一卡口", "one tube, one arrival point")
        for r in rows:
            limit = rules.risks[r.rule_id.rsplit(".", 1)[-1]].pool_size
            if r.stage != "registered" or not r.landing_test:
                raise _bad(
                    "sample_stage",
                    f"旅客 {r.id} 不在落地检测队列中",
                    f"traveller {r.id} is not waiting for a landing test",
                )
            if len(rows) > limit:
                raise _bad(
                    "sample_pool",
                    f"旅客 {r.id}（{r.risk}）每管至多 {limit} 人（政策包 pool_size）",
                    f"traveller {r.id} ({r.risk}): at most {limit} to a tube (pack pool_size)",
                )
        point = conn.execute(select(venues).where(venues.c.code == rows[0].point_code)).one()
        tube = collect(
            conn,
            testing,
            Sample(
                barcode,
                [int(r.person_id) for r in rows],
                point.name[:80],
                point.region_code,
                collector,
                at,
                purpose="landing",
            ),
            codes=codes,
            by=by,
            at=at,
        )
        for r in rows:
            conn.execute(
                update(travellers).where(travellers.c.id == r.id).values(tube_barcode=barcode)
            )
            enter_stage(
                conn,
                int(r.id),
                "registered",
                "sampled",
                rules,
                at=at,
                by=by,
                via=via,
                note=f"样本管 {barcode} / tube {barcode}",
            )
    return tube


# ---- transfers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TripView:
    id: int
    vehicle: str
    risk: str
    destination: str
    seats: int
    departs_at: datetime
    eta: datetime
    distance_km: float
    traveller_ids: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    placed: int
    no_room: tuple[int, ...]  # travellers no room was found for (they wait)
    waiting_vehicle: tuple[int, ...]
    trips: tuple[TripView, ...]


def _ready(conn: Connection, point: str) -> list[Any]:
    """Travellers at ``point`` to carry: sampled (or registered without a landing test),
    needing a transfer, not yet on a trip, and not waiting for a hand-off to be taken."""
    pending = select(handoffs.c.traveller_id).where(handoffs.c.acknowledged_at.is_(None))
    return list(
        conn.execute(
            select(travellers)
            .where(
                travellers.c.point_code == point,
                travellers.c.transfer.is_(True),
                travellers.c.trip_id.is_(None),
                (travellers.c.stage == "sampled")
                | ((travellers.c.stage == "registered") & travellers.c.landing_test.is_(False)),
                travellers.c.id.not_in(pending),
            )
            .order_by(travellers.c.id)
        ).all()
    )


def plan(
    engine: Engine,
    rules: ArrivalRules,
    quarantine: QuarantineRules,
    point: str,
    *,
    by: str,
    codes: CodeContext | None = None,
    at: datetime | None = None,
) -> Plan:
    """Place and group the travellers ready at ``point`` and plan their trips (see the
    module docstring). Safe to run again: placements are keyed by traveller."""
    at = at or clock.now()
    with engine.connect() as conn:
        ready = _ready(conn, point)
    todo, seen = [], set()
    for t in ready:  # one request per person a run: a person may be on two manifests
        if t.placement_id is None and t.person_id not in seen:
            todo.append(t)
            seen.add(t.person_id)
    if todo:
        requests = [
            PlacementRequest(
                int(t.person_id),
                risk_group=_group(rules, t),
                kind=_kind(rules, t),
                region_code=t.destination_region,
                starts_at=t.arrived_at,
                ref=f"arrival-{t.id}",
            )
            for t in todo
        ]
        done = place(
            engine,
            requests,
            quarantine,
            by=by,
            at=at,
            codes=codes,
            tz=codes.tz if codes else _SHANGHAI,
        )
        with write_transaction(engine) as conn:
            for t, a in zip(todo, done, strict=True):
                if a.placement_id is not None and a.outcome in ("placed", "home", "already_placed"):
                    conn.execute(
                        update(travellers)
                        .where(travellers.c.id == t.id)
                        .values(placement_id=a.placement_id)
                    )
    with write_transaction(engine) as conn:
        return _trips(conn, rules, point, by, at, len(todo))


def _group(rules: ArrivalRules, t: Any) -> str:
    group = rules.risks[t.rule_id.rsplit(".", 1)[-1]].quarantine_group
    if group is None:
        raise _bad(
            "not_placed",
            f"旅客 {t.id} 的管理方式不安置隔离",
            f"traveller {t.id}: the management places nobody",
        )
    return group


def _kind(rules: ArrivalRules, t: Any) -> str | None:
    return rules.risks[t.rule_id.rsplit(".", 1)[-1]].placement_kind


def _destination(
    conn: Connection, t: Any, rules: ArrivalRules, index: Any
) -> tuple[str, str, tuple[float, float]] | None:
    p = conn.execute(
        select(
            quarantine_placements.c.kind,
            quarantine_placements.c.facility_id,
            quarantine_placements.c.region_code,
        ).where(quarantine_placements.c.id == t.placement_id)
    ).first()
    if p is None:
        return None
    if p.facility_id is not None:
        f = conn.execute(
            select(quarantine_facilities).where(quarantine_facilities.c.id == p.facility_id)
        ).one()
        where = (f.latitude, f.longitude) if f.latitude is not None else index.point(f.region_code)
        return f"facility:{f.code}", f.name, where
    area = index.ancestor(t.destination_region, rules.home_area_level) or t.destination_region
    info = index.info.get(area)
    name = info.name if info else area
    return f"home:{area}", f"居家：{name} / home: {name}", index.point(area)


def _trips(
    conn: Connection, rules: ArrivalRules, point: str, by: str, at: datetime, placed: int
) -> Plan:
    index = load_regions(conn)
    v = conn.execute(select(venues).where(venues.c.code == point)).one()
    here = (v.latitude, v.longitude) if v.latitude is not None else index.point(v.region_code)
    ready = _ready(conn, point)
    no_room = tuple(int(t.id) for t in ready if t.placement_id is None)
    keyed: dict[tuple[str, str], list[Any]] = {}
    places: dict[tuple[str, str], tuple[str, tuple[float, float]]] = {}
    for t in ready:
        if t.placement_id is None:
            continue
        dest = _destination(conn, t, rules, index)
        if dest is None:
            continue
        key = (t.risk, dest[0])
        keyed.setdefault(key, []).append(t)
        places[key] = (dest[1], dest[2])
    keys = sorted(keyed)
    groups = [Group(k[0], k[1], len(keyed[k]), *places[k][1]) for k in keys]
    busy = select(trips.c.vehicle_code).where(trips.c.status == "planned")
    cars = [
        Car(c.code, c.kind, int(c.capacity), float(c.latitude), float(c.longitude))
        for c in conn.execute(
            select(vehicles).where(
                vehicles.c.in_service.is_(True),
                vehicles.c.code.not_in(busy),
                vehicles.c.code.not_in(_on_care_runs()),
            )
        )
        if c.kind in rules.transfer.speeds_kmh
    ]
    loads = plan_loads(groups, cars, here, rules.transfer)
    taken: dict[int, int] = {}
    views = []
    for load in loads:
        key = keys[load.group]
        start = taken.get(load.group, 0)
        members = keyed[key][start : start + load.seats]
        taken[load.group] = start + load.seats
        departs = at + timedelta(hours=load.departs_h)
        eta = at + timedelta(hours=load.arrives_h)
        trip_id = int(
            conn.execute(
                trips.insert()
                .values(
                    vehicle_code=load.vehicle,
                    point_code=point,
                    risk=key[0],
                    destination_key=key[1],
                    destination_name=places[key][0][:200],
                    seats=load.seats,
                    departs_at=departs,
                    eta=eta,
                    distance_km=round(load.trip_km, 2),
                    status="planned",
                    planned_at=at,
                    planned_by=by[:80],
                )
                .returning(trips.c.id)
            ).scalar_one()
        )
        for t in members:
            conn.execute(
                update(travellers)
                .where(travellers.c.id == t.id)
                .values(
                    trip_id=trip_id, destination_key=key[1], destination_name=places[key][0][:200]
                )
            )
        views.append(
            TripView(
                trip_id,
                load.vehicle,
                key[0],
                places[key][0],
                load.seats,
                departs,
                eta,
                load.trip_km,
                tuple(int(t.id) for t in members),
            )
        )
    carried = {i for view in views for i in view.traveller_ids}
    waiting = tuple(int(t.id) for t in ready if t.placement_id is not None and t.id not in carried)
    return Plan(placed, no_room, waiting, tuple(views))


def free_vehicles(bind: Bind, *, busy: Sequence[str] = ()) -> list[Car]:
    """The vehicles of the closed loop free now: in service, on no planned trip, carrying
    no patient of the care register and not in ``busy``. Read-only; other capabilities
    plan with it and never write these tables."""
    on_trip = select(trips.c.vehicle_code).where(trips.c.status == "planned")
    query = select(vehicles).where(vehicles.c.in_service.is_(True),
                                   vehicles.c.code.not_in(on_trip),
                                   vehicles.c.code.not_in(_on_care_runs()))  # fmt: skip
    if busy:
        query = query.where(vehicles.c.code.not_in(list(busy)))
    with write_transaction(bind) as conn:
        return [
            Car(c.code, c.kind, int(c.capacity), float(c.latitude), float(c.longitude))
            for c in conn.execute(query.order_by(vehicles.c.code))
        ]


def _on_care_runs() -> Select[tuple[str | None]]:
    """Vehicles carrying a patient of the care register (a green-channel transfer planned
    or under way): busy for the closed loop's own trips too."""
    n = care_needs.c
    return select(n.vehicle_code).where(n.status.in_(("planned", "in_transfer")),
                                        n.vehicle_code.is_not(None))  # fmt: skip
