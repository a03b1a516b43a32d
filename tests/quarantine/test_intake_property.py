"""A property of the intake job over random demand and capacity, on both backends: run
every 6 hours, it never double-books a room or a person, and every close contact is
placed or ordered home by the deadline — or a not_placed alert with that deadline names
them, raised at the latest by the first run after the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from fangkong.quarantine.intake import run_intake
from fangkong.quarantine.survey import SiteInput, save_site
from fangkong.quarantine.tables import (
    quarantine_alerts,
    quarantine_bookings,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.store.schema import persons
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel
from tests.quarantine.surge_helpers import COUNTY_C, add_city, case, contacts, ctx, rules

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # midnight in Shanghai
EVERY = timedelta(hours=6)
RUNS = 13  # three days


def _world(engine: Engine, rng: np.random.Generator) -> None:
    add_city(engine)
    facilities = []
    for k, county in enumerate((COUNTY_A, COUNTY_B, COUNTY_C)):
        for n in range(int(rng.integers(0, 3))):
            status = "standby" if rng.random() < 0.4 else "open"
            facilities.append(
                hotel(
                    f"H{k}{n}",
                    county,
                    single=int(rng.integers(0, 4)),
                    family=int(rng.integers(0, 2)),
                    zones=2,
                    status=status,
                )
            )
        if rng.random() < 0.5:
            area = float(rng.uniform(60, 600))  # a small site: 6–60 beds
            save_site(
                engine,
                SiteInput(f"S{k}", "场地", "gym", county, area, 100, "grid", "road", 3.0),
                by="t",
            )
    if rng.random() < 0.7:
        facilities.append(
            hotel("DH", "140100", single=int(rng.integers(1, 4)), kind="designated_hospital")
        )
    add(engine, *facilities)


def _checks(engine: Engine) -> None:
    """Nobody double-booked: a room holds one booking, a booking fits the room's beds,
    a person holds one active placement, every active room placement's room is taken."""
    b, r, q = quarantine_bookings.c, quarantine_rooms.c, quarantine_placements.c
    with engine.connect() as conn:
        per_room = conn.execute(
            select(b.room_id, func.count()).where(b.active.is_(True)).group_by(b.room_id)
        ).all()
        assert all(n == 1 for _, n in per_room)
        fits = conn.execute(
            select(b.id, r.beds, func.count(q.id), r.state)
            .join(quarantine_rooms, r.id == b.room_id)
            .join(quarantine_placements, q.booking_id == b.id)
            .where(b.active.is_(True), q.active.is_(True))
            .group_by(b.id, r.beds, r.state)
        ).all()
        assert all(n <= beds and state == "occupied" for _, beds, n, state in fits)
        per_person = conn.execute(
            select(q.person_id, func.count()).where(q.active.is_(True)).group_by(q.person_id)
        ).all()
        assert all(n == 1 for _, n in per_person)


@pytest.mark.parametrize("seed", [2, 4, 5])  # with and without home fallback
def test_every_close_contact_is_placed_in_time_or_alerted(province: Engine, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _world(province, rng)
    with province.connect() as conn:
        everyone = [
            int(p) for p in conn.execute(select(persons.c.id).order_by(persons.c.id)).scalars()
        ]
    picked = [int(p) for p in rng.choice(everyone, size=44, replace=False)]
    sources, pool = picked[:4], picked[4:]
    pack = rules(
        standby_activation_hours=float(rng.choice([0, 6, 12, 30])),
        reach=[["county"], ["county", "city"], ["county", "city", "province"]][seed % 3],
        home_fallback={
            "groups": ["close_contact"] if rng.random() < 0.5 else [],
            "when": str(rng.choice(["no_room_by_deadline", "no_room_now"])),
        },
    )
    # contacts are found at random times over two days, in waves of their case
    waves: list[tuple[datetime, int, list[int], datetime]] = []
    for k, chunk in enumerate(np.array_split(np.array(pool), 8)):
        found = T0 + timedelta(hours=float(rng.uniform(0, 48)))
        reported = found - timedelta(hours=float(rng.uniform(0, 20)))
        waves.append((found, sources[k % 4], [int(p) for p in chunk], reported))
    deadline: dict[int, datetime] = {}
    first_seen: dict[int, datetime] = {}
    known: dict[int, tuple[int, datetime]] = {}  # source → (case id, its report)
    runs = [T0 + i * EVERY for i in range(RUNS)]
    for at in runs:
        for found, source, people, reported in waves:
            if found <= at and all(p not in deadline for p in people):
                if source not in known:  # a case found again later keeps its first report
                    known[source] = (case(province, source, reported=reported), reported)
                contacts(
                    province,
                    known[source][0],
                    people,
                    exposed=found - timedelta(hours=30),
                    found=found,
                )
                for p in people:  # 24 h from the report of the case behind the exposure
                    deadline[p] = known[source][1] + timedelta(hours=24)
                    first_seen[p] = at
        run_intake(province, ctx(), pack, at=at, by="t", every=EVERY, forecast=False)
        _checks(province)
    q, a = quarantine_placements.c, quarantine_alerts.c
    with province.connect() as conn:
        placed = dict(
            conn.execute(
                select(q.person_id, func.min(q.created_at))
                .where(q.risk_group == "close_contact")
                .group_by(q.person_id)
            ).all()
        )
        alerts = conn.execute(select(a.person_id, a.due_at, a.at).where(a.kind == "not_placed"))
        alerted = {(int(p), due): when for p, due, when in alerts}
    assert deadline  # the scenario found contacts
    for p, due in deadline.items():
        if p in placed and placed[p] <= due:
            continue
        after = next((r for r in runs if r > due), runs[-1])
        assert (p, due) in alerted, (p, due, placed.get(p))
        assert alerted[(p, due)] <= max(after, first_seen[p])
