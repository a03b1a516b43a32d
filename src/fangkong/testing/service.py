"""Testing use cases (核酸检测): collect samples, hand tubes over, post and resolve results,
flag late results and lost tubes, order retests.

Each function is one transaction (given an ``Engine`` it opens and commits its own; given
a ``Connection`` it works inside the caller's). Who may call them is the caller's check
(``fangkong.testing.access``); the service records who did it. The flow::

    collect ─▶ testing_tubes + testing_tube_members; a pending ``test`` fact per person
               whose code being sampled changes (``healthcode.writer.sample_matters``:
               members of a testing group)
               (being sampled counts for the code at once); open orders it fulfils → done
    ship / receive ─▶ custody times: collected → in transit → received
    post_results ─▶ testing_results (idempotent by tube and run), one batch
    resolve ─▶ for every batch not yet resolved, set-based:
               tubes whose outcome the pack retests → an individual retest order per member
               result facts for members through healthcode's writer (every non-negative;
               negatives only where ``healthcode.writer.negative_worth_storing``: a retest,
               or a code a negative can change) → codes (``positive_pool``,
               ``positive_screen``; a negative individual retest clears them)
               an individual positive (a single tube) → the person is registered as a case
               (tracing); only pools are retested
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, String, select, update

from fangkong import clock
from fangkong.errors import BadInput, Conflict, NotFound, Problem
from fangkong.healthcode.service import CodeContext, evaluate_person, recompute_all
from fangkong.healthcode.writer import (
    FactInput,
    FactQuery,
    negative_worth_storing,
    sample_matters,
    write_fact_query,
    write_facts,
)
from fangkong.settings import default_tz
from fangkong.store.schema import persons, regions
from fangkong.store.tx import write_transaction
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import PURPOSES, batches, labs, orders, results, tube_members, tubes

Bind = Engine | Connection
_BARCODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_RECODE_ONE_BY_ONE = 2_000  # more persons than this: one bulk recompute instead


class TubeUnknown(NotFound):
    """testing.tube_unknown: no tube with this barcode."""


class SampleInvalid(BadInput):
    """testing.sample_invalid: a sample cannot be registered as given."""


class TubeConflict(Conflict):
    """testing.tube_conflict: the barcode is taken by another sample, or custody out of order."""


def _now(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return (at or clock.now()).astimezone(UTC)


def _bad(zh: str, en: str) -> SampleInvalid:
    return SampleInvalid(Problem("testing.sample_invalid", zh, en))


# ---- collect (采样登记) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One tube as a sampler registers it: the persons in it (one: a single tube)."""

    barcode: str
    person_ids: Sequence[int]
    point: str  # collection point (采样点)
    region_code: str  # where it was collected (the jurisdiction that sees it)
    collector: str
    collected_at: datetime
    purpose: str = "screening"
    campaign_id: int | None = None


@dataclass(frozen=True)
class TubeView:
    id: int
    barcode: str
    pool_size: int
    purpose: str
    point: str
    region_code: str
    collector: str
    collected_at: datetime
    campaign_id: int | None
    lab_code: str | None
    shipped_at: datetime | None
    received_at: datetime | None
    flag: str | None
    person_ids: tuple[int, ...] = ()
    orders_done: tuple[int, ...] = field(default=(), compare=False)
    created: bool = field(default=False, compare=False)  # registered by this call

    @property
    def pooled(self) -> bool:
        return self.pool_size > 1

    @classmethod
    def of_row(cls, r: Any, person_ids: tuple[int, ...] = ()) -> TubeView:
        """The view of a ``testing_tubes`` row."""
        return cls(
            r.id,
            r.barcode,
            r.pool_size,
            r.purpose,
            r.point,
            r.region_code,
            r.collector,
            r.collected_at,
            r.campaign_id,
            r.lab_code,
            r.shipped_at,
            r.received_at,
            r.flag,
            person_ids,
        )


