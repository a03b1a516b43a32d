"""Testing as people and devices reach it: rights, jurisdiction, masking, audit (核酸检测).

The use cases of ``fangkong.testing.service``, ``results`` and ``campaigns`` know nothing
of who asks; these functions put the checks in front of them, once, for the API routes
and the pages::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             tube / person / campaign / lab inside the actor's region subtree?
                 │ no ─▶ NotFound, the answer of a record that does not exist
                 ▼
             service ─▶ names masked without ``person.read_full``
                 └── one audit row per read of personal data or change (ids and barcodes
                     only, never names or numbers), also when refused

Rights: samplers (``sample.collect``) register samples and ship tubes from collection
points in their jurisdiction; labs (``result.post``) receive tubes and post results for
labs on their branch of the region tree (inside the jurisdiction or above it: a lab
tests tubes from anywhere); reading tubes, a person's tests and campaigns needs
``testing.read``; starting campaigns and flagging overdue tubes ``testing.manage``.
Devices: a token of scope ``sampling`` collects at its venue, one of scope ``lab``
receives and posts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, select

from fangkong.audit.calls import audited
from fangkong.auth.jurisdiction import in_subtree, region_exists, within
from fangkong.auth.model import Actor
from fangkong.auth.records import PERSON_NOT_FOUND
from fangkong.auth.rights import (
    PERSON_READ,
    PERSON_READ_FULL,
    RESULT_POST,
    SAMPLE_COLLECT,
    TESTING_MANAGE,
    TESTING_READ,
)
from fangkong.errors import (
    FangkongError,
    FieldProblem,
    Forbidden,
    InvalidFields,
    NotFound,
    Problem,
)
from fangkong.healthcode.context import CodeContext
from fangkong.identity.masking import mask_name
from fangkong.identity.resident_id import check_resident_id
from fangkong.identity.sealing import Sealer
from fangkong.store.schema import persons
from fangkong.testing import campaigns as camp
from fangkong.testing.custody import CustodyOutcome, receive, ship
from fangkong.testing.flags import FlagOutcome, flag_overdue
from fangkong.testing.resolve import ResolveOutcome, resolve
from fangkong.testing.results import BatchOutcome, ResultsRejected, post_results, results_table
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, TubeUnknown, TubeView, collect
from fangkong.testing.schedules import OrderView, orders_due
from fangkong.testing.tables import batches, campaigns, labs, results, tube_members, tubes

MAX_ROWS = 50_000  # results in one API batch
MAX_TUBES = 5_000  # tubes in one hand-over
_FIELDS_SHOWN = 200  # rows named in a refusal's ``errors``


def _tube_missing(barcode: str) -> Problem:
    return Problem("testing.tube_unknown", f"无此采样管 {barcode}", f"no tube {barcode}")


def _lab_missing(code: str) -> Problem:
    return Problem("testing.lab_unknown", f"无此实验室 {code}", f"no lab {code}")


def _campaign_missing(campaign_id: int) -> Problem:
    return Problem(
        "testing.campaign_unknown", f"无此检测行动 {campaign_id}", f"no campaign {campaign_id}"
    )


class _Hidden(NotFound):
    """Outside the actor's jurisdiction: answered as absent, audited as what it is."""

    outcome = "out_of_jurisdiction"


# ---- rights and jurisdiction ----------------------------------------------------------------


def _require(actor: Actor, *rights: str) -> None:
    for right in rights:
        actor.require(right)


def _inside(conn: Connection, actor: Actor, region_code: str | None) -> bool:
    if actor.region_code is None:
        return True
    return region_code is not None and in_subtree(conn, actor.region_code, region_code)


