"""The operational store's tables. Alembic migrations in ``fangkong/migrations`` create them.

Personal identifiers are sealed (see ``fangkong.identity.sealing``): a keyed hash for
lookup and an AES-GCM blob for authorised display; the plain value is never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
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

from fangkong import clock
from fangkong.store.types import BigId, UTCDateTime

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


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
    # in clear (masked when shown); indexed for the search box's exact name match (0023)
    name: Mapped[str] = mapped_column(String(100), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    household_code: Mapped[str | None] = mapped_column(ForeignKey("households.code"), index=True)
    residence_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), index=True)
    # class or office team within the school/workplace (班级/科室), migration 0010
    unit_code: Mapped[str | None] = mapped_column(String(20))
    occupation: Mapped[str] = mapped_column(String(24))

    __table_args__ = (CheckConstraint("sex IN ('M','F')", name="sex"),)


Index("ix_venues_type_region", Venue.type, Venue.region_code)

regions = cast(Table, Region.__table__)
households = cast(Table, Household.__table__)
venues = cast(Table, Venue.__table__)
persons = cast(Table, Person.__table__)


# ---- users, roles, rights, sessions, device tokens, audit log (migration 0002) ---------


class Role(Base):
    """A role (角色): a named set of rights, held by users."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))


class Right(Base):
    """A right (权限): one thing a role may do, e.g. ``person.read_full``."""

    __tablename__ = "rights"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))


class RoleRight(Base):
    """Which role holds which right: data, edited by admins (``fangkong role grant``)."""

    __tablename__ = "role_rights"

    role: Mapped[str] = mapped_column(ForeignKey("roles.name"), primary_key=True)
    right: Mapped[str] = mapped_column(ForeignKey("rights.name"), primary_key=True)


class User(Timestamped, Base):
    """A person who logs in. Sees only records inside the subtree of ``region_code``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # set by `fangkong user disable` (with active false), cleared by `user enable` (0012)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


# a venue's token, or a unit's (a region, a role only with it); 0002's rows keep a venue
BINDING = (
    "(region_code IS NULL AND role IS NULL) OR (venue_code IS NULL AND region_code IS NOT NULL)"
)


class UserSession(Base):
    """A login session. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64))


class DeviceToken(Base):
    """A token for a device or system (scanner, lab system): hashed, scoped, expiring.

    Bound to a venue (its region is the jurisdiction), or — a unit's duty terminal,
    migration 0021 — to a region and optionally a role, never both."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    scope: Mapped[str] = mapped_column(String(24))
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    role: Mapped[str | None] = mapped_column(ForeignKey("roles.name"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(BINDING, name="binding"),)


class AuditEntry(Base):
    """One audited action (审计日志): who, when, which record, what, outcome, from where.

    Never personal data: a person is named by row id only. Rows are only ever appended;
    each carries a keyed hash over its fields and the previous row's hash (a chain), so
    a changed, removed or reordered row is found by ``fangkong audit verify``.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(20))
    target_id: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    row_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The chain's head (one row): appenders lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigId)
    row_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class SystemClock(Base):
    """The replay instant (one row, id 1): in ``FANGKONG_CLOCK=auto`` the system's clock
    reads it (see ``fangkong.clock``); no row, the clock is live."""

    __tablename__ = "system_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    set_by: Mapped[str] = mapped_column(String(80))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())  # machine time of the change

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


Index("ix_audit_log_target", AuditEntry.target_type, AuditEntry.target_id)
Index("ix_audit_log_address_action_at", AuditEntry.address, AuditEntry.action, AuditEntry.at)

roles = cast(Table, Role.__table__)
rights = cast(Table, Right.__table__)
role_rights = cast(Table, RoleRight.__table__)
users = cast(Table, User.__table__)
user_sessions = cast(Table, UserSession.__table__)
device_tokens = cast(Table, DeviceToken.__table__)
audit_log = cast(Table, AuditEntry.__table__)
audit_head = cast(Table, AuditHead.__table__)
system_clock = cast(Table, SystemClock.__table__)
