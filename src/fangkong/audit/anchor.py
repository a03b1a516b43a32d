"""Anchoring the audit chain outside its table (审计日志锚定).

The hash chain proves that no row inside the log was changed, but not that the newest
rows are still there: someone with DDL rights can drop the triggers, delete the newest
rows (or all of them) and move ``audit_head`` back, and the shorter chain is intact. So
the chain's head is also written, as a signed checkpoint, to an append-only file in the
data directory (``{home}/audit/anchor.log``) and optionally to a second file
(``FANGKONG_AUDIT_ANCHOR_COPY``)::

    {"at": "...", "hmac": "<hex>", "row_hash": "<hex>", "seq": 1234}

one JSON line each, the ``hmac`` an HMAC-SHA256 under the audit key (kept in
``{home}/keys``, never in the database) of ``seq``, ``row_hash`` and ``at``.

When: :func:`fangkong.audit.log.record` calls :func:`checkpoint` while it holds the lock
on ``audit_head``, with the head it read there, i.e. the newest *committed* row (never
the row being appended, which might still roll back). Holding that lock, appenders of
every process write checkpoints one at a time, so lines only ever grow in ``seq``. A
checkpoint is written when the head moved ``audit_anchor_rows`` rows past the last one,
or ``audit_anchor_seconds`` passed since it (and the head moved). The newest rows since
the last checkpoint are therefore not anchored yet: the anchor lags the table by design
and verification accepts that.

Which engine anchors where is registered once by :func:`attach` (the server, the CLI);
an engine never attached (a test, a script) appends without anchoring.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from fangkong import clock
from fangkong.settings import Settings

log = logging.getLogger(__name__)

_LABEL = b"fangkong/audit-anchor/v1\n"  # a checkpoint's MAC never equals a row's
_TAIL_BYTES = 1024  # a line is ~170 bytes: the last one lies in the file's last kilobyte


@dataclass(frozen=True)
class Anchor:
    """Where and how often an engine's audit appends are anchored."""

    paths: tuple[Path, ...]
    every_rows: int = 1
    every_seconds: int = 0  # 0: by rows only

    @classmethod
    def from_settings(cls, settings: Settings) -> Anchor:
        return cls(
            anchor_paths(settings), settings.audit_anchor_rows, settings.audit_anchor_seconds
        )


@dataclass(frozen=True)
class Checkpoint:
    line: int  # 1-based line number in its file
    seq: int
    row_hash: bytes
    at: str


@dataclass(frozen=True)
class AnchorProblem:
    line: int  # 0: the file as a whole
    reason: str


_ATTACHED: weakref.WeakKeyDictionary[Engine, Anchor] = weakref.WeakKeyDictionary()


def anchor_paths(settings: Settings) -> tuple[Path, ...]:
    """The anchor file in the data directory, then the copy if one is configured."""
    primary = settings.home / "audit" / "anchor.log"
    copy = settings.audit_anchor_copy.strip()
    return (primary, Path(copy).expanduser()) if copy else (primary,)


def attach(engine: Engine, anchor: Anchor) -> None:
    """From now on, audit rows appended through ``engine`` are anchored by ``anchor``."""
    _ATTACHED[engine] = anchor


def attached(engine: Engine) -> Anchor | None:
    return _ATTACHED.get(engine)


def _mac(key: bytes, seq: int, row_hash: bytes, at: str) -> str:
    body = json.dumps([seq, row_hash.hex(), at], separators=(",", ":")).encode()
    return hmac.new(key, _LABEL + body, hashlib.sha256).hexdigest()


def line_for(key: bytes, seq: int, row_hash: bytes, at: datetime) -> bytes:
    """One signed checkpoint as a JSON line (bytes, newline included)."""
    stamp = at.isoformat()
    fields = {"seq": seq, "row_hash": row_hash.hex(), "at": stamp}
    fields["hmac"] = _mac(key, seq, row_hash, stamp)
    return (json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _parse(key: bytes, number: int, text: str) -> Checkpoint | AnchorProblem:
    try:
        fields = json.loads(text)
        seq, row_hash, at, mac = fields["seq"], fields["row_hash"], fields["at"], fields["hmac"]
        if not (isinstance(seq, int) and isinstance(at, str) and isinstance(mac, str)):
            raise TypeError(seq)
        digest = bytes.fromhex(row_hash)
    except (ValueError, KeyError, TypeError):
        return AnchorProblem(number, "anchor line is not a checkpoint (torn or edited)")
    if not hmac.compare_digest(_mac(key, seq, digest, at), mac):
        return AnchorProblem(number, "anchor line has a bad signature (forged or edited)")
    return Checkpoint(number, seq, digest, at)


def _last(path: Path, key: bytes) -> tuple[Checkpoint | None, bool]:
    """The file's last valid checkpoint (if its last line is one) and whether the file
    ends in a newline (False after a torn write: the next line starts on a fresh one)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
    except FileNotFoundError:
        return None, True
    if not tail:
        return None, True
    lines = tail.decode("utf-8", errors="replace").rstrip("\n").split("\n")
    found = _parse(key, 0, lines[-1])
    return (found if isinstance(found, Checkpoint) else None), tail.endswith(b"\n")


def _due(anchor: Anchor, last: Checkpoint | None, seq: int, now: datetime) -> bool:
    if last is None:
        return True
    if seq <= last.seq:  # nothing new, or the head went back (verify reports that)
        return False
    if seq - last.seq >= anchor.every_rows:
        return True
    if anchor.every_seconds <= 0:
        return False
    try:
        elapsed = (now - datetime.fromisoformat(last.at)).total_seconds()
    except (ValueError, TypeError):
        return True
    return elapsed >= anchor.every_seconds


def _append(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        # one write of one short line: O_APPEND puts it whole at the end, whoever else
        # appends (and appenders take turns anyway: they hold the audit_head lock)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint(engine: Engine, key: bytes, seq: int, row_hash: bytes) -> None:
    """Anchor the committed head ``(seq, row_hash)`` if ``engine`` is attached and a
    checkpoint is due. Called with the ``audit_head`` lock held.

    A file that cannot be written is logged, not raised: the audited action goes on (an
    unwritable anchor shows as a lagging one in ``audit verify``)."""
    anchor = _ATTACHED.get(engine)
    if anchor is None or seq <= 0:
        return
    now = clock.wall()
    try:
        last, whole = _last(anchor.paths[0], key)
        if not _due(anchor, last, seq, now):
            return
        data = line_for(key, seq, row_hash, now)
        for path in anchor.paths:
            _, path_whole = (last, whole) if path == anchor.paths[0] else _last(path, key)
            _append(path, data if path_whole else b"\n" + data)
    except OSError:
        log.exception("audit anchor: could not write a checkpoint of row %d", seq)


def read(path: Path, key: bytes) -> Iterator[Checkpoint | AnchorProblem]:
    """Every line of an anchor file, parsed and checked (signature, order)."""
    previous: Checkpoint | None = None
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            found = _parse(key, number, text.rstrip("\n"))
            if (
                isinstance(found, Checkpoint)
                and previous is not None
                and (
                    found.seq < previous.seq
                    or (found.seq == previous.seq and found.row_hash != previous.row_hash)
                )
            ):
                yield AnchorProblem(
                    number, f"anchor line out of order (row {found.seq} after {previous.seq})"
                )
                continue
            if isinstance(found, Checkpoint):
                previous = found
            yield found