def _check_sample(sample: Sample, rules: TestingRules) -> None:
    if not _BARCODE.match(sample.barcode or ""):
        raise _bad(
            "条码须为 1–40 位字母、数字、- 或 _", "the barcode must be 1–40 letters, digits, - or _"
        )
    people = list(sample.person_ids)
    if not people:
        raise _bad("采样管中至少一人", "a tube holds at least one person")
    if len(set(people)) != len(people):
        raise _bad("同一人在管中出现两次", "a person appears twice in the tube")
    most = max(rules.pool_sizes)
    if len(people) > most:
        raise _bad(
            f"混管最多 {most} 人（政策包 pool_sizes），此管 {len(people)} 人",
            f"a pool holds at most {most} (pack pool_sizes); this has {len(people)}",
        )
    if sample.purpose not in PURPOSES:
        raise _bad(
            f"采样目的应为 {'、'.join(PURPOSES)}", f"purpose must be one of {', '.join(PURPOSES)}"
        )
    if sample.collected_at.tzinfo is None:
        raise _bad("采样时间须带时区", "the collection time must carry a time zone")
    for name, value, limit in (("point", sample.point, 80), ("collector", sample.collector, 80)):
        if not value or not value.strip() or len(value) > limit:
            raise _bad(f"{name} 须为 1–{limit} 个字符", f"{name} must be 1–{limit} characters")


def collect(
    bind: Bind,
    rules: TestingRules,
    sample: Sample,
    *,
    codes: CodeContext | None = None,
    by: str = "sampler",
    at: datetime | None = None,
) -> TubeView:
    """Register a sample (采样): the tube, its members, a pending test fact per person, and
    the open orders it fulfils. Sending the same sample again changes nothing; the same
    barcode with other persons is a conflict."""
    at = _now(at)
    _check_sample(sample, rules)
    people = sorted(set(sample.person_ids))
    collected = sample.collected_at.astimezone(UTC)
    with write_transaction(bind) as conn:
        old = conn.execute(select(tubes).where(tubes.c.barcode == sample.barcode)).first()
        if old is not None:
            members = _members(conn, old.id)
            if members != tuple(people) or old.collected_at != collected:
                raise TubeConflict(
                    Problem(
                        "testing.tube_conflict",
                        f"条码 {sample.barcode} 已用于另一份样本",
                        f"barcode {sample.barcode} is already used by another sample",
                    )
                )
            return _view(conn, old.id)
        _require_rows(conn, people, sample.region_code, sample.campaign_id)
        tube_id = conn.execute(
            tubes.insert()
            .values(
                barcode=sample.barcode,
                pool_size=len(people),
                purpose=sample.purpose,
                point=sample.point.strip(),
                region_code=sample.region_code,
                collector=sample.collector.strip()[:80],
                collected_at=collected,
                campaign_id=sample.campaign_id,
            )
            .returning(tubes.c.id)
        ).scalar_one()
        conn.execute(tube_members.insert(), [{"tube_id": tube_id, "person_id": p} for p in people])
        _pending_facts(conn, people, sample.barcode, collected, len(people) > 1, by, at)
        done = fulfil_orders(conn, people, at=at)
        if codes is not None:
            for p in people:
                evaluate_person(conn, codes, p, at=at, trigger="testing:sample")
        view = _view(conn, tube_id)
        return TubeView(**{**view.__dict__, "orders_done": tuple(done), "created": True})


def _require_rows(conn: Connection, people: list[int], region: str, campaign: int | None) -> None:
    found = set(conn.execute(select(persons.c.id).where(persons.c.id.in_(people))).scalars())
    missing = [p for p in people if p not in found]
    if missing:
        raise NotFound(
            Problem(
                "testing.person_unknown", f"无此人员（{missing[0]}）", f"no person {missing[0]}"
            )
        )
    if conn.execute(select(regions.c.code).where(regions.c.code == region)).first() is None:
        raise _bad(f"无此地区编码 {region}", f"no region {region}")
    if campaign is not None:
        from fangkong.testing.tables import campaigns

        if conn.execute(select(campaigns.c.id).where(campaigns.c.id == campaign)).first() is None:
            raise NotFound(
                Problem(
                    "testing.campaign_unknown",
                    f"无此检测行动 {campaign}",
                    f"no campaign {campaign}",
                )
            )


