"""The one adapter (适配器) between the platform and the twin: what the platform decided,
as the twin's interventions; the twin's person rows as the platform's person ids.

The twin never imports the platform. Each simulated day starts with ``orders(at)``, which
reads only the platform's own records as they stand at ``at`` (local midnight)::

    quarantine_placements active   centralised      ─▶ isolate           (集中隔离)
                                   home_quarantine  ─▶ home_quarantine   (居家隔离)
                                   ended since      ─▶ release
    risk_areas at a sealing level  (pack: risk_areas.seal_levels) ─▶ seal the residents'
                                   compounds; no longer sealing ─▶ unseal (封控 / 解封)
    health_codes                   colour per person + the pack's venue policies by venue
                                   type ─▶ the venue gate (用码: only admitted colours enter)

Sampling is the platform's too: its teams sample whom it orders, the twin answers what a
sample shows (``assay``; ``fangkong.demo.labs``). Nothing here reads the twin's truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import Engine, select

from fangkong.demo.ids import person_ids
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.tables import health_codes
from fangkong.quarantine.tables import quarantine_placements
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import residents
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons
from fangkong.twin.orders import Gate, Interventions
from fangkong.twin.registry import Registry
from fangkong.twin.score import DECISIONS
from fangkong.twin.sim import Twin

Ints = npt.NDArray[np.int64]
RESTRICTING = {"centralised": "isolate", "home_quarantine": "home_quarantine"}


@dataclass
class Restrictions:
    """What the twin was told is in force (persons as twin rows, compounds as codes)."""

    isolated: set[int] = field(default_factory=set)
    home: set[int] = field(default_factory=set)
    sealed: set[str] = field(default_factory=set)


@dataclass
class DayOrders:
    """One day's interventions and the counts the report shows."""

    interventions: Interventions
    isolated: int  # persons in centralised quarantine or isolation
    home: int  # persons under a home order
    sealed_compounds: int
    sealed_residents: int
    barred: int  # persons whose code bars them from green-only venues


class TwinAdapter:
    """Translates between the platform's records and the twin (one per run)."""

    def __init__(self, engine: Engine, ctx: CodeContext, twin: Twin, registry: Registry) -> None:
        self.engine, self.ctx, self.twin = engine, ctx, twin
        self.ids: Ints = person_ids(engine, ctx.sealer, registry)
        self._row_of: dict[int, int] = {int(p): i for i, p in enumerate(self.ids.tolist()) if p}
        self.rules = RiskAreaRules.from_pack(ctx.pack)
        self.told = Restrictions()
        self._decisions: list[tuple[list[int], int, str]] = []  # (twin rows, day, action)
        self._compounds = set(twin.pop.compounds)
        self._residence = np.asarray(twin.pop.compound, np.int64)
        # the venue gate: which colours each of the twin's venue types admits (pack policies)
        self._admit = {
            vtype: sorted(c.label for c in ctx.pack.venue_policy(vtype).admit)
            for vtype in twin.pop.venue_types
        }

    # ---- identities ----------------------------------------------------------------------

    def rows(self, person_ids_: list[int] | Ints) -> Ints:
        """Twin rows of database person ids (persons outside the twin are left out)."""
        found = [self._row_of[int(p)] for p in person_ids_ if int(p) in self._row_of]
        return np.array(found, np.int64)

    def row(self, person_id: int) -> int | None:
        return self._row_of.get(int(person_id))

    # ---- the day's orders -------------------------------------------------------------------

    def orders(self, at: datetime, day: int) -> DayOrders:
        """The interventions in force at ``at`` (the start of simulated ``day``), as changes
        against what the twin was told."""
        central, home = self._placed(at)
        sealed = self._sealed(at)
        told = self.told
        release = (told.isolated | told.home) - (central | home)
        gate, barred = self._gate()
        iv = Interventions(
            isolate=sorted(central - told.isolated),
            home_quarantine=sorted(home - told.home - central),
            release=sorted(release),
            seal_compounds=sorted(sealed - told.sealed),
            unseal_compounds=sorted(told.sealed - sealed),
            gate=gate,
        )
        self.told = Restrictions(central, home - central, sealed)
        for rows, action in ((iv.isolate, "isolate"), (iv.home_quarantine, "home_quarantine"),
                             (iv.release, "release")):  # fmt: skip
            if rows:
                self._decisions.append((list(rows), day, action))
        index = {c: i for i, c in enumerate(self.twin.pop.compounds)}
        inside = np.isin(self._residence, [index[c] for c in sealed])
        return DayOrders(iv, len(central), len(home - central), len(sealed),
                         int(inside.sum()), barred)  # fmt: skip

    def decisions(self) -> pa.Table:
        """Who the platform put under control when, for ``fangkong.twin.score``
        (``DECISIONS``: person, day, action)."""
        if not self._decisions:
            return DECISIONS.empty_table()
        return pa.table(
            [
                pa.array([r for rows, _, _ in self._decisions for r in rows], pa.int32()),
                pa.array([d for rows, d, _ in self._decisions for _ in rows], pa.int32()),
                pa.array([a for rows, _, a in self._decisions for _ in rows], pa.string()),
            ],
            schema=DECISIONS,
        )

    def _placed(self, at: datetime) -> tuple[set[int], set[int]]:
        q = quarantine_placements.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(q.person_id, q.kind).where(
                    q.active.is_(True), q.kind.in_(list(RESTRICTING)), q.created_at <= at
                )
            ).all()
        out: dict[str, set[int]] = {"centralised": set(), "home_quarantine": set()}
        for pid, kind in rows:
            r = self._row_of.get(int(pid))
            if r is not None:
                out[str(kind)].add(r)
        return out["centralised"], out["home_quarantine"]

    def _sealed(self, at: datetime) -> set[str]:
        """Compounds where a resident lives in an area at a sealing level (封控)."""
        a = risk_areas.c
        levels = list(self.rules.seal_levels)
        if not levels:
            return set()
        with self.engine.connect() as conn:
            areas = conn.execute(
                select(a.id, a.region_code, a.building).where(a.level.in_(levels), a.since <= at)
            ).all()
            people: set[int] = set()
            for area_id, region, building in areas:
                people.update(residents(conn, int(area_id), str(region), building))
            if not people:
                return set()
            codes = conn.execute(
                select(persons.c.residence_code).where(persons.c.id.in_(sorted(people))).distinct()
            ).scalars()
            return {str(c) for c in codes if c in self._compounds}

    def _gate(self) -> tuple[Gate, int]:
        """Each person's code colour as stored (the codes as of this midnight) and the
        colours each venue type admits."""
        h = health_codes.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(h.person_id, h.colour).where(h.colour != "green")).all()
        labels: dict[str, list[int]] = {}
        for pid, colour in rows:
            r = self._row_of.get(int(pid))
            if r is not None:
                labels.setdefault(str(colour), []).append(r)
        gate = Gate(labels={k: sorted(v) for k, v in labels.items()}, admit=self._admit)
        return gate, sum(len(v) for v in labels.values())
