"""One clock (系统时钟): the only module that reads the machine's clock.

Two kinds of time, never mixed:

``now()`` — **business time**, the system's "now". Everything a person or a rule reads as
the present reads it: pages ("as of"), deadlines and overdue marks, escalation, pace and
progress, forecasts, lifting clocks, validity windows of QR tokens and scans, the date
an ID number or an import is checked against, record timestamps. It follows the setting
``FANGKONG_CLOCK``:

- ``auto`` (default): the replay instant stored in the database (table ``system_clock``,
  set by ``set_replay``, e.g. by the demo's province loop at the end of each simulated
  day) if one is set, otherwise live. The row is read at most once a second per process
  (the scan path calls ``now()`` thousands of times a second); a process that sets or
  clears it sees its own change at once, other processes within a second.
- ``live``: machine time.
- an ISO-8601 instant with offset (``2022-04-08T00:00+08:00``): fixed at that instant.

A replay or fixed clock stands still at its instant; the province loop moves it.

``wall()`` — **machine time**, only for security timers whose meaning is elapsed real
time: login sessions (idle and maximum age), lockouts, login rate limits, device and
session tokens, and the time an audit row is written. A demo replaying 2022 must not end
a session opened a minute ago because the replay clock is years behind, and the audit
log says when something was really done.

Unconfigured (library use, tests) the clock is live. ``frozen(at)`` fixes ``now()`` for
a test; service functions keep their explicit ``at=``/``now=`` parameters, and a caller
that passes a time keeps control of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from fangkong.errors import BadInput, Problem

if TYPE_CHECKING:
    from fangkong.settings import Settings

Mode = Literal["auto", "live", "fixed"]
Bind = Engine | Connection

REPLAY_TTL_S = 1.0  # how long a process trusts the replay instant it read (auto mode)

CLOCK_INVALID = (
    "时钟设置应为 auto、live 或带时区偏移的 ISO-8601 时刻（如 2022-04-08T00:00+08:00）"
    " / must be auto, live or an ISO-8601 instant with offset (e.g. 2022-04-08T00:00+08:00)"
)


@dataclass(frozen=True)
class ClockSetting:
    """The parsed ``FANGKONG_CLOCK``: a mode, and the instant when fixed (UTC)."""

    mode: Mode
    at: datetime | None = None

    def __str__(self) -> str:
        return self.at.isoformat() if self.at is not None else self.mode


AUTO = ClockSetting("auto")
LIVE = ClockSetting("live")


@dataclass(frozen=True)
class Replay:
    """The replay instant stored in the database: when, who set it, and when (wall)."""

    at: datetime
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class Reading:
    """What ``now()`` returns and why: ``source`` is frozen, fixed, replay or live."""

    mode: Mode
    at: datetime
    source: Literal["frozen", "fixed", "replay", "live"]
    replay: Replay | None


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with an offset, as aware UTC; anything else is refused."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{CLOCK_INVALID}: {text!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{CLOCK_INVALID}: {text!r} has no offset / 缺少时区偏移")
    return value.astimezone(UTC)


def parse_setting(text: str) -> ClockSetting:
    """``FANGKONG_CLOCK``: auto, live or a fixed instant; a bad value raises ValueError."""
    word = text.strip().lower()
    if word in ("auto", "live"):
        return AUTO if word == "auto" else LIVE
    return ClockSetting("fixed", parse_instant(text))


@dataclass
class _State:
    setting: ClockSetting | None = None  # None: unconfigured (live)
    engine: Engine | None = None
    frozen: datetime | None = None
    replay_at: datetime | None = None  # the cached replay instant (auto mode)
    replay_until: float = 0.0  # time.monotonic() when the cache goes stale


_state = _State()
_lock = threading.Lock()


def wall() -> datetime:
    """Machine time (aware UTC), for security timers and audit rows only (see above)."""
    return datetime.now(UTC)


def now() -> datetime:
    """The system's business time (aware UTC)."""
    st = _state
    if st.frozen is not None:
        return st.frozen
    setting = st.setting
    if setting is None or setting.mode == "live":
        return wall()
    if setting.at is not None:
        return setting.at
    at = _cached_replay()
    return wall() if at is None else at


def today(tz: tzinfo) -> date:
    """The local date of ``now()`` in ``tz`` (the region's time zone)."""
    return now().astimezone(tz).date()


def configure(settings: Settings | None, engine: Engine | None = None) -> None:
    """Make this process's clock follow ``settings.clock`` (and, in auto mode, the replay
    instant stored in ``engine``). ``configure(None)`` returns to unconfigured (live)."""
    with _lock:
        _state.setting = None if settings is None else settings.clock
        _state.engine = engine
        _state.replay_at = None
        _state.replay_until = 0.0


