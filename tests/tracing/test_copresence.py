"""The co-presence engine against its definition (brute force) and on hand-made cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.tracing.copresence import (
    Cases,
    CheckinIndex,
    Stays,
    copresence,
    resolve_time_out,
    sort_by,
)

from .strategies import World, brute_force, worlds


def _arrays(world: World) -> tuple[Stays, Cases, np.ndarray]:
    n = len(world.stays)
    person = np.array([s[0] for s in world.stays], np.int64).reshape(n)
    venue = np.array([s[1] for s in world.stays], np.int64).reshape(n)
    t_in = np.array([s[2] for s in world.stays], np.int64).reshape(n)
    missing = np.array([s[3] is None for s in world.stays], bool).reshape(n)
    t_out = np.array([s[3] or 0 for s in world.stays], np.int64).reshape(n)
    dwell = np.array(world.dwell, np.int64)[venue % 2]
    stays = Stays(person, venue, t_in, resolve_time_out(t_in, t_out, missing, dwell))
    cases = Cases(
        np.array([c[0] for c in world.cases], np.int64).reshape(-1),
        np.array([c[1] for c in world.cases], np.int64).reshape(-1),
        np.array([c[2] for c in world.cases], np.int64).reshape(-1),
    )
    min_by_venue = np.array(world.min_overlap, np.int64)[np.arange(4) % 2]
    return stays, cases, min_by_venue


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_engine_matches_brute_force(world: World) -> None:
    stays, cases, min_by_venue = _arrays(world)
    found = copresence(stays, cases, min_by_venue)
    close, general = brute_force(world)
    assert sorted(found.close.rows()) == close
    assert sorted(found.general.rows()) == general


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_single_case_queries_agree_with_batch(world: World) -> None:
    stays, cases, min_by_venue = _arrays(world)
    index = CheckinIndex.build(stays, n_persons=7, n_venues=4)
    batch = sorted(index.query(cases, min_by_venue).close.rows())
    one_by_one = []
    for c in range(len(cases)):
        single = Cases(cases.person[c : c + 1], cases.start[c : c + 1], cases.end[c : c + 1])
        rows = index.query(single, min_by_venue).close.rows()
        one_by_one += [(c, *row[1:]) for row in rows]
    assert sorted(one_by_one) == batch


def _one(person: int, venue: int, t_in: int, t_out: int) -> tuple[int, int, int, int]:
    return person, venue, t_in, t_out


def _run(rows: list[tuple[int, int, int, int]], case: tuple[int, int, int], minimum: int):
    a = np.array(rows, np.int64).reshape(-1, 4)
    stays = Stays(a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    cases = Cases(np.array([case[0]]), np.array([case[1]]), np.array([case[2]]))
    return copresence(stays, cases, np.full(int(a[:, 1].max()) + 1, minimum))


def test_touching_stays_are_not_contacts() -> None:
    found = _run([_one(0, 0, 0, 100), _one(1, 0, 100, 200)], (0, 0, 1000), 0)
    assert len(found.close) == len(found.general) == 0


def test_overlap_is_cut_to_the_window_and_the_minimum_is_inclusive() -> None:
    found = _run([_one(0, 0, 0, 100), _one(1, 0, 0, 100)], (0, 60, 1000), 40)
    assert found.close.rows() == [(0, 1, 0, 0, 1, 60, 100)]
    found = _run([_one(0, 0, 0, 100), _one(1, 0, 0, 100)], (0, 61, 1000), 40)
    assert found.general.rows() == [(0, 1, 0, 0, 1, 61, 100)]


def test_case_is_never_its_own_contact_and_other_venues_do_not_count() -> None:
    found = _run([_one(0, 0, 0, 100), _one(0, 0, 50, 150), _one(1, 1, 0, 100)], (0, 0, 999), 0)
    assert len(found.close) == len(found.general) == 0


def test_a_long_stay_is_found_from_far_before_the_case() -> None:
    rows = [_one(1, 0, 0, 10_000)] + [_one(2 + i, 0, 10 * i, 10 * i + 5) for i in range(100)]
    found = _run([*rows, _one(0, 0, 9000, 9100)], (0, 0, 99_999), 50)
    assert [r[1] for r in found.close.rows()] == [1]


def test_sort_by_splits_when_the_keys_do_not_fit_64_bits() -> None:
    rng = np.random.default_rng(5)
    major = rng.integers(0, 2**40, 1000)
    minor = rng.integers(0, 2**30, 1000)
    order = sort_by(major, minor)
    expected = np.lexsort((minor, major))
    assert np.array_equal(major[order], major[expected])
    assert np.array_equal(minor[order], minor[expected])


def test_sort_packed_splits_and_still_returns_the_keys() -> None:
    from fangkong.tracing.copresence import sort_packed

    rng = np.random.default_rng(6)
    major = rng.integers(0, 2**20, 5000)
    minor = rng.integers(0, 2**40, 5000)  # 21 + 41 + 13 row bits > 64: split
    order, key = sort_packed(major, minor, 41)
    expected = np.lexsort((minor, major))
    assert np.array_equal(key, (major[expected] << 41) | minor[expected])
    assert np.array_equal(major[order], major[expected])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3000),
    st.sampled_from([1, 2, 3, 7]),
    st.sampled_from([(3, 0), (20, 8), (20, 41), (40, 20)]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_sort_packed_in_buckets_equals_lexsort(
    n: int, parts: int, bits: tuple[int, int], skewed: bool, seed: int
) -> None:
    """Any number of buckets, narrow or wide keys (buckets shrink until the packed value
    fits 64 bits), skewed majors (one value holding most rows), with and without a minor:
    the same rows and keys as a stable lexsort."""
    from fangkong.tracing.copresence import sort_packed

    major_bits, minor_bits = bits
    rng = np.random.default_rng(seed)
    major = rng.integers(0, 2**major_bits, n)
    if skewed:
        major[rng.random(n) < 0.8] = major[0]
    offset = 1000
    minor = rng.integers(0, 2**minor_bits, n) + offset if minor_bits else None
    order, key = sort_packed(major, minor, minor_bits, offset=offset, parts=parts)
    if minor is None:
        expected = np.argsort(major, kind="stable")
        want = major[expected]
    else:
        expected = np.lexsort((minor, major))
        want = (major[expected] << minor_bits) | (minor[expected] - offset)
    assert np.array_equal(order, expected)  # ties by row: stable
    assert np.array_equal(key, want)


def test_index_built_in_two_buckets_matches_one() -> None:
    """The index from the two-bucket, two-thread build is the one-bucket index."""
    from fangkong.tracing import copresence as cp

    rng = np.random.default_rng(9)
    n = 200_000
    stays = Stays(
        rng.integers(0, 5000, n), rng.integers(0, 300, n),
        t := rng.integers(1_600_000_000, 1_600_000_000 + 14 * 86400, n),
        t + rng.integers(60, 4 * 3600, n),
    )  # fmt: skip
    saved = cp._PARALLEL_ROWS
    try:
        cp._PARALLEL_ROWS = 10**12  # one bucket
        one = CheckinIndex.build(stays)
        cp._PARALLEL_ROWS = 1  # two buckets
        two = CheckinIndex.build(stays)
    finally:
        cp._PARALLEL_ROWS = saved
    for name in ("key", "time_out", "person", "row", "longest", "person_offsets",
                 "person_positions"):  # fmt: skip
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


def test_sort_by_falls_back_to_lexsort_when_no_bucket_fits() -> None:
    rng = np.random.default_rng(11)
    major = rng.integers(0, 2**50, 1000)  # a bin of 2**34 majors leaves no room
    minor = rng.integers(0, 2**40, 1000)
    order = sort_by(major, minor)
    assert np.array_equal(order, np.lexsort((minor, major)))
