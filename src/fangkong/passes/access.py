"""Passes as staff and checkpoints reach them: rights, jurisdiction, masking, audit.

``pass.issue`` issues and revokes passes of the actor's jurisdiction (a pass belongs to
its issuing region; one elsewhere answers as absent, audited ``out_of_jurisdiction``);
``pass.read`` reads them — drivers' names masked without ``person.read_full`` — and
verifies any pass, whoever issued it (the pass is national: 全国统一式样). Every call
writes one audit row (serials and counts, never a name or a document number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from fangkong.auth.guard import Call, hidden, inside, names, within
from fangkong.auth.rights import PASS_ISSUE, PASS_READ
from fangkong.identity.sealing import Sealer
from fangkong.passes import service
from fangkong.passes.rules import PassRules
from fangkong.passes.service import Issued, PassRequest, PassView
from fangkong.passes.token import PassKeys, issue_token, qr_svg
from fangkong.passes.verdict import PassCheck
from fangkong.passes.verify import check_pass, keys_of
from fangkong.store import listing
from fangkong.store.listing import Bounded


@dataclass(frozen=True)
class PassDesk:
    """What the pass use cases need besides the call: the rules, the sealer, the keys."""

    rules: PassRules
    sealer: Sealer
    keys: PassKeys

    @classmethod
    def of(cls, pack: object, sealer: Sealer, home: Path) -> PassDesk:
        """The desk of a loaded pack and a home (its pass key loaded once per process)."""
        return cls(PassRules.from_pack(pack), sealer, keys_of(str(home)))


@dataclass(frozen=True)
class PassPage:
    """One pass as a page shows it: the pass (names masked by rights), its status at the
    time of the call, its current token and the token's QR as inline SVG."""

    view: PassView
    status: str
    token: str
    svg: str


def _hidden_unless_inside(conn: Connection, call: Call, serial: str) -> PassView:
    view = service.read_pass(conn, serial)
    if not inside(conn, call.actor, view.region_code):
        raise hidden(service.unknown(serial))
    return view


def issue_pass(call: Call, desk: PassDesk, req: PassRequest) -> Issued:
    """Issue a pass for a region of the actor's jurisdiction (``pass.issue``)."""

    def body(conn: Connection) -> tuple[Issued, str | None, str | None]:
        call.require(PASS_ISSUE)
        if not inside(conn, call.actor, req.region_code):
            raise hidden(service.region_refusal(req.region_code))
        done = service.issue(conn, req, at=call.now(), by=call.actor.name, rules=desk.rules,
                             sealer=desk.sealer, tz=call.tz)  # fmt: skip
        detail = f"{len(done.driver_ids)} drivers" + (", closed loop" if done.closed_loop else "")
        return done, done.serial, detail

    return call.audited("pass.issue", "pass", None, body)


def revoke_pass(call: Call, serial: str, reason: str) -> PassView:
    """Revoke a pass of the actor's jurisdiction, with a reason (``pass.issue``)."""

    def body(conn: Connection) -> tuple[PassView, str | None]:
        call.require(PASS_ISSUE)
        view = _hidden_unless_inside(conn, call, serial)
        return service.revoke(conn, view.serial, reason=reason, at=call.now(),
                              by=call.actor.name), None  # fmt: skip

    return call.audited("pass.revoke", "pass", serial[:64], body)


def renew_pass(
    call: Call, desk: PassDesk, serial: str, *, valid_until: datetime,
    tested: Mapping[int, datetime],
) -> PassView:  # fmt: skip
    """A new revision of a pass of the actor's jurisdiction (``pass.issue``)."""

    def body(conn: Connection) -> tuple[PassView, str | None]:
        call.require(PASS_ISSUE)
        view = _hidden_unless_inside(conn, call, serial)
        done = service.renew(conn, view.serial, valid_until=valid_until, tested=tested,
                             at=call.now(), rules=desk.rules)  # fmt: skip
        return done, f"revision {done.revision}"

    return call.audited("pass.renew", "pass", serial[:64], body)


def read_pass(call: Call, desk: PassDesk, serial: str) -> PassPage:
    """A pass of the actor's jurisdiction with its QR (``pass.read``)."""

    def body(conn: Connection) -> tuple[PassPage, str | None]:
        call.require(PASS_READ)
        view = _hidden_unless_inside(conn, call, serial)
        shown = names(conn, call.actor, [drv.person_id for drv in view.drivers])
        drivers = tuple(replace(drv, name=shown.get(drv.person_id, "")) for drv in view.drivers)
        view = replace(view, drivers=drivers)
        token = issue_token(desk.keys, view.serial, view.revision)
        return PassPage(view, view.status(call.now()), token, qr_svg(token)), None

    return call.audited("pass.read", "pass", serial[:64], body)


def read_passes(
    call: Call, *, status: str | None = None, plate: str | None = None,
    bounded: Bounded | None = listing.FIRST_PAGE,
) -> tuple[list[PassView], int]:  # fmt: skip
    """One page of the passes issued in the actor's jurisdiction, and how many."""

    def body(conn: Connection) -> tuple[tuple[list[PassView], int], str | None]:
        call.require(PASS_READ)
        rows, total = service.page_passes(
            conn, bounded, at=call.now(), where=lambda col: within(call.actor, col),
            status=status, plate=plate,
        )  # fmt: skip
        return (rows, total), f"{len(rows)} of {total}"

    return call.audited("pass.list", "pass", None, body)


def verify_pass(
    call: Call, desk: PassDesk, token_or_serial: str, *, plate: str, driver_ids: Sequence[int],
    checkpoint_region: str, at: datetime | None = None,
) -> PassCheck:  # fmt: skip
    """The verdict on a pass shown at a checkpoint (``pass.read``; any issuer's pass)."""

    def body(conn: Connection) -> tuple[PassCheck, str | None, str | None]:
        call.require(PASS_READ)
        got = check_pass(conn, token_or_serial, plate=plate, driver_ids=driver_ids,
                         checkpoint_region=checkpoint_region, at=at or call.now(),
                         keys=desk.keys, rules=desk.rules, tz=call.tz)  # fmt: skip
        return got, got.serial, got.verdict

    return call.audited("pass.verify", "pass", None, body)
