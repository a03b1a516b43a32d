"""A small quarantine world on the twin's province: facilities in its two counties."""

from __future__ import annotations

from sqlalchemy import Engine, select

from fangkong.quarantine.facilities import FacilityInput, save_facility
from fangkong.store.schema import persons, regions

COUNTY_A, COUNTY_B = "140102", "140121"


def hotel(
    code: str,
    region: str,
    *,
    single: int = 0,
    family: int = 0,
    accessible: int = 0,
    zones: int = 1,
    status: str = "open",
    kind: str = "hotel",
    family_beds: int = 3,
    lat: float | None = None,
    lon: float | None = None,
) -> FacilityInput:
    return FacilityInput(
        code=code,
        name=f"{code} 隔离点",
        kind=kind,
        region_code=region,
        status=status,
        single_rooms=single,
        family_rooms=family,
        family_beds=family_beds,
        accessible_rooms=accessible,
        zones=zones,
        staff=10,
        latitude=lat,
        longitude=lon,
    )


def add(engine: Engine, *facilities: FacilityInput) -> list[int]:
    return [save_facility(engine, f, by="test")[0] for f in facilities]


def people(engine: Engine, county: str | None = None, n: int | None = None) -> list[int]:
    """Person ids (living in ``county``'s subtree when given), in id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(persons.c.id, persons.c.residence_code).order_by(persons.c.id)
        ).all()
        parents = dict(conn.execute(select(regions.c.code, regions.c.parent_code)).all())

    def inside(code: str | None) -> bool:
        while code is not None:
            if code == county:
                return True
            code = parents.get(code)
        return False

    ids = [int(r.id) for r in rows if county is None or inside(r.residence_code)]
    return ids if n is None else ids[:n]
