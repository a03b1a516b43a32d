"""What every health-code use case shares: the :class:`CodeContext` (pack, keys, time
zone, token timing), the :class:`Stamp` a stored code keeps of the facts it saw, and the
clock (``_now``). No database here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from fangkong import clock
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.sealing import Sealer
from fangkong.policy.loader import load_pack
from fangkong.policy.model import Pack
from fangkong.settings import Settings, default_tz


@dataclass(frozen=True)
class CodeContext:
    """What the use cases need besides the database: pack, keys, zone, token timing."""

    pack: Pack
    sealer: Sealer
    qr: QrKeys
    tz: ZoneInfo = field(default_factory=default_tz)
    qr_validity_s: int = 60
    qr_skew_s: int = 10
    offline_s: int = 24 * 3600  # a late (offline) scan is accepted this long after its time

    @classmethod
    def from_settings(cls, settings: Settings) -> CodeContext:
        from fangkong.healthcode.qr import load_or_create_keys
        from fangkong.identity.sealing import load_or_create_key

        return cls(
            pack=load_pack(settings.policy_pack),
            sealer=Sealer(load_or_create_key(settings)),
            qr=load_or_create_keys(settings.qr_key_path),
            tz=ZoneInfo(settings.timezone),
            qr_validity_s=settings.qr_validity_seconds,
            qr_skew_s=settings.qr_clock_skew_seconds,
            offline_s=settings.scan_offline_hours * 3600,
        )


def _now(now: datetime | None) -> datetime:
    if now is not None and now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return now or clock.now()


@dataclass(frozen=True)
class Stamp:
    """A person's ``person_facts`` rows as a code saw them: how many (voided included)
    and the greatest id. A row recorded later changes it; a void makes the code due."""

    count: int = 0
    last_id: int | None = None