@contextmanager
def configured(settings: Settings, engine: Engine | None = None) -> Iterator[None]:
    """``configure`` for the block, then the configuration before it again (a CLI command
    run in-process, e.g. by a test, leaves no clock behind)."""
    before = (_state.setting, _state.engine)
    configure(settings, engine)
    try:
        yield
    finally:
        with _lock:
            _state.setting, _state.engine = before
            _state.replay_at = None
            _state.replay_until = 0.0


def reset() -> None:
    """Unconfigured again, nothing frozen (tests)."""
    configure(None)
    _state.frozen = None


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Fix ``now()`` at ``at`` (aware) for the block, in every thread; nests."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    before = _state.frozen
    _state.frozen = at.astimezone(UTC)
    try:
        yield _state.frozen
    finally:
        _state.frozen = before


def _cached_replay() -> datetime | None:
    st = _state
    if time.monotonic() < st.replay_until:
        return st.replay_at
    engine = st.engine
    if engine is None:
        return None
    # One thread reads the row; the others keep the stale value meanwhile rather than wait
    # (the scan path runs on the event loop), except before the first read.
    if not _lock.acquire(blocking=st.replay_until == 0.0):
        return st.replay_at
    try:
        if time.monotonic() < st.replay_until:  # another thread refreshed it meanwhile
            return st.replay_at
        try:
            found = replay(engine)
        except SQLAlchemyError:
            found = None  # not migrated yet (db upgrade) or unreachable: live
        st.replay_at = None if found is None else found.at
        st.replay_until = time.monotonic() + REPLAY_TTL_S
        return st.replay_at
    finally:
        _lock.release()


def _engine_of(bind: Bind) -> Engine:
    return bind.engine if isinstance(bind, Connection) else bind


def _remember(bind: Bind, at: datetime | None) -> None:
    """This process changed the replay instant: its own clock follows at once."""
    st = _state
    if st.engine is None or st.engine.url != _engine_of(bind).url:
        return
    with _lock:
        st.replay_at = at
        st.replay_until = time.monotonic() + REPLAY_TTL_S


def replay(bind: Bind) -> Replay | None:
    """The replay instant stored in the database, if one is set."""
    from fangkong.store.schema import system_clock

    def read(conn: Connection) -> Replay | None:
        row = conn.execute(
            select(system_clock.c.at, system_clock.c.set_by, system_clock.c.set_at).where(
                system_clock.c.id == 1
            )
        ).first()
        if row is None or row.at is None:
            return None
        return Replay(row.at, row.set_by, row.set_at)

    if isinstance(bind, Connection):
        return read(bind)
    with bind.connect() as conn:
        return read(conn)


def set_replay(bind: Bind, at: datetime, *, by: str) -> Replay:
    """Store the replay instant (aware): in auto mode every process's ``now()`` is ``at``
    from now on (this one at once, others within a second)."""
    from fangkong.store.schema import system_clock
    from fangkong.store.tx import write_transaction

    if at.tzinfo is None or at.utcoffset() is None:
        raise BadInput(
            Problem(
                "clock.naive",
                "回放时刻须带时区偏移",
                "the replay instant needs a time-zone offset",
            )
        )
    value = Replay(at.astimezone(UTC), by[:80], wall())
    row = {"at": value.at, "set_by": value.set_by, "set_at": value.set_at}
    with write_transaction(bind) as conn:
        changed = conn.execute(update(system_clock).where(system_clock.c.id == 1).values(**row))
        if changed.rowcount == 0:
            conn.execute(system_clock.insert().values(id=1, **row))
    _remember(bind, value.at)
    return value


def clear_replay(bind: Bind) -> bool:
    """Forget the replay instant (auto mode goes live); False if none was set."""
    from fangkong.store.schema import system_clock
    from fangkong.store.tx import write_transaction

    with write_transaction(bind) as conn:
        gone = conn.execute(system_clock.delete().where(system_clock.c.id == 1)).rowcount
    _remember(bind, None)
    return bool(gone)


def reading(bind: Bind) -> Reading:
    """The clock as ``fangkong clock show`` tells it: mode, instant and its source; the
    replay instant is read from ``bind`` now (not from the cache)."""
    st = _state
    setting = st.setting or LIVE
    stored = replay(bind)
    if st.frozen is not None:
        return Reading(setting.mode, st.frozen, "frozen", stored)
    if setting.at is not None:
        return Reading(setting.mode, setting.at, "fixed", stored)
    if setting.mode == "auto" and stored is not None:
        return Reading("auto", stored.at, "replay", stored)
    return Reading(setting.mode, wall(), "live", stored)