def _pending_facts(
    conn: Connection,
    people: list[int],
    barcode: str,
    sampled: datetime,
    pooled: bool,
    by: str,
    at: datetime,
) -> None:
    detail = {"result": "pending", "pooled": pooled, "sample_id": barcode}
    counted = sample_matters(conn, people)
    facts = [
        (p, FactInput("test", sampled, None, detail, f"sample-{barcode}-{p}"))
        for p in people
        if p in counted
    ]
    write_facts(conn, facts, recorded_by=by, now=at)


def _members(conn: Connection, tube_id: int) -> tuple[int, ...]:
    return tuple(
        sorted(
            conn.execute(
                select(tube_members.c.person_id).where(tube_members.c.tube_id == tube_id)
            ).scalars()
        )
    )


def _view(conn: Connection, tube_id: int) -> TubeView:
    r = conn.execute(select(tubes).where(tubes.c.id == tube_id)).one()
    return TubeView.of_row(r, _members(conn, r.id))


def tube(bind: Bind, barcode: str) -> TubeView:
    with write_transaction(bind) as conn:
        tube_id = conn.execute(select(tubes.c.id).where(tubes.c.barcode == barcode)).scalar()
        if tube_id is None:
            raise TubeUnknown(
                Problem("testing.tube_unknown", f"无此采样管 {barcode}", f"no tube {barcode}")
            )
        return _view(conn, tube_id)


@dataclass(frozen=True)
class CollectOutcome:
    created: int  # tubes registered by this call
    already: int  # the same samples sent before: unchanged
    orders_done: tuple[int, ...]


_CHUNK = 5_000  # ids per IN list (SQLite's bound-parameter limit)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def collect_many(
    bind: Bind,
    rules: TestingRules,
    samples: Sequence[Sample],
    *,
    by: str = "sampler",
    at: datetime | None = None,
) -> CollectOutcome:
    """``collect`` for many tubes in one transaction, all or none (a sampling site's list,
    a day of the twin): the same checks, tubes, members, pending test facts and fulfilled
    orders, written with a few bulk statements. Samples sent before are left as they are;
    a barcode taken by another sample is a conflict. Codes: the caller's recompute."""
    at = _now(at)
    for s in samples:
        _check_sample(s, rules)
    barcodes = [s.barcode for s in samples]
    if len(set(barcodes)) != len(barcodes):
        raise _bad("同一条码在本批中出现两次", "a barcode appears twice in this list")
    with write_transaction(bind) as conn:
        old: dict[str, tuple[int, datetime]] = {}
        for part in _chunks(barcodes):
            old.update(
                (b, (int(i), t))
                for b, i, t in conn.execute(
                    select(tubes.c.barcode, tubes.c.id, tubes.c.collected_at).where(
                        tubes.c.barcode.in_(part)
                    )
                )
            )
        for s in samples:
            if s.barcode in old and (
                _members(conn, old[s.barcode][0]) != tuple(sorted(set(s.person_ids)))
                or old[s.barcode][1] != s.collected_at.astimezone(UTC)
            ):
                raise TubeConflict(
                    Problem(
                        "testing.tube_conflict",
                        f"条码 {s.barcode} 已用于另一份样本",
                        f"barcode {s.barcode} is already used by another sample",
                    )
                )
        new = [s for s in samples if s.barcode not in old]
        if not new:
            return CollectOutcome(0, len(samples), ())
        people = sorted({p for s in new for p in s.person_ids})
        found: set[int] = set()
        for part in _chunks(people):
            found.update(conn.execute(select(persons.c.id).where(persons.c.id.in_(part))).scalars())
        areas = sorted({s.region_code for s in new})
        known = set(conn.execute(select(regions.c.code).where(regions.c.code.in_(areas))).scalars())
        drives = sorted({s.campaign_id for s in new if s.campaign_id is not None})
        for s in new:  # the first problem, as collect names it
            _require_known(s, found, known)
        if drives:
            from fangkong.testing.tables import campaigns

            there = set(
                conn.execute(select(campaigns.c.id).where(campaigns.c.id.in_(drives))).scalars()
            )
            for c in drives:
                if c not in there:
                    raise NotFound(
                        Problem("testing.campaign_unknown", f"无此检测行动 {c}", f"no campaign {c}")
                    )
        # RETURNING lets both backends send the rows as multi-row VALUES statements
        # (SQLAlchemy's insertmanyvalues), not one round trip per row
        made = conn.execute(
            tubes.insert().returning(tubes.c.barcode, tubes.c.id),
            [
                {
                    "barcode": s.barcode,
                    "pool_size": len(s.person_ids),
                    "purpose": s.purpose,
                    "point": s.point.strip(),
                    "region_code": s.region_code,
                    "collector": s.collector.strip()[:80],
                    "collected_at": s.collected_at.astimezone(UTC),
                    "campaign_id": s.campaign_id,
                }
                for s in new
            ],
        )
        ids = {str(b): int(i) for b, i in made}
        conn.execute(
            tube_members.insert().returning(tube_members.c.tube_id),
            [{"tube_id": ids[s.barcode], "person_id": p} for s in new for p in s.person_ids],
        )
        facts = []
        counted = sample_matters(conn, people)
        for s in new:
            sampled = s.collected_at.astimezone(UTC)
            detail = {"result": "pending", "pooled": len(s.person_ids) > 1, "sample_id": s.barcode}
            facts += [
                (p, FactInput("test", sampled, None, detail, f"sample-{s.barcode}-{p}"))
                for p in s.person_ids
                if p in counted
            ]
        write_facts(conn, facts, recorded_by=by, now=at)
        done: list[int] = []
        for part in _chunks(people):
            done += fulfil_orders(conn, part, at=at)
    return CollectOutcome(len(new), len(samples) - len(new), tuple(done))