def _names(conn: Connection, actor: Actor, person_ids: Sequence[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    full = actor.can(PERSON_READ_FULL)
    rows = conn.execute(
        select(persons.c.id, persons.c.name).where(persons.c.id.in_(list(person_ids)))
    ).all()
    return {int(i): n if full else mask_name(n) for i, n in rows}


# ---- sampling and custody -------------------------------------------------------------------


def person_ids_by_number(
    engine: Engine, sealer: Sealer, id_numbers: Sequence[str], today: date, field: str
) -> list[int]:
    """Registry ids of persons named by resident ID number (through the sealed lookup hash
    only); a bad or unknown number is named by its place in ``field``."""
    hashes: list[bytes] = []
    bad: list[FieldProblem] = []
    for i, number in enumerate(id_numbers):
        check = check_resident_id(number, today=today)
        if not check.valid or check.normalized is None:
            bad.append(FieldProblem(f"{field}.{i}", check.problems[0]))
            continue
        hashes.append(sealer.lookup_hash("document", f"resident_id|CHN|{check.normalized}"))
    if bad:
        raise InvalidFields(
            Problem("request.invalid", "身份证号码有误", "an ID number is invalid"), bad
        )
    with engine.connect() as conn:
        found = {
            bytes(h): int(i)
            for i, h in conn.execute(
                select(persons.c.id, persons.c.doc_hash).where(persons.c.doc_hash.in_(hashes))
            )
        }
    missing = [
        FieldProblem(f"{field}.{i}", PERSON_NOT_FOUND)
        for i, h in enumerate(hashes)
        if h not in found
    ]
    if missing:
        raise InvalidFields(
            Problem("testing.person_unknown", "未找到此人员", "no such person"), missing
        )
    return [found[h] for h in hashes]


def person_ids_by_token(
    engine: Engine,
    codes: CodeContext,
    tokens: Sequence[str],
    field: str,
    *,
    now: datetime | None = None,
) -> list[int]:
    """Registry ids of persons who showed their health-code QR (a signed, current token);
    a forged, expired or unknown one is named by its place in ``field``."""
    from fangkong import clock
    from fangkong.healthcode.qr import verify_token
    from fangkong.healthcode.tables import health_codes

    at = now or clock.now()
    refs: list[bytes] = []
    bad: list[FieldProblem] = []
    for i, token in enumerate(tokens):
        try:
            claims = verify_token(
                codes.qr, token, at, validity_s=codes.qr_validity_s, skew_s=codes.qr_skew_s
            )
        except FangkongError as exc:
            bad.append(FieldProblem(f"{field}.{i}", exc.problem))
            continue
        refs.append(claims.ref)
    if not bad:
        with engine.connect() as conn:
            found = {
                bytes(r): int(p)
                for r, p in conn.execute(
                    select(health_codes.c.qr_ref, health_codes.c.person_id).where(
                        health_codes.c.qr_ref.in_(refs)
                    )
                )
            }
        bad = [
            FieldProblem(f"{field}.{i}", PERSON_NOT_FOUND)
            for i, r in enumerate(refs)
            if r not in found
        ]
    if bad:
        raise InvalidFields(
            Problem("request.invalid", "健康码无法识别", "a health-code QR was not accepted"), bad
        )
    return [found[r] for r in refs]


def collect_sample(
    engine: Engine,
    key: bytes,
    actor: Actor,
    rules: TestingRules,
    sample: Sample,
    address: str,
    *,
    codes: CodeContext | None = None,
    at: datetime | None = None,
) -> TubeView:
    """Register a sample (``sample.collect``) at a collection point of the actor's
    jurisdiction (a device: its venue's region). The same sample again changes nothing."""

    def body(conn: Connection) -> tuple[TubeView, str]:
        _require(actor, SAMPLE_COLLECT)
        if region_exists(conn, sample.region_code) and not _inside(conn, actor, sample.region_code):
            raise Forbidden(
                Problem(
                    "testing.region_forbidden",
                    f"地区 {sample.region_code} 不在您的辖区内",
                    f"region {sample.region_code} is outside your jurisdiction",
                )
            )
        view = collect(conn, rules, sample, codes=codes, by=actor.name, at=at)
        return view, f"{view.pool_size} persons, {len(view.orders_done)} orders met"

    return audited(engine, key, actor, address, "testing.collect", "tube", sample.barcode, body)


def _tubes_in_reach(conn: Connection, actor: Actor, barcodes: Sequence[str]) -> None:
    codes = sorted(set(barcodes))
    inside = set(
        conn.execute(
            select(tubes.c.barcode).where(
                tubes.c.barcode.in_(codes), within(actor, tubes.c.region_code)
            )
        ).scalars()
    )
    for b in codes:
        if b not in inside:
            raise TubeUnknown(_tube_missing(b))


def _lab_in_reach(conn: Connection, actor: Actor, lab_code: str) -> None:
    """A lab whose region lies on the actor's branch of the tree: inside the jurisdiction,
    or above it (a lab system's token is bound to a venue below its lab's region)."""
    region = conn.execute(select(labs.c.region_code).where(labs.c.code == lab_code)).scalar()
    if region is None:
        raise NotFound(_lab_missing(lab_code))
    if not (
        _inside(conn, actor, region)
        or (actor.region_code is not None and in_subtree(conn, region, actor.region_code))
    ):
        raise _Hidden(_lab_missing(lab_code))


def _handover(
    engine: Engine,
    key: bytes,
    actor: Actor,
    barcodes: Sequence[str],
    lab_code: str,
    address: str,
    at: datetime | None,
    receiving: bool,
) -> CustodyOutcome:
    def body(conn: Connection) -> tuple[CustodyOutcome, str]:
        if len(barcodes) > MAX_TUBES:
            raise InvalidFields(
                Problem(
                    "request.invalid", f"一次最多 {MAX_TUBES} 管", f"at most {MAX_TUBES} tubes"
                ),
                [FieldProblem("barcodes", Problem("value.too_long", "太多", "too many"))],
            )
        if receiving:
            _require(actor, RESULT_POST)
            _lab_in_reach(conn, actor, lab_code)
            out = receive(conn, barcodes, lab_code, by=actor.name, at=at)
        else:
            _require(actor, SAMPLE_COLLECT)
            _tubes_in_reach(conn, actor, barcodes)
            out = ship(conn, barcodes, lab_code, at=at)
        return out, f"{out.changed} changed, {out.already} already"

    action = "testing.receive" if receiving else "testing.ship"
    return audited(engine, key, actor, address, action, "lab", lab_code, body)


def ship_tubes(
    engine: Engine,
    key: bytes,
    actor: Actor,
    barcodes: Sequence[str],
    lab_code: str,
    address: str,
    *,
    at: datetime | None = None,
) -> CustodyOutcome:
    """Tubes leave collection points of the actor's jurisdiction for a lab (转运)."""
    return _handover(engine, key, actor, barcodes, lab_code, address, at, receiving=False)


def receive_tubes(
    engine: Engine,
    key: bytes,
    actor: Actor,
    barcodes: Sequence[str],
    lab_code: str,
    address: str,
    *,
    at: datetime | None = None,
) -> CustodyOutcome:
    """A lab on the actor's branch of the tree signs for tubes (签收), wherever they came
    from."""
    return _handover(engine, key, actor, barcodes, lab_code, address, at, receiving=True)


# ---- lab results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    batch: BatchOutcome
    resolved: ResolveOutcome | None


def _api_fields(exc: ResultsRejected, field: str) -> InvalidFields:
    """The rows' problems named as JSON paths (``rows.2.ct_n``: the third row)."""
    named = [
        FieldProblem(
            f"{field}.{r.row - 1}.{r.column}" if r.row >= 1 else f"{field}.{r.column}", r.problem
        )
        for r in exc.rows[:_FIELDS_SHOWN]
    ]
    out = ResultsRejected(exc.problem, exc.rows)
    out.fields = named
    return out


def post_lab_results(
    engine: Engine,
    key: bytes,
    actor: Actor,
    rules: TestingRules,
    rows: Sequence[Mapping[str, Any]],
    lab_code: str,
    address: str,
    *,
    codes: CodeContext | None = None,
    contact_rules: object | None = None,
    tz: ZoneInfo | None = None,
    field: str = "rows",
    at: datetime | None = None,
) -> Posted:
    """A lab system posts one batch (``result.post``, the lab in the actor's jurisdiction):
    all rows or none, idempotent by tube and run; then every unresolved batch is resolved
    (retests, code facts, cases). A refused batch names each row and field."""

    def body(conn: Connection) -> tuple[BatchOutcome, str]:
        _require(actor, RESULT_POST)
        if not rows:
            raise InvalidFields(
                Problem("results.invalid", "没有结果行", "no result rows"),
                [FieldProblem(field, Problem("value.too_short", "至少一行", "at least one row"))],
            )
        if len(rows) > MAX_ROWS:
            raise InvalidFields(
                Problem("results.invalid", f"一批最多 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows"),
                [FieldProblem(field, Problem("value.too_long", "太多", "too many"))],
            )
        _lab_in_reach(conn, actor, lab_code)
        try:
            out = post_results(
                conn,
                rules,
                results_table(rows),
                lab_code=lab_code,
                posted_by=actor.name,
                source=field,
                at=at,
            )
        except ResultsRejected as exc:
            raise _api_fields(exc, field) from None
        return out, f"batch {out.batch_id}: {out.rows} rows, {out.inserted} new"

    batch = audited(engine, key, actor, address, "testing.results", "lab", lab_code, body)
    done = None
    if batch.inserted:
        done = resolve(
            engine, rules, codes=codes, tz=tz, by=actor.name, at=at, contact_rules=contact_rules
        )
    return Posted(batch, done)


# ---- reading tubes and a person's tests -----------------------------------------------------


@dataclass(frozen=True)
class ResultRow:
    run: str
    outcome: str
    ct_orf1ab: float | None
    ct_n: float | None
    tested_at: datetime
    batch_id: int


@dataclass(frozen=True)
class Member:
    person_id: int
    name: str  # masked without person.read_full, and for persons outside the jurisdiction


def custody_state(view: TubeView, tested: bool) -> str:
    """collected → in_transit → received → tested (a result exists)."""
    if tested:
        return "tested"
    if view.received_at is not None:
        return "received"
    if view.shipped_at is not None:
        return "in_transit"
    return "collected"


@dataclass(frozen=True)
class TubeDetail:
    tube: TubeView
    state: str
    members: tuple[Member, ...]
    results: tuple[ResultRow, ...]
    masked: bool


def _results_of(conn: Connection, tube_ids: Sequence[int]) -> dict[int, list[ResultRow]]:
    r = results.c
    out: dict[int, list[ResultRow]] = {}
    for row in conn.execute(
        select(r.tube_id, r.run, r.outcome, r.ct_orf1ab, r.ct_n, r.tested_at, r.batch_id)
        .where(r.tube_id.in_(list(tube_ids)))
        .order_by(r.tested_at, r.id)
    ):
        out.setdefault(int(row.tube_id), []).append(
            ResultRow(
                row.run, row.outcome, row.ct_orf1ab, row.ct_n, row.tested_at, int(row.batch_id)
            )
        )
    return out


def read_tube(engine: Engine, key: bytes, actor: Actor, barcode: str, address: str) -> TubeDetail:
    """A tube collected in the actor's jurisdiction: custody, results, its members (names
    masked by rights). Audited."""
    from fangkong.testing.samples import tube as tube_view

    def body(conn: Connection) -> tuple[TubeDetail, str]:
        _require(actor, TESTING_READ)
        try:
            view = tube_view(conn, barcode)
        except TubeUnknown:
            raise TubeUnknown(_tube_missing(barcode)) from None
        if not _inside(conn, actor, view.region_code):
            raise _Hidden(_tube_missing(barcode))
        names = _names(conn, actor, view.person_ids)
        found = _results_of(conn, [view.id]).get(view.id, [])
        members = tuple(Member(p, names.get(p, "")) for p in view.person_ids)
        masked = not actor.can(PERSON_READ_FULL)
        detail = TubeDetail(view, custody_state(view, bool(found)), members, tuple(found), masked)
        return detail, f"{len(members)} persons" + (" masked" if masked else "")

    return audited(engine, key, actor, address, "testing.tube", "tube", barcode, body)


@dataclass(frozen=True)
class PersonTest:
    barcode: str
    pool_size: int
    purpose: str
    point: str
    collected_at: datetime
    state: str
    outcome: str | None  # the latest run's outcome; None: no result yet
    flag: str | None


@dataclass(frozen=True)
class PersonTests:
    person_id: int
    name: str
    masked: bool
    tests: tuple[PersonTest, ...]
    orders: tuple[OrderView, ...]


def person_tests(
    engine: Engine, key: bytes, actor: Actor, person_id: int, address: str, *, limit: int = 100
) -> PersonTests:
    """A person living in the actor's jurisdiction: their tubes (newest first) with
    outcomes, and their test orders. Audited (target: the person)."""

    def body(conn: Connection) -> tuple[PersonTests, str]:
        _require(actor, TESTING_READ, PERSON_READ)
        row = conn.execute(
            select(persons.c.id, persons.c.residence_code).where(persons.c.id == person_id)
        ).first()
        if row is None:
            raise NotFound(PERSON_NOT_FOUND)
        if not _inside(conn, actor, row.residence_code):
            raise _Hidden(PERSON_NOT_FOUND)
        t = tubes.c
        rows = conn.execute(
            select(tubes)
            .join(tube_members, tube_members.c.tube_id == t.id)
            .where(tube_members.c.person_id == person_id)
            .order_by(t.collected_at.desc(), t.id.desc())
            .limit(limit)
        ).all()
        found = _results_of(conn, [int(r.id) for r in rows])
        tests = []
        for r in rows:
            runs = found.get(int(r.id), [])
            view = TubeView.of_row(r)
            tests.append(
                PersonTest(
                    r.barcode,
                    r.pool_size,
                    r.purpose,
                    r.point,
                    r.collected_at,
                    custody_state(view, bool(runs)),
                    runs[-1].outcome if runs else None,
                    r.flag,
                )
            )
        orders = orders_due(conn, person_ids=[person_id], status=None, limit=limit)
        masked = not actor.can(PERSON_READ_FULL)
        view_out = PersonTests(
            person_id,
            _names(conn, actor, [person_id])[person_id],
            masked,
            tuple(tests),
            tuple(orders),
        )
        return view_out, f"{len(tests)} tubes, {len(orders)} orders" + (" masked" if masked else "")

    return audited(engine, key, actor, address, "testing.person", "person", str(person_id), body)


# ---- lab results and overdue tubes (no personal data) ---------------------------------------


@dataclass(frozen=True)
class BatchRow:
    id: int
    lab_code: str | None
    posted_at: datetime
    posted_by: str
    rows: int
    inserted: int
    resolved_at: datetime | None


@dataclass(frozen=True)
class FlaggedTube:
    barcode: str
    pool_size: int
    point: str
    region_code: str
    collected_at: datetime
    lab_code: str | None
    state: str
    flag: str
    flagged_at: datetime | None


@dataclass(frozen=True)
class ResultsBoard:
    batches: tuple[BatchRow, ...]
    not_negative: tuple[tuple[str, ResultRow], ...]  # (barcode, result), newest first
    labs: tuple[tuple[str, str, int], ...]  # (code, name, tubes per day)


def results_board(engine: Engine, actor: Actor, *, limit: int = 50) -> ResultsBoard:
    """Recent result batches of the labs in the jurisdiction, and the non-negative results
    of tubes collected in it (barcodes and Ct values; no names)."""
    _require(actor, TESTING_READ)
    b, r, t = batches.c, results.c, tubes.c
    with engine.connect() as conn:
        lab_rows = conn.execute(
            select(labs.c.code, labs.c.name, labs.c.capacity_per_day)
            .where(within(actor, labs.c.region_code))
            .order_by(labs.c.code)
        ).all()
        mine = [str(row.code) for row in lab_rows]
        batch_rows = conn.execute(
            select(batches)
            .where(b.lab_code.in_(mine) if actor.region_code is not None else sa.true())
            .order_by(b.id.desc())
            .limit(limit)
        ).all()
        flagged = conn.execute(
            select(t.barcode, r.run, r.outcome, r.ct_orf1ab, r.ct_n, r.tested_at, r.batch_id)
            .join(tubes, t.id == r.tube_id)
            .where(r.outcome != "negative", within(actor, t.region_code))
            .order_by(r.tested_at.desc(), r.id.desc())
            .limit(limit)
        ).all()
    return ResultsBoard(
        tuple(
            BatchRow(x.id, x.lab_code, x.posted_at, x.posted_by, x.rows, x.inserted, x.resolved_at)
            for x in batch_rows
        ),
        tuple(
            (
                str(x.barcode),
                ResultRow(x.run, x.outcome, x.ct_orf1ab, x.ct_n, x.tested_at, int(x.batch_id)),
            )
            for x in flagged
        ),
        tuple((str(x.code), str(x.name), int(x.capacity_per_day)) for x in lab_rows),
    )


def overdue_tubes(
    engine: Engine, actor: Actor, *, flag: str | None = None, limit: int = 500
) -> list[FlaggedTube]:
    """Tubes of the jurisdiction flagged late (no result in time) or lost (never received),
    with no result since; lost first, oldest first."""
    _require(actor, TESTING_READ)
    t = tubes.c
    tested = sa.exists().where(results.c.tube_id == t.id)
    query = (
        select(tubes)
        .where(t.flag.is_not(None), ~tested, within(actor, t.region_code))
        .order_by(sa.case((t.flag == "lost", 0), else_=1), t.collected_at, t.id)
        .limit(limit)
    )
    if flag:
        query = query.where(t.flag == flag)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        view = TubeView.of_row(r)
        out.append(
            FlaggedTube(
                r.barcode,
                r.pool_size,
                r.point,
                r.region_code,
                r.collected_at,
                r.lab_code,
                custody_state(view, False),
                r.flag,
                r.flagged_at,
            )
        )
    return out


def flag_overdue_now(
    engine: Engine,
    key: bytes,
    actor: Actor,
    rules: TestingRules,
    address: str,
    *,
    at: datetime | None = None,
) -> FlagOutcome:
    """Run the late/lost check now (``testing.manage``; the job does it on a schedule)."""

    def body(conn: Connection) -> tuple[FlagOutcome, str]:
        _require(actor, TESTING_MANAGE)
        out = flag_overdue(conn, rules, at=at)
        return out, f"{out.lost} lost, {out.late} late"

    return audited(engine, key, actor, address, "testing.flag", None, None, body)


# ---- campaigns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotSampled:
    person_id: int
    name: str
    residence_code: str | None


@dataclass(frozen=True)
class CampaignView:
    progress: camp.Progress
    plan: camp.CampaignPlan | None  # the plan for the population and labs now
    what_if: tuple[camp.CampaignPlan, ...]
    projection: camp.Projection | None
    lab_capacity_per_day: int
    not_sampled_total: int
    not_sampled: tuple[NotSampled, ...]
    masked: bool


def _campaign_in_reach(conn: Connection, actor: Actor, campaign_id: int) -> Any:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise NotFound(_campaign_missing(campaign_id))
    if not _inside(conn, actor, row.region_code):
        raise _Hidden(_campaign_missing(campaign_id))
    return row


def campaign_progress(
    engine: Engine,
    actor: Actor,
    rules: TestingRules,
    campaign_id: int,
    *,
    at: datetime | None = None,
) -> tuple[camp.Progress, camp.Projection | None]:
    """A campaign's live numbers and the forecast at the pace so far (counts only, no
    names: not audited)."""
    _require(actor, TESTING_READ)
    with engine.connect() as conn:
        _campaign_in_reach(conn, actor, campaign_id)
        prog = camp.progress(conn, campaign_id, at=at)
        capacity = camp.lab_capacity(conn)
    return prog, camp.projection(prog, capacity, rules.campaign)


def campaign_list(engine: Engine, actor: Actor) -> list[Any]:
    """Campaigns over regions of the jurisdiction, newest first (no personal data)."""
    _require(actor, TESTING_READ)
    c = campaigns.c
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(campaigns).where(within(actor, c.region_code)).order_by(c.id.desc())
            ).all()
        )


