"""Arrivals API: manifests from arrival points (device token, scope checkpoint) and stage
confirmations (transfer teams, receiving sites) by traveller id or resident ID scan.
Thin: parse, call ``fangkong.arrivals.access``, answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from fangkong import bounds
from fangkong.arrivals.access import confirm_stage, submit_manifest
from fangkong.arrivals.manifests import ManifestHeader
from fangkong.http.deps import CallDep, Ctx

arrivals_api = APIRouter(prefix="/api/v1/arrivals", tags=["arrivals"])


class StayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    place: bounds.Line = Field(max_length=15, description="region code, or a 3-letter country")
    from_: bounds.EventDateText = Field(
        alias="from", max_length=40, description="YYYY-MM-DD or ISO time"
    )
    to: bounds.EventDateText | None = Field(default=None, max_length=40)
    level: Literal["high", "medium", "low"] | None = None


class TravellerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_type: bounds.Line = Field(max_length=24)
    id_number: bounds.Line = Field(max_length=40)
    id_country: bounds.Line | None = Field(default=None, max_length=3)
    name: bounds.Line = Field(max_length=100)
    sex: bounds.Line | None = Field(default=None, max_length=6)
    birth_date: bounds.BirthDateText | None = Field(default=None, max_length=10)
    phone: bounds.Line | None = Field(default=None, max_length=20)
    arrived_at: bounds.EventDateText = Field(max_length=40, description="ISO 8601 with an offset")
    destination_region: bounds.Line = Field(max_length=15)
    destination_address: bounds.Line = Field(max_length=300)
    travel_history: list[StayIn] = Field(default_factory=list, max_length=60)


class ManifestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: bounds.Line = Field(
        max_length=80, description="the sender's manifest id (idempotency key)"
    )
    mode: Literal["flight", "train", "highway"]
    carrier: bounds.Line = Field(max_length=40, description="flight or train number, or the lane")
    point_code: bounds.Line = Field(max_length=40, description="the arrival point (a venue)")
    travellers: list[TravellerIn] = Field(max_length=5000)


class ManifestOut(BaseModel):
    manifest_id: int
    ref: str
    rows: int
    registered: int
    unchanged: int
    persons_created: int
    handoffs: int
    by_risk: dict[str, int]
    traveller_ids: list[int]


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Literal["boarded", "handed_over", "managed", "released"]
    traveller_id: bounds.RowId | None = Field(default=None, description="by form")
    id_number: bounds.Line | None = Field(default=None, max_length=40, description="by scan")


class ConfirmOut(BaseModel):
    traveller_id: int
    stage: str


def _row(t: TravellerIn) -> dict[str, Any]:
    row = t.model_dump(exclude={"travel_history"})
    row["travel_history"] = [
        {"place": s.place, "from": s.from_, "to": s.to or s.from_, "level": s.level}
        for s in t.travel_history
    ]
    return row


@arrivals_api.post("/manifests")
def post_manifest(body: ManifestIn, ctx: Ctx, call: CallDep) -> ManifestOut:
    """Register a manifest: all travellers or none (problems named by row and field, zh/en);
    the same manifest sent again changes nothing."""
    header = ManifestHeader(body.ref, body.mode, body.carrier, body.point_code)
    got = submit_manifest(call, ctx.codes, header, [_row(t) for t in body.travellers])
    return ManifestOut(
        manifest_id=got.manifest_id,
        ref=got.ref,
        rows=got.rows,
        registered=got.registered,
        unchanged=got.unchanged,
        persons_created=got.persons_created,
        handoffs=got.handoffs,
        by_risk=dict(got.by_risk),
        traveller_ids=list(got.traveller_ids),
    )


@arrivals_api.post("/confirm")
def post_confirm(body: ConfirmIn, ctx: Ctx, call: CallDep) -> Annotated[ConfirmOut, "stage"]:
    """Confirm boarding or hand-over (the receiving side), by traveller id or ID scan."""
    via = "form" if body.traveller_id is not None else "scan"
    tid, stage = confirm_stage(
        call,
        ctx.codes,
        body.stage,
        traveller_id=body.traveller_id,
        id_number=body.id_number,
        via=via,
    )
    return ConfirmOut(traveller_id=tid, stage=stage)
