"""The pure core of road status: percentiles and a checkpoint's state, by hand and against
a brute-force reference (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from fangkong.policy import load_pack
from fangkong.roads.rules import RoadRules
from fangkong.roads.state import Report, percentile, road_state

RULES = RoadRules.from_pack(load_pack("protocol-9"))
AT = datetime(2022, 4, 12, 8, 0, tzinfo=UTC)


def report(minutes_ago: float = 5, *, waiting: int = 0, wait: int | None = None,
           status: str = "open", level: str | None = None,
           authority: str | None = None) -> Report:  # fmt: skip
    return Report(AT - timedelta(minutes=minutes_ago), waiting, wait, 2, status, level,
                  authority)  # fmt: skip


def brute_percentile(values: list[int], p: float) -> int | None:
    """The smallest value with at least p % of the values at or below it."""
    for v in sorted(values):
        if sum(x <= v for x in values) * 100 >= p * len(values):
            return v
    return None


def test_percentile_by_hand() -> None:
    assert percentile([], 90) is None
    assert percentile([7], 90) == 7
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 11)), 50) == 5
    assert percentile([30, 10, 20], 100) == 30
    assert percentile(list(range(1, 31)), 10) == 3  # 0.1 × 30 is 3.0000000000000004


@given(st.lists(st.integers(0, 600), max_size=60), st.integers(1, 100))
def test_percentile_is_the_nearest_rank(values: list[int], p: int) -> None:
    assert percentile(values, p) == brute_percentile(values, p)


def test_quiet_checkpoint_is_normal_and_throughput_scales_to_the_hour() -> None:
    s = road_state("K1", report(), [3, 5, 4], 30, at=AT, rules=RULES)
    assert s.state == "normal"
    assert s.conditions == ()
    assert s.throughput_hour == 30 * 60 / RULES.throughput_window_minutes
    assert s.wait_minutes == 5
    assert s.wait_median == 4
    assert s.waiting == 0


def test_queue_over_the_limit_is_congested() -> None:
    s = road_state("K1", report(waiting=RULES.queue_limit_vehicles + 1), [], 0, at=AT,
                   rules=RULES)  # fmt: skip
    assert (s.state, s.conditions) == ("congested", ("queue",))
    at_limit = road_state("K1", report(waiting=RULES.queue_limit_vehicles), [], 0, at=AT,
                          rules=RULES)  # fmt: skip
    assert at_limit.state == "normal"


def test_measured_wait_beats_the_reported_one() -> None:
    over = RULES.wait_limit_minutes + 10
    s = road_state("K1", report(wait=5), [over] * 10, 10, at=AT, rules=RULES)
    assert (s.wait_minutes, s.conditions) == (over, ("wait",))
    s = road_state("K1", report(wait=over), [], 0, at=AT, rules=RULES)
    assert s.conditions == ("wait",)
    s = road_state("K1", report(wait=over), [1] * 5, 5, at=AT, rules=RULES)
    assert s.conditions == ()


def test_a_stale_report_gives_no_queue_but_its_closure_stands() -> None:
    old = RULES.report_stale_minutes + 1
    s = road_state("K1", report(old, waiting=10_000), [], 0, at=AT, rules=RULES)
    assert (s.state, s.waiting) == ("no_data", None)
    closed = report(old, status="closed")
    s = road_state("K1", closed, [], 0, at=AT, rules=RULES)
    assert (s.state, s.conditions) == ("closed_unauthorised", ("closure_unauthorised",))


def test_closure_needs_an_authority_of_a_level_the_pack_names() -> None:
    level = RULES.closure_authority_levels[0]
    ok = report(status="closed", level=level, authority="省指挥部〔2022〕12号")
    assert road_state("K1", ok, [], 0, at=AT, rules=RULES).state == "closed_authorised"
    for bad in (report(status="closed", level="township", authority="镇政府通知"),
                report(status="closed", level=level, authority="  "),
                report(status="closed")):  # fmt: skip
        s = road_state("K1", bad, [], 0, at=AT, rules=RULES)
        assert (s.state, s.conditions) == ("closed_unauthorised", ("closure_unauthorised",))


def test_nothing_known_is_no_data() -> None:
    assert road_state("K1", None, [], 0, at=AT, rules=RULES).state == "no_data"
    assert road_state("K1", None, [], 3, at=AT, rules=RULES).state == "normal"


@given(
    waiting=st.integers(0, 500), wait=st.none() | st.integers(0, 200),
    waited=st.lists(st.integers(0, 200), max_size=30), age=st.integers(0, 180),
    status=st.sampled_from(["open", "restricted", "closed"]),
    level=st.none() | st.sampled_from(["national", "province", "city", "county", "township"]),
)  # fmt: skip
def test_state_agrees_with_a_brute_force_reference(
    waiting: int, wait: int | None, waited: list[int], age: int, status: str,
    level: str | None,
) -> None:  # fmt: skip
    r = report(age, waiting=waiting, wait=wait, status=status, level=level,
               authority="令" if level else None)  # fmt: skip
    s = road_state("K1", r, waited, len(waited), at=AT, rules=RULES)
    fresh = age <= RULES.report_stale_minutes
    q = waiting if fresh else None
    w = brute_percentile(waited, RULES.wait_percentile) if waited else (wait if fresh else None)
    if status == "closed":
        ok = level in RULES.closure_authority_levels
        expected = ("closed_authorised", ()) if ok else (
            "closed_unauthorised", ("closure_unauthorised",))  # fmt: skip
    else:
        conds = tuple(c for c, over in (("queue", q is not None and q > RULES.queue_limit_vehicles),
                                        ("wait", w is not None and w > RULES.wait_limit_minutes))
                      if over)  # fmt: skip
        state = "congested" if conds else ("normal" if fresh or waited else "no_data")
        expected = (state, conds)
    assert (s.state, s.conditions) == expected
    assert s.wait_minutes == w


def test_the_map_keeps_north_up_inside_the_box() -> None:
    from fangkong.roads.map import project

    pts = {p.code: p for p in project([("N", 40.0, 112.0), ("S", 35.0, 112.0),
                                       ("E", 37.5, 114.0)])}  # fmt: skip
    assert pts["N"].y < pts["S"].y
    assert pts["E"].x > pts["N"].x
    assert all(24 <= p.x <= 616 and 24 <= p.y <= 456 for p in pts.values())
    (one,) = project([("X", 37.0, 112.0)])
    assert (one.x, one.y) == (320.0, 240.0)
    assert project([]) == []
