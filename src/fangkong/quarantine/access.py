"""Quarantine as people reach it: rights and jurisdiction in front of the services.

Readiness, facilities and candidate sites hold no personal data: ``quarantine.read`` and
the actor's region subtree decide what is shown. Changing a facility needs
``quarantine.manage`` and is audited (one row, the facility code, never a person).
"""

from __future__ import annotations

from sqlalchemy import Engine

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.jurisdiction import in_subtree, subtree
from fangkong.auth.model import Actor
from fangkong.auth.rights import QUARANTINE_MANAGE, QUARANTINE_READ
from fangkong.quarantine.facilities import (
    FacilityInput,
    FacilityUnknown,
    FacilityView,
    _save,
    list_facilities,
)
from fangkong.quarantine.readiness import RegionCapacity, capacity_by_region
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import SiteScore, list_sites, rank_sites
from fangkong.store.types import utcnow


def _codes(engine: Engine, actor: Actor) -> list[str] | None:
    if actor.region_code is None:
        return None
    with engine.connect() as conn:
        return [str(c) for c in conn.execute(subtree(actor.region_code)).scalars()]


def readiness_view(
    engine: Engine, actor: Actor, rules: QuarantineRules, level: str | None = None
) -> list[RegionCapacity]:
    actor.require(QUARANTINE_READ)
    return capacity_by_region(engine, rules, level=level, within=actor.region_code)


def facilities_view(engine: Engine, actor: Actor) -> list[FacilityView]:
    actor.require(QUARANTINE_READ)
    return list_facilities(engine, region_codes=_codes(engine, actor))


def facility_view(engine: Engine, actor: Actor, code: str) -> FacilityView:
    actor.require(QUARANTINE_READ)
    found = list_facilities(engine, code=code)[0]
    codes = _codes(engine, actor)
    if codes is not None and found.region_code not in codes:
        raise FacilityUnknown(
            FacilityUnknown.of(
                "quarantine.facility_unknown",
                f"无此隔离场所（{code}）",
                f"no quarantine facility {code}",
            ).problem
        )
    return found


def save_facility_as(
    engine: Engine, key: bytes, actor: Actor, facility: FacilityInput, address: str
) -> int:
    """Add or change a facility (pages' edit form); audited."""
    actor.require(QUARANTINE_MANAGE)
    with transaction(engine) as conn:
        if actor.region_code is not None and not in_subtree(
            conn, actor.region_code, facility.region_code
        ):
            raise FacilityUnknown(FacilityUnknown.of(
                "quarantine.facility_unknown", f"无此隔离场所（{facility.code}）",
                f"no quarantine facility {facility.code}").problem)  # fmt: skip
        fid, inserted, _ = _save(conn, facility, actor.name, utcnow())
        record(conn, key, AuditEvent(actor.name, "quarantine.facility", "ok", address,
                                     "facility", facility.code,
                                     "added" if inserted else "changed"))  # fmt: skip
    return fid


def sites_view(engine: Engine, actor: Actor, rules: QuarantineRules) -> list[SiteScore]:
    actor.require(QUARANTINE_READ)
    return rank_sites(list_sites(engine, _codes(engine, actor)), rules.survey)
