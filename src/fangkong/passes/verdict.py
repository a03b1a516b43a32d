"""A pass's verdict at a checkpoint, from the stored pass and what the checkpoint saw.

Pure: no database (``fangkong.passes.verify`` reads the row, this module judges it). The
checks, in this order, the first failing one naming the verdict:

1. nothing shown → ``none``; not a genuine token, an unknown serial, a superseded
   revision (the pass was renewed: its new paper holds the new revision) or a period not
   begun → ``invalid``;
2. revoked at or before the crossing → ``revoked`` (a crossing sent late by an offline
   device is judged at its own time: a pass revoked after it was still valid then);
3. past its period (plus the pack's clock grace) → ``expired``;
4. another plate → ``wrong_vehicle``;
5. a driver in the cab not named on the pass, or no driver at all → ``wrong_driver``;
6. the checkpoint off the route → ``wrong_route``: the route is on the pass as origin,
   destination and via points (admin-division codes, possibly in other provinces); a
   checkpoint is on it when its region code shares ``[passes] route_match``'s leading
   digits (province 2, city 4, county 6) with one of them. A lorry crosses the cities it
   drives through, so a transit city is named as a via point; a closed-loop pass
   (点对点) names none and is seen only in its origin's or destination's city.
7. otherwise ``valid``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from fangkong.passes.model import (
    EXPIRED,
    INVALID,
    NONE,
    REVOKED,
    VALID,
    WRONG_DRIVER,
    WRONG_ROUTE,
    WRONG_VEHICLE,
    normal_plate,
)


@dataclass(frozen=True)
class PassCheck:
    """A checkpoint's answer: the verdict (``model.VERDICTS``), the serial shown (None
    when nothing was or the token was not genuine) and why, in both languages."""

    verdict: str
    serial: str | None
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class StoredPass:
    """What a verdict reads of a stored pass."""

    serial: str
    revision: int
    plate: str
    origin_region: str
    destination_region: str
    via: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    closed_loop: bool
    driver_ids: frozenset[int]

    @property
    def route(self) -> tuple[str, ...]:
        return (self.origin_region, *self.via, self.destination_region)


NOTHING_SHOWN = PassCheck(NONE, None, "未出示通行证", "no pass shown")


def not_genuine(why: str) -> PassCheck:
    """The answer for a token that is not a pass token (``malformed``) or is altered."""
    if why == "forged":
        return PassCheck(
            INVALID,
            None,
            "通行证二维码签名无效（伪造或被篡改）",
            "the pass's QR signature is invalid (forged or altered)",
        )
    return PassCheck(INVALID, None, "不是通行证二维码或编号", "not a pass QR code or serial number")


def unknown_serial(serial: str) -> PassCheck:
    return PassCheck(
        INVALID, serial, f"查无此通行证（{serial}）", f"no pass has the serial {serial}"
    )


def on_route(checkpoint_region: str, route: Sequence[str], prefix: int) -> bool:
    """Whether ``checkpoint_region`` shares its first ``prefix`` digits with a route point."""
    head = checkpoint_region[:prefix]
    return len(head) == prefix and any(p[:prefix] == head for p in route)


def _local(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def judge(
    stored: StoredPass,
    revision: int | None,
    *,
    plate: str,
    driver_ids: Collection[int],
    checkpoint_region: str,
    at: datetime,
    route_prefix: int,
    grace: timedelta,
    tz: tzinfo,
) -> PassCheck:
    """The verdict of ``stored`` shown as ``revision`` (None: typed by its serial)."""
    s = stored.serial
    if revision is not None and revision != stored.revision:
        return PassCheck(
            INVALID, s,
            f"通行证已换发（出示第 {revision} 版，现行第 {stored.revision} 版）",
            f"the pass was renewed (revision {revision} shown, {stored.revision} in force)",
        )  # fmt: skip
    if stored.revoked_at is not None and stored.revoked_at <= at:
        return PassCheck(
            REVOKED, s,
            f"通行证已于 {_local(stored.revoked_at, tz)} 撤销",
            f"the pass was revoked on {_local(stored.revoked_at, tz)}",
        )  # fmt: skip
    if at < stored.valid_from - grace:
        return PassCheck(
            INVALID, s,
            f"通行证尚未生效（{_local(stored.valid_from, tz)} 起有效）",
            f"the pass is not in force yet (valid from {_local(stored.valid_from, tz)})",
        )  # fmt: skip
    if at > stored.valid_until + grace:
        return PassCheck(
            EXPIRED, s,
            f"通行证已于 {_local(stored.valid_until, tz)} 过期",
            f"the pass expired on {_local(stored.valid_until, tz)}",
        )  # fmt: skip
    shown = normal_plate(plate)
    if shown != stored.plate:
        return PassCheck(
            WRONG_VEHICLE, s,
            f"车牌不符：通行证为 {stored.plate}，车辆为 {shown or '（无）'}",
            f"wrong vehicle: the pass is for {stored.plate}, the vehicle is {shown or '(none)'}",
        )  # fmt: skip
    strangers = sorted(set(driver_ids) - stored.driver_ids)
    if not driver_ids or strangers:
        return PassCheck(
            WRONG_DRIVER, s,
            "驾驶员不在通行证上" if strangers else "未登记驾驶员",
            "a driver is not named on the pass" if strangers else "no driver was recorded",
        )  # fmt: skip
    if not on_route(checkpoint_region, stored.route, route_prefix):
        return PassCheck(
            WRONG_ROUTE, s,
            f"卡口不在通行证路线上（{' → '.join(stored.route)}）",
            f"the checkpoint is off the pass's route ({' → '.join(stored.route)})",
        )  # fmt: skip
    if stored.closed_loop:
        return PassCheck(
            VALID, s,
            "通行证有效（闭环管理，点对点运输）",
            "the pass is valid (closed loop: point-to-point)",
        )  # fmt: skip
    return PassCheck(VALID, s, "通行证有效", "the pass is valid")
