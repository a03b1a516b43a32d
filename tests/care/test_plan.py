"""The pure transfer plan: the ward rule, the vehicle, the deadline, and a brute-force
reference over random wards and vehicles (Hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.care.plan import (
    Patient,
    Refusal,
    Transfer,
    Vehicle,
    Ward,
    plan_transfer,
    road_km,
)
from fangkong.care.rules import TransferSpeed

SPEED = TransferSpeed(speed_kmh=40, road_factor=1.3, pickup_minutes=10, handover_minutes=10)
HOME = (37.87, 112.55)


def _patient(kind: str = "dialysis", *, buffer: bool = False, due_h: float = 24.0) -> Patient:
    return Patient(kind, *HOME, needs_buffer=buffer, due_h=due_h)


def test_the_nearest_fitting_ward_and_the_nearest_vehicle() -> None:
    wards = [Ward("far", 38.5, 113.0, ("dialysis",), 9, True),
             Ward("near", 37.88, 112.56, ("dialysis",), 1, True),
             Ward("full", 37.871, 112.551, ("dialysis",), 0, True),
             Ward("other", 37.871, 112.551, ("pregnancy",), 5, True)]  # fmt: skip
    cars = [Vehicle("V-far", 38.0, 112.9), Vehicle("V-near", 37.86, 112.55)]
    got = plan_transfer(_patient(), wards, cars, "nearest", SPEED)
    assert isinstance(got, Transfer)
    assert (got.ward, got.vehicle) == ("near", "V-near")
    pickup = road_km((37.86, 112.55), HOME, SPEED)
    assert math.isclose(got.departs_h, pickup / 40 + 10 / 60)
    assert math.isclose(got.arrives_h, got.departs_h + got.trip_km / 40 + 10 / 60)
    most = plan_transfer(_patient(), wards, cars, "most_free_beds", SPEED)
    assert isinstance(most, Transfer)
    assert most.ward == "far"


def test_a_patient_from_a_buffer_level_goes_to_a_buffer_ward_only() -> None:
    wards = [Ward("general", 37.871, 112.551, ("dialysis",), 5, False)]
    got = plan_transfer(_patient(buffer=True), wards, [Vehicle("V", *HOME)], "nearest", SPEED)
    assert isinstance(got, Refusal)
    assert got.code == "no_ward"
    assert "缓冲病区" in got.zh
    fine = plan_transfer(_patient(buffer=False), wards, [Vehicle("V", *HOME)], "nearest", SPEED)
    assert isinstance(fine, Transfer)


def test_too_late_is_refused_unless_allowed() -> None:
    wards = [Ward("w", 38.5, 113.0, ("emergency",), 1, True)]
    cars = [Vehicle("V", *HOME)]
    got = plan_transfer(_patient("emergency", due_h=0.5), wards, cars, "nearest", SPEED)
    assert isinstance(got, Refusal)
    assert got.code == "too_late"
    assert got.arrives_h is not None
    late = plan_transfer(_patient("emergency", due_h=0.5), wards, cars, "nearest", SPEED,
                         allow_late=True)  # fmt: skip
    assert isinstance(late, Transfer)
    assert late.arrives_h == got.arrives_h
    none = plan_transfer(_patient("emergency"), wards, [], "nearest", SPEED)
    assert isinstance(none, Refusal)
    assert none.code == "no_vehicle"


def test_an_unknown_position_counts_no_distance() -> None:
    nan = float("nan")
    got = plan_transfer(Patient("other", nan, nan, False, 2.0),
                        [Ward("w", 37.0, 112.0, ("other",), 1, False)], [Vehicle("V", 38.0, 113.0)],
                        "nearest", SPEED)  # fmt: skip
    assert isinstance(got, Transfer)
    assert got.trip_km == 0.0
    assert got.pickup_km == 0.0


_coord = st.tuples(st.floats(37.0, 38.5), st.floats(112.0, 113.5))
_ward = st.builds(lambda c, kinds, free, buf, i: Ward(f"W{i}", c[0], c[1], kinds, free, buf),
                  _coord,
                  st.sampled_from([("dialysis",), ("emergency",), ("dialysis", "emergency")]),
                  st.integers(0, 3), st.booleans(), st.integers(0, 999))  # fmt: skip
_car = st.builds(lambda c, i: Vehicle(f"V{i}", c[0], c[1]), _coord, st.integers(0, 999))


@settings(max_examples=200, deadline=None)
@given(wards=st.lists(_ward, max_size=6, unique_by=lambda w: w.code),
       cars=st.lists(_car, max_size=4, unique_by=lambda v: v.code),
       kind=st.sampled_from(["dialysis", "emergency"]), buffer=st.booleans(),
       due=st.floats(0.1, 6.0), choice=st.sampled_from(["nearest", "most_free_beds"]))  # fmt: skip
def test_the_plan_agrees_with_a_brute_force_reference(
    wards: list[Ward], cars: list[Vehicle], kind: str, buffer: bool, due: float, choice: str
) -> None:
    patient = Patient(kind, *HOME, needs_buffer=buffer, due_h=due)
    got = plan_transfer(patient, wards, cars, choice, SPEED)
    fit = [w for w in wards if kind in w.kinds and w.beds_free > 0 and (w.buffer or not buffer)]
    if not fit:
        assert isinstance(got, Refusal)
        assert got.code == "no_ward"
        return
    if not cars:
        assert isinstance(got, Refusal)
        assert got.code == "no_vehicle"
        return
    # every (vehicle, ward) pair: the chosen vehicle is one nearest the patient
    pickups = {v.code: road_km((v.lat, v.lon), HOME, SPEED) for v in cars}
    best_pickup = min(pickups.values())
    departs = best_pickup / 40 + 10 / 60
    arrive = {w.code: departs + road_km(HOME, (w.lat, w.lon), SPEED) / 40 + 10 / 60 for w in fit}
    in_time = [w for w in fit if arrive[w.code] <= due + 1e-9]
    if not in_time:
        assert isinstance(got, Refusal)
        assert got.code == "too_late"
        assert math.isclose(got.arrives_h or 0, min(arrive.values()))
        return
    assert isinstance(got, Transfer)
    assert math.isclose(pickups[got.vehicle], best_pickup)
    assert got.arrives_h <= due + 1e-9
    if choice == "nearest":  # no fitting ward nearer reaches the patient in time
        assert math.isclose(got.trip_km, min(road_km(HOME, (w.lat, w.lon), SPEED) for w in in_time))
    else:  # no ward reached in time has more free beds
        chosen = next(w for w in fit if w.code == got.ward)
        assert chosen.beds_free == max(w.beds_free for w in in_time)
