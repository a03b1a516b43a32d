"""Synthetic residents as NumPy columns: households, ages, sex, occupations, IDs, phones.

Everything here is vectorised — one array operation per attribute for all persons — so a
million people take about a second. Persons are ordered by compound, then household.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fangkong.twin._regions import Hierarchy

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# Household sizes 1..6 (mean 2.61; China's 2020 census: 2.62 people per family household).
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5, 6])
HOUSEHOLD_SHARES = np.array([0.24, 0.30, 0.22, 0.13, 0.07, 0.04])
MAX_HOUSEHOLDS_PER_COMPOUND = 9_999  # household codes carry a 4-digit sequence

# Per cent of the population in 5-year age bands 0-4 .. 95-99 (2020 census, rounded),
# then age 100.
_AGE_BANDS = (5.5, 6.4, 6.0, 5.3, 5.3, 6.4, 8.9, 7.0, 6.9, 8.3, 8.8, 7.2, 5.2, 5.0, 3.4, 2.2)
_AGE_BANDS_OLD = (1.4, 0.8, 0.3, 0.08)
AGE_SHARES = np.array([p / 5 for p in _AGE_BANDS + _AGE_BANDS_OLD for _ in range(5)] + [0.01])
AGE_SHARES = AGE_SHARES / AGE_SHARES.sum()
HEAD_MIN_AGE = 20  # every household has an adult head
PHONE_MIN_AGE = 10  # younger children use a parent's phone: their phone is left empty

OCCUPATIONS = (
    "preschool",
    "student",
    "worker",
    "retiree",
    "unemployed",
    "medical",
    "fever_clinic",
    "quarantine_site",
    "port_of_entry",
    "cold_chain",
    "courier",
    "delivery",
    "supermarket",
    "transport",
    "public_service",
    "other",
)
OCC = {name: i for i, name in enumerate(OCCUPATIONS)}

# Occupation shares of working-age people (18-59) who are not students: (urban, rural).
WORKING_AGE_SHARES: dict[str, tuple[float, float]] = {
    "worker": (0.50, 0.28),
    "unemployed": (0.06, 0.06),
    "other": (0.12, 0.45),  # farmers, self-employed
    "medical": (0.03, 0.015),
    "fever_clinic": (0.003, 0.001),
    "quarantine_site": (0.002, 0.001),
    "port_of_entry": (0.002, 0.0005),
    "cold_chain": (0.01, 0.005),
    "courier": (0.02, 0.008),
    "delivery": (0.03, 0.01),
    "supermarket": (0.03, 0.015),
    "transport": (0.05, 0.03),
    "public_service": (0.07, 0.04),
}
STUDENT_SHARE_18_22 = (0.6, 0.4)  # (urban, rural): higher and vocational education
RETIREE_SHARE_60_PLUS = 0.85  # the rest are "other" (farmers, self-employed)
RETIREE_SHARE_WOMEN_50_59 = 0.3  # women may retire at 50 or 55
PASSPORT_SHARE = 0.002  # foreign residents, adults 18-70

# Mobile prefixes (3 digits), drawn evenly; every 8-digit suffix makes a valid number.
PHONE_PREFIXES = np.array(
    [*range(130, 140), *range(150, 154), *range(155, 160), *range(180, 190), 198, 199]
)

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


@dataclass
class People:
    compound: Ints  # index into Hierarchy.compounds
    county: Ints
    city: Ints
    urban: Bools
    household_seq: Ints  # 1-based number of the household within its compound
    birth: npt.NDArray[np.datetime64]
    age: Ints  # whole years on the as-of date
    male: Bools
    occupation: Ints  # index into OCCUPATIONS
    passport: Bools
    id_chars: npt.NDArray[np.uint8]  # (n, 18) ASCII resident ID numbers
    phone: Ints  # 11-digit numbers, 0 for none

    def __len__(self) -> int:
        return len(self.compound)


def _households(compound: Ints, rng: np.random.Generator) -> tuple[Ints, Bools]:
    """Household sequence within the compound per person, and who heads a household.

    Household sizes are drawn for the whole province and cut where compounds end, so a
    few households at compound borders come out smaller than drawn.
    """
    n = len(compound)
    draws = n // 2 + 16  # the mean size is 2.6, so the draws cover n people
    sizes = rng.choice(HOUSEHOLD_SIZES, size=draws, p=HOUSEHOLD_SHARES)
    if sizes.sum() < n:  # too few draws for a tiny run: pad with one-person households
        sizes = np.append(sizes, np.ones(n - int(sizes.sum()), dtype=sizes.dtype))
    drawn = np.searchsorted(np.cumsum(sizes), np.arange(n), side="right")
    head = np.ones(n, dtype=np.bool_)
    head[1:] = (drawn[1:] != drawn[:-1]) | (compound[1:] != compound[:-1])
    household = np.cumsum(head) - 1
    household_compound = compound[head]
    first = np.ones(len(household_compound), dtype=np.bool_)
    first[1:] = household_compound[1:] != household_compound[:-1]
    starts = np.flatnonzero(first)
    seq_of_household = np.arange(len(household_compound)) - np.repeat(
        starts, np.diff(np.append(starts, len(household_compound)))
    )
    seq = seq_of_household[household] + 1
    if seq.max(initial=0) > MAX_HOUSEHOLDS_PER_COMPOUND:
        raise ValueError("a compound has more than 9,999 households; lower the population")
    return seq.astype(np.int64), head


def _ages(head: Bools, rng: np.random.Generator) -> Ints:
    """Ages whose mix over all persons follows AGE_SHARES, heads being adults."""
    ages = np.arange(len(AGE_SHARES))
    adult = np.where(ages >= HEAD_MIN_AGE, AGE_SHARES, 0.0)
    adult_total = adult.sum()
    h = min(float(head.mean()), 0.99 * adult_total)
    # heads ~ adult/adult_total, others ~ rest: h*head + (1-h)*rest == AGE_SHARES
    rest = np.clip(AGE_SHARES - h * adult / adult_total, 0.0, None)
    out = np.empty(len(head), dtype=np.int64)
    out[head] = rng.choice(ages, size=int(head.sum()), p=adult / adult_total)
    out[~head] = rng.choice(ages, size=int((~head).sum()), p=rest / rest.sum())
    return out


def _year_month_day(days: npt.NDArray[np.datetime64]) -> tuple[Ints, Ints, Ints]:
    month_start = days.astype("datetime64[M]")
    y = days.astype("datetime64[Y]").astype(np.int64) + 1970
    m = month_start.astype(np.int64) % 12 + 1
    d = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def _birth_dates(
    years: Ints, as_of: date, rng: np.random.Generator
) -> tuple[npt.NDArray[np.datetime64], Ints]:
    """Birth dates for people ``years`` old (plus a random part of a year) on as_of."""
    days_old = np.floor((years + rng.random(len(years))) * 365.2425).astype(np.int64)
    birth = np.datetime64(as_of, "D") - days_old
    y, m, d = _year_month_day(birth)
    before_birthday = (as_of.month * 100 + as_of.day) < (m * 100 + d)
    age = as_of.year - y - before_birthday
    return birth, age.astype(np.int64)


def _sex(age: Ints, rng: np.random.Generator) -> Bools:
    p_male = np.select([age < 20, age < 60, age < 80], [0.53, 0.51, 0.48], 0.42)
    return rng.random(len(age)) < p_male


def _occupations(age: Ints, male: Bools, urban: Bools, rng: np.random.Generator) -> Ints:
    n = len(age)
    occ = np.full(n, OCC["other"], dtype=np.int64)
    occ[age < 6] = OCC["preschool"]
    occ[(age >= 6) & (age <= 17)] = OCC["student"]
    u = rng.random(n)
    young = (age >= 18) & (age <= 22)
    student_share = np.where(urban, STUDENT_SHARE_18_22[0], STUDENT_SHARE_18_22[1])
    occ[young & (u < student_share)] = OCC["student"]
    working = (age >= 18) & (age <= 59) & (occ != OCC["student"])
    early_retiree = working & ~male & (age >= 50) & (u < RETIREE_SHARE_WOMEN_50_59)
    occ[early_retiree] = OCC["retiree"]
    working &= ~early_retiree
    old = age >= 60
    occ[old & (u < RETIREE_SHARE_60_PLUS)] = OCC["retiree"]
    codes = np.array([OCC[name] for name in WORKING_AGE_SHARES])
    for column, area in ((0, urban), (1, ~urban)):
        chosen = working & area
        shares = np.array([s[column] for s in WORKING_AGE_SHARES.values()])
        occ[chosen] = rng.choice(codes, size=int(chosen.sum()), p=shares / shares.sum())
    return occ


def _id_sequence(county: Ints, birth_day: Ints, male: Bools, rng: np.random.Generator) -> Ints:
    """GB 11643 sequence codes, unique per (county, birth date): odd men, even women."""
    n = len(county)
    first_day = birth_day.min(initial=0)
    span = int(birth_day.max(initial=0) - first_day) + 1
    key = (county * span + (birth_day - first_day)) * 2 + (~male)
    # Random low bits put each group's members in random order, in one sort of int64
    # keys (key < 2**31: at most 99 × 40 counties × 37,000 days × 2 sexes).
    order = np.argsort((key << 32) | rng.integers(0, 2**32, n))
    sorted_key = key[order]
    first = np.ones(n, dtype=np.bool_)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    sizes = np.diff(np.append(starts, n))
    group_male = male[order][starts]
    slots = np.where(group_male, 500, 499)  # men 001..999 odd, women 002..998 even
    if (sizes > slots).any():
        raise ValueError("more than 499 people share a county and a birth date")
    offset = np.floor(rng.random(len(starts)) * (slots - sizes + 1)).astype(np.int64)
    slot = offset[group] + (np.arange(n) - starts[group]) + np.where(group_male[group], 0, 1)
    seq_sorted = np.where(group_male[group], 2 * slot + 1, 2 * slot)
    seq = np.empty(n, dtype=np.int64)
    seq[order] = seq_sorted
    return seq


def _digits(values: Ints, width: int) -> npt.NDArray[np.uint8]:
    """(n, width) decimal digits of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10).astype(np.uint8)


