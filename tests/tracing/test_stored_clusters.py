"""Clusters from the stored evidence (the chains page, issue 19) read a case's merged
stays, not every stored piece: the same clusters as decoding each distinct piece, on
both backends; merging keeps the clusters of any stays and window (a property); the
undecoded times read as the decoded ones."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select

from fangkong.policy.loader import load_pack
from fangkong.store.schema import persons
from fangkong.store.types import epoch_seconds, undecoded
from fangkong.tracing.access import _stored_clusters
from fangkong.tracing.graph import clusters, merge_stays
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_cases, tracing_exposures
from fangkong.tracing.views import venue_stays
from tests.tracing.traced_world import traced_world


def _partition(found: Any, members: list[int], codes: list[str]) -> dict[frozenset[int], Any]:
    """Cluster (as its set of members) → the venues linking it (code → cases)."""
    out = {}
    for label in found.sizes:
        cases = frozenset(members[i] for i in np.flatnonzero(found.cluster == label).tolist())
        out[cases] = {codes[v]: n for v, n in found.venues.get(label, {}).items()}
    return out


def _from_every_piece(conn: Connection, rules: ContactRules) -> dict[frozenset[int], Any]:
    """The clusters as read before issue 19: each distinct stored piece decoded."""
    e = tracing_exposures.c
    pieces = conn.execute(
        select(e.case_id, e.place_code, e.overlap_start, e.overlap_end)
        .where(e.setting == "venue", e.place_code.is_not(None))
        .distinct()
    ).all()
    cases = conn.execute(
        select(tracing_cases.c.id, persons.c.household_code)
        .join(persons, persons.c.id == tracing_cases.c.person_id)
        .order_by(tracing_cases.c.id)
    ).all()
    ids = [int(c.id) for c in cases]
    homes = sorted({c.household_code for c in cases if c.household_code})
    codes = sorted({p.place_code for p in pieces})
    found = clusters(
        np.array([homes.index(c.household_code) if c.household_code else -1 for c in cases]),
        np.array([ids.index(p.case_id) for p in pieces], np.int64),
        np.array([codes.index(p.place_code) for p in pieces], np.int64),
        np.array([int(p.overlap_start.timestamp()) for p in pieces], np.int64),
        np.array([int(p.overlap_end.timestamp()) for p in pieces], np.int64),
        rules.cluster_window_days * 86_400,
    )
    return _partition(found, ids, codes)


def test_stored_clusters_as_from_every_piece(province: Engine) -> None:
    rules = ContactRules.from_pack(load_pack("protocol-9"))
    traced_world(province)
    with province.connect() as conn:
        expected = _from_every_piece(conn, rules)
        got = {frozenset(c.cases): dict(c.venues) for c in _stored_clusters(conn, rules)}
        merged = venue_stays(conn)
        pieces = conn.execute(
            select(tracing_exposures.c.id).where(tracing_exposures.c.setting == "venue")
        ).all()
    assert any(v for v in expected.values())  # clusters linked at venues, not only homes
    assert got == expected
    assert 0 < len(merged.case) < len(pieces)  # stays merged, none lost


def test_undecoded_times_as_decoded(province: Engine) -> None:
    traced_world(province, people=20, cases=4)
    e = tracing_exposures.c
    with province.connect() as conn:
        rows = conn.execute(select(e.overlap_start, undecoded(e.overlap_start))).all()
    assert rows
    assert epoch_seconds([r[1] for r in rows]).tolist() == [int(r[0].timestamp()) for r in rows]


stays = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 2000), st.integers(0, 300)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(stays, st.integers(0, 400))
def test_merging_keeps_the_clusters(given_stays: list[tuple[int, ...]], window: int) -> None:
    case = np.array([s[0] for s in given_stays], np.int64)
    venue = np.array([s[1] for s in given_stays], np.int64)
    t_in = np.array([s[2] for s in given_stays], np.int64)
    t_out = t_in + np.array([s[3] for s in given_stays], np.int64)
    homes = np.full(6, -1, np.int64)
    members, codes = list(range(6)), ["a", "b", "c", "d"]
    before = clusters(homes, case, venue, t_in, t_out, window)
    merged = merge_stays(case, venue, t_in, t_out)
    after = clusters(homes, *merged, window)
    assert _partition(after, members, codes) == _partition(before, members, codes)
    # one merged stay per overlapping or touching run of a case's stays at a venue
    for c, v, a, b in zip(*merged, strict=True):
        own = (case == c) & (venue == v) & (t_in >= a) & (t_out <= b)
        assert own.any()
