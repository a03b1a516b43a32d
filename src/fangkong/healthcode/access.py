"""Health codes as people and devices reach them: rights, jurisdiction, masking, audit.

The use cases of ``fangkong.healthcode.codes`` know nothing of who asks; this module
puts the checks of ``fangkong.auth.records`` in front of them, once, for the API routes
and the pages alike::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             person in the actor's region subtree? ── no ─▶ NotFound, the answer of a
                 │                                          record that does not exist
                 ▼
             service (evaluate, history, QR, corrections) ─▶ masked by rights
                 └── one audit row per read or decision (ids only, never names/numbers)

Masking has two axes: the person's identity (name, ID number) needs ``person.read_full``
as everywhere else; the reasons' sentences (a case, an exposure: health data) need
``code.read_full`` — without it a reason shows only its rule id, colour and dates.

Each function takes the guarded :class:`~fangkong.auth.guard.Call` first, except the
scans: they come from devices (a bearer token of scope ``scan``, bound to one venue) on
the busiest path, whose ASGI layer (``fangkong.api.scan_endpoint``) passes the engine
and the device itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from sqlalchemy import Connection, Engine, Select, func, select

from fangkong.auth.guard import Call, hidden, within
from fangkong.auth.jurisdiction import branch_of
from fangkong.auth.model import Actor
from fangkong.auth.records import PERSON_NOT_FOUND
from fangkong.auth.rights import (
    CODE_CORRECT,
    CODE_DECIDE,
    CODE_READ,
    CODE_READ_FULL,
    PERSON_READ_FULL,
    SCAN_SUBMIT,
)
from fangkong.errors import (
    FieldProblem,
    Forbidden,
    InvalidFields,
    NotFound,
    Problem,
)
from fangkong.healthcode.codes import Transition, code_history, evaluate_person, issue_qr
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.corrections import Correction, decide_correction, file_correction
from fangkong.healthcode.errors import VenueUnknown, malformed
from fangkong.healthcode.evaluator import Reason
from fangkong.healthcode.scan_verdict import PreparedScan, ScanVerdict
from fangkong.healthcode.scan_writer import ScanWriter
from fangkong.healthcode.scanning import perform_scan
from fangkong.healthcode.tables import code_corrections, health_codes
from fangkong.identity.masking import mask_id, mask_name
from fangkong.identity.resident_id import check_resident_id
from fangkong.policy.model import Colour
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons, venues
from fangkong.tracing.zones import zone_problem

CORRECTION_NOT_FOUND = Problem("correction.unknown", "未找到此纠错申请", "no such correction")
SCAN_SCOPE = Problem(
    "token.scope", "此令牌无权扫码（需要 scan 范围）", "this token may not scan (scope scan needed)"
)
VENUE_MISMATCH = Problem(
    "scan.venue_mismatch",
    "此设备未绑定该场所，只能登记本场所的扫码",
    "this device is bound to another venue: it may only record scans at its own",
)


# ---- views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonView:
    """A reason as one actor may see it: sentences only with ``code.read_full``."""

    rule_id: str
    colour: Colour
    since: datetime
    until: datetime | None
    text_zh: str | None
    text_en: str | None
    clears_zh: str | None
    clears_en: str | None

    def text(self, lang: str) -> str | None:
        return self.text_zh if lang == "zh" else self.text_en

    def clears(self, lang: str) -> str | None:
        return self.clears_zh if lang == "zh" else self.clears_en


@dataclass(frozen=True)
class CodeView:
    """A person's code now, with its explanation, history and open objections."""

    person_id: int
    name: str
    id_number: str
    identity_masked: bool
    reasons_masked: bool
    colour: Colour
    reasons: tuple[ReasonView, ...]
    next_change_at: datetime | None
    next_colour: Colour | None
    evaluated_at: datetime
    pack_ref: str
    history: tuple[Transition, ...]
    corrections: tuple[Correction, ...]


@dataclass(frozen=True)
class QueueItem:
    """An open correction in the queue, with whom it concerns (masked by rights)."""

    correction: Correction
    name: str
    colour: Colour | None


@dataclass(frozen=True)
class AreaColours:
    code: str
    name: str
    green: int
    yellow: int
    red: int


@dataclass(frozen=True)
class ColourSummary:
    """Stored codes (as last evaluated) in the actor's jurisdiction, by colour and area."""

    green: int
    yellow: int
    red: int
    by_area: list[AreaColours]


