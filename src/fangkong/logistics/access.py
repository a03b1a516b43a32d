"""Logistics as people and devices reach it: rights, jurisdiction by checkpoint region,
masking, audit.

    record       logistics.crossing. A device (scope ``checkpoint``) records at the
                 checkpoint of the venue its token is bound to, whatever code it sends
                 (another code is refused); the crossing row names the device and is the
                 record, as a scan is (no audit row per crossing: the hot path). A
                 person records at a checkpoint inside their jurisdiction (one audit row).
    record_device  the same for a device, fast: decided on a read connection outside the
                 write turn, the plain outcomes group-committed (``crossing_writer``), the
                 rest (sampling, the closed loop) recorded by ``record`` as before.
    import_file  logistics.manage and the checkpoint inside the jurisdiction: every row or
                 none (one audit row).
    checkpoints  logistics.read: the checkpoints inside the jurisdiction, one page.
    desk         logistics.read and the checkpoint inside the jurisdiction (else NotFound,
                 the answer for an absent one): today's crossings, names masked unless
                 person.read_full (one audit row).
    add          logistics.manage and the region inside the jurisdiction (one audit row).

The pass is verified by one call: passes' ``check_pass`` (``verifier``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import Connection, Engine, Row

from fangkong.auth.guard import Call, hidden, inside, names
from fangkong.auth.jurisdiction import subtree
from fangkong.auth.model import forbidden
from fangkong.auth.rights import LOGISTICS_CROSSING, LOGISTICS_MANAGE, LOGISTICS_READ
from fangkong.errors import FangkongError, Forbidden, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.scan_writer import WriterTurn
from fangkong.logistics.checkpoints import (
    CheckpointIn,
    CheckpointUnknown,
    add_checkpoint,
    checkpoint_of_venue,
    get_checkpoint,
    list_checkpoints,
)
from fangkong.logistics.crossing_input import CrossingIn, CrossingOut, PassVerifier
from fangkong.logistics.crossing_writer import CrossingWriter, Redo
from fangkong.logistics.crossings import PreparedCrossing, prepare_crossing, record_crossing
from fangkong.logistics.files import FileCrossing, row_error
from fangkong.logistics.rules import LogisticsRules
from fangkong.logistics.stored import list_crossings, people_of
from fangkong.passes.rules import PassRules
from fangkong.passes.verify import check_pass, keys_of
from fangkong.store.listing import Bounded
from fangkong.store.tx import write_transaction

# SQLite has one writer: a server's threads queue for it here, in order, instead of in
# SQLite's busy handler (which sleeps and retries, and under load starves a waiter past its
# timeout: "database is locked"); and the server's processes queue in the kernel, on the
# scan writers' turn (a flock the scan batches of every process take too: measured with
# two workers, p99 fell from ~3 s to ~0.5 s). PostgreSQL writes crossings in parallel.


class _InOrder:
    """A lock handed to its waiters first come, first served (``threading.Lock`` is not:
    a thread that releases and asks again often wins, and under load — sampled crossings
    holding the turn back to back — the crossing writer could wait for seconds)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._held = False

    def __enter__(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            mine = threading.Event()
            self._waiting.append(mine)
        mine.wait()  # set by the holder's release: the lock is handed over, still held

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._held = False


_ONE_WRITER = _InOrder()
_TURNS: dict[str, WriterTurn] = {}


@contextlib.contextmanager
def _sqlite_turn(engine: Engine) -> Iterator[None]:
    with _ONE_WRITER:  # one thread of this process at a time holds the process's turn
        key = str(engine.url)
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = WriterTurn(engine)
        with turn:
            yield


def _writing(call: Call) -> contextlib.AbstractContextManager[object]:
    return _writing_on(call.engine)


def _writing_on(engine: Engine) -> contextlib.AbstractContextManager[object]:
    if engine.dialect.name == "sqlite":
        return _sqlite_turn(engine)
    return contextlib.nullcontext()


def verifier(codes: CodeContext, home: Path | None = None) -> PassVerifier:
    """passes' ``check_pass`` with the rules of ``codes``' pack and the pass key of
    ``home`` (default: the process's own), the key loaded once per process."""
    keys = keys_of(str(home)) if home is not None else None
    rules = PassRules.from_pack(codes.pack)
    return functools.partial(check_pass, rules=rules, keys=keys, tz=codes.tz)


_PREPARED: dict[tuple[int, str | None], tuple[CodeContext, LogisticsRules, PassVerifier]] = {}


def _prepared(codes: CodeContext, home: Path | None) -> tuple[LogisticsRules, PassVerifier]:
    """The pack's rules and the pass verifier of ``codes``, made once per context and home
    (not per crossing: parsing the pack and loading the pass key are the same each time)."""
    key = (id(codes), None if home is None else str(home))
    got = _PREPARED.get(key)
    if got is None or got[0] is not codes:  # an id reused by a new context: made again
        if len(_PREPARED) > 64:
            _PREPARED.clear()
        got = (codes, LogisticsRules.from_pack(codes.pack), verifier(codes, home))
        _PREPARED[key] = got
    return got[1], got[2]


CHECKPOINT_CACHE_S = 5.0  # a device's checkpoint row, read again after this long
_DEVICE_CHECKPOINTS: dict[tuple[int, str | None], tuple[float, Engine, Row[Any]]] = {}


def _device_checkpoint(conn: Connection, engine: Engine, venue: str | None) -> Row[Any]:
    """The checkpoint of a device's venue, remembered for ``CHECKPOINT_CACHE_S`` (its
    devices send a crossing every few seconds each; a checkpoint's row changes seldom —
    a change is seen that much later). A venue of no checkpoint is never remembered."""
    key = (id(engine), venue)
    now = monotonic()
    hit = _DEVICE_CHECKPOINTS.get(key)
    if hit is not None and hit[0] > now and hit[1] is engine:
        return hit[2]
    cp = checkpoint_of_venue(conn, venue)
    if len(_DEVICE_CHECKPOINTS) > 10_000:
        _DEVICE_CHECKPOINTS.clear()
    _DEVICE_CHECKPOINTS[key] = (now + CHECKPOINT_CACHE_S, engine, cp)
    return cp


def _checkpoint_for(conn: Connection, call: Call, code: str) -> Row[Any]:
    """The checkpoint a caller records at: a device's own; a person's if inside their
    jurisdiction (else the NotFound of an absent one)."""
    actor = call.actor
    if actor.kind == "device":
        cp = _device_checkpoint(conn, call.engine, actor.venue_code)
        if code and code != cp.code:
            raise Forbidden(
                Problem(
                    "logistics.checkpoint_forbidden",
                    "此设备令牌不属于该卡口",
                    "this device token belongs to another checkpoint",
                )
            )
        return cp
    cp = get_checkpoint(conn, code)
    if not inside(conn, actor, cp.region_code):
        raise hidden(
            CheckpointUnknown(
                Problem(
                    "logistics.checkpoint_unknown", f"无此卡口 {code!r}", f"no checkpoint {code!r}"
                )
            )
        )
    return cp


def _record(
    conn: Connection, call: Call, codes: CodeContext, crossing: CrossingIn, via: str,
    home: Path | None,
) -> CrossingOut:  # fmt: skip
    cp = _checkpoint_for(conn, call, crossing.checkpoint_code)
    if cp.code != crossing.checkpoint_code:
        crossing = CrossingIn(**{**crossing.__dict__, "checkpoint_code": cp.code})
    rules, verify_pass = _prepared(codes, home)
    return record_crossing(
        conn,
        crossing,
        at=call.now(),
        actor=call.actor.name,
        via=via,
        rules=rules,
        sealer=codes.sealer,
        codes=codes,
        verify_pass=verify_pass,
        tz=codes.tz,
    )


def record(
    call: Call, codes: CodeContext, crossing: CrossingIn, *, via: str = "api",
    home: Path | None = None,
) -> CrossingOut:  # fmt: skip
    """Record one crossing (see the module docstring)."""
    call.require(LOGISTICS_CROSSING)
    if call.actor.kind == "device":
        with _writing(call), write_transaction(call.engine) as conn:
            return _record(conn, call, codes, crossing, via, home)

    def body(conn: Connection) -> tuple[CrossingOut, str | None]:
        got = _record(conn, call, codes, crossing, via, home)
        return got, f"{got.outcome} {got.ref}"

    with _writing(call):
        return call.audited("logistics.crossing", "checkpoint", crossing.checkpoint_code[:80], body)


_WRITERS: dict[int, CrossingWriter] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(engine: Engine, codes: CodeContext) -> CrossingWriter:
    """The process's crossing writer for ``engine`` (made on first use)."""
    with _WRITERS_LOCK:
        got = _WRITERS.get(id(engine))
        if got is None or got.engine is not engine or got.codes is not codes:
            if len(_WRITERS) > 64:
                _WRITERS.clear()
            got = _WRITERS[id(engine)] = CrossingWriter(
                engine, codes.sealer, functools.partial(_writing_on, engine), codes=codes
            )
        return got


def prepare_device(
    call: Call, codes: CodeContext, crossing: CrossingIn, *, via: str = "api",
    home: Path | None = None,
) -> tuple[PreparedCrossing | CrossingOut, LogisticsRules]:  # fmt: skip
    """A checkpoint device's crossing decided on a read connection (nothing locked,
    nothing written): the stored outcome of a replay, or the crossing to store, with the
    rules that decided it."""
    call.require(LOGISTICS_CROSSING)
    rules, verify_pass = _prepared(codes, home)
    with call.engine.connect() as conn:
        cp = _checkpoint_for(conn, call, crossing.checkpoint_code)
        if cp.code != crossing.checkpoint_code:
            crossing = CrossingIn(**{**crossing.__dict__, "checkpoint_code": cp.code})
        got = prepare_crossing(
            conn, crossing, at=call.now(), actor=call.actor.name, via=via, rules=rules,
            sealer=codes.sealer, verify_pass=verify_pass, tz=codes.tz, create=False,
            checkpoint=cp,
        )  # fmt: skip
    return got, rules


def record_device(
    call: Call, codes: CodeContext, crossing: CrossingIn, *, via: str = "api",
    home: Path | None = None, writer: CrossingWriter | None = None,
) -> CrossingOut:  # fmt: skip
    """``record`` for a checkpoint's device, the same answer and the same rows, faster:
    the crossing is decided on a read connection (``prepare_device``), a replay answered
    from there, any other outcome handed to the group-commit writer (which collects the
    samples too); a crossing that hands someone to the closed loop — or that the writer
    sends back — is recorded by ``record``."""
    call.require(LOGISTICS_CROSSING)
    if call.actor.kind != "device":
        return record(call, codes, crossing, via=via, home=home)
    got, rules = prepare_device(call, codes, crossing, via=via, home=home)
    if isinstance(got, CrossingOut):
        return got
    if not got.hands_over:
        try:
            return (writer or writer_for(call.engine, codes)).submit(got, rules)
        except Redo:
            pass
    return record(call, codes, crossing, via=via, home=home)


def import_file(
    call: Call, codes: CodeContext, rows: Sequence[FileCrossing], *, source: str,
    home: Path | None = None,
) -> list[CrossingOut]:  # fmt: skip
    """Record the crossings of a file: all or none (a bad row names file, row and field)."""

    def body(conn: Connection) -> tuple[list[CrossingOut], str | None]:
        call.require(LOGISTICS_MANAGE, LOGISTICS_CROSSING)
        out = []
        for fc in rows:
            try:
                out.append(_record(conn, call, codes, fc.crossing, "file", home))
            except FangkongError as exc:
                raise row_error(source, fc, exc) from exc
        return out, f"{len(out)} crossings"

    with _writing(call):
        return call.audited("logistics.import", "checkpoint", None, body)


def checkpoints(call: Call, bounded: Bounded | None = None) -> tuple[list[Row[Any]], int]:
    """The checkpoints inside the caller's jurisdiction (one page)."""
    call.require(LOGISTICS_READ)
    region = call.actor.region_code
    with call.engine.connect() as conn:
        return list_checkpoints(
            conn, regions_in=None if region is None else subtree(region), bounded=bounded
        )


@dataclass(frozen=True)
class Desk:
    checkpoint: Row[Any]
    crossings: list[Row[Any]]
    total: int
    people: dict[int, list[Row[Any]]]
    names: dict[int, str]
    since: datetime


def desk(call: Call, code: str, bounded: Bounded | None = None) -> Desk:
    """A checkpoint and one page of today's crossings with their people (names masked
    unless person.read_full)."""
    start = datetime.combine(call.today(), time(0), tzinfo=call.tz)

    def body(conn: Connection) -> tuple[Desk, str | None]:
        call.require(LOGISTICS_READ)
        cp = _checkpoint_for(conn, call, code)
        rows, total = list_crossings(
            conn, cp.code, since=start, until=start + timedelta(days=1), bounded=bounded
        )
        people = people_of(conn, [int(r.id) for r in rows])
        ids = [int(p.person_id) for ps in people.values() for p in ps]
        return Desk(cp, rows, total, people, names(conn, call.actor, ids), start), None

    return call.audited("logistics.desk", "checkpoint", code[:80], body)


def add(call: Call, cp: CheckpointIn) -> bool:
    """Add a checkpoint in the caller's jurisdiction (False: stored before as given)."""

    def body(conn: Connection) -> tuple[bool, str | None]:
        call.require(LOGISTICS_MANAGE)
        if not inside(conn, call.actor, cp.region_code):
            raise forbidden(LOGISTICS_MANAGE)
        return add_checkpoint(conn, cp), None

    return call.audited("logistics.checkpoint_add", "checkpoint", cp.code[:80], body)
