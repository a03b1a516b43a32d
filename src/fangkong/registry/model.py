"""Registry vocabularies and the import file formats (columns documented in docs/formats.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RegionLevel(StrEnum):
    PROVINCE = "province"  # 省
    CITY = "city"  # 市
    COUNTY = "county"  # 县/区
    TOWNSHIP = "township"  # 乡镇/街道
    COMMUNITY = "community"  # 社区/村
    COMPOUND = "compound"  # 小区/自然村


LEVEL_ORDER = {level: i for i, level in enumerate(RegionLevel)}


class VenueType(StrEnum):
    SCHOOL = "school"
    MARKET = "market"
    SUPERMARKET = "supermarket"
    RESTAURANT = "restaurant"
    HOSPITAL = "hospital"
    FEVER_CLINIC = "fever_clinic"
    PHARMACY = "pharmacy"
    WORKPLACE = "workplace"
    TRANSIT_HUB = "transit_hub"
    CHECKPOINT = "checkpoint"
    RESIDENTIAL_COMPOUND = "residential_compound"
    QUARANTINE_SITE = "quarantine_site"
    OTHER = "other"


class Occupation(StrEnum):
    """Occupation groups; testing schedules and key-group rules key on these."""

    PRESCHOOL = "preschool"
    STUDENT = "student"
    WORKER = "worker"
    RETIREE = "retiree"
    UNEMPLOYED = "unemployed"
    MEDICAL = "medical"
    FEVER_CLINIC = "fever_clinic"
    QUARANTINE_SITE = "quarantine_site"
    PORT_OF_ENTRY = "port_of_entry"
    COLD_CHAIN = "cold_chain"
    COURIER = "courier"
    DELIVERY = "delivery"
    SUPERMARKET = "supermarket"
    TRANSPORT = "transport"
    PUBLIC_SERVICE = "public_service"
    OTHER = "other"


class AreaType(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    required: bool
    help: str
    example: str


@dataclass(frozen=True)
class FileFormat:
    kind: str
    key: str
    columns: tuple[ColumnSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns the header must have (a required value needs its column)."""
        return tuple(c.name for c in self.columns if c.required)


def _c(name: str, required: bool, help: str, example: str) -> ColumnSpec:
    return ColumnSpec(name, required, help, example)


REGIONS = FileFormat(
    "regions",
    "code",
    (
        _c(
            "code",
            True,
            "statistical code: 6 digits (GB/T 2260) for province/city/county, "
            "12 digits for township/community, 15 digits for compound",
            "140105",
        ),
        _c("parent_code", False, "code of the parent region; empty for a province", "140100"),
        _c("level", True, "province, city, county, township, community or compound", "county"),
        _c("name", True, "name, up to 100 characters", "小店区"),
        _c("population", False, "resident population, a whole number ≥ 0", "812000"),
        _c("area_type", False, "urban or rural", "urban"),
        _c("geojson", False, "boundary as a GeoJSON geometry or feature", ""),
    ),
)

VENUES = FileFormat(
    "venues",
    "code",
    (
        _c(
            "code", True, "place code (场所码): letters, digits, - and _, up to 40", "V140105000123"
        ),
        _c("name", True, "name, up to 200 characters", "坞城路菜市场"),
        _c("type", True, "one of: " + ", ".join(VenueType), "market"),
        _c("region_code", True, "code of an imported region the venue lies in", "140105003001"),
        _c("capacity", False, "people (rooms for quarantine sites), a whole number ≥ 0", "300"),
        _c("latitude", False, "WGS 84 degrees, with longitude", "37.8571"),
        _c("longitude", False, "WGS 84 degrees, with latitude", "112.5632"),
        _c("address", False, "street address, up to 300 characters", "坞城路 88 号"),
    ),
)

PERSONS = FileFormat(
    "persons",
    "id_type + id_country + id_number",
    (
        _c(
            "id_type",
            True,
            "resident_id, passport, hk_macao_permit, taiwan_permit, foreign_permanent_id or other",
            "resident_id",
        ),
        _c(
            "id_number",
            True,
            "document number; resident IDs per GB 11643 (15 digits are converted to 18)",
            "11010519491231002X",
        ),
        _c(
            "id_country",
            False,
            "issuing country, ISO 3166-1 alpha-3 (CHN implied for resident_id)",
            "CHN",
        ),
        _c("name", True, "name, up to 100 characters", "张三"),
        _c(
            "sex",
            False,
            "M or F (男/女 accepted); required unless id_type is resident_id, "
            "where it must match the ID number",
            "F",
        ),
        _c(
            "birth_date",
            False,
            "YYYY-MM-DD; required unless id_type is resident_id, where it must match the ID number",
            "1949-12-31",
        ),
        _c(
            "phone",
            False,
            "phone number; without +country code it is read in the FANGKONG_PHONE_REGION region",
            "13812341234",
        ),
        _c(
            "household_code",
            False,
            "household (户) code; households are created on import",
            "H140105003001001",
        ),
        _c(
            "residence_code",
            False,
            "code of an imported region where the person lives (usually a compound)",
            "140105003001001",
        ),
        _c(
            "venue_code",
            False,
            "code of an imported venue: the school or workplace",
            "V140105000123",
        ),
        _c(
            "unit_code",
            False,
            "class (班级) or office team (科室) within the school or workplace: letters, "
            "digits, - and _, up to 20; needs venue_code. Close contacts by class and by "
            "workplace are the unit's members (without it: the whole venue's)",
            "C09-02",
        ),
        _c(
            "occupation",
            False,
            "occupation group (default other): " + ", ".join(Occupation),
            "worker",
        ),
    ),
)

FORMATS: dict[str, FileFormat] = {f.kind: f for f in (REGIONS, VENUES, PERSONS)}
