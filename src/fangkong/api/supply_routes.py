"""The necessities API (民生物资保供, ``/api/v1/supply``): outlets' daily reports, days of
supply, deliveries to sealed areas confirmed.

Routes parse the body and call one function of ``fangkong.supply.access``. A market's,
supermarket's, supplier's or pharmacy's terminal authenticates with a device token of
scope ``supply`` bound to the outlet's venue; people use the session cookie and
``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from fangkong import bounds
from fangkong.http.deps import CallDep, Ctx
from fangkong.supply import access
from fangkong.supply.service import MAX_AMOUNT, SupplyPolicy

supply_api = APIRouter(prefix="/api/v1/supply", tags=["supply"])
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]


class ReportRowIn(BaseModel):
    outlet_code: bounds.Line | None = Field(
        None, max_length=40, description="the outlet (default: the device's venue's outlet)"
    )
    date: bounds.EventDateText = Field(max_length=10, description="the local day, YYYY-MM-DD")
    good: bounds.Line = Field(max_length=24, description="a good of the pack's [supply.goods]")
    stock: Amount = Field(description="stock at the end of the day, in the good's unit")
    sales: Amount = Field(description="the day's sales, in the good's unit")


class ReportsIn(BaseModel):
    reports: list[ReportRowIn] = Field(min_length=1, max_length=5000)


class ReportsOut(BaseModel):
    rows: int
    inserted: int
    updated: int
    unchanged: int
    floors_raised: int
    floors_closed: int


class DaysOut(BaseModel):
    region_code: str
    good: str
    stock: float
    daily_sales: float
    days: float | None
    floor_days: float
    below_floor: bool


class DeliveryOut(BaseModel):
    id: int
    area_id: int
    good: str
    planned_for: str
    people: int
    quantity_planned: float
    status: str
    quantity_delivered: float | None


class ConfirmIn(BaseModel):
    quantity: Amount | None = Field(None, description="default: the quantity planned")


def _policy(ctx: Ctx, call: CallDep) -> SupplyPolicy:
    return SupplyPolicy.from_pack(ctx.codes.pack, call.tz)


@supply_api.post("/reports", response_model=ReportsOut)
def post_reports(ctx: Ctx, call: CallDep, body: ReportsIn) -> ReportsOut:
    """Stock and sales from an outlet (device token of scope ``supply``, or a user with
    ``supply.report``): all or none, idempotent per outlet × day × good (a resend with
    other figures replaces the day's). Errors: ``supply.invalid`` 422 naming
    ``reports[i].field``, ``auth.forbidden`` 403."""
    rows = [r.model_dump() for r in body.reports]
    r = access.submit_reports(call, _policy(ctx, call), rows, via="api")
    return ReportsOut(rows=r.rows, inserted=r.inserted, updated=r.updated,
                      unchanged=r.unchanged, floors_raised=r.floors.raised,
                      floors_closed=r.floors.closed)  # fmt: skip


@supply_api.get("/days", response_model=list[DaysOut])
def get_days(ctx: Ctx, call: CallDep) -> list[DaysOut]:
    """Days of supply of every region of the caller's jurisdiction × good (``supply.read``)."""
    policy = _policy(ctx, call)
    goods = policy.supply.goods
    found = access.read_days(call, policy)
    return [
        DaysOut(region_code=region, good=good, stock=s.stock, daily_sales=s.daily_sales,
                days=s.days, floor_days=goods[good].floor_days,
                below_floor=s.days is not None and s.days < goods[good].floor_days)
        for (region, good), s in sorted(found.items()) if good in goods
    ]  # fmt: skip


@supply_api.post("/deliveries/{delivery_id}/confirm", response_model=DeliveryOut)
def post_confirm(
    ctx: Ctx, call: CallDep, delivery_id: Annotated[int, Path(ge=1, le=bounds.INT32_MAX)],
    body: ConfirmIn,
) -> DeliveryOut:  # fmt: skip
    """Confirm a delivery to a sealed area (``supply.manage``); a resend changes nothing.
    Errors: ``supply.delivery_unknown`` 404, ``auth.forbidden`` 403."""
    d = access.confirm(call, _policy(ctx, call), delivery_id, body.quantity)
    return DeliveryOut(id=d.id, area_id=d.area_id, good=d.good,
                       planned_for=d.planned_for.isoformat(), people=d.people,
                       quantity_planned=d.quantity_planned, status=d.status,
                       quantity_delivered=d.quantity_delivered)  # fmt: skip
