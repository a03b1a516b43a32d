"""Lab results: a lab system posts a batch (audited; then every unresolved batch is
resolved); the results board and the overdue tubes of the jurisdiction (barcodes and Ct
values, no personal data); the late/lost check run by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, within
from fangkong.auth.rights import RESULT_POST, TESTING_MANAGE, TESTING_READ
from fangkong.errors import FieldProblem, InvalidFields, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.testing.access._reach import lab_in_reach
from fangkong.testing.access.tubes import ResultRow, custody_state
from fangkong.testing.flags import FlagOutcome, flag_overdue
from fangkong.testing.resolve import ResolveOutcome, resolve
from fangkong.testing.results import BatchOutcome, ResultsRejected, post_results, results_table
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import TubeView
from fangkong.testing.tables import batches, labs, results, tubes

MAX_ROWS = 50_000  # results in one API batch
_FIELDS_SHOWN = 200  # rows named in a refusal's ``errors``


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
    call: Call,
    rules: TestingRules,
    rows: Sequence[Mapping[str, Any]],
    lab_code: str,
    *,
    codes: CodeContext | None = None,
    contact_rules: object | None = None,
    field: str = "rows",
) -> Posted:
    """A lab system posts one batch (``result.post``, the lab in the actor's jurisdiction):
    all rows or none, idempotent by tube and run; then every unresolved batch is resolved
    (retests, code facts, cases). A refused batch names each row and field."""
    actor = call.actor

    def body(conn: Connection) -> tuple[BatchOutcome, str]:
        call.require(RESULT_POST)
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
        lab_in_reach(conn, actor, lab_code)
        try:
            out = post_results(
                conn,
                rules,
                results_table(rows),
                lab_code=lab_code,
                posted_by=actor.name,
                source=field,
                at=call.at,
            )
        except ResultsRejected as exc:
            raise _api_fields(exc, field) from None
        return out, f"batch {out.batch_id}: {out.rows} rows, {out.inserted} new"

    batch = call.audited("testing.results", "lab", lab_code, body)
    done = None
    if batch.inserted:
        done = resolve(
            call.engine,
            rules,
            codes=codes,
            tz=call.tz,
            by=actor.name,
            at=call.at,
            contact_rules=contact_rules,
        )
    return Posted(batch, done)


# ---- the results board and overdue tubes (no personal data) ---------------------------------


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
    batches_total: int = 0
    not_negative_total: int = 0


# what the two lists of the results board may be sorted by (their whitelists)
RESULT_SORTS: listing.Columns = {
    "barcode": tubes.c.barcode, "outcome": results.c.outcome, "tested": results.c.tested_at,
    "ct_orf1ab": results.c.ct_orf1ab, "ct_n": results.c.ct_n,
}  # fmt: skip
BATCH_SORTS: listing.Columns = {
    "id": batches.c.id, "lab": batches.c.lab_code, "posted": batches.c.posted_at,
    "rows": batches.c.rows,
}  # fmt: skip


def results_board(
    call: Call, *, results_page: Bounded = listing.FIRST_PAGE,
    batches_page: Bounded = listing.FIRST_PAGE,
) -> ResultsBoard:  # fmt: skip
    """One page of the recent result batches of the labs in the jurisdiction and one of
    the non-negative results of tubes collected in it (barcodes and Ct values; no names),
    newest first unless sorted by a key of :data:`BATCH_SORTS` / :data:`RESULT_SORTS`."""
    call.require(TESTING_READ)
    actor = call.actor
    b, r, t = batches.c, results.c, tubes.c
    with call.engine.connect() as conn:
        lab_rows = conn.execute(
            select(labs.c.code, labs.c.name, labs.c.capacity_per_day)
            .where(within(actor, labs.c.region_code))
            .order_by(labs.c.code)
        ).all()
        mine = [str(row.code) for row in lab_rows]
        batch_rows, batch_total = listing.fetch(
            conn,
            select(batches).where(
                b.lab_code.in_(mine) if actor.region_code is not None else sa.true()
            ),
            batches_page, BATCH_SORTS, (b.id.desc(),),
        )  # fmt: skip
        flagged, flagged_total = listing.fetch(
            conn,
            select(t.barcode, r.run, r.outcome, r.ct_orf1ab, r.ct_n, r.tested_at, r.batch_id)
            .join(tubes, t.id == r.tube_id)
            .where(r.outcome != "negative", within(actor, t.region_code)),
            results_page, RESULT_SORTS, (r.tested_at.desc(), r.id.desc()),
        )  # fmt: skip
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
        batch_total,
        flagged_total,
    )


# what the overdue list may be sorted by (its whitelist)
OVERDUE_SORTS: listing.Columns = {
    "barcode": tubes.c.barcode, "flag": tubes.c.flag, "point": tubes.c.point,
    "collected": tubes.c.collected_at, "lab": tubes.c.lab_code, "pool": tubes.c.pool_size,
}  # fmt: skip


def overdue_tubes(
    call: Call, *, flag: str | None = None, bounded: Bounded = listing.FIRST_PAGE
) -> tuple[list[FlaggedTube], int]:
    """One page of the jurisdiction's tubes flagged late (no result in time) or lost (never
    received), with no result since — lost first, oldest first unless ``bounded`` sorts
    by a key of :data:`OVERDUE_SORTS` — and how many there are."""
    call.require(TESTING_READ)
    t = tubes.c
    tested = sa.exists().where(results.c.tube_id == t.id)
    query = select(tubes).where(t.flag.is_not(None), ~tested, within(call.actor, t.region_code))
    if flag:
        query = query.where(t.flag == flag)
    own = (sa.case((t.flag == "lost", 0), else_=1), t.collected_at, t.id)
    with call.engine.connect() as conn:
        rows, total = listing.fetch(conn, query, bounded, OVERDUE_SORTS, own)
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
    return out, total


def flag_overdue_now(call: Call, rules: TestingRules) -> FlagOutcome:
    """Run the late/lost check now (``testing.manage``; the job does it on a schedule)."""

    def body(conn: Connection) -> tuple[FlagOutcome, str]:
        call.require(TESTING_MANAGE)
        out = flag_overdue(conn, rules, at=call.at)
        return out, f"{out.lost} lost, {out.late} late"

    return call.audited("testing.flag", None, None, body)
