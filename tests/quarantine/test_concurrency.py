"""50 parallel placements (threads, each its own connection) for the last 10 rooms book
exactly 10, on SQLite and PostgreSQL; the unique (room, active) constraint holds."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, select

from fangkong.errors import FangkongError
from fangkong.quarantine.placement import place
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_bookings, quarantine_placements, quarantine_rooms
from fangkong.quarantine.terms import Assignment, PlacementRequest
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel, people

RULES = QuarantineRules.shipped("protocol-9")


def test_fifty_parallel_requests_for_ten_rooms_book_exactly_ten(province: Engine) -> None:
    # ten single rooms left: 6 in one county, 4 in the other, two facilities
    add(province, hotel("QA", COUNTY_A, single=6), hotel("QB", COUNTY_B, single=4))
    ids = people(province)[:50]
    assert len(ids) == 50
    results: list[Assignment] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def one(pid: int) -> None:
        try:
            start.wait()
            got = place(
                province,
                [PlacementRequest(pid, "close_contact")],
                RULES,
                by="test",
                record_codes=False,
            )
            with lock:
                results.extend(got)
        except (FangkongError, Exception) as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=one, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(results) == 50
    placed = [a for a in results if a.outcome == "placed"]
    assert len(placed) == 10
    assert sorted(a.outcome for a in results).count("no_room") == 40
    assert len({(a.facility_code, a.room_code) for a in placed}) == 10  # no room twice
    with province.connect() as conn:
        active = conn.execute(
            select(quarantine_bookings.c.room_id, func.count())
            .where(quarantine_bookings.c.active.is_(True))
            .group_by(quarantine_bookings.c.room_id)
        ).all()
        assert len(active) == 10
        assert all(n == 1 for _, n in active)
        assert (
            conn.execute(
                select(func.count())
                .select_from(quarantine_rooms)
                .where(quarantine_rooms.c.state == "free")
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(select(func.count()).select_from(quarantine_placements)).scalar_one() == 10
        )
