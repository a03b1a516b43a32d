"""Who is acting: a user (session), a device (token) or the operator at the CLI."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fangkong.auth.rights import RIGHTS
from fangkong.errors import Forbidden, Problem


@dataclass(frozen=True)
class Actor:
    """The caller of a service function. ``region_code`` None means the whole store."""

    kind: Literal["user", "device", "cli"]
    name: str  # the audit log's actor: username, device:<id>, cli:<os user>
    rights: frozenset[str]
    region_code: str | None
    user_id: int | None = None
    role: str | None = None
    venue_code: str | None = None
    scope: str | None = None
    expires_at: datetime | None = None

    def can(self, right: str) -> bool:
        return right in self.rights

    def require(self, right: str) -> None:
        if right not in self.rights:
            raise forbidden(right)


def forbidden(right: str) -> Forbidden:
    """The error for an actor who lacks ``right``."""
    return Forbidden(
        Problem(
            "auth.forbidden",
            f"您没有此操作的权限（{RIGHTS.get(right, (right,))[0]}）",
            f"you do not have the right to do this ({right})",
        )
    )


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    region_code: str
    active: bool
    locked_until: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


def cli_actor() -> Actor:
    """The operator at the command line: holds the database and the keys, so every right."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(kind="cli", name=f"cli:{who}", rights=frozenset(RIGHTS), region_code=None)