def _require_known(s: Sample, persons_found: set[int], regions_found: set[str]) -> None:
    missing = [p for p in s.person_ids if p not in persons_found]
    if missing:
        raise NotFound(
            Problem(
                "testing.person_unknown", f"无此人员（{missing[0]}）", f"no person {missing[0]}"
            )
        )
    if s.region_code not in regions_found:
        raise _bad(f"无此地区编码 {s.region_code}", f"no region {s.region_code}")


# ---- orders fulfilled by samples ------------------------------------------------------------


def fulfil_orders(conn: Connection, person_ids: Sequence[int], *, at: datetime) -> list[int]:
    """Mark done the open orders of these persons that one of their samples meets: sampled
    inside the order's window (a retest: a single tube), and at least ``gap_hours`` after
    the sample of the order before it. Returns the orders closed."""
    if not person_ids:
        return []
    o = orders.c
    open_rows = conn.execute(
        select(o.id, o.person_id, o.due_from, o.due_by, o.single_tube, o.prev_order_id, o.gap_hours)
        .where(o.status == "open", o.person_id.in_(list(person_ids)))
        .order_by(o.due_from, o.id)
    ).all()
    if not open_rows:
        return []
    # only the samples that can meet an open order: of its persons, from its earliest window
    samples: dict[int, list[tuple[datetime, int, int]]] = {}
    for pid, when, tid, size in conn.execute(
        select(tube_members.c.person_id, tubes.c.collected_at, tubes.c.id, tubes.c.pool_size)
        .join(tubes, tubes.c.id == tube_members.c.tube_id)
        .where(
            tube_members.c.person_id.in_(sorted({int(r.person_id) for r in open_rows})),
            tubes.c.collected_at >= min(r.due_from for r in open_rows),
        )
        .order_by(tubes.c.collected_at)
    ):
        samples.setdefault(int(pid), []).append((when, int(tid), int(size)))
    used: dict[int, datetime] = {}  # order id → the time of the sample that fulfilled it
    prev_ids = [r.prev_order_id for r in open_rows if r.prev_order_id is not None]
    if prev_ids:
        for oid, when in conn.execute(
            select(o.id, tubes.c.collected_at)
            .join(tubes, tubes.c.id == o.tube_id)
            .where(o.id.in_(prev_ids))
        ):
            used[int(oid)] = when
    closed: list[int] = []
    tube_of: dict[int, int] = {}
    for r in open_rows:
        floor = r.due_from
        if r.prev_order_id is not None:
            if r.prev_order_id not in used:
                continue
            floor = max(floor, used[r.prev_order_id] + timedelta(hours=r.gap_hours or 0))
        for when, tid, size in samples.get(int(r.person_id), []):
            if floor <= when <= r.due_by and (size == 1 or not r.single_tube):
                used[int(r.id)] = when
                closed.append(int(r.id))
                tube_of[int(r.id)] = tid
                break
    if closed:  # one executemany
        conn.execute(_FULFIL, [{"b_id": i, "b_tube": tube_of[i], "b_at": at} for i in closed])
    return closed


