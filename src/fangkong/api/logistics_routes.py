"""Logistics API (``/api/v1/crossings``): a checkpoint's device records a crossing, one at
a time or a batch sent after being offline.

Thin: parse (bounded: plate, region codes, at most 60 people parsed and the pack's
``max_people`` checked by the service, the device's time within its window), call
``fangkong.logistics.access``, answer. A device (token scope ``checkpoint``, right
``logistics.crossing``) records at the checkpoint of its venue; the same ``ref`` sent
again answers the stored outcome (``created`` false) and writes nothing. A device's single
crossing (bearer token, JSON) is answered in front of the middleware by
``crossing_endpoint.CrossingEndpoint`` with this module's models; the route below answers
the rest and documents the endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.errors import FangkongError
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import field_errors, negotiate, status_of
from fangkong.logistics import access
from fangkong.logistics.crossing_input import CrossingIn, CrossingOut, PersonIn

logistics_api = APIRouter(prefix="/api/v1/crossings", tags=["logistics"])

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 409: _PROBLEM, 422: _PROBLEM}
REGION = r"^[0-9]{6,12}$"


class PersonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["driver", "passenger"] = "driver"
    id_type: bounds.Line = Field("resident_id", max_length=24)
    id_number: bounds.Line = Field(min_length=1, max_length=40)
    id_country: bounds.Line | None = Field(None, max_length=3)
    name: bounds.Line = Field(min_length=1, max_length=100)
    sex: bounds.Line | None = Field(None, max_length=6)
    birth_date: bounds.BirthDateText | None = Field(None, max_length=10)
    phone: bounds.Line | None = Field(None, max_length=20)
    negative_test_at: bounds.DeviceInstant | None = Field(
        None, description="the sampling time of a negative test shown from elsewhere (互认)"
    )
    sample_barcode: bounds.Line | None = Field(
        None, max_length=40, description="the tube scanned if sampled here"
    )


class CrossingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: bounds.Line = Field(
        min_length=1, max_length=64, description="the device's id of this crossing (idempotent)"
    )
    checkpoint: bounds.Line | None = Field(
        None, max_length=40, description="optional: a device records at its venue's checkpoint"
    )
    at: bounds.DeviceInstant = Field(description="when the vehicle crossed (ISO 8601, offset)")
    direction: Literal["in", "out"] = "in"
    plate: bounds.Line = Field(min_length=1, max_length=16, description="e.g. 晋A12345")
    vehicle_kind: Literal["lorry", "van", "car", "bus"] = "lorry"
    cargo_class: Literal["key_supplies", "medical", "ordinary", "none"] = "none"
    origin_region: str = Field(pattern=REGION, description="admin-division code")
    destination_region: str = Field(pattern=REGION)
    history: list[str] = Field(
        default_factory=list, max_length=60, description="region codes visited in the window"
    )
    people: list[PersonBody] = Field(min_length=1, max_length=60)
    pass_: bounds.Line | None = Field(
        None, alias="pass", max_length=2000, description="the pass's QR text or serial"
    )
    waited_minutes: int | None = Field(None, ge=0, le=10_080)
    destination_address: bounds.Line | None = Field(None, max_length=300)


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    crossings: list[CrossingBody] = Field(min_length=1, max_length=100)


class PersonResult(BaseModel):
    role: str
    code_colour: str
    test_valid: bool
    from_risk_area: bool
    sampled: bool
    outcome: str
    traveller_id: int | None
    sample_barcode: str | None
    rule_id: str
    reason: str


class CrossingResult(BaseModel):
    id: int
    ref: str
    checkpoint: str
    at: datetime
    plate: str
    outcome: str
    pass_verdict: str
    pass_serial: str | None
    pass_reason: str
    priority: bool
    rule_id: str
    reason: str
    created: bool
    people: list[PersonResult]


class BatchItem(BaseModel):
    ref: str
    status: int
    crossing: CrossingResult | None = None
    problem: dict[str, Any] | None = None


class BatchResult(BaseModel):
    recorded: int
    refused: int
    items: list[BatchItem]


def crossing_in(body: CrossingBody, checkpoint: str = "") -> CrossingIn:
    return CrossingIn(
        checkpoint_code=body.checkpoint or checkpoint,
        ref=body.ref,
        at=body.at,
        direction=body.direction,
        plate=body.plate,
        vehicle_kind=body.vehicle_kind,
        cargo_class=body.cargo_class,
        origin_region=body.origin_region,
        destination_region=body.destination_region,
        history=list(body.history),
        people=[PersonIn(**p.model_dump()) for p in body.people],
        pass_token=body.pass_,
        waited_minutes=body.waited_minutes,
        destination_address=body.destination_address,
    )


def result(got: CrossingOut, lang: str) -> CrossingResult:
    zh = lang == "zh"
    return CrossingResult(
        id=got.id,
        ref=got.ref,
        checkpoint=got.checkpoint_code,
        at=got.at,
        plate=got.plate,
        outcome=got.outcome,
        pass_verdict=got.pass_verdict,
        pass_serial=got.pass_serial,
        pass_reason=got.pass_reason_zh if zh else got.pass_reason_en,
        priority=got.priority,
        rule_id=got.rule_id,
        reason=got.reason_zh if zh else got.reason_en,
        created=got.created,
        people=[
            PersonResult(
                role=p.role,
                code_colour=p.code_colour,
                test_valid=p.test_valid,
                from_risk_area=p.from_risk_area,
                sampled=p.sampled,
                outcome=p.outcome,
                traveller_id=p.traveller_id,
                sample_barcode=p.sample_barcode,
                rule_id=p.rule_id,
                reason=p.reason_zh if zh else p.reason_en,
            )
            for p in got.people
        ],
    )


@logistics_api.post("", response_model=CrossingResult, responses=WRITE_ERRORS)
def post_crossing(body: CrossingBody, request: Request, ctx: Ctx, call: CallDep) -> CrossingResult:
    """Record a crossing at the device's checkpoint and answer the check's outcome for the
    vehicle and each person, with the rule and the reason (Accept-Language: zh or en).
    Errors: 422 with each bad field named (zh/en), 409 ``logistics.crossing_conflict``
    (the ref is another crossing's), 403 (not a checkpoint device, or another checkpoint),
    404 ``logistics.checkpoint_unknown``."""
    lang = negotiate(request.headers.get("accept-language"))
    got = access.record(call, ctx.codes, crossing_in(body), via="api", home=ctx.settings.home)
    return result(got, lang)


@logistics_api.post("/batch", response_model=BatchResult, responses=WRITE_ERRORS)
def post_batch(body: BatchBody, request: Request, ctx: Ctx, call: CallDep) -> BatchResult:
    """Up to 100 crossings (a device back online): each recorded on its own, each answered
    with its outcome or its problem (status, code, detail, fields); resent ones answer
    their stored outcome."""
    lang = negotiate(request.headers.get("accept-language"))
    items = []
    for c in body.crossings:
        try:
            got = access.record(call, ctx.codes, crossing_in(c), via="api", home=ctx.settings.home)
        except FangkongError as exc:
            problem = {
                "code": exc.problem.code,
                "detail": exc.problem.text(lang),
                "errors": field_errors(exc, lang),
            }
            items.append(BatchItem(ref=c.ref, status=status_of(exc), problem=problem))
            continue
        items.append(BatchItem(ref=c.ref, status=200, crossing=result(got, lang)))
    ok = sum(1 for i in items if i.status == 200)
    return BatchResult(recorded=ok, refused=len(items) - ok, items=items)
