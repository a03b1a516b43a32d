"""Necessities tables (migration 0027): outlets, daily reports, deliveries, floor alerts.

``supply_outlets`` are the markets, supermarkets, suppliers and pharmacies that report
(a region, optionally a venue: a device token of scope ``supply`` bound to that venue
reports for its outlet). ``supply_reports`` hold one row per outlet × day × good — stock
at the end of the day and the day's sales, in the good's unit of the pack; a resend
replaces the row (the last report of the day is the day's figure, as the 商务部's daily
monitoring takes it). ``supply_deliveries`` are the no-contact deliveries (无接触配送) to
sealed areas, one per area × good × day. ``supply_alerts`` are the floors breached: one
open alert per region × good (``open_key`` is set while open and cleared on closing, so a
unique index holds "one open alert" on both backends); its command task follows it. A
breach is of the stock (a region's days of supply below the good's floor) or of a
delivery (a sealed area's delivery still not made ``delivery_grace_hours`` into its day).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

OUTLET_KINDS = ("market", "supermarket", "supplier", "pharmacy")  # 农贸市场, 超市, 供应商, 药店
VIA = ("api", "file", "form")
DELIVERY_STATUSES = ("planned", "delivered", "cancelled")
ALERT_STATUSES = ("open", "closed")
# stock: a region's days of supply below the floor (closed by a restock report);
# delivery: a sealed area's delivery not made in time (closed when it is confirmed)
ALERT_CAUSES = ("stock", "delivery")
GOOD_MAX = 24  # a good's key in the pack ([supply.goods.<key>])


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class SupplyOutlet(Base):
    """A market, supermarket, supplier or pharmacy that reports stock and sales."""

    __tablename__ = "supply_outlets"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (CheckConstraint(_in("kind", OUTLET_KINDS), name="kind"),)


class SupplyReport(Base):
    """An outlet's stock (end of day) and sales of one good on one local day."""

    __tablename__ = "supply_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("supply_outlets.code"))
    day: Mapped[date] = mapped_column(Date)
    good: Mapped[str] = mapped_column(String(GOOD_MAX))
    stock: Mapped[float] = mapped_column(Float)
    sales: Mapped[float] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_by: Mapped[str] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        UniqueConstraint("outlet_code", "day", "good"),
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("sales >= 0", name="sales"),
        CheckConstraint(_in("via", VIA), name="via"),
    )


class SupplyDelivery(Base):
    """A delivery of one good to a sealed area for one day (无接触配送)."""

    __tablename__ = "supply_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("risk_areas.id"))
    good: Mapped[str] = mapped_column(String(GOOD_MAX))
    planned_for: Mapped[date] = mapped_column(Date)
    people: Mapped[int] = mapped_column(Integer)  # the residents it was planned for
    quantity_planned: Mapped[float] = mapped_column(Float)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    planned_by: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_by: Mapped[str | None] = mapped_column(String(80))
    quantity_delivered: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("area_id", "good", "planned_for"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("quantity_planned >= 0", name="quantity_planned"),
        CheckConstraint("quantity_delivered IS NULL OR quantity_delivered >= 0",
                        name="quantity_delivered"),
    )  # fmt: skip


class SupplyAlert(Base):
    """A region's days of supply of a good below the pack's floor (保供底线)."""

    __tablename__ = "supply_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    good: Mapped[str] = mapped_column(String(GOOD_MAX))
    cause: Mapped[str] = mapped_column(String(8))
    # "<cause>/<region>/<good>" while open, NULL once closed: one open alert per region and good
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(8))
    floor_days: Mapped[float] = mapped_column(Float)
    days_at_raise: Mapped[float] = mapped_column(Float)
    days_now: Mapped[float] = mapped_column(Float)  # the last check's figure
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the unit's task deadline
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        CheckConstraint(_in("cause", ALERT_CAUSES), name="cause"),
    )


Index("ix_supply_reports_day_good", SupplyReport.day, SupplyReport.good)
Index("ix_supply_deliveries_planned_for_status", SupplyDelivery.planned_for,
      SupplyDelivery.status)  # fmt: skip

supply_outlets = cast(Table, SupplyOutlet.__table__)
supply_reports = cast(Table, SupplyReport.__table__)
supply_deliveries = cast(Table, SupplyDelivery.__table__)
supply_alerts = cast(Table, SupplyAlert.__table__)