_FULFIL = (
    update(orders)
    .where(orders.c.id == sa.bindparam("b_id"))
    .values(status="done", tube_id=sa.bindparam("b_tube"), closed_at=sa.bindparam("b_at"))
)


# ---- chain of custody (转运交接) -------------------------------------------------------------


@dataclass(frozen=True)
class CustodyOutcome:
    changed: int
    already: int


def _tube_ids(conn: Connection, barcodes: Sequence[str]) -> dict[str, tuple[int, datetime]]:
    found = {
        b: (int(i), t)
        for b, i, t in conn.execute(
            select(tubes.c.barcode, tubes.c.id, tubes.c.collected_at).where(
                tubes.c.barcode.in_(list(barcodes))
            )
        )
    }
    missing = [b for b in barcodes if b not in found]
    if missing:
        raise TubeUnknown(
            Problem("testing.tube_unknown", f"无此采样管 {missing[0]}", f"no tube {missing[0]}")
        )
    return found


def _require_lab(conn: Connection, lab_code: str) -> None:
    if conn.execute(select(labs.c.code).where(labs.c.code == lab_code)).first() is None:
        raise NotFound(
            Problem("testing.lab_unknown", f"无此实验室 {lab_code}", f"no lab {lab_code}")
        )


def ship(
    bind: Bind, barcodes: Sequence[str], lab_code: str, *, at: datetime | None = None
) -> CustodyOutcome:
    """Tubes leave the collection point for a lab (in transit, 转运中). Resending is harmless."""
    return _custody(bind, barcodes, lab_code, "shipped_at", _now(at), None)


def receive(
    bind: Bind, barcodes: Sequence[str], lab_code: str, *, by: str, at: datetime | None = None
) -> CustodyOutcome:
    """A lab receives tubes (签收). A tube received elsewhere, or before it was collected, is
    refused; all or none."""
    return _custody(bind, barcodes, lab_code, "received_at", _now(at), by)


def _custody(
    bind: Bind, barcodes: Sequence[str], lab_code: str, column: str, at: datetime, by: str | None
) -> CustodyOutcome:
    codes = sorted(set(barcodes))
    if not codes:
        raise _bad("请给出采样管条码", "give at least one tube barcode")
    with write_transaction(bind) as conn:
        _require_lab(conn, lab_code)
        found = _tube_ids(conn, codes)
        rows = conn.execute(
            select(tubes.c.id, tubes.c.barcode, tubes.c.lab_code, tubes.c[column]).where(
                tubes.c.id.in_([i for i, _ in found.values()])
            )
        ).all()
        todo: list[int] = []
        for r in rows:
            if r.lab_code is not None and r.lab_code != lab_code:
                raise TubeConflict(
                    Problem(
                        "testing.custody_conflict",
                        f"采样管 {r.barcode} 已交给实验室 {r.lab_code}",
                        f"tube {r.barcode} is already with lab {r.lab_code}",
                    )
                )
            if at < found[r.barcode][1]:
                raise TubeConflict(
                    Problem(
                        "testing.custody_conflict",
                        f"采样管 {r.barcode} 的交接时间早于采样时间",
                        f"tube {r.barcode}: handed over before it was collected",
                    )
                )
            if r[3] is None:
                todo.append(int(r.id))
        values: dict[str, object] = {column: at, "lab_code": lab_code}
        if by is not None:
            values["received_by"] = by[:80]
        for part in _chunks(todo):  # one statement for the tubes that change
            conn.execute(update(tubes).where(tubes.c.id.in_(part)).values(**values))
    return CustodyOutcome(len(todo), len(codes) - len(todo))


