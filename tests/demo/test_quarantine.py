"""The demo's quarantine step on both backends: facilities generated for the province,
close contacts traced since the last day placed (standby opened when short), rooms freed
when periods end (negative final test → release and home monitoring; a contact who
became a case → converted), readiness lines against the pack's norm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from fangkong.demo.quarantine import QuarantineFeed
from fangkong.healthcode.service import CodeContext
from fangkong.identity.sealing import Sealer
from fangkong.policy.loader import load_pack
from fangkong.quarantine.facilities import list_facilities
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons
from fangkong.tracing.tables import tracing_cases, tracing_contacts
from tests.conftest import TEST_SEAL_KEY

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # midnight in Shanghai


def _ctx() -> CodeContext:
    from zoneinfo import ZoneInfo

    from fangkong.healthcode.qr import QrKeys

    return CodeContext(load_pack("protocol-9"), Sealer(TEST_SEAL_KEY), QrKeys.generate(),
                       ZoneInfo("Asia/Shanghai"))  # fmt: skip


def _contacts(engine: Engine, ids: list[int], at: datetime) -> None:
    rows = [{"person_id": p, "kind": "close", "status": "identified", "first_exposure_at": at,
             "last_exposure_at": at, "identified_at": at, "status_at": at, "status_by": "t"}
            for p in ids]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(tracing_contacts.insert(), rows)


def _apart(engine: Engine) -> list[int]:
    """Persons of different households (each is a unit of one: a single room)."""
    with engine.connect() as conn:
        rows = conn.execute(select(persons.c.id, persons.c.household_code).order_by(persons.c.id))
        first: dict[str | None, int] = {}
        for pid, household in rows:
            first.setdefault(household or f"none-{pid}", int(pid))
    return sorted(first.values())


def _active(engine: Engine, kind: str) -> int:
    q = quarantine_placements.c
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(q.active.is_(True), q.kind == kind)
            ).scalar_one()
        )


def test_contacts_fill_rooms_standby_opens_and_periods_end(province: Engine) -> None:
    feed = QuarantineFeed.build(province, _ctx())
    hotels = [f for f in list_facilities(province) if f.kind == "hotel"]
    assert feed.facilities == len(list_facilities(province))
    assert hotels
    open_rooms = sum(sum(f.rooms.values()) for f in hotels if f.status == "open")
    all_rooms = sum(sum(f.rooms.values()) for f in hotels)
    ids = _apart(province)
    wanted = all_rooms + 2  # more close contacts than hotel rooms
    _contacts(province, ids[:wanted], T0 - timedelta(hours=2))
    day = feed.day(T0)
    assert day.placed == all_rooms  # each alone in a room (no two of one household)
    assert day.no_room == wanted - all_rooms
    assert day.activated == len([f for f in hotels if f.status == "standby"])
    assert day.activated > 0 or open_rooms == all_rooms
    assert day.occupied == all_rooms
    # the next day: nobody new, nobody due
    assert feed.day(T0 + timedelta(days=1)).placed == 0
    # one placed contact became a case meanwhile; at the end of the period the others
    # are released to home monitoring, the case converted
    q = quarantine_placements.c
    with province.connect() as conn:
        placed = sorted(conn.execute(select(q.person_id).where(q.active.is_(True))).scalars())
    with province.begin() as conn:
        conn.execute(tracing_cases.insert().values(
            person_id=placed[0], onset_date=None, sample_date=T0.date(), isolated_at=T0,
            infectious_from=T0 - timedelta(days=4), infectious_until=T0, rules_source="t",
            registered_at=T0, registered_by="t", traced_at=None))  # fmt: skip
    end = feed.day(T0 + timedelta(days=8))
    assert (end.released, end.converted) == (len(placed) - 1, 1)
    assert end.occupied == 0
    assert _active(province, "home_monitoring") == len(placed) - 1
    lines = feed.summary(T0 + timedelta(days=8))
    assert "20" in lines[0]
    assert any("140102" in line and "norm" in line for line in lines[1:])