def _reason_view(r: Reason, full: bool) -> ReasonView:
    if full:
        return ReasonView(r.rule_id, r.colour, r.since, r.until,
                          r.text_zh, r.text_en, r.clears_zh, r.clears_en)  # fmt: skip
    return ReasonView(r.rule_id, r.colour, r.since, r.until, None, None, None, None)


# ---- persons in reach -------------------------------------------------------------------------


def _person_row(conn: Connection, actor: Actor, where: object) -> object:
    """The person matching ``where`` inside the actor's jurisdiction (else NotFound)."""
    row = conn.execute(select(persons).where(where)).first()  # type: ignore[arg-type]
    if row is None:
        raise NotFound(PERSON_NOT_FOUND)
    inside = conn.execute(
        select(persons.c.id).where(persons.c.id == row.id, within(actor, persons.c.residence_code))
    ).first()
    if inside is None:
        raise hidden(NotFound(PERSON_NOT_FOUND))
    return row


def _identity(actor: Actor, ctx: CodeContext, row: object) -> tuple[str, str, bool]:
    m = row._mapping  # type: ignore[attr-defined]
    doc_type, _, number = ctx.sealer.unseal("document", m["doc_sealed"]).split("|", 2)
    if actor.can(PERSON_READ_FULL):
        return m["name"], number, False
    masked = mask_id(number) if doc_type == "resident_id" else number[:2] + "****"
    return mask_name(m["name"]), masked, True


# ---- reading codes ---------------------------------------------------------------------------


def _code_view(
    conn: Connection, actor: Actor, ctx: CodeContext, row: object, now: datetime
) -> tuple[CodeView, str, str]:
    person_id = int(row.id)  # type: ignore[attr-defined]
    decision = evaluate_person(conn, ctx, person_id, at=now, trigger="read")
    full = actor.can(CODE_READ_FULL)
    name, number, masked = _identity(actor, ctx, row)
    open_ = conn.execute(
        select(code_corrections)
        .where(code_corrections.c.person_id == person_id)
        .order_by(code_corrections.c.filed_at.desc(), code_corrections.c.id.desc())
    ).all()
    view = CodeView(
        person_id, name, number, masked, not full, decision.colour,
        tuple(_reason_view(r, full) for r in decision.reasons),
        decision.next_change_at, decision.next_colour, decision.evaluated_at, decision.pack_ref,
        tuple(code_history(conn, person_id)), tuple(Correction(*c) for c in open_),
    )  # fmt: skip
    detail = ("identity masked, " if masked else "") + ("reasons masked" if not full else "full")
    return view, str(person_id), detail


def read_code(call: Call, ctx: CodeContext, person_id: int) -> CodeView:
    """A person's code (evaluated now and stored) if inside the actor's jurisdiction."""
    actor, at = call.actor, call.now()

    def body(conn: Connection) -> tuple[CodeView, str, str]:
        call.require(CODE_READ)
        return _code_view(conn, actor, ctx, _person_row(conn, actor, persons.c.id == person_id), at)

    return call.audited("code.read", "person", str(person_id), body)


def lookup_code(call: Call, ctx: CodeContext, id_number: str) -> int:
    """The row id of the person holding a resident ID number (found through the sealed
    lookup hash) whose code the actor may read; the page then shows ``read_code``."""
    actor, at = call.actor, call.now()
    call.require(CODE_READ)
    check = check_resident_id(id_number, today=at.astimezone(ctx.tz).date())
    if not check.valid or check.normalized is None:
        raise InvalidFields(
            Problem("request.invalid", "身份证号码有误", "the ID number is invalid"),
            [FieldProblem("id_number", check.problems[0])],
        )
    doc_hash = ctx.sealer.lookup_hash("document", f"resident_id|CHN|{check.normalized}")

    def body(conn: Connection) -> tuple[int, str, None]:
        row = _person_row(conn, actor, persons.c.doc_hash == doc_hash)
        return int(row.id), str(row.id), None  # type: ignore[attr-defined]

    return call.audited("code.lookup", "person", None, body)