def campaign_view(
    engine: Engine,
    key: bytes,
    actor: Actor,
    rules: TestingRules,
    campaign_id: int,
    address: str,
    *,
    at: datetime | None = None,
    limit: int = 200,
) -> CampaignView:
    """A campaign of the jurisdiction: the plan with its what-if rows and predicted
    completion against the target, live progress, the forecast at the rate seen so far,
    and who has not been sampled (names masked by rights). Audited."""

    def body(conn: Connection) -> tuple[CampaignView, str]:
        _require(actor, TESTING_READ)
        c = _campaign_in_reach(conn, actor, campaign_id)
        prog = camp.progress(conn, campaign_id, at=at)
        capacity = camp.lab_capacity(conn)
        planned = what = None
        if prog.population and capacity:
            planned = camp.plan(prog.population, capacity, rules.campaign, pool_size=c.pool_size)
            what = tuple(camp.what_if(prog.population, capacity, rules))
        total, ids = camp.not_sampled(conn, campaign_id, limit=limit)
        names = _names(conn, actor, ids)
        homes: dict[int, str | None] = {
            int(i): code
            for i, code in conn.execute(
                select(persons.c.id, persons.c.residence_code).where(persons.c.id.in_(ids))
            )
        }
        missing = tuple(NotSampled(p, names[p], homes.get(p)) for p in ids)
        masked = not actor.can(PERSON_READ_FULL)
        view = CampaignView(
            prog,
            planned,
            what or (),
            camp.projection(prog, capacity, rules.campaign),
            capacity,
            total,
            missing,
            masked,
        )
        return view, f"{len(missing)} of {total} not sampled listed" + (" masked" if masked else "")

    return audited(
        engine, key, actor, address, "testing.campaign", "campaign", str(campaign_id), body
    )


