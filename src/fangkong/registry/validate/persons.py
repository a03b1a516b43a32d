"""Validation of a persons file (人员): documents (resident ID, passports and other
documents), names, sex and birth date, phones, the household and the compound lived in,
the school or workplace and its unit; a fast screen of whole columns first, then the
rows that need it one by one; documents and phones sealed (``Sealer``) at the end.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fangkong import bounds
from fangkong.identity.documents import DocumentType, check_document
from fangkong.identity.phone import PhoneCheck, check_phones
from fangkong.identity.resident_id import (
    ResidentIdCheck,
    check_resident_id,
    check_resident_ids,
)
from fangkong.identity.sealing import Sealer
from fangkong.registry.model import Occupation
from fangkong.registry.reader import Batch, Cell, control_problems
from fangkong.registry.validate.cells import Checked, Context, _options, _p, _Row

_HOUSEHOLD_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_UNIT_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")
_SEX = {"M": "M", "F": "F", "男": "M", "女": "F", "MALE": "M", "FEMALE": "F"}


def _date(row: _Row, column: str, today: date) -> date | None:
    value = row.cells.get(column)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        row.bad(
            column,
            _p(
                "date.invalid",
                f"{column} 应为 YYYY-MM-DD 格式的真实日期：{value!r}",
                f"{column} must be a real date written YYYY-MM-DD: {value!r}",
            ),
        )
        return None
    if parsed > today:
        row.bad(
            column,
            _p(
                "date.future",
                f"{column} {value} 晚于今天",
                f"{column} {value} is in the future",
            ),
        )
        return None
    if (problem := bounds.date_problem(parsed, "birth", column)) is not None:
        row.bad(column, problem)
        return None
    return parsed


def _person_identity(row: _Row, ctx: Context, rid: ResidentIdCheck | None) -> dict[str, Any] | None:
    doc_type = row.choice("id_type", row.required("id_type", 24), DocumentType)
    number = row.required("id_number", 40)
    country = row.cells.get("id_country")
    sex_cell = row.cells.get("sex")
    sex = _SEX.get(sex_cell.upper()) if sex_cell is not None else None
    if sex_cell is not None and sex is None:
        row.bad(
            "sex",
            _p(
                "sex.invalid",
                f"性别应为 M/F 或 男/女：{sex_cell!r}",
                f"sex must be M/F (男/女): {sex_cell!r}",
            ),
        )
    birth = _date(row, "birth_date", ctx.today)
    if doc_type is None or number is None:
        return None
    if doc_type == DocumentType.RESIDENT_ID:
        if rid is None:
            rid = check_resident_id(number, today=ctx.today)
        for problem in rid.problems:
            row.bad("id_number", problem)
        if country is not None and country.upper() not in ("CHN", "CN"):
            row.bad(
                "id_country",
                _p(
                    "document.country_mismatch",
                    "居民身份证的签发国应为 CHN",
                    "a resident ID is issued by CHN",
                ),
            )
        if not rid.valid or rid.normalized is None:
            return None
        if sex is not None and sex != rid.sex:
            row.bad(
                "sex",
                _p(
                    "sex.mismatch",
                    f"性别 {sex} 与身份证号码不符（{rid.sex}）",
                    f"sex {sex} does not match the ID number ({rid.sex})",
                ),
            )
        if birth is not None and birth != rid.birth_date:
            row.bad(
                "birth_date",
                _p(
                    "birth_date.mismatch",
                    f"出生日期 {birth} 与身份证号码不符（{rid.birth_date}）",
                    f"birth date {birth} does not match the ID number ({rid.birth_date})",
                ),
            )
        return {
            "doc_type": doc_type,
            "doc_country": "CHN",
            "number": rid.normalized,
            "sex": rid.sex,
            "birth_date": rid.birth_date,
        }
    doc = check_document(doc_type, number, country, today=ctx.today)
    for problem in doc.problems:
        column = "id_country" if problem.code.startswith("document.country") else "id_number"
        row.bad(column, problem)
    if sex is None and sex_cell is None:
        row.bad("sex", _p("value.missing", "sex 不能为空", "sex is required"))
    if birth is None and row.cells.get("birth_date") is None:
        row.bad("birth_date", _p("value.missing", "birth_date 不能为空", "birth_date is required"))
    if not doc.valid or doc.country is None or doc.normalized is None:
        return None
    return {
        "doc_type": doc_type,
        "doc_country": doc.country,
        "number": doc.normalized,
        "sex": sex,
        "birth_date": birth,
    }


def _household(row: _Row, ctx: Context, code: str | None, residence: str | None) -> None:
    if code is None:
        return
    if not _HOUSEHOLD_CODE.fullmatch(code):
        row.bad(
            "household_code",
            _p(
                "household.code_shape",
                f"户编码 {code!r} 只能含字母、数字、- 和 _",
                f"household code {code!r} may hold only letters, digits, - and _",
            ),
        )
        return
    first = ctx.household_residence.setdefault(code, (residence, row.number))
    if first[0] != residence:
        row.bad(
            "residence_code",
            _p(
                "household.split",
                f"同户成员住址不同：第 {first[1]} 行为 {first[0] or '(空)'}",
                f"members of household {code} live apart: row {first[1]} has "
                f"{first[0] or '(empty)'}",
            ),
        )


def _doc_key(ident: dict[str, Any]) -> str:
    return f"{ident['doc_type']}|{ident['doc_country']}|{ident['number']}"


_PERSON_COLUMNS = (
    "id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone",
    "household_code", "residence_code", "venue_code", "unit_code", "occupation",
)  # fmt: skip


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _screen_persons(
    cols: dict[str, list[Cell]],
    ids: dict[int, ResidentIdCheck],
    phones: dict[int, PhoneCheck],
    ctx: Context,
) -> list[bool]:
    """Which rows are plainly valid: the common case, decided column by column.

    A row the screen does not pass goes through the row-by-row checks, which name every
    problem; a property test proves both paths give the same answer.
    """
    occupations = frozenset(_options(Occupation))
    fast = []
    for i, (
        country,
        name,
        sex,
        birth,
        phone,
        household,
        residence,
        venue,
        unit,
        occupation,
    ) in enumerate(zip(*(cols[c] for c in _PERSON_COLUMNS[2:]), strict=True)):
        rid = ids.get(i)
        fast.append(
            rid is not None
            and rid.valid
            and (country is None or country in ("CHN", "CN", "chn", "cn"))
            and (sex is None or _SEX.get(sex.upper()) == rid.sex)
            and (birth is None or birth == _iso(rid.birth_date))
            and name is not None
            and len(name) <= 100
            and (phone is None or phones[i].valid)
            and (household is None or _HOUSEHOLD_CODE.fullmatch(household) is not None)
            and (residence is None or residence in ctx.region_codes)
            and (venue is None or venue in ctx.venue_codes)
            and (unit is None or (venue is not None and _UNIT_CODE.fullmatch(unit) is not None))
            and (occupation is None or occupation in occupations)
        )  # fmt: skip
    return fast


def check_persons(batch: Batch, ctx: Context, *, screen: bool = True) -> Checked:
    """Validate persons and seal their identifiers.

    ID and phone numbers are checked in bulk; rows that pass a column-wise screen skip the
    row-by-row checks (``screen=False`` forces those for every row).
    """
    sealer = ctx.sealer
    if sealer is None:
        raise ValueError("checking persons needs ctx.sealer")
    n = batch.length
    cols = {c: batch.columns.get(c) or [None] * n for c in _PERSON_COLUMNS}
    id_rows = [
        i for i, (t, v) in enumerate(zip(cols["id_type"], cols["id_number"], strict=True))
        if t == "resident_id" and v
    ]  # fmt: skip
    id_checks = check_resident_ids([cols["id_number"][i] or "" for i in id_rows], today=ctx.today)
    ids = dict(zip(id_rows, id_checks, strict=True))
    phone_rows = [i for i, v in enumerate(cols["phone"]) if v]
    phone_checks = check_phones(
        [cols["phone"][i] or "" for i in phone_rows], region=ctx.phone_region
    )
    phones = dict(zip(phone_rows, phone_checks, strict=True))
    fast = _screen_persons(cols, ids, phones, ctx) if screen else [False] * n

    checked = Checked(problems=control_problems(batch))
    people: list[tuple[_Row, dict[str, Any], dict[str, Any]]] = []
    for i in range(n):
        number = batch.first_row + i
        if fast[i]:
            row = _Row(number, {}, checked.problems)
            rid = ids[i]
            ident = {"doc_type": "resident_id", "doc_country": "CHN", "number": rid.normalized,
                     "sex": rid.sex, "birth_date": rid.birth_date}  # fmt: skip
            fields: dict[str, Any] = {
                "_row": number, "name": cols["name"][i],
                "phone": phones[i].e164 if i in phones else None,
                "occupation": cols["occupation"][i] or "other",
                "household_code": cols["household_code"][i],
                "residence_code": cols["residence_code"][i],
                "venue_code": cols["venue_code"][i],
                "unit_code": cols["unit_code"][i],
            }  # fmt: skip
            _household(row, ctx, fields["household_code"], fields["residence_code"])
            people.append((row, ident, fields))
            continue
        cells = {c: batch.columns[c][i] for c in batch.columns}
        row = _Row(number, cells, checked.problems)
        person = _check_person_row(row, ctx, ids.get(i), phones.get(i))
        if person is not None:
            people.append((row, *person))
    _seal_people(people, ctx, sealer, checked)
    return checked


def _check_person_row(
    row: _Row, ctx: Context, rid: ResidentIdCheck | None, phone: PhoneCheck | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The row-by-row checks: every problem of one row, named."""
    cells = row.cells
    ident = _person_identity(row, ctx, rid)
    fields: dict[str, Any] = {"_row": row.number, "name": row.required("name", 100)}
    if phone is not None:
        for problem in phone.problems:
            row.bad("phone", problem)
    fields["phone"] = phone.e164 if phone is not None else None
    household = cells.get("household_code")
    residence = cells.get("residence_code")
    venue = cells.get("venue_code")
    row.reference("residence_code", residence, ctx.region_codes, "区划 / regions")
    row.reference("venue_code", venue, ctx.venue_codes, "场所 / venues")
    unit = _unit(row, cells.get("unit_code"), venue)
    _household(row, ctx, household, residence)
    fields["occupation"] = row.choice("occupation", cells.get("occupation") or "other", Occupation)
    fields.update(household_code=household, residence_code=residence, venue_code=venue,
                  unit_code=unit)  # fmt: skip
    return None if ident is None else (ident, fields)


