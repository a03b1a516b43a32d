"""Road-status API: a checkpoint's device reports its queue, wait, lanes or closure
(``POST /api/v1/road-reports``, scope ``checkpoint``, right ``road.report``); the status of
the checkpoints in the caller's jurisdiction (``GET /api/v1/roads/status``, ``road.read``).
Thin: parse, call ``fangkong.roads.access``, answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from fangkong import bounds
from fangkong.http.deps import CallDep
from fangkong.roads.access import CheckpointRow, read_road_status, report_road
from fangkong.roads.status import MAX_WAIT_MINUTES, MAX_WAITING, ReportIn
from fangkong.roads.tables import AUTHORITY_MAX, REASON_MAX, REF_MAX

roads_api = APIRouter(tags=["roads"])

State = Literal["normal", "congested", "closed_authorised", "closed_unauthorised", "no_data"]
Level = Literal["national", "province", "city", "county", "township"]


class RoadReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkpoint: bounds.Line = Field(max_length=40, description="the checkpoint's code")
    ref: bounds.Line = Field(min_length=1, max_length=REF_MAX,
                             description="the device's report id (idempotency key)")  # fmt: skip
    at: bounds.DeviceInstant = Field(description="when it was observed (ISO 8601, offset)")
    vehicles_waiting: int = Field(ge=0, le=MAX_WAITING, strict=True)
    wait_minutes: int | None = Field(default=None, ge=0, le=MAX_WAIT_MINUTES, strict=True)
    lanes_open: int = Field(ge=0, le=1000, strict=True)
    status: Literal["open", "restricted", "closed"]
    authority_level: Level | None = Field(default=None, description="who ordered a closure")
    authority: bounds.Line | None = Field(
        default=None, max_length=AUTHORITY_MAX, description="the order's number and issuer"
    )
    reason: bounds.Line | None = Field(default=None, max_length=REASON_MAX)


class RoadReportOut(BaseModel):
    id: int
    created: bool


class RoadStatusOut(BaseModel):
    total: int
    checkpoints: list[CheckpointRow]  # the dataclass the page reads, as JSON


@roads_api.post("/api/v1/road-reports")
def post_road_report(body: RoadReportIn, call: CallDep) -> RoadReportOut:
    """A checkpoint's report of itself; the same ref again changes nothing. A closure is
    stored whatever its authority: one without a provincial order raises an alert at the
    next refresh (严禁擅自关闭高速公路收费站、服务区)."""
    got = report_road(call, ReportIn(
        body.checkpoint, body.ref, body.at, body.vehicles_waiting, body.wait_minutes,
        body.lanes_open, body.status, body.authority_level, body.authority, body.reason,
    ), via="api")  # fmt: skip
    return RoadReportOut(id=got.id, created=got.created)


@roads_api.get("/api/v1/roads/status")
def get_road_status(call: CallDep, state: Annotated[State | None, Query()] = None) -> RoadStatusOut:
    """Every checkpoint of the caller's jurisdiction as the last refresh found it."""
    rows, total = read_road_status(call, state=state)
    return RoadStatusOut(total=total, checkpoints=rows)
