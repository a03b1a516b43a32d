"""The demo's field investigation (流调处置): each county's CDC desk and field teams work
through the cases the labs register, and record each step of a case's investigation
(``fangkong.tracing.steps``) at the simulated time it is done, on the system clock.

The times come from the loop's own timing — when the labs registered each case (the
twin's outbreak, sampled and resulted through the lab windows), when the tracing job
found its contacts (``traced_at``) — and from how busy each county's desk and teams are.
A quiet county meets every target; a county whose labs report a burst of cases queues
them and falls behind. The desk's capacity is demo behaviour, not policy::

    registered ──▶ verified   the county's one verifier, in order of registration:
                              max(registered, verifier free) + VERIFY
               ──▶ on site    the first of TEAMS field teams free leaves then:
                              max(registered, team free) + TRAVEL
               ──▶ core facts on site + INTERVIEW (the team is back TRAVEL later)
               ──▶ report     max(core facts, the tracing run) + WRITE (the report
                              needs the contacts the tracing job found)

``day(t1)`` plans the cases registered so far and not planned yet, then records every
planned step whose time has come by ``t1`` (the end of the simulated day), each with the
clock frozen at its own time; steps that fall on a later day wait for that day.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from fangkong import clock
from fangkong.store.schema import persons, regions
from fangkong.store.tx import write_transaction
from fangkong.tracing.steps import STEPS, stamp_step
from fangkong.tracing.tables import tracing_cases

BY = "demo:流调队 field team"
ORDER = {s.key: i for i, s in enumerate(STEPS)}


@dataclass
class FieldDesk:
    """Each county's verifier and field teams (see the module docstring)."""

    engine: Engine
    teams: int = 2  # field teams per county
    verify: timedelta = timedelta(minutes=30)  # the verifier's time per case
    travel: timedelta = timedelta(minutes=60)  # to the case's home, and back
    interview: timedelta = timedelta(hours=2, minutes=30)  # on site until the core facts
    write: timedelta = timedelta(hours=4)  # the report, once the contacts are traced
    recorded: int = 0  # steps recorded so far
    _planned: set[int] = field(default_factory=set)
    _due: list[tuple[datetime, int, int, str]] = field(default_factory=list)  # heap
    _verifier: dict[str, datetime] = field(default_factory=dict)  # county → free at
    _crews: dict[str, list[datetime]] = field(default_factory=dict)  # county → teams free at
    _county: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(select(regions.c.code, regions.c.parent_code, regions.c.level))
            up = {str(c): (p, lv) for c, p, lv in rows}
        for code in up:
            node: str | None = code
            while node is not None and node in up and up[node][1] != "county":
                node = up[node][0]
            self._county[code] = node if node in up else code

    def day(self, until: datetime) -> int:
        """Plan the new cases, record the steps due by ``until``; how many were recorded."""
        self._plan()
        due: list[tuple[datetime, int, int, str]] = []
        while self._due and self._due[0][0] <= until:
            due.append(heapq.heappop(self._due))
        if due:
            with write_transaction(self.engine) as conn:
                for when, _, case_id, step in due:
                    with clock.frozen(when):  # the step is recorded when it is done
                        stamp_step(conn, case_id, step, by=BY)
        self.recorded += len(due)
        return len(due)

    def _plan(self) -> None:
        c = tracing_cases.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.id, c.registered_at, c.traced_at, persons.c.residence_code)
                .join(persons, persons.c.id == c.person_id)
                .order_by(c.registered_at, c.id)
            ).all()
        by_county: dict[str, list[tuple[int, datetime, datetime | None]]] = defaultdict(list)
        for case_id, registered, traced, home in rows:
            if int(case_id) in self._planned:
                continue
            self._planned.add(int(case_id))
            county = self._county.get(str(home), str(home))
            by_county[county].append((int(case_id), registered, traced))
        for county, cases in by_county.items():
            for case_id, registered, traced in cases:
                for step, when in self._times(county, registered, traced).items():
                    heapq.heappush(self._due, (when, ORDER[step], case_id, step))

    def _times(
        self, county: str, registered: datetime, traced: datetime | None
    ) -> dict[str, datetime]:
        verified = max(registered, self._verifier.get(county, registered)) + self.verify
        self._verifier[county] = verified
        crews = self._crews.setdefault(county, [registered] * self.teams)
        k = min(range(len(crews)), key=lambda i: crews[i])
        on_site = max(registered, crews[k]) + self.travel
        core = on_site + self.interview
        crews[k] = core + self.travel
        report = max(core, traced or core) + self.write
        return {"verified": verified, "on_site": on_site, "core_facts": core, "report": report}


__all__ = ["FieldDesk"]
