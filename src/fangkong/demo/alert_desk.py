"""The demo's duty epidemiologists (预警核实与调查): each county's officer on duty answers
the alerts the detection job raises at the end of a simulated day, through the alerts
service, at the simulated time each step is done, on the system clock.

What the officer decides comes from the platform's own data, never the twin's truth: an
alert whose region has a confirmed case registered within ``lookback`` before the decision
is investigated and closed (the cluster is handed to tracing); one without is dismissed as
a false alarm. The timing is demo behaviour, not policy::

    raised ──▶ verified      max(raised, officer free) + VERIFY (in order of raising)
           ──▶ decided       verified + INVESTIGATE: investigated, then closed CLOSE later
                             (a case there), or dismissed (none)

``day(until)`` plans the alerts raised so far and not planned yet, then records every
planned step whose time has come by ``until``; steps that fall on a later day wait for it.
Closing or dismissing an alert closes its command task (``alerts.service.transition``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from fangkong import clock
from fangkong.alerts.service import transition
from fangkong.alerts.tables import alerts
from fangkong.store.schema import persons, regions
from fangkong.store.tx import write_transaction
from fangkong.tracing.tables import tracing_cases

BY = "demo:值班流调 duty epidemiologist"
_ORDER = {"verified": 0, "decide": 1, "closed": 2}
FALSE_ALARM = "辖区内无确诊病例，排除误报 / no confirmed case in the area: a false alarm"


@dataclass
class AlertDesk:
    """Each county's epidemiologist on duty (see the module docstring)."""

    engine: Engine
    verify: timedelta = timedelta(minutes=45)  # to check the signal behind an alert
    investigate: timedelta = timedelta(hours=8)  # on site until the decision
    close: timedelta = timedelta(hours=2)  # the investigation's write-up
    lookback: timedelta = timedelta(days=14)  # a case this recent explains the alert
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("verified", "closed", "dismissed"), 0))  # fmt: skip
    _planned: set[int] = field(default_factory=set)
    _due: list[tuple[datetime, int, int, str]] = field(default_factory=list)  # heap
    _officer: dict[str, datetime] = field(default_factory=dict)  # county → free at
    _up: dict[str, str | None] = field(default_factory=dict)
    _level: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        with self.engine.connect() as conn:
            for code, parent, level in conn.execute(
                select(regions.c.code, regions.c.parent_code, regions.c.level)
            ):
                self._up[str(code)] = parent
                self._level[str(code)] = str(level)

    def _county(self, code: str) -> str:
        node: str | None = code
        while node is not None and node in self._level and self._level[node] != "county":
            node = self._up.get(node)
        return node if node is not None and node in self._level else code

    def _within(self, code: str, region: str) -> bool:
        node: str | None = code
        for _ in range(12):
            if node is None:
                return False
            if node == region:
                return True
            node = self._up.get(node)
        return False

    def day(self, until: datetime) -> int:
        """Plan the new alerts, record the steps due by ``until``; how many were recorded."""
        self._plan()
        n = 0
        while self._due and self._due[0][0] <= until:  # a decision may plan a later step
            when, _, alert_id, step = heapq.heappop(self._due)
            with clock.frozen(when), write_transaction(self.engine) as conn:
                self._step(conn, alert_id, step, when)
            n += 1
        return n

    def _plan(self) -> None:
        a = alerts.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(a.id, a.raised_at, a.region_code).where(a.status == "raised")
                .order_by(a.raised_at, a.id)
            ).all()  # fmt: skip
        for alert_id, raised, region in rows:
            if int(alert_id) in self._planned:
                continue
            self._planned.add(int(alert_id))
            county = self._county(str(region))
            verified = max(raised, self._officer.get(county, raised)) + self.verify
            self._officer[county] = verified
            heapq.heappush(self._due, (verified, _ORDER["verified"], int(alert_id), "verified"))
            decided = verified + self.investigate
            heapq.heappush(self._due, (decided, _ORDER["decide"], int(alert_id), "decide"))

    def _step(self, conn: Connection, alert_id: int, step: str, when: datetime) -> None:
        status = conn.execute(select(alerts.c.status).where(alerts.c.id == alert_id)).scalar()
        if step == "verified":
            if status == "raised":  # not answered by hand meanwhile
                transition(conn, alert_id, "verified", by=BY, now=when,
                           note="信号已核实 / signal checked against its source")  # fmt: skip
                self.outcomes["verified"] += 1
            return
        if step == "closed":
            if status == "investigated":
                transition(conn, alert_id, "closed", by=BY, now=when,
                           note="已移交流调 / handed over to tracing")  # fmt: skip
                self.outcomes["closed"] += 1
            return
        if status != "verified":
            return
        if self._case_behind(conn, alert_id, when):
            transition(conn, alert_id, "investigated", by=BY, now=when,
                       note="辖区内有确诊病例 / a confirmed case in the area")  # fmt: skip
            heapq.heappush(self._due, (when + self.close, _ORDER["closed"], alert_id, "closed"))
        else:
            transition(conn, alert_id, "dismissed", by=BY, now=when, note=FALSE_ALARM)
            self.outcomes["dismissed"] += 1

    def _case_behind(self, conn: Connection, alert_id: int, when: datetime) -> bool:
        """Whether the platform had registered a case living in the alert's region within
        ``lookback`` before ``when``."""
        region = str(conn.execute(
            select(alerts.c.region_code).where(alerts.c.id == alert_id)).scalar_one())  # fmt: skip
        c = tracing_cases.c
        homes = conn.execute(
            select(persons.c.residence_code).join(persons, persons.c.id == c.person_id)
            .where(c.registered_at <= when, c.registered_at > when - self.lookback)
        ).scalars()  # fmt: skip
        return any(self._within(str(h), region) for h in homes)


__all__ = ["AlertDesk"]
