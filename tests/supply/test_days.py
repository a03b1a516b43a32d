"""The pure core: days of supply rolled up the regions, delivery quantities — against a
brute-force reference that walks every region's subtree."""

from __future__ import annotations

import math
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.supply.days import (
    Report,
    Supply,
    below_floor,
    days_of_supply,
    delivery_quantity,
    per_outlet,
)

DAY = date(2022, 4, 10)
# province P ─ cities C1, C2 ─ counties K1, K2 (C1), K3 (C2) ─ townships T1, T2 (K1)
PARENTS: dict[str, str | None] = {"P": None, "C1": "P", "C2": "P", "K1": "C1", "K2": "C1",
                                  "K3": "C2", "T1": "K1", "T2": "K1"}  # fmt: skip


def test_a_county_is_its_townships_outlets() -> None:
    reports = [
        Report("o1", "T1", "grain", DAY, 100.0, 10.0),
        Report("o2", "T2", "grain", DAY, 50.0, 15.0),
        Report("o3", "K2", "grain", DAY, 30.0, 3.0),
    ]
    got = days_of_supply(reports, PARENTS, day=DAY, window_days=7)
    assert got[("K1", "grain")] == Supply(150.0, 25.0, 2)
    assert got[("K1", "grain")].days == 6.0
    assert got[("C1", "grain")] == Supply(180.0, 28.0, 3)
    assert got[("P", "grain")].outlets == 3
    assert ("K3", "grain") not in got  # no outlet reported there: unknown, not zero


def test_stock_is_the_last_day_and_sales_the_mean_of_days_reported() -> None:
    reports = [
        Report("o1", "T1", "oil", DAY - timedelta(days=2), 40.0, 4.0),
        Report("o1", "T1", "oil", DAY - timedelta(days=1), 30.0, 8.0),  # last day reported
        Report("o1", "T1", "oil", DAY - timedelta(days=9), 999.0, 99.0),  # outside the window
        Report("o1", "T1", "oil", DAY + timedelta(days=1), 1.0, 1.0),  # after the day
    ]
    assert per_outlet(reports, DAY, 7) == {("o1", "oil"): ("T1", 30.0, 6.0)}
    got = days_of_supply(reports, PARENTS, day=DAY, window_days=7)[("T1", "oil")]
    assert got.days == 5.0


def test_no_sales_is_no_days_and_never_below_the_floor() -> None:
    s = Supply(10.0, 0.0, 1)
    assert s.days is None
    assert not below_floor(s, 3)
    assert below_floor(Supply(10.0, 5.0, 1), 3)  # 2 days < 3
    assert not below_floor(Supply(15.0, 5.0, 1), 3)  # 3 days: at the floor, not below


def test_delivery_quantity_rounds_up_to_a_tenth() -> None:
    assert delivery_quantity(215, 0.3, 1) == 64.5
    assert delivery_quantity(3, 0.03, 1) == 0.1  # 0.09 → 0.1, never short
    assert delivery_quantity(100, 0.4, 2) == 80.0
    assert delivery_quantity(0, 0.4, 1) == 0.0


# ---- against a brute-force reference ---------------------------------------------------------


def _subtree(code: str) -> set[str]:
    out = {code}
    grew = True
    while grew:
        more = {c for c, p in PARENTS.items() if p in out} - out
        grew = bool(more)
        out |= more
    return out


def _reference(reports: list[Report], window_days: int) -> dict[tuple[str, str], Supply]:
    first = DAY - timedelta(days=window_days - 1)
    out: dict[tuple[str, str], Supply] = {}
    goods = {r.good for r in reports}
    for region in PARENTS:
        below = _subtree(region)
        for good in goods:
            stock = sales = 0.0
            n = 0
            outlets = {r.outlet for r in reports if r.good == good and r.region in below}
            for o in sorted(outlets):
                mine = [r for r in reports if r.outlet == o and r.good == good
                        and first <= r.day <= DAY]  # fmt: skip
                if not mine:
                    continue
                latest = max(mine, key=lambda r: r.day)
                stock += latest.stock
                sales += sum(r.sales for r in mine) / len(mine)
                n += 1
            if n:
                out[(region, good)] = Supply(stock, sales, n)
    return out


# an outlet lies in one region; each (outlet, good, day) is reported once
_OUTLETS = {"o1": "T1", "o2": "T2", "o3": "K2", "o4": "K3", "o5": "C2", "o6": "T1"}


@st.composite
def _reports(draw: st.DrawFn) -> list[Report]:
    keys = draw(st.sets(st.tuples(st.sampled_from(sorted(_OUTLETS)),
                                  st.sampled_from(["grain", "milk"]),
                                  st.integers(-10, 2)), max_size=40))  # fmt: skip
    amount = st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2))
    return [Report(o, _OUTLETS[o], g, DAY + timedelta(days=d), draw(amount), draw(amount))
            for o, g, d in sorted(keys)]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(_reports(), st.integers(1, 10))
def test_days_of_supply_equal_the_brute_force_reference(reports: list[Report], w: int) -> None:
    got = days_of_supply(reports, PARENTS, day=DAY, window_days=w)
    want = _reference(reports, w)
    assert set(got) == set(want)
    for key, s in want.items():
        assert got[key].outlets == s.outlets
        assert math.isclose(got[key].stock, s.stock, abs_tol=1e-6)
        assert math.isclose(got[key].daily_sales, s.daily_sales, abs_tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100_000), st.floats(0, 5, allow_nan=False), st.integers(1, 14))
def test_a_delivery_is_never_short_and_at_most_a_tenth_over(people: int, need: float,
                                                             days: int) -> None:  # fmt: skip
    q = delivery_quantity(people, need, days)
    exact = people * need * days
    assert q >= exact - 1e-6
    assert q - exact < 0.1 + 1e-6
    assert math.isclose(q * 10, round(q * 10), abs_tol=1e-6)