def code_qr_token(call: Call, ctx: CodeContext, person_id: int) -> str:
    """A fresh signed QR token for the person (staff show or print it for them). Audited."""
    at = call.now()

    def body(conn: Connection) -> tuple[str, str, None]:
        call.require(CODE_READ)
        _person_row(conn, call.actor, persons.c.id == person_id)
        return issue_qr(conn, ctx, person_id, now=at), str(person_id), None

    return call.audited("code.qr", "person", str(person_id), body)


# ---- corrections (纠错) ------------------------------------------------------------------------


def file_code_correction(
    call: Call, person_id: int, reason: str, *, fact_id: int | None = None
) -> int:
    """An officer's objection to a person's code in their jurisdiction. Audited."""
    actor = call.actor

    def body(conn: Connection) -> tuple[int, str, str]:
        call.require(CODE_CORRECT)
        _person_row(conn, actor, persons.c.id == person_id)
        cid = file_correction(conn, person_id, reason, filed_by=actor.name, filer_role="officer",
                              fact_id=fact_id, now=call.at)  # fmt: skip
        return cid, str(person_id), f"correction {cid}"

    return call.audited("code.correct", "person", str(person_id), body)


def _corrections_in_reach(actor: Actor) -> Select[Any]:
    return (
        select(code_corrections, persons.c.name, persons.c.doc_sealed, persons.c.doc_type,
               health_codes.c.colour.label("current_colour"))
        .join(persons, persons.c.id == code_corrections.c.person_id)
        .outerjoin(health_codes, health_codes.c.person_id == code_corrections.c.person_id)
        .where(within(actor, persons.c.residence_code))
    )  # fmt: skip


# what the queue may be sorted by (its whitelist)
CORRECTION_SORTS: listing.Columns = {
    "filed": code_corrections.c.filed_at, "colour": health_codes.c.colour,
}  # fmt: skip


def correction_queue(
    call: Call, bounded: Bounded = listing.FIRST_PAGE
) -> tuple[list[QueueItem], int]:
    """One page of the open corrections of persons in the actor's jurisdiction, oldest
    first unless sorted by a key of :data:`CORRECTION_SORTS`; and how many are open."""
    call.require(CODE_DECIDE)
    actor = call.actor
    query = _corrections_in_reach(actor).where(code_corrections.c.state == "open")
    with call.engine.connect() as conn:
        own = (code_corrections.c.filed_at, code_corrections.c.id)
        rows, total = listing.fetch(conn, query, bounded, CORRECTION_SORTS, own)
    n = len(code_corrections.c)
    full = actor.can(PERSON_READ_FULL)
    return [
        QueueItem(
            Correction(*tuple(r)[:n]),
            r.name if full else mask_name(r.name),
            None if r.current_colour is None else Colour.parse(r.current_colour),
        )
        for r in rows
    ], total


def decide_code_correction(
    call: Call, ctx: CodeContext, correction_id: int, *, upheld: bool, reason: str
) -> Colour:
    """Uphold or reject an objection about a person in the actor's jurisdiction; the code
    is re-evaluated (an upheld objection naming a fact voids it). Audited."""
    actor = call.actor

    def body(conn: Connection) -> tuple[Colour, str, str]:
        call.require(CODE_DECIDE)
        found = conn.execute(
            _corrections_in_reach(actor).where(code_corrections.c.id == correction_id)
        ).first()
        if found is None:
            raise NotFound(CORRECTION_NOT_FOUND)
        decision = decide_correction(conn, ctx, correction_id, upheld=upheld, reason=reason,
                                     decided_by=actor.name, now=call.at)  # fmt: skip
        verdict = "upheld" if upheld else "rejected"
        return decision.colour, str(found.person_id), f"correction {correction_id} {verdict}"

    return call.audited("code.decide", "person", None, body)


# ---- the home page ------------------------------------------------------------------------


