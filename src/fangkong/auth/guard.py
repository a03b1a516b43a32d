"""The guard kit: who calls, what they may do, what they may see, and the audit row.

Every capability's ``access.py`` (the guarded use cases that pages, the API and the CLI
call) takes one :class:`Call` instead of the engine, the audit key, the actor, the
caller's address and the time zone one by one, and builds on the helpers here:

- **rights**: :func:`require` raises ``Forbidden`` (403) for the first right missing;
- **jurisdiction**: :func:`within` (a WHERE clause), :func:`inside` (one region code);
- **hidden as absent**: :func:`hidden` marks a not-found error raised for a record that
  exists outside the caller's jurisdiction, so the answer is the same as for a record
  that is absent while the audit row says ``out_of_jurisdiction``;
- **masking**: :func:`names` gives persons' names, masked unless ``person.read_full``;
- **the audit row**: :meth:`Call.audited` / :meth:`Call.audited_after` write one row per
  call, kept when the call is refused (``fangkong.audit.calls``).

The time zone comes from the settings (``FANGKONG_TIMEZONE``) and business time from
the one clock (``fangkong.clock``); a service given ``at`` uses that instant instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar, overload
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, select

from fangkong import clock
from fangkong.audit.calls import audited, audited_after
from fangkong.auth.jurisdiction import in_subtree
from fangkong.auth.jurisdiction import within as _within
from fangkong.auth.model import Actor
from fangkong.auth.rights import PERSON_READ_FULL
from fangkong.errors import FangkongError
from fangkong.identity.masking import mask_name
from fangkong.settings import default_tz
from fangkong.store.schema import persons

T = TypeVar("T")
E = TypeVar("E", bound=FangkongError)

OUT_OF_JURISDICTION = "out_of_jurisdiction"


@dataclass(frozen=True)
class Call:
    """One guarded call: the store, the audit key, who calls and from where, local time.

    Pages and the API build it per request (``fangkong.http.deps.CallDep``); the CLI per
    command. ``at`` pins business time (the province loop, a replay, a test); otherwise
    :meth:`now` reads the one clock.
    """

    engine: Engine
    key: bytes
    actor: Actor
    address: str = "cli"
    tz: ZoneInfo = field(default_factory=default_tz)
    at: datetime | None = None

    def now(self) -> datetime:
        return self.at if self.at is not None else clock.now()

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    def at_time(self, at: datetime | None) -> Call:
        """The same call pinned to ``at`` (unchanged when ``at`` is None)."""
        return self if at is None else replace(self, at=at)

    def require(self, *rights: str) -> None:
        require(self.actor, *rights)

    # The two shapes of ``body``, as in ``fangkong.audit.calls.audited``.
    @overload
    def audited(
        self,
        action: str,
        target_type: str | None,
        target_id: str | None,
        body: Callable[[Connection], tuple[T, str | None]],
    ) -> T: ...
    @overload
    def audited(
        self,
        action: str,
        target_type: str | None,
        target_id: str | None,
        body: Callable[[Connection], tuple[T, str | None, str | None]],
    ) -> T: ...

    def audited(
        self,
        action: str,
        target_type: str | None,
        target_id: str | None,
        body: Callable[[Connection], tuple[T, str | None]]
        | Callable[[Connection], tuple[T, str | None, str | None]],
    ) -> T:
        """``body(conn)`` in one writing transaction with one audit row (see
        ``fangkong.audit.calls.audited``; ``body`` may also return (result, found, detail))."""
        return audited(
            self.engine, self.key, self.actor, self.address, action, target_type, target_id, body
        )

    def audited_after(
        self, action: str, target_type: str | None, target_id: str | None, body: Callable[[], T]
    ) -> T:
        """``body()`` in its own transactions, then one audit row (``audited_after``)."""
        return audited_after(
            self.engine, self.key, self.actor, self.address, action, target_type, target_id, body
        )


def require(actor: Actor, *rights: str) -> None:
    """Raise ``Forbidden`` for the first of ``rights`` the actor lacks."""
    for right in rights:
        actor.require(right)


def within(actor: Actor, column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """A WHERE clause: ``column`` (a region code) lies in the actor's jurisdiction."""
    return _within(actor, column)


def inside(conn: Connection, actor: Actor, region_code: str | None) -> bool:
    """Whether ``region_code`` lies in the actor's jurisdiction (everything for an actor
    without a region; nothing for a record without one, unless the actor has no region)."""
    if actor.region_code is None:
        return True
    return region_code is not None and in_subtree(conn, actor.region_code, region_code)


def hidden(error: E) -> E:
    """``error`` (a not-found), marked as raised for a record outside the jurisdiction:
    the caller is answered as for an absent record, the audit row says what it was."""
    error.outcome = OUT_OF_JURISDICTION  # type: ignore[attr-defined]
    return error


def names(conn: Connection, actor: Actor, person_ids: Sequence[int]) -> dict[int, str]:
    """Names of ``person_ids``: in full with ``person.read_full``, else masked (张*三)."""
    if not person_ids:
        return {}
    full = actor.can(PERSON_READ_FULL)
    rows = conn.execute(
        select(persons.c.id, persons.c.name).where(persons.c.id.in_(list(person_ids)))
    ).all()
    return {int(i): n if full else mask_name(n) for i, n in rows}
