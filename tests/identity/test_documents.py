"""Documents as (type, number, country)."""

from __future__ import annotations

import pytest

from fangkong.identity.documents import (
    DocumentType,
    check_document,
    country_alpha2,
    country_alpha3,
)
from fangkong.identity.resident_id import check_character
from tests.identity.strategies import TODAY


def codes(doc_type: str, number: str, country: str | None = None) -> list[str]:
    return [p.code for p in check_document(doc_type, number, country, today=TODAY).problems]


def test_resident_id_delegates_and_implies_china() -> None:
    result = check_document("resident_id", "11010519491231002x", None, today=TODAY)
    assert result.valid
    assert result.doc_type is DocumentType.RESIDENT_ID
    assert result.normalized == "11010519491231002X"
    assert result.country == "CHN"
    assert result.resident_id is not None
    assert result.resident_id.sex == "F"
    assert codes("resident_id", "110105194912310021") == ["id.check_char"]
    assert codes("resident_id", "11010519491231002X", "CN") == []
    assert codes("resident_id", "11010519491231002X", "USA") == ["document.country_mismatch"]


def test_passport() -> None:
    result = check_document("Passport", " e1234 5678 ", "us", today=TODAY)
    assert result.valid
    assert result.doc_type is DocumentType.PASSPORT
    assert result.normalized == "E12345678"
    assert result.country == "USA"
    assert codes("passport", "E12345678") == ["document.country_required"]
    assert codes("passport", "E12345678", " ") == ["document.country_required"]
    assert codes("passport", "E12345678", "XYZ") == ["document.country_unknown"]
    assert codes("passport", "E123", "USA") == ["document.number_format"]
    assert codes("passport", "E" * 21, "USA") == ["document.number_format"]
    assert codes("passport", "E1234-5678", "USA") == ["document.number_format"]
    assert codes("passport", "", "USA") == ["document.empty"]


def test_hong_kong_and_macao_permits() -> None:
    assert check_document("hk_macao_permit", "H12345678", None, today=TODAY).country == "HKG"
    assert check_document("hk_macao_permit", "m1234567801", None, today=TODAY).country == "MAC"
    assert codes("hk_macao_permit", "H12345678", "HK") == []
    assert codes("hk_macao_permit", "H123456789") == ["document.number_format"]
    assert codes("hk_macao_permit", "A12345678") == ["document.number_format"]
    assert codes("hk_macao_permit", "H12345678", "MAC") == ["document.country_mismatch"]


def test_taiwan_permit() -> None:
    result = check_document("taiwan_permit", "12345678", None, today=TODAY)
    assert result.valid
    assert result.country == "TWN"
    assert codes("taiwan_permit", "1234567890") == []
    assert codes("taiwan_permit", "123456789") == ["document.number_format"]
    assert codes("taiwan_permit", "12345678", "CHN") == ["document.country_mismatch"]


def test_foreign_permanent_residence_id() -> None:
    old = check_document("foreign_permanent_id", "usa110100010001", None, today=TODAY)
    assert old.valid
    assert old.country == "USA"
    assert codes("foreign_permanent_id", "USA110100010001", "CAN") == ["document.country_mismatch"]
    assert codes("foreign_permanent_id", "ZZZ110100010001") == ["document.country_unknown"]
    first17 = "93184019800101001"
    new = first17 + check_character(first17)
    assert codes("foreign_permanent_id", new) == []
    wrong = first17 + ("1" if new[-1] != "1" else "2")
    assert codes("foreign_permanent_id", wrong) == ["document.check_char"]
    assert codes("foreign_permanent_id", "11010519491231002X") == ["document.number_format"]


def test_other_documents() -> None:
    assert codes("other", "ABC-123/4") == []
    assert codes("other", "A" * 41) == ["document.number_format"]
    assert check_document("other", "x1", "de", today=TODAY).country == "DEU"


def test_unknown_type() -> None:
    result = check_document("driving_licence", "123", None, today=TODAY)
    assert not result.valid
    assert result.doc_type is None
    assert [p.code for p in result.problems] == ["document.type_unknown"]
    assert "passport" in result.problems[0].message_en


@pytest.mark.parametrize(
    ("code", "alpha3", "alpha2"),
    [("us", "USA", "US"), ("USA", "USA", "US"), ("hk", "HKG", "HK"), ("XX", None, None)],
)
def test_country_codes(code: str, alpha3: str | None, alpha2: str | None) -> None:
    assert country_alpha3(code) == alpha3
    assert country_alpha2(code) == alpha2


def test_document_types_are_the_published_list() -> None:
    assert [t.value for t in DocumentType] == [
        "resident_id",
        "passport",
        "hk_macao_permit",
        "taiwan_permit",
        "foreign_permanent_id",
        "other",
    ]
