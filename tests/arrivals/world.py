"""The arrivals world on the twin's province: risk areas, an arrival point, teams, vehicles,
a quarantine hotel and a lab; manifest rows with valid synthetic resident IDs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from fangkong.arrivals.dispatch import save_team, save_vehicle
from fangkong.arrivals.rules import ArrivalRules
from fangkong.command.raising import RaisingRules, raise_tasks
from fangkong.command.tables import command_tasks
from fangkong.command.tasks import Escalated, escalate_overdue
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.resident_id import check_character
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.quarantine.facilities import FacilityInput, save_facility
from fangkong.quarantine.rules import QuarantineRules
from fangkong.riskareas.service import designate
from fangkong.store.schema import regions, venues
from fangkong.testing.campaigns import add_lab
from fangkong.testing.rules import TestingRules
from tests.conftest import TEST_SEAL_KEY

T0 = datetime(2022, 3, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: the flight lands
COUNTY_A, COUNTY_B = "140102", "140121"
COMPOUND_A, COMPOUND_B = "140102001001001", "140121100200001"
TOWNSHIP_A = "140102001000"
POINT = "V140102000009"  # 兴安站, a transit hub of the twin's province


@dataclass(frozen=True)
class World:
    engine: Engine
    pack_name: str
    codes: CodeContext
    rules: ArrivalRules
    quarantine: QuarantineRules
    testing: TestingRules
    sealer: Sealer


def resident_id(region6: str, birth: date, seq: int) -> str:
    first17 = f"{region6}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def make_world(engine: Engine, pack_name: str = "protocol-9") -> World:
    pack = load_pack(pack_name)
    sealer = Sealer(TEST_SEAL_KEY)
    codes = CodeContext(pack=pack, sealer=sealer, qr=QrKeys.generate())
    rules = ArrivalRules.from_pack(pack)
    designate(
        engine,
        codes,
        region_code=COMPOUND_A,
        level="high",
        reason="病例居住",
        by="test",
        at=T0 - timedelta(days=5),
        now=T0 - timedelta(days=5),
    )
    if "medium" in rules.risks:
        designate(
            engine,
            codes,
            region_code=COMPOUND_B,
            level="medium",
            reason="病例到访",
            by="test",
            at=T0 - timedelta(days=5),
            now=T0 - timedelta(days=5),
        )
    save_team(engine, "CMD-CITY", "市指挥部", "command", "140100")
    save_team(engine, "CMD-A", "右远区指挥部", "command", COUNTY_A, superior_code="CMD-CITY")
    save_team(engine, "CMD-B", "吕汾县指挥部", "command", COUNTY_B, superior_code="CMD-CITY")
    save_team(
        engine,
        "CHK-1",
        "兴安站专班",
        "checkpoint",
        COUNTY_A,
        venue_code=POINT,
        superior_code="CMD-A",
    )
    save_team(engine, "TR-1", "转运一队", "transfer", COUNTY_A, superior_code="CMD-A")
    save_team(engine, "RCV-A", "右远区接收专班", "receiving", COUNTY_A, superior_code="CMD-A")
    save_team(engine, "RCV-B", "吕汾县接收专班", "receiving", COUNTY_B, superior_code="CMD-B")
    with engine.connect() as conn:
        point = conn.execute(select(venues).where(venues.c.code == POINT)).one()
    for i, (kind, cap, dlat) in enumerate((("bus", 20, 0.05), ("van", 6, 0.01), ("car", 3, 0.0))):
        save_vehicle(
            engine, rules, f"VH{i + 1}", kind, cap, "TR-1", point.latitude + dlat, point.longitude
        )
    save_facility(
        engine,
        FacilityInput(
            code="H1",
            name="西山隔离酒店",
            kind="hotel",
            region_code=COUNTY_A,
            status="open",
            single_rooms=10,
            family_rooms=0,
            family_beds=3,
            accessible_rooms=0,
            zones=3,
            staff=10,
            latitude=point.latitude + 0.1,
            longitude=point.longitude + 0.1,
        ),
        by="test",
    )
    add_lab(engine, "LAB1", "第一检测实验室", COUNTY_A, 24_000)
    return World(
        engine,
        pack_name,
        codes,
        rules,
        QuarantineRules.from_pack(pack),
        TestingRules.from_pack(pack),
        sealer,
    )


def traveller(seq: int, history: str, destination: str = COMPOUND_A, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id_type": "resident_id",
        "id_number": resident_id("110105", date(1985, 1, 1 + seq % 27), seq),
        "name": f"旅客{seq}",
        "phone": f"1380013{seq:04d}",
        "arrived_at": T0.isoformat(),
        "destination_region": destination,
        "destination_address": f"兴安市某路{seq}号",
        "travel_history": history,
    }
    row.update(over)
    return row


def command_step(w: World, at: datetime) -> list[Escalated]:
    """The command centre's step of the province loop at ``at``: raise the tasks the
    sources ask for, then escalate the overdue ones (the closed loop's one escalation)."""
    rules = RaisingRules.from_context(w.codes)
    with w.engine.begin() as conn:
        raise_tasks(conn, rules, at=at)
        return escalate_overdue(conn, rules.command, at=at)


def stage_task(w: World, source_id: str) -> Any:
    """The ``closed_loop_overdue`` task of ``<traveller>/<stage>`` (None: not raised)."""
    t = command_tasks.c
    with w.engine.connect() as conn:
        return conn.execute(select(command_tasks).where(
            t.kind == "closed_loop_overdue", t.source_id == source_id)).first()  # fmt: skip


def parent_of(engine: Engine, code: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(regions.c.parent_code).where(regions.c.code == code)
        ).scalar_one_or_none()
