"""Key-freight passes' API (重点物资运输车辆通行证, ``/api/v1/passes``): issue, read, list,
revoke, verify.

Routes parse the request and call one function of ``fangkong.passes.access`` (rights,
jurisdiction, audit) — the same the pages and the CLI call. A pass of another
jurisdiction answers 404 like one that does not exist; verifying reads any pass (the
form is national). Every refusal is problem+json with the field named (422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.http.deps import CallDep, Ctx
from fangkong.passes import access
from fangkong.passes.access import PassDesk
from fangkong.passes.model import (
    CARGO_CLASSES,
    CARRIER_MAX,
    CODE_COLOURS,
    PLATE_MAX,
    REASON_MAX,
    REGION_CODE_MAX,
    SERIAL_MAX,
    VEHICLE_KINDS,
    VERDICTS,
)
from fangkong.passes.service import STATUSES, DriverIn, PassRequest, PassView
from fangkong.passes.token import MAX_CHARS

passes_api = APIRouter(prefix="/api/v1/passes", tags=["passes"])
_STATUSES = " | ".join(STATUSES)

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 409: _PROBLEM, 422: _PROBLEM}
Serial = Annotated[str, Path(min_length=1, max_length=SERIAL_MAX, pattern=r"^[0-9A-Za-z-]+$")]
Region = Annotated[bounds.Line, Field(min_length=2, max_length=REGION_CODE_MAX,
                                      pattern=r"^\d+$")]  # fmt: skip


def _desk(ctx: Ctx) -> PassDesk:
    return PassDesk.of(ctx.codes.pack, ctx.sealer, ctx.settings.home)


class DriverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_type: bounds.Line = Field("resident_id", max_length=20)
    id_number: bounds.Line = Field(min_length=1, max_length=40)
    id_country: bounds.Line | None = Field(None, max_length=3)
    name: bounds.Line = Field(min_length=1, max_length=50)
    phone: bounds.Line | None = Field(None, max_length=20)
    tested_at: bounds.EventInstant = Field(
        description="the latest negative sample's time, from any province (互认)"
    )
    code_colour: bounds.Line = Field("green", max_length=8, description=" | ".join(CODE_COLOURS))
    from_risk_area: bounds.Flag = False


class IssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plate: bounds.Line = Field(min_length=1, max_length=PLATE_MAX + 4, description="晋A12345")
    vehicle_kind: bounds.Line = Field(max_length=8, description=" | ".join(VEHICLE_KINDS))
    cargo_class: bounds.Line = Field(max_length=16, description=" | ".join(CARGO_CLASSES))
    carrier: bounds.Line | None = Field(None, max_length=CARRIER_MAX)
    origin_region: Region
    destination_region: Region
    via: list[Region] = Field(default_factory=list, max_length=32)
    valid_from: bounds.PlannedInstant
    valid_until: bounds.PlannedInstant
    region_code: Region = Field(description="the issuing unit, in your jurisdiction")
    drivers: list[DriverBody] = Field(min_length=1, max_length=10)


class DriverOut(BaseModel):
    person_id: int
    name: str = Field(description="masked without person.read_full")
    tested_at: datetime
    code_colour: str
    from_risk_area: bool


class PassOut(BaseModel):
    serial: str
    revision: int
    status: str | None = Field(None, description="valid | pending | expired | revoked")
    plate: str
    vehicle_kind: str
    cargo_class: str
    carrier: str | None
    origin_region: str
    destination_region: str
    via: list[str]
    closed_loop: bool = Field(description="point-to-point under the closed loop (闭环)")
    valid_from: datetime
    valid_until: datetime
    region_code: str
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    pack_ref: str
    drivers: list[DriverOut]
    token: str | None = Field(None, description="the QR's content (signed)")


class PassesOut(BaseModel):
    total: int
    limit: int
    offset: int
    passes: list[PassOut]


class RevokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: bounds.Text = Field(min_length=1, max_length=REASON_MAX)


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shown: bounds.Line = Field("", max_length=MAX_CHARS, description="QR token or serial")
    plate: bounds.Line = Field(max_length=PLATE_MAX + 4)
    driver_ids: list[bounds.RowId] = Field(default_factory=list, max_length=4)
    checkpoint_region: Region
    at: bounds.DeviceInstant | None = Field(None, description="default: now")


class CheckOut(BaseModel):
    verdict: str = Field(description=" | ".join(VERDICTS))
    serial: str | None
    reason_zh: str
    reason_en: str


def _out(view: PassView, status: str | None = None, token: str | None = None) -> PassOut:
    fields = {n: getattr(view, n) for n in PassOut.model_fields if hasattr(view, n)}
    fields.update(via=list(view.via), status=status, token=token,
                  drivers=[DriverOut(**vars(d)) for d in view.drivers])  # fmt: skip
    return PassOut(**fields)


@passes_api.post("", response_model=PassOut, responses=WRITE_ERRORS, status_code=201)
def post_pass(ctx: Ctx, call: CallDep, body: IssueBody) -> PassOut:
    """Issue a pass (签发) if the vehicle, cargo, route, period and drivers qualify under
    the pack's ``[passes]``. ``pass.issue``; audited. Errors: ``pass.refused`` 422 naming
    every field refused."""
    drivers = tuple(DriverIn(**d.model_dump()) for d in body.drivers)
    req = PassRequest(**{**body.model_dump(exclude={"drivers", "via"}), "drivers": drivers,
                         "via": tuple(body.via)})  # fmt: skip
    desk = _desk(ctx)
    issued = access.issue_pass(call, desk, req)
    page = access.read_pass(call, desk, issued.serial)
    return _out(page.view, page.status, page.token)


@passes_api.get("", response_model=PassesOut, responses=ERRORS)
def get_passes(
    call: CallDep,
    status: Annotated[bounds.Line | None, Query(max_length=8, description=_STATUSES)] = None,
    plate: Annotated[bounds.Line | None, Query(max_length=PLATE_MAX + 4)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(**bounds.OFFSET_BOUNDS)] = 0,
) -> PassesOut:  # fmt: skip
    """Passes issued in the caller's jurisdiction, newest first. ``pass.read``; audited."""
    from fangkong.store.listing import Bounded

    rows, total = access.read_passes(call, status=status, plate=plate,
                                     bounded=Bounded(limit=limit, offset=offset))  # fmt: skip
    return PassesOut(total=total, limit=limit, offset=offset, passes=[_out(r) for r in rows])


