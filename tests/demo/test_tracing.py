"""The demo's tracers: the cases the platform registered (here by hand, as the labs
would on an individual positive) traced over the twin's check-ins; the contacts found
recall some of the twin's true infector → infectee pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, select

from fangkong.demo.tracing import TracingFeed
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.healthcode.tables import health_codes
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.registry.service import ImportOptions, import_file
from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from fangkong.twin.registry import generate_registry, write_registry
from fangkong.twin.response import ReferenceResponse
from fangkong.twin.scenario import default_scenario
from fangkong.twin.score import score
from fangkong.twin.sim import Twin
from tests.conftest import TODAY

SEALER = Sealer(bytes(range(32)))


def test_twin_run_finds_contacts_that_recall_true_pairs(engine: Engine, tmp_path: Path) -> None:
    registry = generate_registry(3_000, seed=1)
    files = write_registry(registry, tmp_path, "csv")
    for kind in ("regions", "venues", "persons"):
        import_file(engine, kind, files[kind], ImportOptions(today=TODAY), sealer=SEALER)
    codes = CodeContext(pack=load_pack("protocol-9"), sealer=SEALER, qr=QrKeys.generate())
    twin = Twin.from_registry(registry, default_scenario(), seed=1)
    response = ReferenceResponse(twin)
    feed = TracingFeed(engine, codes, twin, registry)
    rules = ContactRules.from_pack(codes.pack)
    truth, days = [], []
    for events in twin.run(12, response):
        # the labs' part: each individual positive of the day is registered as a case
        positive = events.test_results.filter(pc.field("positive"))
        for person, sampled in zip(positive["person"].to_pylist(),
                                   positive["sample_time"].to_pylist(), strict=True):  # fmt: skip
            register_case(engine, int(feed.ids[person]), rules,
                          sampled=sampled.astimezone(feed.tz).date(), tz=feed.tz,
                          at=sampled + timedelta(hours=12))  # fmt: skip
        days.append(feed.feed(events))
        truth.append(events.truth)
    assert sum(d.new_cases for d in days) > 0
    assert sum(d.close_contacts for d in days) > 0
    found = feed.found_pairs()
    result = score(pa.concat_tables(truth), response.decisions(), found=found)
    assert result.contact_recall is not None
    assert result.contact_recall > 0
    assert result.contact_precision is not None
    assert result.contact_precision > 0
    with engine.connect() as conn:
        red = conn.execute(
            select(func.count()).select_from(health_codes).where(health_codes.c.colour == "red")
        ).scalar_one()
    assert red >= len(set(found["contact"].to_pylist()))  # close contacts are red


def test_the_feed_indexes_only_what_can_meet_its_cases(engine: Engine, tmp_path: Path) -> None:
    """Check-ins older than the pack's look-back are dropped, and a day's index holds only
    the venues the new cases visited: the contacts found are those of the whole index."""
    import numpy as np

    from fangkong.tracing.copresence import Cases

    registry = generate_registry(2_000, seed=3)
    files = write_registry(registry, tmp_path, "csv")
    for kind in ("regions", "venues", "persons"):
        import_file(engine, kind, files[kind], ImportOptions(today=TODAY), sealer=SEALER)
    codes = CodeContext(pack=load_pack("protocol-9"), sealer=SEALER, qr=QrKeys.generate())
    twin = Twin.from_registry(registry, default_scenario(), seed=3)
    feed = TracingFeed(engine, codes, twin, registry)
    for events in twin.run(feed.keep_days + 3):
        feed._add_checkins(events.day, events.checkins)
    days = sorted({d for d, _ in feed._parts})
    assert days == list(range(3 - 1, feed.keep_days + 3))  # the last keep_days + 1 days
    whole = feed.source()
    people = whole.person_ids[np.arange(0, len(whole.person_ids), 97)].tolist()
    part = feed.source(people)
    assert len(part.index) < len(whole.index)
    for source in (whole, part):
        assert set(people) <= set(source.person_ids.tolist())
    end = feed.twin.local_midnight(feed.keep_days + 3)
    found = []
    for source in (whole, part):
        cases = Cases(person=source.codes(people), start=np.full(len(people), 0, np.int64),
                      end=np.full(len(people), end, np.int64))  # fmt: skip
        result = source.index.query(cases, source.min_overlap_by_venue)
        found.append(sorted(
            (people[c], int(source.person_ids[k]), source.venue_codes[v], a, b)
            for c, k, v, _, _, a, b in result.close.rows() + result.general.rows()
        ))  # fmt: skip
    assert found[0] == found[1]
    assert found[0]


def _zone_feed() -> tuple[TracingFeed, str]:
    """A feed over a small twin (person row i ↔ person id i + 1) and one restaurant."""
    from typing import cast

    import numpy as np

    registry = generate_registry(300, seed=1)
    twin = Twin.from_registry(registry, default_scenario(), seed=1)
    codes = CodeContext(pack=load_pack("protocol-9"), sealer=SEALER, qr=QrKeys.generate())
    ids = np.arange(1, registry.persons.num_rows + 1, dtype=np.int64)
    feed = TracingFeed(cast(Engine, None), codes, twin, registry, ids=ids)  # no database read
    types = dict(zip(registry.venues["code"].to_pylist(), registry.venues["type"].to_pylist(),
                     strict=True))  # fmt: skip
    restaurant = next(c for c in feed.venue_codes if types.get(c) == "restaurant")
    return feed, restaurant


def _twin_checkins(venue: str, zones: list[str | None] | None, day: int = 0) -> pa.Table:
    """Persons 0..3 at ``venue`` for the same hour of ``day``, as the twin's check-ins
    table (with the new ``zone`` column when ``zones`` is given)."""
    from fangkong.twin.events import SCHEMAS

    noon = datetime(2022, 3, 18, 12, tzinfo=UTC) + timedelta(days=day)
    columns = [
        pa.array([10 * day + i for i in range(4)], pa.int64()),
        pa.array([0, 1, 2, 3], pa.int32()),
        pa.array([venue] * 4).dictionary_encode(),
        pa.array([noon] * 4, pa.timestamp("s", tz="UTC")),
        pa.array([noon + timedelta(hours=1)] * 4, pa.timestamp("s", tz="UTC")),
    ]
    fields = [f for f in SCHEMAS["checkins"] if f.name != "zone"]
    table = pa.table(columns, schema=pa.schema(fields))  # a run of the twin before zones
    if zones is not None:  # the twin's own schema since zones
        zone = pa.array(zones, pa.string()).dictionary_encode()
        table = pa.table([*columns, zone], schema=SCHEMAS["checkins"])
    return table


def test_the_feed_passes_the_twins_zones_through_and_works_without_them() -> None:
    """Case: person id 1 at table Z07. With the zone column: id 2 (Z07) and id 4 (no
    table) close, id 3 (Z01) general. Without it (today's twin): all three close. Each
    day's dictionary has its own order: the zones still match across days."""
    import numpy as np

    from fangkong.tracing.copresence import Cases

    feed, restaurant = _zone_feed()

    def found() -> set[tuple[int, str, int]]:
        """(contact id, kind, day) of person id 1's contacts."""
        source = feed.source([1])
        zero = np.array([0], np.int64)
        result = source.query(Cases(source.codes([1]), zero, zero + 2**40))
        day0 = int(datetime(2022, 3, 18, tzinfo=UTC).timestamp())
        return {
            (int(source.person_ids[c]), kind, (int(t) - day0) // 86400)
            for kind, pairs in (("close", result.close), ("general", result.general))
            for c, t in zip(pairs.contact.tolist(), pairs.start.tolist(), strict=True)
        }

    feed._add_checkins(0, _twin_checkins(restaurant, ["Z07", "Z07", "Z01", None]))
    assert found() == {(2, "close", 0), (3, "general", 0), (4, "close", 0)}
    feed._add_checkins(1, _twin_checkins(restaurant, ["Z01", "Z07", "Z01", "Z01"], day=1))
    assert found() == {(2, "close", 0), (3, "general", 0), (4, "close", 0),
                       (2, "general", 1), (3, "close", 1), (4, "close", 1)}  # fmt: skip
    feed._parts.clear()
    feed._add_checkins(0, _twin_checkins(restaurant, None))
    assert found() == {(2, "close", 0), (3, "close", 0), (4, "close", 0)}