# ---- resolve results: retests, facts, cases -------------------------------------------------


@dataclass(frozen=True)
class ResolveOutcome:
    batches: int
    results: int
    retests_ordered: int
    facts: int
    cases: tuple[int, ...]  # persons registered as cases
    codes_changed: int = 0


def _text(expr: sa.ColumnElement[object]) -> sa.ColumnElement[str]:
    return sa.cast(expr, String)


def resolve(
    engine: Engine,
    rules: TestingRules,
    *,
    codes: CodeContext | None = None,
    tz: ZoneInfo | None = None,
    by: str = "testing",
    at: datetime | None = None,
    contact_rules: object | None = None,
) -> ResolveOutcome:
    """Act on every result batch not yet resolved (set-based; safe to run again)."""
    at = _now(at)
    with write_transaction(engine) as conn:
        pending = select(batches.c.id).where(batches.c.resolved_at.is_(None)).scalar_subquery()
        todo = conn.execute(
            select(sa.func.count()).select_from(batches).where(batches.c.resolved_at.is_(None))
        ).scalar_one()
        if not todo:
            return ResolveOutcome(0, 0, 0, 0, ())
        n_results = conn.execute(
            select(sa.func.count()).select_from(results).where(results.c.batch_id.in_(pending))
        ).scalar_one()
        ordered = _order_retests(conn, rules, pending, at)
        facts, touched = _result_facts(conn, rules, pending, at, by)
        cases = _cases(conn, pending, contact_rules, tz or default_tz(), by, at)
        conn.execute(update(batches).where(batches.c.resolved_at.is_(None)).values(resolved_at=at))
        changed = 0
        if codes is not None and len(touched) <= _RECODE_ONE_BY_ONE:
            for p in sorted(touched):
                evaluate_person(conn, codes, p, at=at, trigger="testing:result")
            changed = len(touched)
    if codes is not None and len(touched) > _RECODE_ONE_BY_ONE:
        changed = recompute_all(engine, codes, at, trigger="testing:result").changed
    return ResolveOutcome(int(todo), int(n_results), ordered, facts, tuple(cases), changed)


def _order_retests(
    conn: Connection, rules: TestingRules, pending: sa.ScalarSelect[int], at: datetime
) -> int:
    r, t, m, o = results.c, tubes.c, tube_members.c, orders.c
    if not rules.retest_on:
        return 0
    key = sa.literal("retest:") + _text(r.id) + sa.literal(":") + _text(m.person_id)
    confirmed = sa.and_(t.pool_size == 1, r.outcome == "positive")  # a case, not a retest
    query = (
        select(
            m.person_id,
            sa.literal("retest"),
            sa.literal(at, orders.c.due_from.type),
            sa.literal(at + timedelta(hours=rules.retest_due_hours), orders.c.due_by.type),
            sa.literal("open"),
            key,
            sa.true(),
            r.id,
            sa.literal(at, orders.c.created_at.type),
        )
        .select_from(results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id))
        .where(
            r.batch_id.in_(pending),
            r.outcome.in_(sorted(rules.retest_on)),
            ~confirmed,
            ~sa.exists().where(o.source_key == key),
        )
    )
    cols = [
        "person_id",
        "reason",
        "due_from",
        "due_by",
        "status",
        "source_key",
        "single_tube",
        "result_id",
        "created_at",
    ]
    return int(
        conn.execute(
            orders.insert().from_select(cols, query).execution_options(preserve_rowcount=True)
        ).rowcount
    )