@passes_api.get("/{serial}", response_model=PassOut, responses=ERRORS)
def get_pass(ctx: Ctx, call: CallDep, serial: Serial) -> PassOut:
    """One pass with its drivers, status and QR token. ``pass.read``; audited."""
    page = access.read_pass(call, _desk(ctx), serial)
    return _out(page.view, page.status, page.token)


@passes_api.post("/{serial}/revoke", response_model=PassOut, responses=WRITE_ERRORS)
def post_revoke(call: CallDep, serial: Serial, body: RevokeBody) -> PassOut:
    """Revoke a pass with a reason (撤销); checkpoints see it at once. ``pass.issue``;
    audited. Errors: ``pass.already_revoked`` 409."""
    return _out(access.revoke_pass(call, serial, body.reason), "revoked")


class TestedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: bounds.RowId
    tested_at: bounds.EventInstant


class RenewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_until: bounds.PlannedInstant
    drivers: list[TestedBody] = Field(min_length=1, max_length=10,
                                      description="each driver's new negative sample")  # fmt: skip


@passes_api.post("/{serial}/renew", response_model=PassOut, responses=WRITE_ERRORS)
def post_renew(ctx: Ctx, call: CallDep, serial: Serial, body: RenewBody) -> PassOut:
    """Renew a pass (换发): a new revision in force from now to ``valid_until``, every
    driver with a fresh negative sample; the old QR stops verifying. ``pass.issue``;
    audited. Errors: ``pass.renewal_refused`` 422, ``pass.already_revoked`` 409."""
    desk = _desk(ctx)
    tested = {d.person_id: d.tested_at for d in body.drivers}
    access.renew_pass(call, desk, serial, valid_until=body.valid_until, tested=tested)
    page = access.read_pass(call, desk, serial)
    return _out(page.view, page.status, page.token)


@passes_api.post("/verify", response_model=CheckOut, responses=ERRORS)
def post_verify(ctx: Ctx, call: CallDep, body: VerifyBody) -> CheckOut:
    """The verdict on a pass shown at a checkpoint (核验): any issuer's pass. Crossings
    verify through their own API; this is for a desk or a hand-held reader.
    ``pass.read``; audited."""
    got = access.verify_pass(call, _desk(ctx), body.shown, plate=body.plate,
                             driver_ids=body.driver_ids,
                             checkpoint_region=body.checkpoint_region, at=body.at)  # fmt: skip
    return CheckOut(**vars(got))
