"""The early-warning API (预警, ``/api/v1``): signal counts from reporting points.

Routes parse the body and call one function of ``fangkong.alerts.access`` (rights,
the device's area). Reporting points authenticate with a device token of scope
``signals``; people with ``signal.submit`` use the session cookie and ``X-CSRF-Token``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fangkong import bounds
from fangkong.alerts.access import submit_signals
from fangkong.alerts.model import SIGNALS
from fangkong.http.deps import CallDep

alerts_api = APIRouter(prefix="/api/v1", tags=["signals"])


class SignalIn(BaseModel):
    signal: bounds.Line = Field(max_length=32, description=f"one of: {', '.join(SIGNALS)}")
    date: bounds.EventDateText = Field(
        max_length=10, description="the local day counted, YYYY-MM-DD"
    )
    count: bounds.Count = Field(description="the count for that day")
    region_code: bounds.Line | None = Field(
        None, max_length=15, description="default: the region of the device's venue"
    )
    event_id: bounds.Line | None = Field(
        None, max_length=64, description="the sender's id of the report"
    )


class SignalsIn(BaseModel):
    signals: list[SignalIn] = Field(min_length=1, max_length=5000)


class SignalsOut(BaseModel):
    rows: int
    inserted: int
    updated: int
    unchanged: int


@alerts_api.post("/signals", response_model=SignalsOut)
def post_signals(call: CallDep, body: SignalsIn) -> SignalsOut:
    """Counts from a reporting point (device token of scope ``signals``, or a user with
    ``signal.submit``): all or none. A resent count changes nothing; a corrected one
    replaces it. Errors: ``signals.invalid`` 422 naming ``signals[i].field``,
    ``auth.forbidden`` 403."""
    r = submit_signals(call, [s.model_dump() for s in body.signals])
    return SignalsOut(rows=r.rows, inserted=r.inserted, updated=r.updated, unchanged=r.unchanged)
