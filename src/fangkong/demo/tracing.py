"""The demo's tracers (流调): the platform's new cases traced over the twin's check-ins.

``TracingFeed.feed(events)`` is called once per simulated day. It keeps the check-ins
of the last days a case's window can reach back to (the pack's look-back + 1 day; twin
person rows mapped to database person ids by the sealed document's lookup hash), then
traces every case the platform registered and has not traced yet — the labs register a
case on an individual positive, never on a pool — over those check-ins (indexed only at
the venues the new cases visited) plus the households, classes and office teams of the
registry, and hands the contacts to the health codes (``recompute=False``: records the
exposure facts and leaves the recompute to the caller, who runs one a day anyway).
Check-ins carry the twin's ``zone`` (table, room) when its table has the column: at a
``close_by_zone`` venue type only the case's own zone are close contacts.
``found_pairs()`` gives (case, contact) as twin person rows for
``fangkong.twin.score.score(..., found=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
from sqlalchemy import Engine, select

from fangkong.demo.ids import person_ids
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.copresence import I64
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_cases
from fangkong.tracing.trace_job import exposure_facts, trace_cases
from fangkong.tracing.views import close_pairs
from fangkong.tracing.zones import NO_ZONE
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry
from fangkong.twin.score import FOUND
from fangkong.twin.sim import Twin

pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays


@dataclass(frozen=True)
class DayCounts:
    day: int
    new_cases: int
    close_contacts: int  # new contact records of each kind, deduplicated across cases
    general_contacts: int
    contacts_of_contacts: int
    facts: int  # exposure facts handed to health codes


class TracingFeed:
    """Contact tracing of the twin's outbreak, one simulated day per ``feed`` call."""

    def __init__(
        self,
        engine: Engine,
        codes: CodeContext,
        twin: Twin,
        registry: Registry,
        rules: ContactRules | None = None,
        *,
        ids: I64 | None = None,
        by: str = "twin-tracing",
        recompute: bool = True,
    ) -> None:
        self.engine, self.codes, self.twin, self.by = engine, codes, twin, by
        self.recompute = recompute
        self.rules = rules or ContactRules.from_pack(codes.pack)
        # a case sampled today reaches back this many days (onset is not known here)
        self.keep_days = max(self.rules.days_before_onset, self.rules.days_before_sampling) + 1
        self.tz = ZoneInfo(twin.scenario.run.timezone)
        self.ids = ids if ids is not None else person_ids(engine, codes.sealer, registry)
        self.row_of = {int(p): i for i, p in enumerate(self.ids.tolist()) if p > 0}
        types = dict(
            zip(registry.venues["code"].to_pylist(), registry.venues["type"].to_pylist(),
                strict=True)
        )  # fmt: skip
        self.venue_codes: list[str] = [str(c) for c in twin.pop.venue_codes.to_pylist()]
        self.venue_types = [str(types.get(c, "default")) for c in self.venue_codes]
        self._venue_at = {c: i for i, c in enumerate(self.venue_codes)}
        self._parts: list[tuple[int, dict[str, Any]]] = []  # (day, columns)
        self._zone_at: dict[str, int] = {}  # zone (table, room) → code, across days
        self._cases: set[int] = set()

    def _add_checkins(self, day: int, checkins: pa.Table) -> None:
        self._parts = [(d, p) for d, p in self._parts if d >= day - self.keep_days]
        person = checkins["person"].to_numpy().astype(np.int64)
        pid = self.ids[person]
        keep = pid > 0
        venue_col: Any = checkins["venue_code"].combine_chunks()
        names = [str(c) for c in venue_col.dictionary.to_pylist()]
        remap = np.array([self._venue_at[c] for c in names], np.int64)
        venue = remap[np.asarray(venue_col.indices.to_numpy(zero_copy_only=False), np.int64)]
        t_out = checkins["time_out"]
        self._parts.append((day, {
            "person_ids": pid[keep], "venue": venue[keep],
            "time_in": _seconds(checkins["time_in"])[keep],
            "time_out": _seconds(pc.fill_null(pc.cast(t_out, pa.int64()), 0))[keep],
            "missing_out": np.asarray(pc.is_null(t_out).to_numpy(zero_copy_only=False))[keep],
            "event_ids": checkins["event_id"].to_numpy()[keep],
            "zone": self._zones(checkins)[keep],
        }))  # fmt: skip

    def _zones(self, checkins: pa.Table) -> I64:
        """The zone code of each check-in (−1: none, or a twin without zones), one code
        per zone string across days."""
        if "zone" not in checkins.column_names:
            return np.full(checkins.num_rows, NO_ZONE, np.int64)
        col: Any = checkins["zone"]
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        col = col.unify_dictionaries().combine_chunks()
        names = [str(z) for z in col.dictionary.cast(pa.string()).to_pylist()]
        remap = np.array([self._zone_at.setdefault(z, len(self._zone_at)) for z in names]
                         + [NO_ZONE], np.int64)  # fmt: skip
        indices = pc.fill_null(col.indices.cast(pa.int64()), len(names))
        return remap[np.asarray(indices.to_numpy(zero_copy_only=False), np.int64)]

    def source(self, cases: list[int] | None = None) -> CheckinSource:
        """The check-ins kept, indexed; with ``cases`` (person ids) only those at the
        venues the cases visited — nobody else can have met them."""
        parts = [p for _, p in self._parts]
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if cases is not None:
            mine = np.isin(cols["person_ids"], np.asarray(cases, np.int64))
            at = np.isin(cols["venue"], np.unique(cols["venue"][mine]))
            cols = {k: v[at] for k, v in cols.items()}
        return CheckinSource.build(
            person_ids=cols["person_ids"], venue=cols["venue"], time_in=cols["time_in"],
            time_out=cols["time_out"], missing_out=cols["missing_out"],
            event_ids=cols["event_ids"], venue_codes=self.venue_codes,
            venue_types=self.venue_types, rules=self.rules, zone=cols["zone"],
        )  # fmt: skip

    def feed(self, events: DayEvents, at: datetime | None = None) -> DayCounts:
        """Take one day: keep its check-ins, then trace every case the platform registered
        and has not traced yet (the labs register them: an individual positive), and hand
        their contacts to the health codes. ``at``: when the tracers work (default the end
        of the simulated day)."""
        self._add_checkins(events.day, events.checkins)
        at = at or _utc(self.twin.local_midnight(events.day + 1))
        c = tracing_cases.c
        with self.engine.connect() as conn:
            waiting = conn.execute(
                select(c.id, c.person_id).where(c.traced_at.is_(None)).order_by(c.id)
            ).all()
        if not waiting:
            return DayCounts(events.day, 0, 0, 0, 0, 0)
        new_ids = [int(i) for i, _ in waiting]
        people = [int(p) for _, p in waiting]
        self._cases |= set(people)
        outcome = trace_cases(
            self.engine, new_ids, self.source(people), self.rules,
            codes=self.codes if self.recompute else None, at=at, by=self.by,
        )  # fmt: skip
        facts = outcome.facts_new
        if not self.recompute:
            facts = record_facts(self.engine, exposure_facts(self.engine),
                                 recorded_by=self.by, now=at)  # fmt: skip
        made = outcome.new_contacts
        return DayCounts(
            events.day, len(new_ids), made["close"], made["general"],
            made["contact_of_contact"], facts,
        )  # fmt: skip

    def found_pairs(self) -> pa.Table:
        """(case, contact) twin person rows of every close contact found (``FOUND``)."""
        with self.engine.connect() as conn:
            pairs = close_pairs(conn)
        rows = [(self.row_of[a], self.row_of[b]) for a, b in pairs
                if a in self.row_of and b in self.row_of]  # fmt: skip
        rows.sort()
        return pa.table(
            [
                pa.array([a for a, _ in rows], pa.int32()),
                pa.array([b for _, b in rows], pa.int32()),
            ],
            schema=FOUND,
        )


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _seconds(column: Any) -> I64:
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), np.int64)
