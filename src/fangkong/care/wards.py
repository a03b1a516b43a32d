"""Designated wards (定点医院病区, 缓冲病区): saved from a form, the CLI or a file row, listed.

A ward belongs to a hospital (by name, and its venue when the registry has it) in a
region; it treats the need kinds it lists, has ``beds`` and reports ``beds_free``; a
buffer ward (缓冲病区) takes patients from controlled areas whose level the pack's
``buffer_levels`` sends there. Planning a transfer takes a bed, cancelling gives it back
(``care.service``); a ward's report sets the count again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from fangkong.auth.jurisdiction import subtree
from fangkong.care.errors import WardInvalid, problem
from fangkong.care.rules import KINDS
from fangkong.care.tables import WARD_CODE_MAX, care_wards
from fangkong.store.schema import regions, venues
from fangkong.store.tx import Bind, write_transaction

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
BEDS_MAX = 10_000  # a ward, not a city


@dataclass(frozen=True)
class WardIn:
    code: str
    hospital: str
    name: str
    region_code: str
    latitude: float
    longitude: float
    kinds: tuple[str, ...]
    beds: int
    beds_free: int
    buffer: bool
    venue_code: str | None = None


@dataclass(frozen=True)
class WardView:
    code: str
    hospital: str
    name: str
    region_code: str
    venue_code: str | None
    latitude: float
    longitude: float
    kinds: tuple[str, ...]
    beds: int
    beds_free: int
    buffer: bool
    updated_at: datetime
    updated_by: str


def _bad(code: str, zh: str, en: str) -> WardInvalid:
    return WardInvalid(problem(code, zh, en))


def check_ward(w: WardIn) -> WardIn:
    """The ward's values checked (bounded, with a zh/en reason for the first bad one)."""
    if not CODE.match(w.code):
        raise _bad("ward_code", f"病区编号应为 1–{WARD_CODE_MAX} 位字母、数字、_.-",
                   f"ward code: 1 to {WARD_CODE_MAX} letters, digits, _ . -")  # fmt: skip
    for value, zh, en in ((w.hospital, "医院名称", "hospital"), (w.name, "病区名称", "ward name")):
        if not value.strip() or len(value.strip()) > 100:
            raise _bad("ward_text", f"{zh}应为 1–100 个字符", f"{en}: 1 to 100 characters")
    if not (-90 <= w.latitude <= 90 and -180 <= w.longitude <= 180):
        raise _bad("ward_location", "经纬度超出范围", "latitude/longitude out of range")
    bad = [k for k in w.kinds if k not in KINDS]
    if bad or not w.kinds:
        raise _bad("ward_kinds", f"收治类型应为 {'、'.join(KINDS)} 中的一种或多种",
                   f"kinds treated: one or more of {', '.join(KINDS)}")  # fmt: skip
    if not 1 <= w.beds <= BEDS_MAX:
        raise _bad("ward_beds", f"床位数应为 1–{BEDS_MAX}", f"beds: 1 to {BEDS_MAX}")
    if not 0 <= w.beds_free <= w.beds:
        raise _bad("ward_beds_free", "空床数应在 0 与床位数之间", "free beds: 0 to the beds")
    kinds = tuple(k for k in KINDS if k in w.kinds)
    return WardIn(
        w.code, w.hospital.strip(), w.name.strip(), w.region_code, w.latitude, w.longitude,
        kinds, w.beds, w.beds_free, w.buffer, w.venue_code or None,
    )  # fmt: skip


def save_ward(bind: Bind, ward: WardIn, *, by: str, at: datetime) -> bool:
    """Create or change a ward (its free beds as the hospital reports them); True when new."""
    w = check_ward(ward)
    values = {
        "hospital": w.hospital, "name": w.name, "region_code": w.region_code,
        "venue_code": w.venue_code, "latitude": w.latitude, "longitude": w.longitude,
        "kinds": list(w.kinds), "beds": w.beds, "beds_free": w.beds_free, "buffer": w.buffer,
        "updated_at": at, "updated_by": by[:80],
    }  # fmt: skip
    with write_transaction(bind) as conn:
        if (
            conn.execute(select(regions.c.code).where(regions.c.code == w.region_code)).first()
            is None
        ):
            raise _bad(
                "region_unknown", f"无此行政区划（{w.region_code}）", f"no region {w.region_code}"
            )
        if (
            w.venue_code is not None
            and conn.execute(select(venues.c.code).where(venues.c.code == w.venue_code)).first()
            is None
        ):
            raise _bad("venue_unknown", f"无此场所（{w.venue_code}）", f"no venue {w.venue_code}")
        c = care_wards.c
        if conn.execute(select(c.code).where(c.code == w.code)).first() is None:
            conn.execute(care_wards.insert().values(code=w.code, **values))
            return True
        conn.execute(update(care_wards).where(c.code == w.code).values(**values))
        return False


def list_wards(bind: Bind, *, within: str | None = None) -> list[WardView]:
    """The wards (in the subtree of ``within`` when given), most free beds first."""
    c = care_wards.c
    query = select(care_wards).order_by(c.beds_free.desc(), c.code)
    if within is not None:
        query = query.where(c.region_code.in_(subtree(within)))
    with write_transaction(bind) as conn:
        return [
            WardView(r.code, r.hospital, r.name, r.region_code, r.venue_code, r.latitude,
                     r.longitude, tuple(r.kinds or ()), r.beds, r.beds_free, bool(r.buffer),
                     r.updated_at, r.updated_by)
            for r in conn.execute(query)
        ]  # fmt: skip
