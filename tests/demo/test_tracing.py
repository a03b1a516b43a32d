"""The demo's tracers: the cases the platform registered (here by hand, as the labs
would on an individual positive) traced over the twin's check-ins; the contacts found
recall some of the twin's true infector → infectee pairs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, select

from fangkong.demo.tracing import TracingFeed
from fangkong.healthcode.qr import QrKeys
from fangkong.healthcode.service import CodeContext
from fangkong.healthcode.tables import health_codes
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.registry.service import ImportOptions, import_file
from fangkong.tracing.contacts import register_case
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
