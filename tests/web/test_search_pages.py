"""The search box (issue 19, point 2) over real HTTP: each kind of query finds the right
person and links to their case, contacts' cases, placement and tubes; a person outside the
caller's jurisdiction is answered as absent; one audit row per search without the query;
names masked by rights; bad input answered in both languages. Both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.errors import BadInput
from fangkong.identity.masking import mask_name
from fangkong.identity.sealing import Sealer
from fangkong.quarantine.tables import quarantine_placements
from fangkong.search.service import classify
from fangkong.store.schema import audit_log, persons
from fangkong.testing.tables import tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts, tracing_exposures
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import (
    TestClient,
    client,
    csrf_of,
    logged_in,
    make_app,
    person_identity,
    person_ids,
)
from tests.arrivals.world import COMPOUND_A, POINT, make_world, traveller
from tests.arrivals.world import T0 as ARRIVED
from tests.conftest import TEST_SEAL_KEY

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
TODAY = T0.date()


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def _records(engine: Engine, case_pid: int, contact_pid: int) -> dict[str, int | str]:
    """A case, a contact of it in home quarantine, and a tube of the contact."""
    with engine.begin() as conn:
        case_id = conn.execute(
            tracing_cases.insert().returning(tracing_cases.c.id),
            {"person_id": case_pid, "onset_date": TODAY, "infectious_from": T0,
             "rules_source": "test", "registered_at": T0, "registered_by": "test"},
        ).scalar_one()  # fmt: skip
        contact_id = conn.execute(
            tracing_contacts.insert().returning(tracing_contacts.c.id),
            {"person_id": contact_pid, "kind": "close", "status": "quarantined",
             "first_exposure_at": T0, "last_exposure_at": T0, "identified_at": T0,
             "status_at": T0, "status_by": "test"},
        ).scalar_one()  # fmt: skip
        conn.execute(
            tracing_exposures.insert(),
            {"key": "e1", "case_id": case_id, "contact_id": contact_id, "kind": "close",
             "setting": "household", "overlap_start": T0, "overlap_end": T0,
             "overlap_seconds": 0, "found_at": T0},
        )  # fmt: skip
        placement_id = conn.execute(
            quarantine_placements.insert().returning(quarantine_placements.c.id),
            {"person_id": contact_pid, "kind": "home_quarantine", "risk_group": "close_contact",
             "status": "active", "active": True, "starts_at": T0, "test_days": "[]",
             "pack_ref": "test", "created_at": T0, "created_by": "test"},
        ).scalar_one()  # fmt: skip
        region = conn.execute(
            select(persons.c.residence_code).where(persons.c.id == contact_pid)
        ).scalar_one()
        tube_id = conn.execute(
            tubes.insert().returning(tubes.c.id),
            {"barcode": "T-SRCH-0001", "pool_size": 1, "purpose": "screening", "point": "p",
             "region_code": region, "collector": "c", "collected_at": T0},
        ).scalar_one()  # fmt: skip
        conn.execute(tube_members.insert(), {"tube_id": tube_id, "person_id": contact_pid})
    return {"case": case_id, "placement": placement_id, "tube": "T-SRCH-0001"}


def _search(c: TestClient, q: str) -> str:
    form = c.get("/search")
    assert form.status_code == 200, form.text
    got = c.post("/search", data={"q": q, "csrf_token": csrf_of(form.text)})
    assert got.status_code in (200, 422), got.text
    return got.text


def _hit_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="hit-(\d+)"', html)]


def _phone(engine: Engine, pid: int) -> str | None:
    with engine.connect() as conn:
        blob = conn.execute(select(persons.c.phone_sealed).where(persons.c.id == pid)).scalar()
    return Sealer(TEST_SEAL_KEY).unseal("phone", blob) if blob else None


def _searches(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.outcome, audit_log.c.target_id, audit_log.c.detail)
            .where(audit_log.c.action == "person.search")
            .order_by(audit_log.c.seq)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_each_kind_finds_the_person_with_links(app: FastAPI, province: Engine) -> None:
    inside = person_ids(province, "140102")
    with_phone = next(p for p in inside if _phone(province, p))
    case_pid, contact_pid = inside[0], inside[1]
    ids = _records(province, case_pid, contact_pid)
    c = logged_in(app, "epi")  # epidemiologist of 140102: reads in full

    number, name = person_identity(province, contact_pid)
    html = _search(c, number)
    assert _hit_ids(html) == [contact_pid]
    assert 'id="search-kind"' in html
    assert "身份证号" in html
    assert f'href="/persons/{contact_pid}"' in html
    assert name in html
    assert f'href="/tracing/cases/{ids["case"]}"' in html  # the case they are a contact of
    assert f'href="/quarantine/placements/{ids["placement"]}"' in html
    assert f'href="/testing/tubes/{ids["tube"]}"' in html
    assert "居家隔离" in html or "隔离中" in html  # the contact status in words

    phone = _phone(province, with_phone)
    assert phone is not None
    assert with_phone in _hit_ids(_search(c, phone.removeprefix("+86")))
    _, full_name = person_identity(province, case_pid)
    by_name = _search(c, f"  {full_name} ")
    assert case_pid in _hit_ids(by_name)
    assert f'href="/tracing/cases/{ids["case"]}"' in by_name
    assert _hit_ids(_search(c, str(ids["case"]))) in ([case_pid], sorted({case_pid, contact_pid}))
    assert _hit_ids(_search(c, ids["tube"])) == [contact_pid]  # type: ignore[arg-type]

    rows = _searches(province)
    assert [d.split()[0] for _, _, d in rows if d] == [
        "kind=id_number", "kind=phone", "kind=name", "kind=number", "kind=barcode",
    ]  # fmt: skip
    assert rows[0] == ("ok", str(contact_pid), "kind=id_number results=1 outside=0")
    text = " ".join(str(v) for r in rows for v in r)
    assert number not in text
    assert phone not in text
    assert phone[3:] not in text
    assert full_name not in text


def test_outside_the_jurisdiction_is_absent(app: FastAPI, province: Engine) -> None:
    other = person_ids(province, "140121")[0]
    number, name = person_identity(province, other)
    c = logged_in(app, "epi")  # of 140102: 140121 is outside
    html = _search(c, number)
    assert _hit_ids(html) == []
    assert 'id="search-none"' in html
    assert "未找到匹配的人员" in html
    assert _searches(province)[-1] == ("ok", None, "kind=id_number results=0 outside=1")
    c.cookies.set("fk_lang", "en")
    assert "Nothing found." in _search(c, name)
    # the other county's epidemiologist finds them
    assert _hit_ids(_search(logged_in(app, "county2"), number)) == [other]


def test_masked_without_read_full(app: FastAPI, province: Engine) -> None:
    pid = person_ids(province, "140102")[0]
    number, name = person_identity(province, pid)
    html = _search(logged_in(app, "viewer"), number)
    assert _hit_ids(html) == [pid]
    assert mask_name(name) in html
    assert f">{name}<" not in html


def test_bad_input_is_answered_in_both_languages(app: FastAPI, province: Engine) -> None:
    c = logged_in(app, "epi")
    long = _search(c, "张" * 150)
    assert "搜索内容过长" in long
    assert 'value="' + "张" * 150 in long
    assert "search-error" in _search(c, "a\x00b")
    c.cookies.set("fk_lang", "en")
    assert "the search is too long" in _search(c, "x" * 101)
    assert _searches(province) == []  # refused before any read: nothing to audit


def test_header_box_on_every_page_for_readers(app: FastAPI) -> None:
    html = logged_in(app, "epi").get("/").text
    assert 'id="header-search"' in html
    assert 'action="/search"' in html
    assert logged_in(app, "epi").get("/search?q=%E5%BC%A0").status_code == 200


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("11010519491231002X", "id_number"),
        ("138 1234 1234", "phone"),
        ("+86 138-1234-1234", "phone"),
        ("#42", "number"),
        ("42", "number"),
        ("T001-0000042", "barcode"),
        ("张三", "name"),
        ("Zhang  San", "name"),
    ],
)
def test_classify(text: str, kind: str) -> None:
    assert classify(text, today=TODAY).kind == kind


def test_a_wrong_id_number_is_said_so() -> None:
    with pytest.raises(BadInput) as refused:
        classify("110105194912310021", today=TODAY)  # wrong check digit
    assert refused.value.problem.code == "id.check_char"


def test_name_query_is_normalised() -> None:
    assert classify("  张　三 ", today=TODAY).value == "张 三"
    assert classify("Ｚｈａｎｇ", today=TODAY).value == "Zhang"
    assert classify("+86 138-1234-1234", today=TODAY).value == "+8613812341234"


def test_a_traveller_is_found_by_name_and_by_record_number(
    province: Engine, tmp_path: Path
) -> None:

    make_world(province)
    app = make_app(province, tmp_path)
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", POINT, 30, "t")
    day = (ARRIVED - timedelta(days=1)).date().isoformat()
    row = traveller(7, f"{COMPOUND_A}@{day}")
    row["travel_history"] = [{"place": COMPOUND_A, "from": day}]
    sent = client(app, authorization=f"Bearer {token}").post(
        "/api/v1/arrivals/manifests",
        json={"ref": "CA1-1", "mode": "flight", "carrier": "CA1", "point_code": POINT,
              "travellers": [row]},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    (tid,) = sent.json()["traveller_ids"]
    epi = logged_in(app, "epi")
    by_name = _search(epi, "旅客7")
    assert f'href="/arrivals/travellers/{tid}"' in by_name
    assert f'href="/arrivals/travellers/{tid}"' in _search(epi, f"#{tid}")
    assert f'href="/arrivals/travellers/{tid}"' in _search(epi, row["phone"])
    assert "hit-" not in _search(logged_in(app, "county2"), "旅客7")  # lives in 140102