def _unit(row: _Row, unit: str | None, venue: str | None) -> str | None:
    """The class or team code: a short code, and only with the school/workplace it is in."""
    if unit is None:
        return None
    if not _UNIT_CODE.fullmatch(unit):
        row.bad(
            "unit_code",
            _p(
                "unit.code_shape",
                f"班级/科室编码 {unit!r} 只能含字母、数字、- 和 _，最长 20 个字符",
                f"unit code {unit!r} may hold only letters, digits, - and _, up to 20",
            ),
        )
        return None
    if venue is None:
        row.bad(
            "unit_code",
            _p(
                "unit.without_venue",
                "填写了班级/科室 unit_code，却没有所在学校或单位 venue_code",
                "unit_code needs the school or workplace it belongs to in venue_code",
            ),
        )
        return None
    return unit


def _seal_people(
    people: list[tuple[_Row, dict[str, Any], dict[str, Any]]],
    ctx: Context,
    sealer: Sealer,
    checked: Checked,
) -> None:
    """Hash documents (finding repeats), then seal the documents and phones of good rows."""
    hashes = sealer.lookup_hash_many("document", [_doc_key(ident) for _, ident, _ in people])
    for (row, _, fields), doc_hash in zip(people, hashes, strict=True):
        row.once(ctx, doc_hash, "id_number", "证件 / document")
        fields["doc_hash"] = doc_hash
    good = [(row, ident, fields) for row, ident, fields in people if row.ok]
    sealed = sealer.seal_many("document", [_doc_key(ident) for _, ident, _ in good])
    with_phone = [fields for _, _, fields in good if fields["phone"]]
    phone_list = [f["phone"] for f in with_phone]
    for fields, phone_hash, phone_sealed in zip(
        with_phone,
        sealer.lookup_hash_many("phone", phone_list),
        sealer.seal_many("phone", phone_list),
        strict=True,
    ):
        fields["phone_hash"], fields["phone_sealed"] = phone_hash, phone_sealed
    for (_, ident, fields), doc_sealed in zip(good, sealed, strict=True):
        fields.pop("phone")
        fields.setdefault("phone_hash", None)
        fields.setdefault("phone_sealed", None)
        fields.update(
            doc_type=ident["doc_type"], doc_country=ident["doc_country"], sex=ident["sex"],
            birth_date=ident["birth_date"], doc_sealed=doc_sealed,
        )  # fmt: skip
        checked.rows.append(fields)
