"""The twin's freight through the province's checkpoints: the demo's checkpoint desk.

The twin emits, per day, the vehicles checked at its road checkpoints (``crossings``,
``crossing_people``), each checkpoint's hourly report of itself (``road_reports``) and
its closures (``closures``); the truth of which drivers were infected stays apart
(``truth_drivers``). ``CheckpointDesk`` plays the checkpoint staff and the road desk with
the services the device API, the files and the pages call:

1. **set-up** (once, before the arrivals desk builds its teams): every twin checkpoint
   without a venue of the registry gets one (imported like the registry's own: a
   ``checkpoint`` venue, so the arrivals closed loop has a point to hand drivers over
   at), then ``logistics.checkpoints.add_checkpoint``; the key-freight vehicles' passes
   (the drivers the twin says hold one) issued through ``passes.service.issue`` on the
   province's first day, one driver each, the route the driver's home → the province's
   cities;
2. **hour by hour** of the simulated day: the hour's crossings through
   ``record_crossing`` (identities from the registry or the driver's own; the negative
   test shown from elsewhere, 互认; the pass's serial, checked by ``passes.verify.
   check_pass``); the checkpoints' own reports (waiting, wait, lanes; a closure with the
   authority that ordered it, or none) through ``roads.status.record_report``; then
   ``roads.status.refresh`` (queue, wait and closure alerts → road_alert tasks to the
   county) and the road alerts' escalation at the command's pace
   (``command.tasks.escalate_kind``);
3. **the samples** taken at the checkpoints (即采即走) are read by the twin's lab
   (``Twin.assay_drivers``) and resulted through the lab desk like any tube;
4. **the closed loop** reaches the twin: a driver from elsewhere handed to the closed
   loop is managed there (``Interventions.manage_drivers``) until arrivals releases him;
   a resident's placement reaches the twin through the adapter, as any placement.

The truth is checked at the end (``summary``): infected drivers caught (sampled and found
positive, or sent into the closed loop) against those missed.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, func, select

from fangkong.arrivals.tables import travellers
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_tasks
from fangkong.command.tasks import escalate_kind
from fangkong.errors import BadInput
from fangkong.files import private_dir
from fangkong.healthcode.context import CodeContext
from fangkong.logistics.checkpoints import CheckpointIn, add_checkpoint
from fangkong.logistics.crossing_input import CrossingIn, PersonIn
from fangkong.logistics.crossings import record_crossing
from fangkong.logistics.rules import LogisticsRules
from fangkong.passes.rules import PassRules
from fangkong.passes.service import DriverIn, PassRequest, issue
from fangkong.passes.verify import check_pass
from fangkong.registry.service import ImportOptions, import_file
from fangkong.roads.rules import RoadRules
from fangkong.roads.status import ReportIn, record_report, refresh
from fangkong.roads.tables import road_alerts
from fangkong.store.schema import regions, venues
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry
from fangkong.twin.sim import Twin
from fangkong.web.labels import label

BY = "twin:checkpoints"
ROAD_BY = "twin:road-desk"
IDENTITY = ("id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone")
VENUE_COLUMNS = ("code", "name", "type", "region_code", "capacity", "latitude", "longitude",
                 "address")  # fmt: skip


@dataclass
class CheckpointDay:
    """What the checkpoint desk did on one simulated day."""

    day: int
    crossings: int = 0
    people: int = 0
    sampled: int = 0
    closed_loop: int = 0  # people handed to the closed loop
    turned_back: int = 0  # vehicles
    passes_valid: int = 0
    reports: int = 0
    alerts: int = 0  # road alerts open at some refresh of the day (new ones)
    escalated: int = 0
    infected: int = 0  # truth: infected people crossing
    caught: int = 0  # of them sampled positive or sent into the closed loop
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f" │ 卡口 checkpoints 车辆 vehicles {self.crossings:>4,} 采样 sampled "
            f"{self.sampled:>3,} 闭环 closed loop {self.closed_loop:>2,} 劝返 turned back "
            f"{self.turned_back:>2,} 预警 alerts {self.alerts:>2,}"
        )


@dataclass
class CheckpointDesk:
    engine: Engine
    codes: CodeContext
    twin: Twin
    registry: Registry
    start: date
    tz: ZoneInfo
    folder: Path  # a private place for the venue file of the checkpoints without one
    days: list[CheckpointDay] = field(default_factory=list)
    passes: dict[int, str] = field(default_factory=dict)  # twin driver → pass serial
    refused_passes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        pack = self.codes.pack
        self.rules = LogisticsRules.from_pack(pack)
        self.road_rules = RoadRules.from_pack(pack)
        self.pass_rules = PassRules.from_pack(pack)
        self.command = CommandRules.from_pack(pack)
        self.identities = self.twin.freight.identities()
        p = self.registry.persons
        self._who = {c: p[c].to_pylist() for c in IDENTITY}
        self._person_of: dict[int, int] = {}  # twin driver → database person id
        self._managed: dict[int, int] = {}  # twin driver (from elsewhere) → traveller id
        self._to_manage: set[int] = set()
        self._released: set[int] = set()
        self._pending: list[tuple[str, str, datetime, float | None]] = []  # lab results
        self._alerted: set[int] = set()
        self._set_up()

    # ---- set-up ------------------------------------------------------------------------

    def _set_up(self) -> None:
        cp = self.twin.freight.checkpoints
        missing = [i for i, v in enumerate(cp.venue_code) if v is None]
        if missing:
            self._import_venues(missing)
        with self.engine.begin() as conn:
            for i, code in enumerate(cp.code):
                add_checkpoint(
                    conn,
                    CheckpointIn(
                        code, cp.name[i], cp.kind[i], cp.region_code[i], cp.road[i],
                        float(cp.latitude[i]), float(cp.longitude[i]), int(cp.lanes[i]),
                        cp.venue_code[i] or _venue_code(code),
                    ),
                )  # fmt: skip
        self._issue_passes()

    def _import_venues(self, rows: list[int]) -> None:
        """A ``checkpoint`` venue for each twin checkpoint the registry has none for."""
        cp = self.twin.freight.checkpoints
        with self.engine.connect() as conn:
            known = set(conn.execute(select(venues.c.code)).scalars())
        rows = [i for i in rows if _venue_code(cp.code[i]) not in known]
        if not rows:
            return
        with tempfile.TemporaryDirectory(prefix=".cp-", dir=private_dir(self.folder)) as tmp:
            path = Path(tmp) / "venues.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(VENUE_COLUMNS)
                for i in rows:
                    w.writerow([_venue_code(cp.code[i]), cp.name[i], "checkpoint",
                                cp.region_code[i], 200, f"{cp.latitude[i]:.6f}",
                                f"{cp.longitude[i]:.6f}",
                                f"{cp.road[i]} {cp.name[i]}"])  # fmt: skip
            import_file(self.engine, "venues", path, ImportOptions(today=self.start),
                        sealer=self.codes.sealer)  # fmt: skip

    def _issue_passes(self) -> None:
        """Passes for the key-freight vehicles of the drivers the twin says hold one."""
        at = datetime.combine(self.start, datetime.min.time(), self.tz).astimezone(UTC)
        with self.engine.connect() as conn:
            cities = sorted(conn.execute(select(regions.c.code).where(regions.c.level == "city"))
                            .scalars())  # fmt: skip
            province = conn.execute(
                select(regions.c.code).where(regions.c.level == "province")
            ).scalar()
        if not cities or province is None:
            return
        until = at + timedelta(days=self.pass_rules.max_validity_days)
        for row in self.identities.to_pylist():
            if not row["has_pass"] or row["vehicle_kind"] not in self.pass_rules.vehicle_kinds:
                continue
            who = self._identity(int(row["driver"]))
            home = row["home_region"][:2] + "0100"
            req = PassRequest(
                plate=row["plate"], vehicle_kind=row["vehicle_kind"],
                cargo_class=self.pass_rules.cargo_classes[0], origin_region=home,
                destination_region=cities[0], valid_from=at, valid_until=until,
                region_code=str(province),
                drivers=(DriverIn(who["id_number"], who["name"], at - timedelta(hours=6),
                                  id_type=who["id_type"], id_country=who["id_country"],
                                  phone=who["phone"]),),
                via=tuple(c for c in cities[1:][: self.pass_rules.max_via]),
            )  # fmt: skip
            try:
                with self.engine.begin() as conn:
                    got = issue(conn, req, at=at, by=BY, rules=self.pass_rules,
                                sealer=self.codes.sealer, tz=self.tz)  # fmt: skip
            except BadInput as exc:
                self.refused_passes[exc.problem.code] += 1
                continue
            self.passes[int(row["driver"])] = got.serial
            self._person_of[int(row["driver"])] = got.driver_ids[0]

    def _identity(self, driver: int) -> dict[str, Any]:
        row = self.identities.slice(driver, 1).to_pylist()[0]
        person = int(row["person"])
        if person >= 0:
            return {c: self._who[c][person] or None for c in IDENTITY}
        return {c: row[c] or None for c in IDENTITY}

    # ---- the twin's orders -------------------------------------------------------------

    def orders(self) -> tuple[list[int], list[int]]:
        """Drivers from elsewhere to manage under the closed loop from now, and those the
        closed loop released (the twin's ``manage_drivers``, ``release_drivers``)."""
        t = travellers.c
        release: list[int] = []
        if self._managed:
            with self.engine.connect() as conn:
                ids = list(self._managed.values())
                query = select(t.id).where(t.id.in_(ids), t.stage == "released")
                done = set(conn.execute(query).scalars())
            release = sorted(d for d, tid in self._managed.items() if tid in done)
            for d in release:
                del self._managed[d]
        manage, self._to_manage = sorted(self._to_manage), set()
        return manage, release

    # ---- the day -----------------------------------------------------------------------

    def day(self, events: DayEvents) -> CheckpointDay:
        tic = perf_counter()
        d = CheckpointDay(events.day)
        midnight = self._local(events.day, 0)
        crossings = events.crossings.to_pylist()
        people = _group(events.crossing_people.to_pylist())
        truth = events.truth_drivers
        sick = truth.filter(truth["infected"]).to_pylist()
        infected = {(int(r["crossing"]), int(r["driver"])) for r in sick}
        reports = events.road_reports.to_pylist()
        closures = events.closures.to_pylist()
        by_hour: dict[int, list[dict[str, Any]]] = {}
        for c in crossings:
            h = min(23, max(0, int((c["time"] - midnight).total_seconds() // 3600)))
            by_hour.setdefault(h, []).append(c)
        for h in range(24):
            end = midnight + timedelta(hours=h + 1)
            hour = [x for x in reports if x["hour_start"] == midnight + timedelta(hours=h)]
            if (
                not by_hour.get(h)
                and not any(x["waiting"] or x["arrived"] for x in hour)
                and not (
                    any(c["start"] < end and c["end"] > end - timedelta(hours=2) for c in closures)
                )
            ):
                continue  # a quiet hour: nothing reported, nothing to refresh
            with self.engine.begin() as conn:
                for c in by_hour.get(h, []):
                    self._cross(conn, d, c, people.get(int(c["crossing"]), []), infected,
                                events.day)  # fmt: skip
                for r in hour:
                    d.reports += self._report(conn, r, closures, end)
                refresh(conn, at=end, rules=self.road_rules, by=ROAD_BY)
                d.alerts += self._new_alerts(conn)
            esc = self.command.escalation
            d.escalated += len(escalate_kind(self.engine, "road_alert", after_hours=esc.after_hours,
                                             max_level=esc.max_level, at=end))  # fmt: skip
        d.seconds = perf_counter() - tic
        self.days.append(d)
        return d

    def _local(self, day: int, hours: float) -> datetime:
        midnight = datetime.combine(self.start + timedelta(days=day), datetime.min.time(), self.tz)
        return (midnight + timedelta(hours=hours)).astimezone(UTC)

    def _cross(
        self, conn: Any, d: CheckpointDay, c: dict[str, Any], people: list[dict[str, Any]],
        infected: set[tuple[int, int]], day: int,
    ) -> None:  # fmt: skip
        at = c["time"]
        driver = next((int(p["driver"]) for p in people if p["role"] == "driver"), -1)
        shown = []
        for p in people:
            who = self._identity(int(p["driver"]))
            test = p["test_hours"]
            shown.append(PersonIn(
                role=str(p["role"]), id_type=who["id_type"], id_number=who["id_number"],
                name=who["name"], id_country=who["id_country"], sex=who["sex"],
                birth_date=who["birth_date"], phone=who["phone"],
                negative_test_at=None if test is None else at - timedelta(hours=float(test)),
            ))  # fmt: skip
        serial = self.passes.get(driver) if c["holds_pass"] else None
        out = record_crossing(
            conn,
            CrossingIn(
                checkpoint_code=str(c["checkpoint_code"]), ref=f"TW{int(c['crossing'])}", at=at,
                direction=str(c["direction"]), plate=str(c["plate"]),
                vehicle_kind=str(c["vehicle_kind"]), cargo_class=str(c["cargo_class"]),
                origin_region=str(c["origin_region"]),
                destination_region=str(c["destination_region"]),
                history=list(c["history"]), people=shown, pass_token=serial,
                waited_minutes=int(c["waited_minutes"]),
            ),
            at=at + timedelta(minutes=1), actor=BY, via="api", rules=self.rules,
            sealer=self.codes.sealer, codes=self.codes, verify_pass=self._verify, tz=self.tz,
        )  # fmt: skip
        d.crossings += 1
        d.people += len(people)
        d.passes_valid += out.pass_verdict == "valid"  # noqa: S105 - a verdict, not a secret
        d.turned_back += out.outcome == "turned_back"
        for p, o in zip(people, out.people, strict=True):
            drv = int(p["driver"])
            self._person_of[drv] = o.person_id
            sick = (int(c["crossing"]), drv) in infected
            ct = None
            if o.sampled:
                d.sampled += 1
                value = float(self.twin.assay_drivers([drv], day)[0])
                ct = value if np.isfinite(value) else None
                cps = self.twin.freight.checkpoints
                county = cps.county_code[cps.code.index(str(c["checkpoint_code"]))]
                if o.sample_barcode:
                    self._pending.append((o.sample_barcode, county, at, ct))
            loop = o.traveller_id is not None
            d.closed_loop += loop
            if loop and p["person"] is None:
                self._managed[drv] = int(o.traveller_id or 0)
                self._to_manage.add(drv)
            if sick:
                d.infected += 1
                positive = ct is not None and bool(self.twin.is_positive(ct))
                d.caught += loop or positive

    def _verify(self, conn: Any, token: str, **kw: Any) -> Any:
        return check_pass(conn, token, rules=self.pass_rules, tz=self.tz, **kw)

    def _report(
        self, conn: Any, r: dict[str, Any], closures: list[dict[str, Any]], end: datetime
    ) -> int:
        """The checkpoint's own report at the hour's end; closed with its authority (or
        none) while a closure lasts."""
        code = str(r["checkpoint_code"])
        shut = next((c for c in closures if c["checkpoint_code"] == code
                     and c["start"] < end <= c["end"] + timedelta(hours=1)), None)  # fmt: skip
        closed = shut is not None and shut["start"] < end <= shut["end"]
        if r["waiting"] == 0 and r["arrived"] == 0 and shut is None:
            return 0  # a quiet hour: the device reports nothing new
        authority = shut["authority"] if closed and shut is not None else None
        record_report(
            conn,
            ReportIn(
                checkpoint_code=code, ref=f"H{end:%Y%m%d%H}", at=end,
                vehicles_waiting=int(r["waiting"]), wait_minutes=int(r["wait_minutes"]),
                lanes_open=0 if closed else int(r["lanes"]),
                status="closed" if closed else "open",
                authority_level="province" if authority else None, authority=authority,
                reason="疫情防控 epidemic control" if closed else None,
            ),
            at=end, by=BY, via="api",
        )  # fmt: skip
        return 1

    def _new_alerts(self, conn: Any) -> int:
        ids = set(conn.execute(select(road_alerts.c.id)).scalars())
        new = ids - self._alerted
        self._alerted |= ids
        return len(new)

    def results(self) -> list[tuple[str, str, datetime, float | None]]:
        """The checkpoint samples of the day for the lab desk (barcode, county, taken, Ct)."""
        out, self._pending = self._pending, []
        return out

    # ---- the end -----------------------------------------------------------------------

    def summary(self) -> list[str]:
        days = self.days
        total = Counter[str]()
        for d in days:
            for k in (
                "crossings",
                "people",
                "sampled",
                "closed_loop",
                "turned_back",
                "passes_valid",
                "reports",
                "alerts",
                "escalated",
                "infected",
                "caught",
            ):
                total[k] += getattr(d, k)  # fmt: skip
        with self.engine.connect() as conn:
            by_condition: dict[str, int] = dict(conn.execute(
                select(road_alerts.c.condition, func.count()).group_by(road_alerts.c.condition)
            ).all())  # fmt: skip
            tasks = conn.execute(select(func.count()).select_from(command_tasks).where(
                command_tasks.c.kind == "road_alert")).scalar_one()  # fmt: skip
        conditions = (
            ", ".join(
                f"{label(k, 'road_condition', 'zh')} {label(k, 'road_condition', 'en')} {v:,}"
                for k, v in sorted(by_condition.items())
            )
            or "0"
        )
        refused = sum(self.refused_passes.values())
        return [
            f"卡口 checkpoints: 车辆 vehicles {total['crossings']:,} (人员 people "
            f"{total['people']:,}); 通行证 passes issued {len(self.passes):,} (拒发 refused "
            f"{refused:,}), 核验有效 valid at checks {total['passes_valid']:,}; 即采即走 "
            f"sampled {total['sampled']:,}; 闭环 into the closed loop {total['closed_loop']:,}; "
            f"劝返 turned back {total['turned_back']:,}",
            f"道路 roads: 上报 reports {total['reports']:,}; 预警 alerts {conditions} → 任务 "
            f"tasks {tasks:,}, 上报 escalated {total['escalated']:,}",
            f"真值核对 truth: 感染司乘 infected people crossing {total['infected']:,}, 发现 "
            f"caught {total['caught']:,} (采样阳性或闭环 sampled positive or closed loop), "
            f"漏检 missed {total['infected'] - total['caught']:,}; 用时 time "
            f"{sum(d.seconds for d in days):.1f} s",
        ]


def _venue_code(checkpoint: str) -> str:
    return f"V{checkpoint}"


def _group(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(int(r["crossing"]), []).append(r)
    return out


__all__ = ["CheckpointDay", "CheckpointDesk", "pa"]
