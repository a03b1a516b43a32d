"""Samples (采样登记): register tubes and their members, read a tube, fulfil open orders.

Each function is one transaction (given an ``Engine`` it opens and commits its own; given
a ``Connection`` it works inside the caller's). Who may call them is the caller's check
(``fangkong.testing.access``); the service records who did it. The flow of testing::

    collect ─▶ testing_tubes + testing_tube_members; a pending ``test`` fact per person
               whose code being sampled changes (``healthcode.writer.sample_matters``:
               members of a testing group)
               (being sampled counts for the code at once); open orders it fulfils → done
    ship / receive ─▶ custody times (``custody``)
    post_results ─▶ testing_results (``results``)
    resolve ─▶ retests, result facts, cases (``resolve``)
    flag_overdue ─▶ late results and lost tubes (``flags``)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, bindparam, select, update

from fangkong.errors import BadInput, Conflict, NotFound, Problem
from fangkong.healthcode.codes import evaluate_person, evaluate_persons
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.writer import (
    FactInput,
    sample_matters,
    write_facts,
)
from fangkong.store.fast import InSelect
from fangkong.store.schema import persons, regions
from fangkong.store.tx import write_transaction
from fangkong.testing._common import Bind, _chunks, _now
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import PURPOSES, orders, tube_members, tubes

_BARCODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class TubeUnknown(NotFound):
    """testing.tube_unknown: no tube with this barcode."""


class SampleInvalid(BadInput):
    """testing.sample_invalid: a sample cannot be registered as given."""


class TubeConflict(Conflict):
    """testing.tube_conflict: the barcode is taken by another sample, or custody out of order."""


def _bad(zh: str, en: str) -> SampleInvalid:
    return SampleInvalid(Problem("testing.sample_invalid", zh, en))


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
    with write_transaction(bind) as conn:
        tube_id, done = _register(conn, rules, sample, codes=codes, by=by, at=at)
        view = _view(conn, tube_id)
        if done is None:
            return view
        return TubeView(**{**view.__dict__, "orders_done": tuple(done), "created": True})


def register_sample(
    conn: Connection,
    rules: TestingRules,
    sample: Sample,
    *,
    codes: CodeContext | None = None,
    by: str = "sampler",
    at: datetime | None = None,
) -> bool:
    """``collect`` inside the caller's transaction for a caller that needs no view of the
    tube (a checkpoint's sample: 即采即走): the same checks, rows and codes; True if the
    tube was registered here, False if the same sample was sent before."""
    return _register(conn, rules, sample, codes=codes, by=by, at=at)[1] is not None


_TUBE_BY_BARCODE = select(tubes).where(tubes.c.barcode == bindparam("barcode"))
_TUBE_INSERT = tubes.insert().returning(tubes.c.id)


def _register(
    conn: Connection,
    rules: TestingRules,
    sample: Sample,
    *,
    codes: CodeContext | None,
    by: str,
    at: datetime | None,
) -> tuple[int, list[int] | None]:
    """The tube's id and the orders its sample fulfilled (None: sent before, unchanged)."""
    at = _now(at)
    _check_sample(sample, rules)
    people = sorted(set(sample.person_ids))
    collected = sample.collected_at.astimezone(UTC)
    old = conn.execute(_TUBE_BY_BARCODE, {"barcode": sample.barcode}).first()
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
        return int(old.id), None
    _require_rows(conn, people, sample.region_code, sample.campaign_id)
    tube_id = int(
        conn.execute(
            _TUBE_INSERT,
            {
                "barcode": sample.barcode,
                "pool_size": len(people),
                "purpose": sample.purpose,
                "point": sample.point.strip(),
                "region_code": sample.region_code,
                "collector": sample.collector.strip()[:80],
                "collected_at": collected,
                "campaign_id": sample.campaign_id,
            },
        ).scalar_one()
    )
    conn.execute(tube_members.insert(), [{"tube_id": tube_id, "person_id": p} for p in people])
    _pending_facts(conn, people, sample.barcode, collected, len(people) > 1, by, at)
    done = fulfil_orders(conn, people, at=at)
    if codes is not None:
        for p in people:
            evaluate_person(conn, codes, p, at=at, trigger="testing:sample")
    return tube_id, done


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
    with write_transaction(bind) as conn:
        return _register_many(conn, rules, samples, [(by, at)] * len(samples), None)


def register_samples(
    conn: Connection,
    rules: TestingRules,
    samples: Sequence[tuple[Sample, str, datetime]],
    *,
    codes: CodeContext | None = None,
) -> CollectOutcome:
    """``register_sample`` for many samples in the caller's transaction, each with who
    took it and when it was recorded (a batch of checkpoints' crossings): ``collect_many``'s
    bulk statements, then each sampled person's code re-evaluated at its sample's time
    (with ``codes``), as ``collect`` does. All or none: a barcode taken raises."""
    return _register_many(
        conn, rules, [s for s, _, _ in samples], [(by, at) for _, by, at in samples], codes
    )


# a batch's lookups, built once (a batch of checkpoints' crossings registers a few
# samples many times a second)
_TUBES_IN = InSelect(
    lambda v: select(tubes.c.barcode, tubes.c.id, tubes.c.collected_at).where(
        tubes.c.barcode.in_(v)
    )
)
_PERSONS_IN = InSelect(lambda v: select(persons.c.id).where(persons.c.id.in_(v)))
_REGIONS_IN = InSelect(lambda v: select(regions.c.code).where(regions.c.code.in_(v)))
_ORDERED_IN = InSelect(
    lambda v: (
        select(orders.c.person_id)
        .where(orders.c.status == "open", orders.c.person_id.in_(v))
        .distinct()
    )
)


def _register_many(
    conn: Connection,
    rules: TestingRules,
    samples: Sequence[Sample],
    stamps: Sequence[tuple[str, datetime]],
    codes: CodeContext | None,
) -> CollectOutcome:
    for s in samples:
        _check_sample(s, rules)
    barcodes = [s.barcode for s in samples]
    if len(set(barcodes)) != len(barcodes):
        raise _bad("同一条码在本批中出现两次", "a barcode appears twice in this list")
    old: dict[str, tuple[int, datetime]] = {}
    for part in _chunks(barcodes):
        old.update((b, (int(i), t)) for b, i, t in _TUBES_IN.rows(conn, part))
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
        found.update(int(r[0]) for r in _PERSONS_IN.rows(conn, part))
    areas = sorted({s.region_code for s in new})
    known = {str(r[0]) for r in _REGIONS_IN.rows(conn, areas)}
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
    counted = sample_matters(conn, people)
    stamp_of = {s.barcode: stamp for s, stamp in zip(samples, stamps, strict=True)}
    groups: dict[tuple[str, datetime], list[Sample]] = {}
    for s in new:  # facts and orders stamped by who took the sample and when
        groups.setdefault(stamp_of[s.barcode], []).append(s)  # (one group for a list)
    ordered: set[int] = set()  # the members with an open order: the only ones to fulfil
    for part in _chunks(people):
        ordered.update(int(r[0]) for r in _ORDERED_IN.rows(conn, part))
    done: list[int] = []
    for (by, at), group in groups.items():
        facts = []
        for s in group:
            sampled = s.collected_at.astimezone(UTC)
            detail = {"result": "pending", "pooled": len(s.person_ids) > 1, "sample_id": s.barcode}
            facts += [
                (p, FactInput("test", sampled, None, detail, f"sample-{s.barcode}-{p}"))
                for p in s.person_ids
                if p in counted
            ]
        write_facts(conn, facts, recorded_by=by, now=at)
        members = sorted({p for s in group for p in s.person_ids} & ordered)
        for part in _chunks(members):
            done += fulfil_orders(conn, part, at=at)
    if codes is not None:  # as collect: each member's code at its sample's recording
        evaluate_persons(
            conn, codes,
            [(p, stamp_of[s.barcode][1]) for s in new for p in sorted(set(s.person_ids))],
            trigger="testing:sample",
        )  # fmt: skip
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


__all__ = [
    "CollectOutcome",
    "Sample",
    "SampleInvalid",
    "TubeConflict",
    "TubeUnknown",
    "TubeView",
    "collect",
    "collect_many",
    "fulfil_orders",
    "register_sample",
    "register_samples",
    "tube",
]
