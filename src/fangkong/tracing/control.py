"""Where each confirmed case was found (病例发现途径): under control or in the community.

A case is **found under control** (管控中发现) when, at the time of the sample that
confirmed it, the person was already under a control the platform decided: in
centralised quarantine or isolation, under a home-quarantine order, or living in a risk
area at a level whose residents stay home (the pack's ``risk_areas.seal_levels``, 封控).
Otherwise it was **found in the community** (社会面发现) — the figure a command centre
watches, since every such case may have spread the virus unseen.

The confirming sample is the earliest single-tube positive sample of the person (an
individual positive is what registers a case; a pooled tube never does). The controls are
read as they were in force at that instant: placements from when they were made
(``created_at``) to their end, area levels from their change history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, select

from fangkong.quarantine.tables import quarantine_placements
from fangkong.riskareas.service import residents
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store.tx import Bind, write_transaction
from fangkong.testing.tables import results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases

CONTROLS = ("centralised", "home_quarantine", "sealed")  # how a case was under control


@dataclass(frozen=True)
class CaseOrigin:
    person_id: int
    registered_at: datetime  # when the platform registered the case
    sampled_at: datetime | None  # the confirming sample (None: registered by hand)
    control: str | None  # one of CONTROLS, or None: found in the community

    @property
    def under_control(self) -> bool:
        return self.control is not None


def case_origins(bind: Bind, seal_levels: Sequence[str]) -> list[CaseOrigin]:
    """Every registered case with its confirming sample and the control in force then."""
    with write_transaction(bind) as conn:
        cases = conn.execute(
            select(tracing_cases.c.person_id, tracing_cases.c.registered_at).order_by(
                tracing_cases.c.registered_at, tracing_cases.c.person_id
            )
        ).all()
        if not cases:
            return []
        sampled = _confirming_samples(conn)
        placed = _placements(conn)
        sealed = _sealed_spans(conn, list(seal_levels))
        out = []
        for pid, registered in cases:
            at = sampled.get(int(pid))
            control = None if at is None else _control(int(pid), at, placed, sealed)
            out.append(CaseOrigin(int(pid), registered, at, control))
    return out


def _confirming_samples(conn: Connection) -> dict[int, datetime]:
    r, t, m = results.c, tubes.c, tube_members.c
    rows = conn.execute(
        select(m.person_id, sa.func.min(t.collected_at))
        .select_from(results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id))
        .where(t.pool_size == 1, r.outcome == "positive",
               m.person_id.in_(select(tracing_cases.c.person_id)))
        .group_by(m.person_id)
    ).all()  # fmt: skip
    return {int(p): when for p, when in rows}


Span = tuple[datetime, datetime | None]


def _placements(conn: Connection) -> dict[int, list[tuple[str, Span]]]:
    q = quarantine_placements.c
    out: dict[int, list[tuple[str, Span]]] = defaultdict(list)
    for pid, kind, made, ended in conn.execute(
        select(q.person_id, q.kind, q.created_at, q.ended_at).where(
            q.kind.in_(["centralised", "home_quarantine"]),
            q.person_id.in_(select(tracing_cases.c.person_id)),
        )
    ):
        out[int(pid)].append((str(kind), (made, ended)))
    return out


def _sealed_spans(conn: Connection, levels: list[str]) -> dict[int, list[Span]]:
    """Per resident person id: the spans their area was at a sealing level."""
    if not levels:
        return {}
    ch = risk_area_changes.c
    spans: dict[int, list[Span]] = {}
    for (area_id,) in conn.execute(select(risk_areas.c.id)):
        changes = conn.execute(
            select(ch.at, ch.to_level).where(ch.area_id == area_id).order_by(ch.at, ch.id)
        ).all()
        mine: list[Span] = []
        for k, (at, level) in enumerate(changes):
            until = changes[k + 1][0] if k + 1 < len(changes) else None
            if level in levels:
                mine.append((at, until))
        if mine:
            spans[int(area_id)] = mine
    out: dict[int, list[Span]] = defaultdict(list)
    for area_id, region, building in conn.execute(
        select(risk_areas.c.id, risk_areas.c.region_code, risk_areas.c.building).where(
            risk_areas.c.id.in_(list(spans))
        )
    ):
        for pid in residents(conn, int(area_id), str(region), building):
            out[pid].extend(spans[int(area_id)])
    return out


def _inside(span: Span, at: datetime) -> bool:
    start, end = span
    return start <= at and (end is None or at < end)


def _control(
    pid: int, at: datetime, placed: dict[int, list[tuple[str, Span]]],
    sealed: dict[int, list[Span]],
) -> str | None:  # fmt: skip
    kinds = {kind for kind, span in placed.get(pid, []) if _inside(span, at)}
    for kind in ("centralised", "home_quarantine"):
        if kind in kinds:
            return kind
    if any(_inside(span, at) for span in sealed.get(pid, [])):
        return "sealed"
    return None