def start_campaign(
    engine: Engine,
    key: bytes,
    actor: Actor,
    rules: TestingRules,
    name: str,
    region_code: str,
    starts_at: datetime,
    address: str,
    *,
    pool_size: int | None = None,
) -> int:
    """Start a campaign over a region of the jurisdiction (``testing.manage``)."""

    def body(conn: Connection) -> tuple[int, str]:
        _require(actor, TESTING_MANAGE)
        if not name.strip():
            raise InvalidFields(
                Problem("request.invalid", "请填写名称", "give the campaign a name"),
                [FieldProblem("name", Problem("value.missing", "必填", "required"))],
            )
        if region_exists(conn, region_code) and not _inside(conn, actor, region_code):
            raise _Hidden(
                Problem(
                    "testing.region_unknown", f"无此地区 {region_code}", f"no region {region_code}"
                )
            )
        cid = camp.create_campaign(
            conn,
            rules,
            name.strip(),
            region_code,
            starts_at=starts_at,
            pool_size=pool_size,
            by=actor.name,
        )
        return cid, f"campaign {cid} over {region_code}"

    return audited(
        engine, key, actor, address, "testing.campaign_start", "region", region_code, body
    )


__all__ = [
    "CampaignView",
    "FlaggedTube",
    "NotSampled",
    "PersonTest",
    "PersonTests",
    "Posted",
    "ResultsBoard",
    "TubeDetail",
    "campaign_list",
    "campaign_progress",
    "campaign_view",
    "collect_sample",
    "flag_overdue_now",
    "overdue_tubes",
    "person_ids_by_number",
    "person_ids_by_token",
    "person_tests",
    "post_lab_results",
    "read_tube",
    "receive_tubes",
    "results_board",
    "ship_tubes",
    "start_campaign",
]
