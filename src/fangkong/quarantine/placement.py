"""Placement service (安置): a batch of requests → rooms, home quarantine, home monitoring.

``place(engine, requests, rules, by=...)`` is the one use case that the CLI, the pages,
tracing's hand-off and arrivals (point-to-point transfer) call. Each request
(``terms.PlacementRequest``) names a person, their risk group (the pack's
``[quarantine]`` group: close_contact, inbound, …), and optionally the kind (default: the
group's first phase in the pack), a household and a guardian (placed together),
accessibility needs, where they are (a region code; default: the registry's residence),
when the placement takes effect (``starts_at``), day 1 of its period (``period_from``: a
close contact's period counts from the last exposure, 自末次暴露; default ``starts_at``)
and a caller reference (idempotency: a repeated ``ref`` returns the stored placement).
One ``terms.Assignment`` comes back per request, in order. ``reach`` (a region level:
county, city, province) keeps each person to the facilities of their own region at that
level (the intake job widens it step by step, pack: ``[quarantine.surge] reach``); None
reaches everywhere, nearest first.

Home placements are written here; centralised ones are booked in rounds that never
double-book a room (``booking``), from the free rooms ``pool`` loads.

Codes follow placements: after the commit each new placement is recorded as a health-code
``period`` fact (centralised_quarantine / home_quarantine / home_monitoring, from its
start to its planned end; idempotent by client event id) and, given a ``CodeContext``,
the codes are recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong import clock
from fangkong.errors import BadInput, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.recompute import recompute_all
from fangkong.quarantine.booking import _assignment, _insert_placements, _Job, _place_rooms
from fangkong.quarantine.bulk import _chunks
from fangkong.quarantine.pool import _active, _people
from fangkong.quarantine.regions import load_regions
from fangkong.quarantine.rules import KINDS, Phase, QuarantineRules
from fangkong.quarantine.tables import (
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.quarantine.terms import (
    SHANGHAI,
    Assignment,
    PlacementRequest,
    period_end,
    period_fact,
)
from fangkong.store.tx import write_transaction


class PlacementInvalid(BadInput):
    """quarantine.request_invalid: a request names an unknown kind, group or person."""


def _invalid(zh: str, en: str) -> PlacementInvalid:
    return PlacementInvalid(Problem("quarantine.request_invalid", zh, en))


def _check(requests: Sequence[PlacementRequest], rules: QuarantineRules) -> None:
    seen: set[int] = set()
    for r in requests:
        if r.kind is not None and r.kind not in KINDS:
            raise _invalid(
                f"无效的安置方式 {r.kind!r}（可选：{'、'.join(KINDS)}）",
                f"not a placement kind: {r.kind!r} (one of: {', '.join(KINDS)})",
            )
        rules.group(r.risk_group)
        if r.person_id in seen:
            raise _invalid(
                f"人员 {r.person_id} 在同一批次中出现多次",
                f"person {r.person_id} appears twice in the batch",
            )
        seen.add(r.person_id)
        if r.starts_at is not None and r.starts_at.tzinfo is None:
            raise _invalid("starts_at 须带时区", "starts_at must carry a time zone")
        if r.period_from is not None and r.period_from.tzinfo is None:
            raise _invalid("period_from 须带时区", "period_from must carry a time zone")


def place(
    engine: Engine,
    requests: Sequence[PlacementRequest],
    rules: QuarantineRules,
    *,
    by: str,
    at: datetime | None = None,
    tz: ZoneInfo = SHANGHAI,
    pack_ref: str = "",
    codes: CodeContext | None = None,
    record_codes: bool = True,
    reach: str | None = None,
) -> list[Assignment]:
    """Place a batch (see the module's docstring); one ``Assignment`` per request."""
    at = at or clock.now()
    _check(requests, rules)
    out: list[Assignment | None] = [None] * len(requests)
    jobs: list[_Job] = []
    memo: dict[tuple[str, str | None], tuple[Phase, ...]] = {}
    with write_transaction(engine) as conn:
        stored = _by_ref(conn, [r.ref for r in requests if r.ref])
        people = _people(conn, [r.person_id for r in requests])
        missing = sorted({r.person_id for r in requests} - set(people))
        if missing:
            raise PlacementInvalid(
                Problem(
                    "quarantine.person_unknown",
                    f"无此人员：{', '.join(map(str, missing[:10]))}",
                    f"no such person: {', '.join(map(str, missing[:10]))}",
                )
            )
        active = _active(conn, [r.person_id for r in requests])
        for i, r in enumerate(requests):
            if r.ref and r.ref in stored:
                out[i] = stored[r.ref]
                continue
            if r.person_id in active:
                out[i] = Assignment(r.person_id, "already_placed", active[r.person_id])
                continue
            phases = _phases(rules, r.risk_group, r.kind, memo)
            if not phases:
                out[i] = Assignment(r.person_id, "not_managed")
                continue
            person = people[r.person_id]
            start = r.starts_at or at
            anchor = r.period_from or start
            age = _age(person.birth, start.astimezone(tz).date())
            jobs.append(
                _Job(
                    i,
                    r,
                    phases[0].kind,
                    phases[0],
                    start,
                    period_end(anchor, phases[0]),
                    r.region_code or person.residence,
                    r.household or person.household,
                    age is not None and age < rules.placement.child_age_below,
                    anchor,
                )
            )
        home = [j for j in jobs if j.kind != "centralised"]
        if home:
            ids = _insert_placements(
                conn, [(j, None, None, None) for j in home], rules, by, at, pack_ref
            )
            for j, pid in zip(home, ids, strict=True):
                out[j.index] = _assignment(j, pid, "home", None, tz)
        index = load_regions(conn)
    centralised = [j for j in jobs if j.kind == "centralised"]
    if centralised:
        for j, result in _place_rooms(
            engine, centralised, rules, index, by, at, pack_ref, tz, reach
        ):
            out[j.index] = result
    final = [a for a in out if a is not None]
    if record_codes:
        _send_codes(engine, final, by, at, codes)
    return final


def _phases(
    rules: QuarantineRules,
    group: str,
    kind: str | None,
    memo: dict[tuple[str, str | None], tuple[Phase, ...]],
) -> tuple[Phase, ...]:
    """The phases a request starts (one lookup per group and kind of a batch)."""
    found = memo.get((group, kind))
    if found is None:
        phases = rules.phases(group)
        if kind is not None and phases:
            # a kind the group lacks (a guardian staying with a child, a placement
            # ordered by an officer) keeps the group's first period and tests
            phases = rules.phases(group, kind) or (replace(phases[0], kind=kind),)
        found = memo[(group, kind)] = phases
    return found


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _by_ref(conn: Connection, refs: Sequence[str]) -> dict[str, Assignment]:
    if not refs:
        return {}
    q, f, r = quarantine_placements.c, quarantine_facilities.c, quarantine_rooms.c
    out = {}
    for chunk in _chunks(list(refs)):
        rows = conn.execute(
            select(
                q.id,
                q.person_id,
                q.kind,
                q.request_ref,
                q.starts_at,
                q.planned_end,
                q.test_days,
                q.period_from,
                f.kind.label("fkind"),
                f.region_code.label("fregion"),
                f.code.label("fcode"),
                f.name.label("fname"),
                r.code.label("rcode"),
                r.zone,
            )
            .outerjoin(quarantine_facilities, f.id == q.facility_id)
            .outerjoin(quarantine_rooms, r.id == q.room_id)
            .where(q.request_ref.in_(chunk))
        ).all()
        for row in rows:
            out[row.request_ref] = Assignment(
                int(row.person_id),
                "placed" if row.kind == "centralised" else "home",
                int(row.id),
                row.kind,
                row.fcode,
                row.fname,
                row.rcode,
                row.zone,
                row.starts_at,
                row.planned_end,
                tuple(json.loads(row.test_days)),
                row.fkind,
                row.fregion,
                row.period_from or row.starts_at,
            )
    return out


def _send_codes(
    engine: Engine,
    done: Sequence[Assignment],
    by: str,
    at: datetime,
    codes: CodeContext | None,
) -> None:
    facts = [
        (
            a.person_id,
            period_fact(
                a.placement_id, a.kind, a.starts_at, a.planned_end, a.facility_name or "居家 / home"
            ),
        )
        for a in done
        if a.placement_id is not None
        and a.kind is not None
        and a.starts_at is not None
        and a.outcome in ("placed", "home")
    ]
    if facts:
        record_facts(engine, facts, recorded_by=by[:80], now=at)
        if codes is not None:
            recompute_all(engine, codes, at, trigger="quarantine")


__all__ = [
    "PlacementInvalid",
    "place",
]
