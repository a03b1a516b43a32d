"""A small hand-made world for the accountability tests: a province, a city, counties,
persons living in them, and rows with known timestamps (cases, results, contacts,
placements, campaigns, tubes, tasks) written straight into the tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count

from sqlalchemy import Connection, insert

from fangkong.command.tables import command_tasks
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons, regions
from fangkong.testing.tables import batches, campaigns, results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
PROVINCE, CITY = "P1", "C1"
COUNTIES = ("K1", "K2", "K3")
TOWN = "T1"  # a township under K1


def h(n: float) -> timedelta:
    return timedelta(hours=n)


@dataclass
class World:
    conn: Connection
    ids: count[int] = field(default_factory=lambda: count(1))

    def regions(self) -> None:
        rows = [
            (PROVINCE, None, "province", "省"),
            (CITY, PROVINCE, "city", "市"),
            *((k, CITY, "county", f"县{k}") for k in COUNTIES),
            (TOWN, "K1", "township", "镇T1"),
        ]
        self.conn.execute(
            insert(regions),
            [{"code": c, "parent_code": p, "level": lv, "name": n} for c, p, lv, n in rows],
        )
        self.conn.execute(
            insert(batches),
            [{"id": 1, "lab_code": None, "posted_at": NOW - h(500), "posted_by": "lab",
              "rows": 0, "inserted": 0}],
        )  # fmt: skip

    def person(self, region: str) -> int:
        pid = next(self.ids)
        self.conn.execute(
            insert(persons).values(
                id=pid, doc_type="resident_id", doc_country="CHN",
                doc_hash=hashlib.sha256(str(pid).encode()).digest(), doc_sealed=b"x",
                name=f"测试{pid}", sex="M", birth_date=date(1980, 1, 1),
                residence_code=region, occupation="other",
            )
        )  # fmt: skip
        return pid

    def tube(self, person_ids: list[int], region: str, collected: datetime,
             campaign: int | None = None) -> int:  # fmt: skip
        tid = next(self.ids)
        self.conn.execute(
            insert(tubes).values(
                id=tid, barcode=f"B{tid}", pool_size=len(person_ids), purpose="screening",
                point="p", region_code=region, collector="c", collected_at=collected,
                campaign_id=campaign,
            )
        )  # fmt: skip
        self.conn.execute(insert(tube_members), [{"tube_id": tid, "person_id": p}
                                                 for p in person_ids])  # fmt: skip
        return tid

    def result(self, tube: int, at: datetime, outcome: str = "positive") -> None:
        rid = next(self.ids)
        self.conn.execute(
            insert(results).values(id=rid, tube_id=tube, run=f"r{rid}", batch_id=1,
                                   lab_valid=True, outcome=outcome, tested_at=at)
        )  # fmt: skip

    def case(
        self, person: int, registered: datetime, traced: datetime | None = None,
        **steps: datetime | None,
    ) -> None:  # fmt: skip
        """A case; ``steps``: verified, on_site, core_facts, report (when each was stamped)."""
        stamps = {f"{k}_at": v for k, v in steps.items()}
        self.conn.execute(
            insert(tracing_cases).values(
                person_id=person, sample_date=registered.date(), infectious_from=registered,
                rules_source="test", registered_at=registered, registered_by="t",
                traced_at=traced, **stamps,
            )
        )  # fmt: skip

    def contact(self, person: int, identified: datetime, kind: str = "close") -> None:
        self.conn.execute(
            insert(tracing_contacts).values(
                person_id=person, kind=kind, status="identified",
                first_exposure_at=identified - h(30), last_exposure_at=identified - h(24),
                identified_at=identified, status_at=identified, status_by="t",
            )
        )  # fmt: skip

    def placement(self, person: int, starts: datetime, created: datetime,
                  kind: str = "centralised", ended: datetime | None = None) -> None:  # fmt: skip
        self.conn.execute(
            insert(quarantine_placements).values(
                person_id=person, kind=kind, risk_group="close_contact",
                status="released" if ended else "active", active=None if ended else True,
                starts_at=starts, ended_at=ended, test_days="[]", pack_ref="test",
                created_at=created, created_by="t",
            )
        )  # fmt: skip

    def campaign(self, region: str, starts: datetime, closed: datetime | None = None) -> int:
        cid = next(self.ids)
        self.conn.execute(
            insert(campaigns).values(
                id=cid, name=f"c{cid}", region_code=region, starts_at=starts, pool_size=10,
                target_hours=24, plan={}, created_at=starts, created_by="t", closed_at=closed,
            )
        )  # fmt: skip
        return cid

    def task(self, origin: str, deadline: datetime, status: str = "open",
             closed: datetime | None = None, role: str | None = "epidemiologist",
             kind: str = "manual", now_region: str | None = None) -> int:  # fmt: skip
        tid = next(self.ids)
        self.conn.execute(
            insert(command_tasks).values(
                id=tid, kind=kind, source_type=None, source_id=None,
                region_code=now_region or origin, origin_region_code=origin, role=role,
                params={}, status=status, raised_at=deadline - h(24), raised_by="t",
                deadline_at=deadline, escalation_level=0, closed_at=closed,
                closed_by="t" if closed else None,
            )
        )  # fmt: skip
        return tid
