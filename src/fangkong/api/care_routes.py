"""Care API (急需就医保障): the register of urgent medical needs and the designated wards.
Thin: parse, call ``fangkong.care.access``, answer. Rights ``care.read`` / ``care.manage``;
a need outside the caller's jurisdiction answers 404 as one that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from fangkong import bounds
from fangkong.care import access
from fangkong.care.rules import KINDS, CareRules
from fangkong.care.tables import DETAIL_MAX, NOTE_MAX
from fangkong.care.views import NeedView
from fangkong.care.wards import BEDS_MAX, WardIn
from fangkong.http.deps import CallDep, Ctx

care_api = APIRouter(prefix="/api/v1/care", tags=["care"])

NeedId = Annotated[int, Path(**bounds.ID_BOUNDS, description="the need's id")]
Kind = Literal["dialysis", "chemotherapy", "pregnancy", "chronic_medication", "emergency", "other"]
assert set(KINDS) == set(get_args(Kind))  # noqa: S101 - the schema names every kind


class NeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: bounds.RowId
    kind: Kind
    detail: bounds.Text = Field(default="", max_length=DETAIL_MAX)
    area_id: bounds.RowId | None = Field(default=None, description="default: where they live")


class NeedOut(BaseModel):
    id: int
    person_id: int
    person_name: str = Field(description="masked without person.read_full")
    area_id: int
    area_name: str
    region_code: str
    kind: str
    detail: str
    status: str
    raised_at: datetime
    due_at: datetime
    overdue: bool
    ward_code: str | None
    vehicle_code: str | None
    departs_at: datetime | None
    arrives_at: datetime | None
    distance_km: float | None
    closed_at: datetime | None
    outcome: str | None


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow_late: bounds.Flag = Field(default=False, description="plan even if it arrives late")


class PlanOut(BaseModel):
    need_id: int
    vehicle: str
    ward: str
    departs_at: datetime
    arrives_at: datetime
    distance_km: float
    late: bool


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["in_transfer", "done", "cancelled"]
    outcome: Literal["admitted", "treated_returned", "treated_at_home", "other"] | None = None
    note: bounds.Text = Field(default="", max_length=NOTE_MAX)


class WardBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hospital: bounds.Line = Field(max_length=100)
    name: bounds.Line = Field(max_length=100)
    region_code: bounds.Line = Field(max_length=15)
    venue_code: bounds.Line | None = Field(default=None, max_length=40)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    kinds: list[Kind] = Field(min_length=1, max_length=len(KINDS))
    beds: int = Field(ge=1, le=BEDS_MAX)
    beds_free: int = Field(ge=0, le=BEDS_MAX)
    buffer: bounds.Flag = False


class WardOut(WardBody):
    code: str
    updated_at: datetime


def _out(n: NeedView) -> NeedOut:
    return NeedOut(
        id=n.id, person_id=n.person_id, person_name=n.person_name, area_id=n.area_id,
        area_name=n.area_name, region_code=n.region_code, kind=n.kind, detail=n.detail,
        status=n.status, raised_at=n.raised_at, due_at=n.due_at, overdue=n.overdue,
        ward_code=n.ward_code, vehicle_code=n.vehicle_code, departs_at=n.departs_at,
        arrives_at=n.arrives_at, distance_km=n.distance_km, closed_at=n.closed_at,
        outcome=n.outcome,
    )  # fmt: skip


def _rules(ctx: Ctx) -> CareRules:
    return CareRules.from_pack(ctx.codes.pack)


@care_api.get("/needs")
def get_needs(
    call: CallDep, all_needs: Annotated[bool, Query(alias="all")] = False
) -> list[NeedOut]:
    """The needs of the caller's jurisdiction, the most urgent first (``all``: finished too)."""
    rows, _ = access.read_needs(call, open_only=not all_needs, bounded=None)
    return [_out(n) for n in rows]


@care_api.post("/needs", status_code=201)
def post_need(body: NeedIn, ctx: Ctx, call: CallDep) -> NeedOut:
    """Register a resident's urgent medical need; it is due within the pack's hours."""
    need = access.register(call, _rules(ctx), person_id=body.person_id, kind=body.kind,
                           detail=body.detail, area_id=body.area_id)  # fmt: skip
    return _out(access.read_need(call, need).need)


@care_api.get("/needs/{need_id}")
def get_need(need_id: NeedId, call: CallDep) -> NeedOut:
    """One need (404 when absent or outside the caller's jurisdiction)."""
    return _out(access.read_need(call, need_id).need)


@care_api.post("/needs/{need_id}/plan")
def post_plan(need_id: NeedId, body: PlanIn, ctx: Ctx, call: CallDep) -> PlanOut:
    """Plan the green-channel transfer; 409 ``care.no_ward`` / ``care.no_vehicle`` /
    ``care.too_late`` with the reason when none can be planned."""
    got = access.plan(call, _rules(ctx), need_id, allow_late=body.allow_late)
    return PlanOut(need_id=got.need_id, vehicle=got.vehicle, ward=got.ward,
                   departs_at=got.departs_at, arrives_at=got.arrives_at,
                   distance_km=got.distance_km, late=got.late)  # fmt: skip


@care_api.post("/needs/{need_id}/status")
def post_status(need_id: NeedId, body: StatusIn, ctx: Ctx, call: CallDep) -> NeedOut:
    """Start the transfer, complete the need (an ``outcome``) or cancel it (a ``note``)."""
    access.move(call, _rules(ctx), need_id, body.status, outcome=body.outcome or "",
                note=body.note)  # fmt: skip
    return _out(access.read_need(call, need_id).need)


@care_api.get("/wards")
def get_wards(call: CallDep) -> list[WardOut]:
    """Designated and buffer wards, most free beds first."""
    return [
        WardOut(code=w.code, hospital=w.hospital, name=w.name, region_code=w.region_code,
                venue_code=w.venue_code, latitude=w.latitude, longitude=w.longitude,
                kinds=list(w.kinds), beds=w.beds, beds_free=w.beds_free, buffer=w.buffer,  # type: ignore[arg-type]
                updated_at=w.updated_at)
        for w in access.read_wards(call)
    ]  # fmt: skip


@care_api.put("/wards/{code}")
def put_ward(
    code: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")],
    body: WardBody, call: CallDep,
) -> dict[str, object]:  # fmt: skip
    """Create or change a ward (the hospital's report of its free beds)."""
    new = access.keep_ward(call, WardIn(
        code, body.hospital, body.name, body.region_code, body.latitude, body.longitude,
        tuple(body.kinds), body.beds, body.beds_free, body.buffer, body.venue_code))  # fmt: skip
    return {"code": code, "created": new}
