"""A traced outbreak in the test province, random but seeded: people stay at a few real
venues over some days, some become cases and are traced from those stays, so the store
holds venue exposures in overlapping pieces, household links and cases by residence —
what the chains page, the clusters and the risk areas read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, select

from fangkong.policy.loader import load_pack
from fangkong.store.schema import persons, venues
from fangkong.tracing.cases import register_case
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.files import CHECKIN_SCHEMA
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.trace_job import trace_case

FIRST_DAY = date(2026, 11, 16)
START = datetime(2026, 11, 16, tzinfo=UTC)


def traced_world(
    engine: Engine, *, seed: int = 1, people: int = 60, cases: int = 16, days: int = 8
) -> list[int]:
    """The case ids, after ``people`` persons stayed about six times each at one of six
    venues within ``days`` days and ``cases`` of them were registered (onset spread over
    the days) and traced."""
    rules = ContactRules.from_pack(load_pack("protocol-9"))
    rng = np.random.default_rng(seed)
    with engine.connect() as conn:
        ids = sorted(int(p) for p in conn.execute(select(persons.c.id)).scalars())
        places = sorted(str(v) for v in conn.execute(select(venues.c.code)).scalars())
    who = rng.choice(ids, people, replace=False).tolist()
    at = [places[i] for i in rng.choice(len(places), 6, replace=False)]
    n = people * 6
    t_in = rng.integers(0, days * 86_400, n)
    t_out = t_in + rng.integers(600, 4 * 3600, n)
    venue = rng.integers(0, len(at), n)
    table = pa.table(
        [
            pa.array([f"w{i}" for i in range(n)]),
            pa.array([str(who[i % people]) for i in range(n)]),
            pa.array([at[v] for v in venue]),
            pa.array(["market"] * n),
            pa.array((int(START.timestamp()) + t_in).tolist()).cast(pa.timestamp("s", tz="UTC")),
            pa.array((int(START.timestamp()) + t_out).tolist()).cast(pa.timestamp("s", tz="UTC")),
        ],
        schema=CHECKIN_SCHEMA,
    )
    source = CheckinSource.from_table(table, rules)
    out = []
    for person in who[:cases]:
        onset = FIRST_DAY + timedelta(days=int(rng.integers(1, days)))
        isolated = datetime.combine(onset + timedelta(days=2), datetime.min.time(), UTC)
        case = register_case(engine, person, rules, onset=onset, isolated_at=isolated)
        trace_case(engine, case.id, source, rules, at=START + timedelta(days=days + 3))
        out.append(case.id)
    return out
