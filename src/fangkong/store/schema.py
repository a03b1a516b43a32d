"""The operational store's tables. Alembic migrations in ``store/migrations`` create them.

Personal identifiers are sealed (see ``fangkong.identity.sealing``): a keyed hash for
lookup and an AES-GCM blob for authorised display; the plain value is never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fangkong.store.types import UTCDateTime, utcnow

# Stable constraint names so migrations can alter them on SQLite (batch mode) and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Region(Timestamped, Base):
    """A node of the hierarchy province → city → county → township → community → compound."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    population: Mapped[int | None] = mapped_column(Integer)
    area_type: Mapped[str | None] = mapped_column(String(8))
    geojson: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "level IN ('province','city','county','township','community','compound')",
            name="level",
        ),
        CheckConstraint("population IS NULL OR population >= 0", name="population"),
    )


class Household(Timestamped, Base):
    """A household (户): the people who live together, at one residence compound."""

    __tablename__ = "households"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    residence_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)


class Venue(Timestamped, Base):
    """A place (场所) with a place code, where people check in."""

    __tablename__ = "venues"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(24))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),)


class Person(Timestamped, Base):
    """A person in the registry. The natural key is the sealed identity document."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_type: Mapped[str] = mapped_column(String(24))
    doc_country: Mapped[str] = mapped_column(String(3))
    # keyed hash of (type, country, number): the natural key, for lookup and upsert
    doc_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    doc_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    household_code: Mapped[str | None] = mapped_column(ForeignKey("households.code"), index=True)
    residence_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), index=True)
    occupation: Mapped[str] = mapped_column(String(24))

    __table_args__ = (CheckConstraint("sex IN ('M','F')", name="sex"),)


Index("ix_venues_type_region", Venue.type, Venue.region_code)

regions = cast(Table, Region.__table__)
households = cast(Table, Household.__table__)
venues = cast(Table, Venue.__table__)
persons = cast(Table, Person.__table__)
