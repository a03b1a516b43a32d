"""The green channel's plan (绿色通道转运), pure: a patient, wards, vehicles → one transfer.

A ward qualifies when it treats the need's kind, has a free bed and — for a patient from
an area at the pack's ``buffer_levels`` — is a buffer ward (缓冲病区). The vehicle is the
nearest free one of the closed loop (the earliest at the patient's door). It drives to
the patient, loads (``pickup_minutes``), drives to the ward and hands over
(``handover_minutes``); road distance is the straight line × ``road_factor`` at
``speed_kmh``. The wards are tried in the pack's order (``nearest``: by road distance
from the patient; ``most_free_beds``: most free beds first, nearer among equals) and the
first reached before the deadline is taken. Nothing else is read: no test result, no
health-code colour (不得以核酸检测结果为由拒绝救治).

When no transfer can be planned the answer is a :class:`Refusal` naming why in Chinese and
English: no ward treats the kind with a free bed (``no_ward``), no vehicle is free
(``no_vehicle``), or even the best transfer arrives after the deadline (``too_late``,
with its arrival) — unless the caller allows a late transfer, when the earliest arrival
is the plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fangkong.arrivals.transfer import great_circle_km
from fangkong.care.rules import TransferSpeed


@dataclass(frozen=True)
class Patient:
    kind: str
    lat: float
    lon: float
    needs_buffer: bool  # from an area at the pack's buffer_levels
    due_h: float  # hours from now until the deadline (negative: already overdue)


@dataclass(frozen=True)
class Ward:
    code: str
    lat: float
    lon: float
    kinds: tuple[str, ...]
    beds_free: int
    buffer: bool


@dataclass(frozen=True)
class Vehicle:
    code: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Transfer:
    vehicle: str
    ward: str
    pickup_km: float  # vehicle → patient
    trip_km: float  # patient → ward
    departs_h: float  # hours from now until it leaves the patient's door
    arrives_h: float  # hours from now until the patient is handed over at the ward


@dataclass(frozen=True)
class Refusal:
    code: str  # no_ward | no_vehicle | too_late
    zh: str
    en: str
    arrives_h: float | None = None  # too_late: the best arrival found


def road_km(a: tuple[float, float], b: tuple[float, float], speed: TransferSpeed) -> float:
    """Road kilometres between two points; 0 when one is unknown (NaN)."""
    if any(math.isnan(v) for v in (*a, *b)):
        return 0.0
    return great_circle_km(a[0], a[1], b[0], b[1]) * speed.road_factor


def eligible(patient: Patient, wards: Sequence[Ward]) -> list[Ward]:
    """The wards that may take the patient: the kind treated, a bed free, buffer if needed."""
    return [
        w for w in wards
        if patient.kind in w.kinds and w.beds_free > 0 and (w.buffer or not patient.needs_buffer)
    ]  # fmt: skip


def ranked(
    patient: Patient, wards: Sequence[Ward], choice: str, speed: TransferSpeed
) -> list[Ward]:
    """``wards`` in the order the pack's ``ward_choice`` tries them (code breaks ties)."""
    here = (patient.lat, patient.lon)

    def km(w: Ward) -> float:
        return road_km(here, (w.lat, w.lon), speed)

    if choice == "most_free_beds":
        return sorted(wards, key=lambda w: (-w.beds_free, km(w), w.code))
    return sorted(wards, key=lambda w: (km(w), w.code))


def nearest_vehicle(
    patient: Patient, vehicles: Sequence[Vehicle], speed: TransferSpeed
) -> tuple[Vehicle, float] | None:
    """The free vehicle nearest the patient and its road distance (None: none free)."""
    here = (patient.lat, patient.lon)
    best = min(((road_km((v.lat, v.lon), here, speed), v.code, v) for v in vehicles),
               default=None)  # fmt: skip
    return None if best is None else (best[2], best[0])


def plan_transfer(
    patient: Patient, wards: Sequence[Ward], vehicles: Sequence[Vehicle], choice: str,
    speed: TransferSpeed, *, allow_late: bool = False,
) -> Transfer | Refusal:  # fmt: skip
    """The transfer of the module docstring, or why there is none. ``allow_late``: when
    no ward is reached in time, the earliest arrival rather than a refusal (staff chose
    to go anyway: an overdue patient still needs the ride)."""
    fit = eligible(patient, wards)
    if not fit:
        buffer = "缓冲病区" if patient.needs_buffer else "定点病区"
        ward_en = "buffer ward" if patient.needs_buffer else "designated ward"
        return Refusal("no_ward", f"没有收治此类患者且有空床的{buffer}",
                       f"no {ward_en} treating this need has a free bed")  # fmt: skip
    car = nearest_vehicle(patient, vehicles, speed)
    if car is None:
        return Refusal(
            "no_vehicle", "闭环转运车辆均不可用（停运或在途）",
            "no vehicle of the closed loop is free (out of service or on a run)",
        )  # fmt: skip
    vehicle, pickup = car
    departs = pickup / speed.speed_kmh + speed.pickup_minutes / 60
    options = []
    for ward in ranked(patient, fit, choice, speed):
        trip = road_km((patient.lat, patient.lon), (ward.lat, ward.lon), speed)
        arrives = departs + trip / speed.speed_kmh + speed.handover_minutes / 60
        options.append(Transfer(vehicle.code, ward.code, pickup, trip, departs, arrives))
    in_time = [o for o in options if o.arrives_h <= patient.due_h]
    if in_time:
        return in_time[0]
    best = min(options, key=lambda o: (o.arrives_h, o.ward))  # fit is not empty
    if allow_late:
        return best
    return Refusal(
        "too_late",
        f"最快的转运（{best.ward}）约 {best.arrives_h:.1f} 小时后到达，晚于时限",
        f"the fastest transfer ({best.ward}) arrives in about {best.arrives_h:.1f} h, "
        "after the deadline",
        best.arrives_h,
    )  # fmt: skip