def colour_summary(call: Call) -> ColourSummary:
    """Codes by colour in the actor's jurisdiction, and per area below their region."""
    call.require(CODE_READ)
    actor = call.actor
    with call.engine.connect() as conn:
        # codes by colour once per residence code, folded into the totals and branches
        counted = conn.execute(
            select(persons.c.residence_code, health_codes.c.colour, func.count())
            .join(persons, persons.c.id == health_codes.c.person_id)
            .where(within(actor, persons.c.residence_code))
            .group_by(persons.c.residence_code, health_codes.c.colour)
        ).all()
        branch = {} if actor.region_code is None else branch_of(conn, actor.region_code)
    totals = dict.fromkeys(("green", "yellow", "red"), 0)
    areas: dict[str, dict[str, int]] = {}
    names: dict[str, str] = {}
    for code, colour, n in counted:
        totals[colour] += int(n)
        if code in branch:
            at, names[at] = branch[code]
            areas.setdefault(at, dict.fromkeys(("green", "yellow", "red"), 0))[colour] += int(n)
    by_area = [
        AreaColours(code, names[code], int(c["green"]), int(c["yellow"]), int(c["red"]))
        for code, c in areas.items()
    ]
    by_area.sort(key=lambda a: (-(a.red + a.yellow), -(a.green + a.yellow + a.red), a.code))
    return ColourSummary(totals["green"], totals["yellow"], totals["red"], by_area)


# ---- scans (用码) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanRequest:
    """What a scanner sends: a QR token or an ID number, where, when, and its event id."""

    venue_code: str
    device_time: datetime
    event_id: str
    token: str | None = None
    id_number: str | None = None
    zone: str | None = None  # 区域/桌号: the table or room of a table code (≤ 16 characters)


def qr_png(token: str, *, scale: int = 6) -> bytes:
    """The token drawn as a PNG QR image."""
    buffer = io.BytesIO()
    segno.make(token, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def _require_venue(bind: Engine | Connection, code: str) -> None:
    query = select(venues.c.code).where(venues.c.code == code)
    if isinstance(bind, Connection):
        found = bind.execute(query).first()
    else:
        with bind.connect() as conn:
            found = conn.execute(query).first()
    if found is None:
        raise VenueUnknown(
            Problem(
                "scan.venue_unknown", f"场所码 {code} 未登记", f"no venue with place code {code}"
            )
        )


def scan_subject(bind: Engine | Connection, actor: Actor, scan: ScanRequest) -> str:
    """The checks before verification: a scanning device at its own venue, sending one of
    token and ID number; returns that one."""
    if actor.kind != "device" or not actor.can(SCAN_SUBMIT) or actor.venue_code is None:
        raise Forbidden(SCAN_SCOPE)
    if scan.venue_code != actor.venue_code:
        _require_venue(bind, scan.venue_code)  # an unknown code keeps its own answer
        raise Forbidden(VENUE_MISMATCH)
    if (scan.token is None) == (scan.id_number is None):
        raise malformed(
            "须提供二维码内容（token）或身份证号（id_number）之一",
            "send either a QR token (token) or an ID number (id_number), not both",
        )
    what = scan.token if scan.token is not None else scan.id_number
    assert what is not None  # noqa: S101 - one of them, checked above
    bad_zone = zone_problem(scan.zone) if scan.zone is not None else None
    if bad_zone is not None:
        raise InvalidFields(
            Problem("scan.zone_invalid", "区域/桌号无效", "the zone (table or room) is invalid"),
            [FieldProblem("zone", bad_zone)],
        )
    return what


def prepare_at_venue(
    bind: Engine | Connection, actor: Actor, scan: ScanRequest, writer: ScanWriter,
    *, now: datetime | None = None,
) -> PreparedScan | ScanVerdict:  # fmt: skip
    """The writer's read-only step for a scan sent by a device: the checks of
    ``scan_subject``, then ``ScanWriter.prepare``. The caller waits for the commit
    (``ScanWriter.submit_prepared``, or ``submit_async`` on an event loop) unless this
    is a verdict stored before."""
    what = scan_subject(bind, actor, scan)
    return writer.prepare(scan.venue_code, what, scan.device_time, scan.event_id, now,
                          scan.zone)  # fmt: skip


def scan_at_venue(
    bind: Engine | Connection, ctx: CodeContext, actor: Actor, scan: ScanRequest,
    *, now: datetime | None = None, writer: ScanWriter | None = None,
) -> ScanVerdict:  # fmt: skip
    """Verify and store a scan sent by a device bound to ``scan.venue_code`` (through
    ``writer`` when given: group commit, for SQLite)."""
    if writer is not None:
        return writer.submit_prepared(prepare_at_venue(bind, actor, scan, writer, now=now))
    what = scan_subject(bind, actor, scan)
    return perform_scan(bind, ctx, scan.venue_code, what, scan.device_time, scan.event_id,
                        now=now, zone=scan.zone)  # fmt: skip
