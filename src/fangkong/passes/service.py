"""Passes as use cases on a connection: issue, revoke, read, list (given ``at``).

``issue`` checks the request against the pack's ``[passes]`` rules — every refusal a
named field with a zh + en sentence, all of them at once — then registers the drivers
(registry persons found by sealed document or created, through
``registry.persons.find_or_create_by_document``, living in the issuing region when new)
and stores the pass with a fresh serial. A driver from a medium/high-risk area makes the
pass point-to-point (``closed_loop``: no via point) when the pack says ``closed_loop``,
and is refused when it says ``refuse``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Row, select, update

from fangkong import bounds
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.identity.sealing import Sealer
from fangkong.passes.model import (
    CARRIER_MAX,
    REASON_MAX,
    VEHICLE_KINDS,
    normal_plate,
    plate_ok,
    region_code_ok,
)
from fangkong.passes.rules import PassRules
from fangkong.passes.tables import freight_pass_drivers as d
from fangkong.passes.tables import freight_passes as p
from fangkong.registry.persons import find_or_create_by_document
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Context
from fangkong.registry.validate.persons import check_persons
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import regions

_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O: read off paper


@dataclass(frozen=True)
class DriverIn:
    """A driver as the issuer enters them: identity (sealed when stored) and what they
    showed — the time of their latest negative sample (any province's: 互认), the
    colour of their health code, and whether they come from a medium/high-risk area."""

    id_number: str
    name: str
    tested_at: datetime | None
    id_type: str = "resident_id"
    id_country: str | None = None
    phone: str | None = None
    code_colour: str = "green"
    from_risk_area: bool = False


@dataclass(frozen=True)
class PassRequest:
    plate: str
    vehicle_kind: str
    cargo_class: str
    origin_region: str
    destination_region: str
    valid_from: datetime
    valid_until: datetime
    region_code: str  # the issuing unit (its jurisdiction reads and revokes the pass)
    drivers: tuple[DriverIn, ...]
    via: tuple[str, ...] = ()
    carrier: str | None = None


@dataclass(frozen=True)
class Issued:
    id: int
    serial: str
    revision: int
    closed_loop: bool
    driver_ids: tuple[int, ...]
    created_persons: int


@dataclass(frozen=True)
class DriverView:
    person_id: int
    name: str
    tested_at: datetime
    code_colour: str
    from_risk_area: bool


@dataclass(frozen=True)
class PassView:
    id: int
    serial: str
    revision: int
    plate: str
    vehicle_kind: str
    cargo_class: str
    carrier: str | None
    origin_region: str
    destination_region: str
    via: tuple[str, ...]
    closed_loop: bool
    valid_from: datetime
    valid_until: datetime
    region_code: str
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    pack_ref: str
    drivers: tuple[DriverView, ...] = field(default=())

    def status(self, at: datetime) -> str:
        """``revoked``, ``expired``, ``pending`` (not begun) or ``valid`` at ``at``."""
        if self.revoked_at is not None and self.revoked_at <= at:
            return "revoked"
        if at > self.valid_until:
            return "expired"
        return "pending" if at < self.valid_from else "valid"


STATUSES = ("valid", "pending", "expired", "revoked")
PASS_SORTS = {"serial": p.c.serial, "plate": p.c.plate, "valid_until": p.c.valid_until,
              "issued_at": p.c.issued_at}  # fmt: skip


def _f(name: str, code: str, zh: str, en: str) -> FieldProblem:
    return FieldProblem(name, Problem(f"pass.{code}", zh, en))


def _route_problems(
    conn: Connection, req: PassRequest, rules: PassRules, closed_loop: bool
) -> list[FieldProblem]:
    out = []
    for name, code in (("origin_region", req.origin_region),
                       ("destination_region", req.destination_region)):  # fmt: skip
        if not region_code_ok(code) and not _region_exists(conn, code):
            out.append(_f(name, "region_code", f"地区代码无效：{code!r}（6 位行政区划代码）",
                          f"not an admin-division code: {code!r} (6 digits)"))  # fmt: skip
    bad_via = [v for v in req.via if not region_code_ok(v) and not _region_exists(conn, v)]
    if bad_via:
        out.append(_f("via", "region_code", f"途经地代码无效：{bad_via[0]!r}",
                      f"not an admin-division code: {bad_via[0]!r}"))  # fmt: skip
    elif len(req.via) > rules.max_via:
        out.append(_f("via", "too_many_via", f"途经地最多 {rules.max_via} 个",
                      f"at most {rules.max_via} via points"))  # fmt: skip
    elif closed_loop and req.via:
        out.append(_f("via", "closed_loop_via",
                      "驾驶员来自中高风险地区：闭环管理，点对点运输，不设途经地",
                      "a driver comes from a medium/high-risk area: closed loop, point-to-point, "
                      "no via point"))  # fmt: skip
    return out


def _region_exists(conn: Connection, code: str) -> bool:
    return conn.execute(select(regions.c.code).where(regions.c.code == code)).first() is not None


def _vehicle_problems(req: PassRequest, rules: PassRules) -> list[FieldProblem]:
    out = []
    if not plate_ok(normal_plate(req.plate)):
        out.append(_f("plate", "plate", f"车牌号无效：{req.plate!r}（如 晋A12345）",
                      f"not a vehicle plate: {req.plate!r} (e.g. 晋A12345)"))  # fmt: skip
    if req.vehicle_kind not in rules.vehicle_kinds:
        known = req.vehicle_kind in VEHICLE_KINDS
        out.append(_f("vehicle_kind", "vehicle_kind",
                      "此类车辆不发重点物资运输通行证" if known else "车辆类型无效",
                      "passes are not issued to this kind of vehicle" if known
                      else "unknown vehicle kind"))  # fmt: skip
    if req.cargo_class not in rules.cargo_classes:
        out.append(_f("cargo_class", "not_key_cargo", "所运货物不属于重点物资，不发通行证",
                      "the cargo is not key supplies: no pass"))  # fmt: skip
    if req.carrier is not None and (
        len(req.carrier) > CARRIER_MAX or bounds.text_problem(req.carrier, "carrier")
    ):
        out.append(_f("carrier", "carrier", f"承运单位应为不超过 {CARRIER_MAX} 字的文字",
                      f"the carrier must be text of at most {CARRIER_MAX} characters"))  # fmt: skip
    return out


def _period_problems(
    valid_from: datetime, valid_until: datetime, rules: PassRules, at: datetime
) -> list[FieldProblem]:
    out = []
    if problem := bounds.instant_problem(valid_from, "planned", "valid_from", now=at):
        out.append(FieldProblem("valid_from", problem))
    days = rules.max_validity_days
    if valid_until <= valid_from:
        out.append(_f("valid_until", "period", "有效期止应晚于有效期起",
                      "the pass must end after it begins"))  # fmt: skip
    elif valid_until - valid_from > timedelta(days=days):
        out.append(_f("valid_until", "period_too_long", f"有效期最长 {days} 天",
                      f"a pass is valid for at most {days} days"))  # fmt: skip
    elif valid_until <= at:
        out.append(_f("valid_until", "period_past", "有效期已过", "the period is already over"))
    return out


def _test_problem(
    tested_at: datetime | None, rules: PassRules, at: datetime, field: str
) -> FieldProblem | None:
    """A driver's negative sample older than the pack's hours (or missing, or ahead)."""
    hours = rules.driver_test_hours
    if tested_at is None or tested_at < at - timedelta(hours=hours):
        return _f(field, "driver_test", f"驾驶员须持 {hours} 小时内核酸阴性证明（各省互认）",
                  f"the driver needs a negative test taken within {hours} h "
                  "(any province's)")  # fmt: skip
    if tested_at > at + timedelta(minutes=rules.clock_skew_minutes):
        return _f(field, "driver_test_future", "采样时间晚于当前时间",
                  "the sample is timed in the future")  # fmt: skip
    return None


def _driver_problems(req: PassRequest, rules: PassRules, at: datetime) -> list[FieldProblem]:
    n, out = len(req.drivers), []
    if not rules.min_drivers <= n <= rules.max_drivers:
        low, high = rules.min_drivers, rules.max_drivers
        out.append(_f("drivers", "driver_count", f"驾驶员应为 {low}–{high} 人，实为 {n} 人",
                      f"a pass names {low}–{high} drivers, not {n}"))  # fmt: skip
    for i, drv in enumerate(req.drivers):
        where = f"drivers.{i}"
        if test := _test_problem(drv.tested_at, rules, at, f"{where}.tested_at"):
            out.append(test)
        if drv.code_colour not in rules.driver_code_colours:
            out.append(_f(f"{where}.code_colour", "driver_code", "驾驶员健康码须为绿码",
                          "the driver's health code must be green"))  # fmt: skip
        if drv.from_risk_area and rules.risk_area_drivers == "refuse":
            out.append(_f(f"{where}.from_risk_area", "driver_risk_area",
                          "来自中高风险地区的驾驶员不发通行证",
                          "no pass for a driver from a medium/high-risk area"))  # fmt: skip
    return out


def _checked_drivers(
    req: PassRequest, sealer: Sealer, at: datetime, tz: ZoneInfo
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    cols = ("id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone",
            "household_code", "residence_code", "venue_code", "unit_code",
            "occupation")  # fmt: skip
    text: dict[str, list[Any]] = {c: [None] * len(req.drivers) for c in cols}
    for i, drv in enumerate(req.drivers):
        text["id_type"][i], text["id_number"][i] = drv.id_type, drv.id_number.strip() or None
        text["id_country"][i], text["name"][i] = drv.id_country, drv.name.strip() or None
        text["phone"][i] = drv.phone
    ctx = Context(today=at.astimezone(tz).date(), sealer=sealer)
    checked = check_persons(Batch(1, text, len(req.drivers)), ctx, screen=False)
    problems = [FieldProblem(f"drivers.{rp.row - 1}.{rp.column}", rp.problem)
                for rp in checked.problems]  # fmt: skip
    # a driver entered twice is refused there too (the second row names the first)
    return sorted(checked.rows, key=lambda r: int(r["_row"])), problems


def _new_serial(conn: Connection, region_code: str, at: datetime, tz: ZoneInfo) -> str:
    day = at.astimezone(tz).strftime("%y%m%d")
    for _ in range(8):
        tail = "".join(secrets.choice(_SERIAL_CHARS) for _ in range(6))
        serial = f"{region_code[:6]}-{day}-{tail}"
        if conn.execute(select(p.c.id).where(p.c.serial == serial)).first() is None:
            return serial
    raise Conflict(Problem("pass.serial", "编号冲突，请重试", "serial collision: try again"))


def issue(
    conn: Connection, req: PassRequest, *, at: datetime, by: str, rules: PassRules,
    sealer: Sealer, tz: ZoneInfo,
) -> Issued:  # fmt: skip
    """Issue a pass for ``req`` if it qualifies; ``InvalidFields`` naming every refusal."""
    closed_loop = any(drv.from_risk_area for drv in req.drivers)
    problems = [*_vehicle_problems(req, rules), *_route_problems(conn, req, rules, closed_loop),
                *_period_problems(req.valid_from, req.valid_until, rules, at),
                *_driver_problems(req, rules, at)]  # fmt: skip
    if not _region_exists(conn, req.region_code):
        problems += region_refusal(req.region_code).fields
    people, identity = _checked_drivers(req, sealer, at, tz)
    problems += identity
    if problems:
        raise InvalidFields(
            Problem("pass.refused", "不予签发通行证：" + problems[0].problem.message_zh,
                    "pass refused: " + problems[0].problem.message_en),
            problems,
        )  # fmt: skip
    person_ids, created = find_or_create_by_document(
        conn, people, [req.region_code] * len(people), at
    )
    serial = _new_serial(conn, req.region_code, at, tz)
    pass_id = conn.execute(
        p.insert().values(
            serial=serial, revision=1, plate=normal_plate(req.plate),
            vehicle_kind=req.vehicle_kind, cargo_class=req.cargo_class,
            carrier=req.carrier or None, origin_region=req.origin_region,
            destination_region=req.destination_region, via=list(req.via),
            closed_loop=closed_loop, valid_from=req.valid_from, valid_until=req.valid_until,
            region_code=req.region_code, issued_at=at, issued_by=by, pack_ref=rules.source,
        ).returning(p.c.id)
    ).scalar_one()  # fmt: skip
    conn.execute(
        d.insert(),
        [{"pass_id": pass_id, "person_id": pid, "tested_at": drv.tested_at,
          "code_colour": drv.code_colour, "from_risk_area": drv.from_risk_area}
         for pid, drv in zip(person_ids, req.drivers, strict=True)],
    )  # fmt: skip
    return Issued(int(pass_id), serial, 1, closed_loop, tuple(person_ids), created)


def renew(
    conn: Connection, serial: str, *, valid_until: datetime, tested: Mapping[int, datetime],
    at: datetime, rules: PassRules,
) -> PassView:  # fmt: skip
    """A new revision of pass ``serial`` (换发): in force from ``at`` to ``valid_until``
    (the pack's longest period), every driver with a negative sample within the pack's
    hours (``tested``: person id → sample time). The old paper's token stops verifying
    (it holds the old revision); a revoked pass is not renewed."""
    view = read_pass(conn, serial)
    if view.revoked_at is not None:
        raise Conflict(Problem("pass.already_revoked", f"通行证 {serial} 已撤销，不能换发",
                               f"pass {serial} is revoked: it cannot be renewed"))  # fmt: skip
    start = max(at, view.valid_from)
    problems = _period_problems(start, valid_until, rules, at)
    for i, drv in enumerate(view.drivers):
        if test := _test_problem(tested.get(drv.person_id), rules, at, f"drivers.{i}.tested_at"):
            problems.append(test)
    if problems:
        raise InvalidFields(
            Problem("pass.renewal_refused", "不予换发：" + problems[0].problem.message_zh,
                    "renewal refused: " + problems[0].problem.message_en),
            problems,
        )  # fmt: skip
    conn.execute(update(p).where(p.c.id == view.id).values(
        revision=view.revision + 1, valid_from=start, valid_until=valid_until))  # fmt: skip
    for drv in view.drivers:
        conn.execute(update(d).where(d.c.pass_id == view.id, d.c.person_id == drv.person_id)
                     .values(tested_at=tested[drv.person_id]))  # fmt: skip
    return read_pass(conn, serial)


def revoke(conn: Connection, serial: str, *, reason: str, at: datetime, by: str) -> PassView:
    """Revoke pass ``serial`` for ``reason`` (required); a pass is revoked once."""
    text = reason.strip()
    if not text or len(text) > REASON_MAX or bounds.text_problem(text, "reason", multiline=True):
        raise InvalidFields(
            Problem("pass.reason", f"请写明撤销原因（不超过 {REASON_MAX} 字）",
                    f"give the reason for revoking (at most {REASON_MAX} characters)"),
            [_f("reason", "reason", f"请写明撤销原因（不超过 {REASON_MAX} 字）",
                f"give the reason for revoking (at most {REASON_MAX} characters)")],
        )  # fmt: skip
    view = read_pass(conn, serial)
    if view.revoked_at is not None:
        raise Conflict(Problem("pass.already_revoked", f"通行证 {serial} 已撤销",
                               f"pass {serial} is already revoked"))  # fmt: skip
    conn.execute(
        update(p).where(p.c.id == view.id)
        .values(revoked_at=at, revoked_by=by, revoke_reason=text)
    )  # fmt: skip
    return read_pass(conn, serial)


def _view(r: Row[Any], drivers: tuple[DriverView, ...] = ()) -> PassView:
    return PassView(
        r.id, r.serial, r.revision, r.plate, r.vehicle_kind, r.cargo_class, r.carrier,
        r.origin_region, r.destination_region, tuple(r.via or ()), bool(r.closed_loop),
        r.valid_from, r.valid_until, r.region_code, r.issued_at, r.issued_by, r.revoked_at,
        r.revoked_by, r.revoke_reason, r.pack_ref, drivers,
    )  # fmt: skip


def unknown(serial: str) -> NotFound:
    return NotFound(Problem("pass.unknown", f"查无此通行证（{serial}）",
                            f"no pass has the serial {serial}"))  # fmt: skip


def region_refusal(code: str) -> InvalidFields:
    """The refusal of an issuing region that does not exist — and, from the access layer,
    of one outside the issuer's jurisdiction: the same answer (nothing leaks)."""
    problem = Problem("pass.region_unknown", f"无此地区：{code}", f"no region {code}")
    return InvalidFields(problem, [FieldProblem("region_code", problem)])


def read_pass(conn: Connection, serial: str) -> PassView:
    """Pass ``serial`` with its drivers (names as stored: the access layer masks them)."""
    from fangkong.store.schema import persons

    row = conn.execute(select(p).where(p.c.serial == serial.strip().upper())).first()
    if row is None:
        raise unknown(serial)
    drivers = tuple(
        DriverView(int(x.person_id), x.name, x.tested_at, x.code_colour, bool(x.from_risk_area))
        for x in conn.execute(
            select(d.c.person_id, persons.c.name, d.c.tested_at, d.c.code_colour,
                   d.c.from_risk_area)
            .join(persons, persons.c.id == d.c.person_id)
            .where(d.c.pass_id == row.id).order_by(d.c.id)
        )
    )  # fmt: skip
    return _view(row, drivers)


def page_passes(
    conn: Connection, bounded: Bounded | None, *, at: datetime,
    where: Callable[[ColumnElement[Any]], ColumnElement[bool]] | None = None,
    status: str | None = None, plate: str | None = None,
) -> tuple[list[PassView], int]:  # fmt: skip
    """One page of the passes whose issuing region passes ``where`` (None: all), newest
    first unless sorted by a key of ``PASS_SORTS``, filtered by status at ``at`` and plate."""
    if status is not None and status not in STATUSES:
        raise BadInput(
            Problem("pass.status", f"状态无效：{status!r}", f"unknown status {status!r}")
        )
    query = select(p)
    if where is not None:
        query = query.where(where(p.c.region_code))
    if plate:
        query = query.where(p.c.plate == normal_plate(plate))
    if status == "revoked":
        query = query.where(p.c.revoked_at.is_not(None), p.c.revoked_at <= at)
    elif status in ("valid", "pending", "expired"):
        live = (p.c.revoked_at.is_(None)) | (p.c.revoked_at > at)
        when = {"valid": (p.c.valid_from <= at) & (p.c.valid_until >= at),
                "pending": p.c.valid_from > at,
                "expired": p.c.valid_until < at}[status]  # fmt: skip
        query = query.where(live, when)
    rows, total = listing.fetch(conn, query, bounded, PASS_SORTS, (p.c.issued_at.desc(), p.c.id))
    return [_view(r) for r in rows], total
