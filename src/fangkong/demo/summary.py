"""What the demo's store holds after the import, for its printout: regions per level,
venues per type, households, persons by sex, age band and occupation, and a few persons
(masked). Also the two questions the demo asks the store before and after: does it
already hold an outbreak, and which region is the province."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select

from fangkong.identity.masking import mask_id, mask_name, mask_phone
from fangkong.identity.sealing import Sealer
from fangkong.store.schema import households, persons, regions, venues
from fangkong.tracing.tables import tracing_cases

AGE_BANDS = ("0-5", "6-17", "18-59", "60-79", "80+")


@dataclass(frozen=True)
class StoreSummary:
    levels: dict[str, int]  # regions per level
    venue_types: dict[str, int]
    households: int
    persons: int
    sexes: Counter[str]
    age_bands: Counter[str]
    occupations: Counter[str]
    sample: list[tuple[str, str, str, str, str]]  # name, ID, phone (masked), sex, born


def age_band(birth: date, today: date) -> str:
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    for limit, band in ((6, "0-5"), (18, "6-17"), (60, "18-59"), (80, "60-79")):
        if age < limit:
            return band
    return "80+"


def store_summary(engine: Engine, sealer: Sealer, today: date, sample: int = 5) -> StoreSummary:
    """The counts of the store, ages as of ``today``; the first ``sample`` persons masked."""
    with engine.connect() as conn:
        levels: dict[str, int] = dict(
            conn.execute(select(regions.c.level, func.count()).group_by(regions.c.level)).all()
        )
        vtypes: dict[str, int] = dict(
            conn.execute(select(venues.c.type, func.count()).group_by(venues.c.type)).all()
        )
        n_households = conn.execute(select(func.count()).select_from(households)).scalar_one()
        people = conn.execute(
            select(persons.c.sex, persons.c.birth_date, persons.c.occupation)
        ).all()
        rows = conn.execute(select(persons).order_by(persons.c.id).limit(sample)).mappings().all()
    shown = []
    for row in rows:
        number = sealer.unseal("document", row["doc_sealed"]).split("|", 2)[2]
        phone = sealer.unseal("phone", row["phone_sealed"]) if row["phone_sealed"] else ""
        shown.append((mask_name(row["name"]), mask_id(number), mask_phone(phone) if phone else "",
                      row["sex"], row["birth_date"].isoformat()))  # fmt: skip
    return StoreSummary(
        levels=levels,
        venue_types=vtypes,
        households=int(n_households),
        persons=len(people),
        sexes=Counter(p.sex for p in people),
        age_bands=Counter(age_band(p.birth_date, today) for p in people),
        occupations=Counter(p.occupation for p in people),
        sample=shown,
    )


def holds_cases(engine: Engine) -> bool:
    """Whether the store already holds an outbreak (any case)."""
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(tracing_cases)).scalar_one())


def province_code(engine: Engine) -> str | None:
    """The first province's region code (None before regions are imported)."""
    with engine.connect() as conn:
        return conn.execute(
            select(regions.c.code).where(regions.c.level == "province").order_by(regions.c.code)
        ).scalar()
