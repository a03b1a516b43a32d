"""A surge world on the twin's small province: a second city, cases and their close
contacts as tracing stores them, single-tube and pooled results as testing stores them."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons, regions
from fangkong.testing.campaigns import add_lab
from fangkong.testing.results import post_results, results_table
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect
from fangkong.tracing.tables import (
    tracing_cases,
    tracing_contact_changes,
    tracing_contacts,
    tracing_exposures,
)
from tests.conftest import TEST_SEAL_KEY

TZ = ZoneInfo("Asia/Shanghai")
PACK = load_pack("protocol-9")
P9 = QuarantineRules.from_pack(PACK)
TESTING = TestingRules.from_pack(PACK)
CITY_B, COUNTY_C = "140200", "140202"  # a second city of the province, one county
_barcodes = count(1)


def ctx() -> CodeContext:
    return CodeContext(PACK, Sealer(TEST_SEAL_KEY), QrKeys.generate(), TZ)


def rules(**changes: Any) -> QuarantineRules:
    """protocol-9's rules with ``[quarantine.surge]`` keys changed (``home_fallback``: a
    table)."""
    table = copy.deepcopy(dict(PACK.sections["quarantine"]))
    table["surge"].update(changes)
    return QuarantineRules.from_table(table, "test-pack 1")


def add_city(engine: Engine) -> None:
    """A second city (140200) with one county (140202) under the province."""
    with engine.begin() as conn:
        for code, level, parent in ((CITY_B, "city", "140000"), (COUNTY_C, "county", CITY_B)):
            conn.execute(
                regions.insert().values(
                    code=code, level=level, name=f"区{code}", parent_code=parent, population=0
                )
            )


def apart(engine: Engine, county: str | None = None) -> list[int]:
    """Persons of different households (in ``county``'s subtree when given), id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(persons.c.id, persons.c.household_code, persons.c.residence_code).order_by(
                persons.c.id
            )
        ).all()
    first: dict[str, int] = {}
    for pid, household, residence in rows:
        if county is None or (residence or "").startswith(county):
            first.setdefault(household or f"none-{pid}", int(pid))
    return sorted(first.values())


def case(engine: Engine, person: int, *, reported: datetime) -> int:
    """A registered (traced) case, reported at ``reported``; returns the case id."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                tracing_cases.insert()
                .values(
                    person_id=person,
                    onset_date=None,
                    sample_date=reported.astimezone(TZ).date(),
                    isolated_at=None,
                    infectious_from=reported - timedelta(days=4),
                    infectious_until=None,
                    rules_source="test",
                    registered_at=reported,
                    registered_by="test",
                    traced_at=reported,
                )
                .returning(tracing_cases.c.id)
            ).scalar_one()
        )


def contacts(
    engine: Engine,
    case_id: int,
    people: Sequence[int],
    *,
    exposed: datetime,
    found: datetime,
    kind: str = "close",
) -> dict[int, int]:
    """Contacts of a case, identified at ``found``, last exposed at ``exposed``;
    person → contact id."""
    out = {}
    with engine.begin() as conn:
        for p in people:
            cid = int(
                conn.execute(
                    tracing_contacts.insert()
                    .values(
                        person_id=p,
                        kind=kind,
                        status="identified",
                        first_exposure_at=exposed - timedelta(hours=1),
                        last_exposure_at=exposed,
                        identified_at=found,
                        status_at=found,
                        status_by="t",
                    )
                    .returning(tracing_contacts.c.id)
                ).scalar_one()
            )
            out[p] = cid
            conn.execute(
                tracing_exposures.insert().values(
                    key=f"k-{case_id}-{p}",
                    case_id=case_id,
                    contact_id=cid,
                    source_contact_id=None,
                    kind=kind,
                    setting="household",
                    place_code=None,
                    overlap_start=exposed - timedelta(hours=1),
                    overlap_end=exposed,
                    overlap_seconds=3600,
                    case_event_id=None,
                    contact_event_id=None,
                    found_at=found,
                )
            )
            conn.execute(
                tracing_contact_changes.insert().values(
                    contact_id=cid,
                    at=found,
                    from_status=None,
                    to_status="identified",
                    changed_by="t",
                    reason="t",
                )
            )
    return out


def statuses(engine: Engine, people: Sequence[int]) -> dict[int, str]:
    c = tracing_contacts.c
    with engine.connect() as conn:
        return {
            int(p): s
            for p, s in conn.execute(
                select(c.person_id, c.status).where(c.person_id.in_(list(people)))
            )
        }


def result(
    engine: Engine,
    people: Sequence[int],
    sampled: datetime,
    *,
    ct: tuple[str | None, str | None] = (None, None),
    reported: datetime | None = None,
) -> None:
    """A tube of ``people`` (one: a single tube) sampled at ``sampled`` and its result
    (Ct per gene, None: not detected) tested at ``reported`` (default 6 h later)."""
    add_lab(engine, "LABQ", "隔离检测实验室", "140102", 100_000)  # registered or kept
    barcode = f"QT{next(_barcodes):08d}"
    collect(
        engine,
        TESTING,
        Sample(barcode, list(people), "隔离点", "140102", "sampler", sampled, "scheduled"),
        at=sampled,
    )
    tested = reported or sampled + timedelta(hours=6)
    row = {
        "barcode": barcode,
        "run": "r1",
        "ct_orf1ab": ct[0],
        "ct_n": ct[1],
        "tested_at": tested.isoformat(),
    }
    post_results(engine, TESTING, results_table([row]), lab_code="LABQ", posted_by="lab", at=tested)


def active(engine: Engine) -> dict[int, Any]:
    """Active placements by person."""
    q = quarantine_placements.c
    with engine.connect() as conn:
        return {
            int(r.person_id): r
            for r in conn.execute(select(quarantine_placements).where(q.active.is_(True)))
        }


def count_rows(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
