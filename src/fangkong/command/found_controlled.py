"""Which of a day's new cases were found under control (管控中发现) for the board's figures.

The rule is tracing.control's: at its confirming sample (the earliest positive single
tube) the person had a centralised or home-quarantine placement made and not ended, or
lived in a risk area then at a sealing level (``[risk_areas] seal_levels``). A case
without such a sample was found in the community. Cases come as (person id, residence
region, household code); ``ancestors`` gives a region and the regions above it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, select

from fangkong.quarantine.tables import quarantine_placements
from fangkong.riskareas.tables import risk_area_changes, risk_area_households, risk_areas
from fangkong.testing.tables import results, tube_members, tubes

_CHUNK = 5_000


def found_controlled(
    conn: Connection,
    seal_levels: Sequence[str],
    ancestors: Callable[[str], Iterable[str]],
    cases: Sequence[tuple[int, str | None, str | None]],
) -> set[int]:
    """The day's new cases found under control (tracing.control's rule): at their
    confirming sample (earliest positive single tube) they had a centralised or
    home-quarantine placement made (``created_at``) and not ended, or lived in a risk
    area then at a sealing level. A case without such a sample was found in the
    community."""
    ids = [pid for pid, _, _ in cases]
    sampled: dict[int, datetime] = {}
    r, t, m = results.c, tubes.c, tube_members.c
    q = quarantine_placements.c
    placed: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for chunk in _chunks(ids):
        sampled.update(
            (int(pid), when)
            for pid, when in conn.execute(
                select(m.person_id, sa.func.min(t.collected_at))
                .select_from(
                    results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id)
                )
                .where(t.pool_size == 1, r.outcome == "positive", m.person_id.in_(chunk))
                .group_by(m.person_id)
            )
        )
        for pid, made, ended in conn.execute(
            select(q.person_id, q.created_at, q.ended_at).where(
                q.kind.in_(["centralised", "home_quarantine"]), q.person_id.in_(chunk)
            )
        ):
            placed[int(pid)].append((made, ended))
    sealed = _sealed_areas(conn, seal_levels)
    households = _area_households(conn, [a for a in sealed if sealed[a][1] is not None])
    out: set[int] = set()
    for pid, region, household in cases:
        at = sampled.get(pid)
        if at is None:
            continue
        if any(_inside(span, at) for span in placed.get(pid, [])):
            out.add(pid)
            continue
        above = set(ancestors(region)) if region else set()
        for area_id, (area_region, building, spans) in sealed.items():
            lives = (
                household in households.get(area_id, set())
                if building is not None
                else area_region in above
            )
            if lives and any(_inside(s, at) for s in spans):
                out.add(pid)
                break
    return out


SealedArea = tuple[str, str | None, list[tuple[datetime, datetime | None]]]


def _sealed_areas(conn: Connection, levels: Sequence[str]) -> dict[int, SealedArea]:
    """Per risk area ever at a sealing level: its region, building and those spans."""
    if not levels:
        return {}
    ch = risk_area_changes.c
    history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for area_id, at, level in conn.execute(
        select(ch.area_id, ch.at, ch.to_level).order_by(ch.area_id, ch.at, ch.id)
    ):
        history[int(area_id)].append((at, str(level)))
    spans: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for area_id, changes in history.items():
        mine = [
            (at, changes[k + 1][0] if k + 1 < len(changes) else None)
            for k, (at, level) in enumerate(changes)
            if level in levels
        ]
        if mine:
            spans[area_id] = mine
    if not spans:
        return {}
    a = risk_areas.c
    return {
        int(i): (str(region), building, spans[int(i)])
        for i, region, building in conn.execute(
            select(a.id, a.region_code, a.building).where(a.id.in_(list(spans)))
        )
    }


def _area_households(conn: Connection, area_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    h = risk_area_households.c
    for chunk in _chunks(area_ids):
        for area_id, code in conn.execute(
            select(h.area_id, h.household_code).where(h.area_id.in_(chunk))
        ):
            out[int(area_id)].add(str(code))
    return out


def _inside(span: tuple[datetime, datetime | None], at: datetime) -> bool:
    start, end = span
    return start <= at and (end is None or at < end)


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
