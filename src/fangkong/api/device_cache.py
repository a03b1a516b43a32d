"""The device behind a bearer token, remembered for seconds: the busy device endpoints
(``scan_endpoint``, ``crossing_endpoint``) would otherwise read the token and its role's
rights on every request.

A token revoked or expired is refused at most ``DEVICE_CACHE_S`` seconds late (an actor
is kept no longer than its token's expiry); unknown tokens are never cached, so a bad
token costs a lookup each time and fills nothing.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine

from fangkong import clock
from fangkong.auth.devices import device_actor
from fangkong.auth.model import Actor

DEVICE_CACHE_S = 30.0
MAX_DEVICES = 10_000  # a province's checkpoints and scanners of one server: cleared past it


class DeviceCache:
    """Actors by token for ``DEVICE_CACHE_S`` seconds (a dict; safe across threads: a
    race at worst reads a token twice)."""

    def __init__(self, seconds: float = DEVICE_CACHE_S) -> None:
        self.seconds = seconds
        self._actors: dict[str, tuple[float, Actor]] = {}

    def actor(self, engine: Engine, token: str) -> Actor:
        """The device's actor; raises as ``device_actor`` does for an unknown, revoked or
        expired token."""
        now = time.monotonic()
        hit = self._actors.get(token)
        if hit is not None and now < hit[0]:
            return hit[1]
        actor = device_actor(engine, token)
        left = (actor.expires_at - clock.wall()).total_seconds() if actor.expires_at else 0.0
        if len(self._actors) > MAX_DEVICES:
            self._actors.clear()
        self._actors[token] = (now + min(self.seconds, max(left, 0.0)), actor)
        return actor


__all__ = ["DEVICE_CACHE_S", "DeviceCache"]