def resident_ids(
    region_codes: Ints, region: Ints, birth: npt.NDArray[np.datetime64], seq: Ints
) -> npt.NDArray[np.uint8]:
    """(n, 18) ASCII resident ID numbers: region, YYYYMMDD, sequence, check character.

    ``region`` indexes ``region_codes`` (6-digit numbers). Each part's digits come from a
    small table of all its values, so the work per person is a few lookups.
    """
    y, m, d = _year_month_day(birth)
    first_year = int(y.min(initial=1900))
    parts = (
        (_digits(region_codes, 6), region),
        (_digits(np.arange(first_year, int(y.max(initial=1900)) + 1), 4), y - first_year),
        (_digits(np.arange(13), 2), m),
        (_digits(np.arange(32), 2), d),
        (_digits(np.arange(1000), 3), seq),
    )
    chars = np.empty((len(seq), 18), dtype=np.uint8)
    total = np.zeros(len(seq), dtype=np.int64)
    column = 0
    for table, index in parts:
        width = table.shape[1]
        chars[:, column : column + width] = table[index] + ord("0")
        total += (table.astype(np.int64) @ ID_WEIGHTS[column : column + width])[index]
        column += width
    chars[:, 17] = ID_CHECK[total % 11]
    return chars


def _phones(has_phone: Bools, rng: np.random.Generator) -> Ints:
    """Distinct mobile numbers for the people who have one, 0 for the rest."""
    suffixes = 10**8
    drawn = rng.choice(len(PHONE_PREFIXES) * suffixes, size=int(has_phone.sum()), replace=False)
    out = np.zeros(len(has_phone), dtype=np.int64)
    out[has_phone] = PHONE_PREFIXES[drawn // suffixes] * suffixes + drawn % suffixes
    return out


def generate_people(h: Hierarchy, as_of: date, rng: np.random.Generator) -> People:
    comp_pop = np.array([c.population for c in h.compounds], dtype=np.int64)
    compound = np.repeat(np.arange(len(comp_pop), dtype=np.int64), comp_pop)
    county = np.array([c.county for c in h.compounds], dtype=np.int64)[compound]
    city = np.array([c.city for c in h.compounds], dtype=np.int64)[compound]
    urban = np.array([c.urban for c in h.compounds], dtype=np.bool_)[compound]
    household_seq, head = _households(compound, rng)
    birth, age = _birth_dates(_ages(head, rng), as_of, rng)
    male = _sex(age, rng)
    occupation = _occupations(age, male, urban, rng)
    passport = (age >= 18) & (age <= 70) & (rng.random(len(age)) < PASSPORT_SHARE)
    county_codes = np.array([int(c.code) for c in h.counties], dtype=np.int64)
    seq = _id_sequence(county, birth.astype(np.int64), male, rng)
    return People(
        compound=compound,
        county=county,
        city=city,
        urban=urban,
        household_seq=household_seq,
        birth=birth,
        age=age,
        male=male,
        occupation=occupation,
        passport=passport,
        id_chars=resident_ids(county_codes, county, birth, seq),
        phone=_phones(age >= PHONE_MIN_AGE, rng),
    )