def _result_facts(
    conn: Connection, rules: TestingRules, pending: sa.ScalarSelect[int], at: datetime, by: str
) -> tuple[int, set[int]]:
    r, t, m = results.c, tubes.c, tube_members.c
    total = 0
    touched: set[int] = set()
    base = results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id)
    for outcome in ("negative", "positive", "inconclusive"):
        fact = rules.fact_result(outcome)
        if fact is None:
            continue
        where = [r.batch_id.in_(pending), r.outcome == outcome]
        if outcome == "negative":
            # healthcode's rule: stored only where it can change a code or settles a retest
            where.append(negative_worth_storing(m.person_id, settles=t.purpose == "retest"))
        written = write_fact_query(
            conn,
            FactQuery(
                kind="test",
                source=base,
                where=where,
                person_id=m.person_id,
                starts_at=t.collected_at,
                client_event_id=sa.literal("result-") + _text(r.id) + sa.literal("-")
                + _text(m.person_id),
                detail={"result": fact, "reported_at": at.isoformat(), "pooled": t.pool_size > 1,
                        "sample_id": t.barcode},
            ),
            recorded_by=by,
            now=at,
        )  # fmt: skip
        total += written.facts
        touched.update(written.persons)
    return total, touched


def _cases(
    conn: Connection,
    pending: sa.ScalarSelect[int],
    contact_rules: object | None,
    tz: ZoneInfo,
    by: str,
    at: datetime,
) -> list[int]:
    """An individual positive (a single tube: a retest, a fever-clinic or scheduled test):
    the person becomes a case (登记病例) so tracing and isolation follow. Members of a
    positive pool are not cases: they are retested singly (``_order_retests``). A person
    already registered is not registered again (a case's own later tests change nothing)."""
    from fangkong.tracing.tables import tracing_cases

    r, t, m = results.c, tubes.c, tube_members.c
    rows = conn.execute(
        select(m.person_id, sa.func.min(t.collected_at))
        .select_from(results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id))
        .where(
            r.batch_id.in_(pending),
            t.pool_size == 1,
            r.outcome == "positive",
            ~m.person_id.in_(select(tracing_cases.c.person_id)),
        )
        .group_by(m.person_id)
    ).all()
    if not rows or contact_rules is None:
        return [int(p) for p, _ in rows]
    from fangkong.tracing.contacts import register_case
    from fangkong.tracing.rules import ContactRules

    assert isinstance(contact_rules, ContactRules)  # noqa: S101 - typed at the callers
    for person, sampled in rows:
        register_case(
            conn,
            int(person),
            contact_rules,
            sampled=sampled.astimezone(tz).date(),
            tz=tz,
            by=by,
            at=at,
        )
    return [int(p) for p, _ in rows]


# ---- late results and lost tubes (超时未出结果 / 样本遗失) ------------------------------------


@dataclass(frozen=True)
class FlagOutcome:
    lost: int
    late: int


def flag_overdue(bind: Bind, rules: TestingRules, *, at: datetime | None = None) -> FlagOutcome:
    """Flag tubes without a result: ``lost`` when no lab received them ``lost_tube_hours``
    after collection, ``late`` when ``result_hours`` passed. A flag stays as history."""
    at = _now(at)
    t = tubes.c
    no_result = ~sa.exists().where(results.c.tube_id == t.id)
    with write_transaction(bind) as conn:
        lost = conn.execute(
            update(tubes)
            .where(
                t.received_at.is_(None),
                t.collected_at < at - timedelta(hours=rules.lost_tube_hours),
                sa.or_(t.flag.is_(None), t.flag == "late"),
                no_result,
            )
            .values(flag="lost", flagged_at=at)
        ).rowcount
        late = conn.execute(
            update(tubes)
            .where(
                t.collected_at < at - timedelta(hours=rules.result_hours),
                t.flag.is_(None),
                no_result,
            )
            .values(flag="late", flagged_at=at)
        ).rowcount
    return FlagOutcome(int(lost), int(late))
