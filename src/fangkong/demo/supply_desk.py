"""The twin's markets and sealed compounds through the necessities service: the supply desk.

The twin's markets and supermarkets report, each evening, their stock and the day's sales
of the pack's goods (``market_reports``); its sealed compounds eat what their households
hold and what the platform brings (``truth_stock``: the truth, kept apart); it receipts
the deliveries it was brought (``deliveries``). ``SupplyDesk`` plays the commerce
department with ``fangkong.supply.service``:

1. **set-up**: an outlet per twin market (``add_outlet``, bound to its venue);
2. **each evening**: the day's reports (``record_report``: days of supply per county and
   good; a county below a good's floor raises a supply alert and a supply_floor task,
   closed when the days are back above it);
3. **at midnight**: ``plan_deliveries`` for the sealed areas (risk areas at the seal
   levels), the day ahead; the day's receipts confirmed (``confirm_delivery``) at the time
   the twin received them; ``check_floors`` (a delivery still planned past its grace is a
   breach too);
4. **the twin**: each delivery planned for the coming day goes to the area's compounds
   (in proportion to their residents) at ``DELIVER_HOUR`` local time
   (``Interventions.deliveries``), so a delivery restocks the compound in the twin.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from fangkong.healthcode.context import CodeContext
from fangkong.riskareas.service import residents
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons
from fangkong.supply.service import (
    OutletIn,
    ReportIn,
    SupplyPolicy,
    add_outlet,
    check_floors,
    confirm_delivery,
    plan_deliveries,
    record_report,
)
from fangkong.supply.tables import supply_alerts, supply_deliveries, supply_outlets
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry
from fangkong.twin.sim import Twin

BY = "twin:supply"
DELIVER_HOUR = 10.0  # local hour the planned deliveries reach the compounds


@dataclass
class SupplyDay:
    """What the supply desk did on one simulated day."""

    day: int
    reports: int = 0
    below: int = 0  # open stock alerts (county × good below the floor) at midnight
    raised: int = 0
    closed: int = 0
    planned: int = 0
    delivered: int = 0
    short: int = 0  # truth: sealed compounds × goods that ran out today
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f" │ 保供 supply 低于底线 below floor {self.below:>2,} 配送 planned "
            f"{self.planned:>3,} 送达 delivered {self.delivered:>3,} 断供(真值) short "
            f"{self.short:>3,}"
        )


@dataclass
class SupplyDesk:
    engine: Engine
    codes: CodeContext
    twin: Twin
    registry: Registry
    start: date
    tz: ZoneInfo
    days: list[SupplyDay] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.policy = SupplyPolicy.from_pack(self.codes.pack, self.tz)
        self.goods = set(self.policy.supply.goods)
        v = self.registry.venues
        self._venue = {c: (n, t, r) for c, n, t, r in zip(
            v["code"].to_pylist(), v["name"].to_pylist(), v["type"].to_pylist(),
            v["region_code"].to_pylist(), strict=True)}  # fmt: skip
        self._compounds = set(self.twin.pop.compounds)
        self._orders: list[tuple[str, str, float, int]] = []
        # delivery → its good and (compound, quantity) parts sent to the twin
        self._sent: dict[int, tuple[str, list[tuple[str, float]]]] = {}
        self._outlets: dict[str, str] = {}
        self._set_up()

    def _set_up(self) -> None:
        at = datetime.combine(self.start, time(0), self.tz).astimezone(UTC)
        with self.engine.connect() as conn:
            held = set(conn.execute(select(supply_outlets.c.code)).scalars())
        for row in self.twin.provisions.markets.tolist():
            code = str(self.twin.pop.venue_codes[row].as_py())
            name, kind, region = (str(x) for x in self._venue[code])
            outlet = f"SO-{code}"
            self._outlets[code] = outlet
            if outlet not in held:
                add_outlet(self.engine, OutletIn(outlet, name, kind, region, code), by=BY, at=at)

    def _local(self, day: int, hours: float) -> datetime:
        midnight = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return (midnight + timedelta(hours=hours)).astimezone(UTC)

    # ---- the twin's orders -------------------------------------------------------------

    def orders(self) -> list[tuple[str, str, float, int]]:
        """Deliveries for the twin's compounds today: (compound, good, quantity, epoch s)."""
        out, self._orders = self._orders, []
        return out

    # ---- the day -----------------------------------------------------------------------

    def day(self, events: DayEvents) -> SupplyDay:
        tic = perf_counter()
        d = SupplyDay(events.day)
        self._confirm(d, events.deliveries.to_pylist())
        reports = [
            ReportIn(self._outlets[str(r["venue_code"])], (r["time"].astimezone(self.tz)).date(),
                     str(r["good"]), float(r["stock"]), float(r["sales"]))
            for r in events.market_reports.to_pylist()
            if str(r["good"]) in self.goods and str(r["venue_code"]) in self._outlets
        ]  # fmt: skip
        if reports:
            at = self._local(events.day, self.twin.scenario.provisions.report_hour)
            got = record_report(self.engine, self.policy, reports, by=BY, via="api", at=at)
            d.reports = got.rows
            d.raised += got.floors.raised
            d.closed += got.floors.closed
        end = self._local(events.day + 1, 0)
        planned = plan_deliveries(self.engine, end, self.policy, by=BY)
        d.planned = self._send(planned, events.day + 1)
        floors = check_floors(self.engine, self.policy, at=end, by=BY)
        d.raised += floors.raised
        d.closed += floors.closed
        with self.engine.connect() as conn:
            s = supply_alerts.c
            query = select(func.count()).where(s.status == "open", s.cause == "stock")
            d.below = conn.execute(query).scalar_one()
        t = events.truth_stock
        d.short = sum(bool(s) for s in t["short"].to_pylist()) if t.num_rows else 0
        d.seconds = perf_counter() - tic
        self.days.append(d)
        return d

    def _send(self, planned: list[Any], day: int) -> int:
        """The deliveries planned for ``day`` not sent yet, to the area's compounds."""
        at = int(self._local(day, DELIVER_HOUR).timestamp())
        new = [x for x in planned if x.status == "planned" and x.id not in self._sent]
        if not new:
            return 0
        with self.engine.connect() as conn:
            areas = {a.id: a for a in conn.execute(select(risk_areas).where(
                risk_areas.c.id.in_(sorted({int(x.area_id) for x in new})))).all()}  # fmt: skip
            shares: dict[int, Counter[str]] = {}
            for area_id, a in areas.items():
                people = residents(conn, int(area_id), a.region_code, a.building)
                query = select(persons.c.residence_code).where(persons.c.id.in_(sorted(people)))
                homes = conn.execute(query).scalars().all() if people else []
                shares[int(area_id)] = Counter(str(h) for h in homes if h in self._compounds)
        for x in new:
            where = shares.get(int(x.area_id), Counter())
            total = sum(where.values())
            parts = [(c, float(x.quantity_planned) * n / total) for c, n in sorted(where.items())]
            self._sent[int(x.id)] = (str(x.good), parts)
            self._orders += [(c, str(x.good), q, at) for c, q in parts if q > 0]
        return len(new)

    def _confirm(self, d: SupplyDay, receipts: list[dict[str, Any]]) -> None:
        """Confirm each planned delivery whose compounds receipted their part today."""
        got: dict[tuple[str, str], datetime] = {}
        for r in receipts:
            got[(str(r["compound_code"]), str(r["good"]))] = r["delivered_at"]
        if not got:
            return
        for delivery, (good, parts) in sorted(self._sent.items()):
            whens = [got.get((c, good)) for c, _ in parts]
            if parts and all(w is not None for w in whens):
                at = max(w for w in whens if w is not None)
                confirm_delivery(self.engine, self.policy, delivery, by=BY, at=at)
                d.delivered += 1
                del self._sent[delivery]

    # ---- the end -----------------------------------------------------------------------

    def summary(self) -> list[str]:
        s, dl = supply_alerts.c, supply_deliveries.c
        with self.engine.connect() as conn:
            alerts = Counter[str]()
            for cause, status, n in conn.execute(
                select(s.cause, s.status, func.count()).group_by(s.cause, s.status)
            ):
                alerts[f"{cause}:{status}"] += int(n)
            statuses: dict[str, int] = dict(
                conn.execute(select(dl.status, func.count()).group_by(dl.status)).all()
            )
        short = sum(d.short for d in self.days)
        stock_raised = alerts["stock:open"] + alerts["stock:closed"]
        delivery_raised = alerts["delivery:open"] + alerts["delivery:closed"]
        return [
            f"保供 supply: 网点 outlets {len(self._outlets):,}; 上报 reports "
            f"{sum(d.reports for d in self.days):,}; 低于底线 below the floor: 预警 alerts "
            f"{stock_raised:,} (已解除 closed {alerts['stock:closed']:,}, 仍开 open "
            f"{alerts['stock:open']:,}); 封控区配送 deliveries planned "
            f"{sum(statuses.values()):,}, 送达 delivered {statuses.get('delivered', 0):,} "
            f"(配送预警 delivery alerts {delivery_raised:,}, 已解除 closed "
            f"{alerts['delivery:closed']:,})",
            f"真值核对 truth: 封控小区断供（小区×物资×天）sealed compounds short (compound × good "
            f"× day) {short:,}; 用时 time {sum(d.seconds for d in self.days):.1f} s",
        ]
