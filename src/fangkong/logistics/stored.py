"""Crossings as stored: a crossing sent again (the stored outcome, or a conflict), a stored
crossing as an outcome with its sentences computed again, one checkpoint's crossings one
page at a time, their people, and the throughput per checkpoint per hour (road status
reads it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from fangkong.logistics.check import CrossingCheck, PersonCheck, PersonFacts, check_crossing
from fangkong.logistics.crossing_input import (
    _NO_PASS,
    CrossingConflict,
    CrossingIn,
    CrossingOut,
    PersonOut,
    _p,
)
from fangkong.logistics.rules import LogisticsRules
from fangkong.logistics.tables import crossing_people, crossings
from fangkong.store.fast import DriverSelect
from fangkong.store.listing import Bounded, fetch
from fangkong.store.schema import persons

_STORED = select(crossings).where(
    crossings.c.checkpoint_code == bindparam("cp"), crossings.c.ref == bindparam("ref")
)
# asked of every crossing (almost always: not stored), on the driver connection
_STORED_ID = DriverSelect(
    lambda: select(crossings.c.id).where(
        crossings.c.checkpoint_code == bindparam("cp"), crossings.c.ref == bindparam("ref")
    )
)


def replay_of(
    conn: Connection, checkpoint_code: str, c: CrossingIn, plate: str,
    sealed: Sequence[Mapping[str, Any]], rules: LogisticsRules,
) -> CrossingOut | None:  # fmt: skip
    """None if (checkpoint, ref) was never stored; else the stored outcome if ``c`` is the
    same crossing, or the conflict raised (``_replayed``)."""
    if not _STORED_ID.rows(conn, cp=checkpoint_code, ref=c.ref):
        return None
    old = conn.execute(_STORED, {"cp": checkpoint_code, "ref": c.ref}).first()
    if old is None:  # pragma: no cover - deleted between two reads: never (no deletes)
        return None
    return _replayed(conn, old, c, plate, sealed, rules)


CROSSING_SORTS = {
    "at": crossings.c.at,
    "plate": crossings.c.plate,
    "outcome": crossings.c.outcome,
    "cargo": crossings.c.cargo_class,
    "pass": crossings.c.pass_verdict,
}


def list_crossings(
    conn: Connection, checkpoint_code: str, *, since: datetime, until: datetime,
    bounded: Bounded | None = None,
) -> tuple[list[Row[Any]], int]:  # fmt: skip
    """The crossings of one checkpoint in [since, until), latest first."""
    query = select(crossings).where(
        crossings.c.checkpoint_code == checkpoint_code,
        crossings.c.at >= since,
        crossings.c.at < until,
    )
    return fetch(conn, query, bounded, CROSSING_SORTS, [crossings.c.at.desc(), crossings.c.id])


def people_of(conn: Connection, crossing_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """Crossing id → its people rows, driver first."""
    out: dict[int, list[Row[Any]]] = {}
    if not crossing_ids:
        return out
    for r in conn.execute(
        select(crossing_people)
        .where(crossing_people.c.crossing_id.in_(list(crossing_ids)))
        .order_by(crossing_people.c.crossing_id, crossing_people.c.id)
    ):
        out.setdefault(int(r.crossing_id), []).append(r)
    return out


# ---- recording ----------------------------------------------------------------------------


def _out(
    crossing_id: int, checkpoint: str, ref: str, at: datetime, plate: str,
    outcome: CrossingCheck, verdict: str, serial: str | None, pass_zh: str, pass_en: str,
    ids: Sequence[int], people: Sequence[Any], facts: Sequence[PersonFacts],
    travellers: Mapping[int, int], barcodes: Mapping[int, str], created: bool,
) -> CrossingOut:  # fmt: skip
    return CrossingOut(
        crossing_id, checkpoint, ref, at, plate, outcome.outcome, verdict, serial, pass_zh,
        pass_en, outcome.priority, outcome.rule_id, outcome.reason_zh, outcome.reason_en,
        tuple(
            _person_out(pid, p.role, f, o, travellers.get(pid), barcodes.get(pid))
            for pid, p, f, o in zip(ids, people, facts, outcome.people, strict=True)
        ),
        created,
    )  # fmt: skip


def _person_out(
    pid: int, role: str, f: PersonFacts, o: PersonCheck, traveller: int | None,
    barcode: str | None,
) -> PersonOut:  # fmt: skip
    return PersonOut(
        pid, role, f.colour, f.test_valid, o.from_risk_area, o.sampled, o.outcome, traveller,
        barcode, o.rule_id, o.reason_zh, o.reason_en,
    )  # fmt: skip


def _replayed(
    conn: Connection, old: Row[Any], c: CrossingIn, plate: str, sealed: Sequence[Mapping[str, Any]],
    rules: LogisticsRules,
) -> CrossingOut:  # fmt: skip
    """A crossing sent again: the stored outcome if it is the same crossing, else a conflict."""
    stored = people_of(conn, [int(old.id)]).get(int(old.id), [])
    hashes = {
        int(i): bytes(h)
        for i, h in conn.execute(
            select(persons.c.id, persons.c.doc_hash).where(
                persons.c.id.in_([int(r.person_id) for r in stored])
            )
        )
    }
    same = (
        old.plate == plate
        and old.at == c.at.astimezone(UTC)
        and old.direction == c.direction
        and [(r.role, hashes.get(int(r.person_id))) for r in stored]
        == [(p.role, s["doc_hash"]) for p, s in zip(c.people, sealed, strict=True)]
    )
    if not same:
        raise CrossingConflict(
            _p(
                "crossing_conflict",
                f"通行记录号 {c.ref} 已用于本卡口的另一辆车或另一时间",
                f"crossing {c.ref} is already used at this checkpoint by another vehicle or time",
            )
        )
    return stored_crossing(conn, old, rules, people=stored)


def stored_crossing(
    conn: Connection, row: Row[Any], rules: LogisticsRules, *, people: Sequence[Row[Any]] | None
    = None,
) -> CrossingOut:  # fmt: skip
    """A stored crossing as an outcome, the sentences computed again from its stored facts
    (a stay in a risk area reads as the most severe level of the pack's closed loop)."""
    rows = people if people is not None else people_of(conn, [int(row.id)]).get(int(row.id), [])
    level = rules.closed_loop_levels[0] if rules.closed_loop_levels else None
    facts = [
        PersonFacts(r.role, r.code_colour, bool(r.test_valid), level if r.from_risk_area else None)
        for r in rows
    ]
    check = check_crossing(
        facts,
        rules,
        cargo_class=row.cargo_class,
        verdict=row.pass_verdict,
        direction=row.direction,
    )
    # the stored outcome stands (the pack may have changed since): only the sentences are new
    people_out = tuple(
        PersonOut(
            int(r.person_id),
            r.role,
            r.code_colour,
            bool(r.test_valid),
            bool(r.from_risk_area),
            bool(r.sampled),
            _stored_outcome(row.outcome, r),
            r.traveller_id,
            r.sample_barcode,
            o.rule_id,
            o.reason_zh,
            o.reason_en,
        )
        for r, o in zip(rows, check.people, strict=True)
    )
    shown = row.pass_verdict
    verdict_zh, verdict_en = _NO_PASS if shown == "none" else ("", "")
    return CrossingOut(
        int(row.id), row.checkpoint_code, row.ref, row.at, row.plate, row.outcome,
        row.pass_verdict, row.pass_serial, verdict_zh, verdict_en, check.priority,
        check.rule_id, check.reason_zh, check.reason_en, people_out, created=False,
    )  # fmt: skip


def _stored_outcome(crossing_outcome: str, person: Row[Any]) -> str:
    """A person's outcome as their stored row says it."""
    if crossing_outcome == "turned_back":
        return "turned_back"
    if person.traveller_id is not None:
        return "closed_loop"
    return "sampled_released" if person.sampled else "passed"


def counts_by_hour(
    conn: Connection, since: datetime, until: datetime
) -> dict[tuple[str, datetime], int]:
    """(checkpoint code, the hour's start in UTC) → crossings in that hour, for crossings
    at or after ``since`` and before ``until``."""
    out: dict[tuple[str, datetime], int] = {}
    for code, at in conn.execute(
        select(crossings.c.checkpoint_code, crossings.c.at).where(
            crossings.c.at >= since, crossings.c.at < until
        )
    ):
        hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        out[(code, hour)] = out.get((code, hour), 0) + 1
    return out
