"""Verify a pass at a checkpoint: ``check_pass`` (the crossings call it on their hot path).

One indexed read: the pass by its unique serial, joined to its drivers (a few rows, one
round trip). The token's signature is checked with the pass key loaded once per process
(``default_keys``) and the pack's rules parsed once (``default_rules``); a caller holding
its own (a test, the province loop) passes ``keys=`` and ``rules=``. The verdict itself
is ``verdict.judge`` (pure). Nothing is written: the crossing stores serial and verdict.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select

from fangkong.passes.rules import PassRules
from fangkong.passes.tables import freight_pass_drivers as d
from fangkong.passes.tables import freight_passes as p
from fangkong.passes.token import BadToken, PassKeys, load_keys, looks_like_token, read_token
from fangkong.passes.verdict import (
    NOTHING_SHOWN,
    PassCheck,
    StoredPass,
    judge,
    not_genuine,
    unknown_serial,
)
from fangkong.settings import default_tz, load_settings
from fangkong.store.fast import DriverSelect

__all__ = ["PassCheck", "check_pass", "default_keys", "default_rules", "keys_of", "stored_pass"]

_BY_SERIAL = (
    select(p.c.serial, p.c.revision, p.c.plate, p.c.origin_region, p.c.destination_region,
           p.c.via, p.c.valid_from, p.c.valid_until, p.c.revoked_at, p.c.closed_loop,
           d.c.person_id)
    .select_from(p.outerjoin(d, d.c.pass_id == p.c.id))
    .where(p.c.serial == bindparam("serial"))
)  # fmt: skip
_FAST_BY_SERIAL = DriverSelect(lambda: _BY_SERIAL)  # every pass shown at a checkpoint


def stored_pass(conn: Connection, serial: str) -> StoredPass | None:
    """The pass ``serial`` as a verdict reads it, or None (one query)."""
    rows = _FAST_BY_SERIAL.rows(conn, serial=serial)
    if not rows:
        return None
    r = rows[0]
    return StoredPass(
        serial=r.serial,
        revision=r.revision,
        plate=r.plate,
        origin_region=r.origin_region,
        destination_region=r.destination_region,
        via=tuple(r.via or ()),
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        revoked_at=r.revoked_at,
        closed_loop=bool(r.closed_loop),
        driver_ids=frozenset(int(x.person_id) for x in rows if x.person_id is not None),
    )


@functools.cache
def keys_of(home: str) -> PassKeys:
    """The pass key pair of ``home`` (``""``: the settings' home), loaded once."""
    return load_keys(Path(home).expanduser() if home else load_settings().home)


def default_keys() -> PassKeys:
    """The pass key pair of this process's ``FANGKONG_HOME`` (loaded once per home)."""
    return keys_of(os.environ.get("FANGKONG_HOME", ""))


@functools.cache
def _rules_of(home: str, pack: str) -> PassRules:
    from fangkong.policy.loader import load_pack

    return PassRules.from_pack(load_pack(load_settings().policy_pack))


def default_rules() -> PassRules:
    """The ``[passes]`` rules of this process's pack (parsed once per pack setting)."""
    return _rules_of(
        os.environ.get("FANGKONG_HOME", ""), os.environ.get("FANGKONG_POLICY_PACK", "")
    )


def check_pass(
    conn: Connection,
    token_or_serial: str,
    *,
    plate: str,
    driver_ids: Sequence[int],
    checkpoint_region: str,
    at: datetime,
    keys: PassKeys | None = None,
    rules: PassRules | None = None,
    tz: ZoneInfo | None = None,
) -> PassCheck:
    """The verdict on a pass shown at a checkpoint of ``checkpoint_region`` at ``at``:
    its QR token (signature checked) or its serial typed from the paper, for the vehicle
    ``plate`` driven by the registry persons ``driver_ids``."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    text = (token_or_serial or "").strip()
    if not text:
        return NOTHING_SHOWN
    revision: int | None = None
    if looks_like_token(text):
        try:
            claims = read_token(keys or default_keys(), text)
        except BadToken as exc:
            return not_genuine(exc.why)
        serial, revision = claims.serial, claims.revision
    else:
        serial = text.upper()
    stored = stored_pass(conn, serial)
    if stored is None:
        return unknown_serial(serial)
    rules = rules or default_rules()
    return judge(
        stored,
        revision,
        plate=plate,
        driver_ids=driver_ids,
        checkpoint_region=checkpoint_region,
        at=at,
        route_prefix=rules.route_prefix,
        grace=timedelta(minutes=rules.clock_skew_minutes),
        tz=tz or default_tz(),
    )
