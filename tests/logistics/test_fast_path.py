"""A checkpoint device's fast path (``access.record_device``: decided on a read connection,
outcomes that hand nobody over group-committed by ``crossing_writer``, samples collected
there) against the full path
(``access.record``): the same rows and the same answers for the same crossing, replays,
a duplicate ref sent at once stored once, and sampling / the closed loop still done.
Both backends."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from fangkong.api.logistics_routes import result
from fangkong.auth.devices import device_actor, issue_device_token
from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.healthcode.tables import health_codes, person_facts
from fangkong.logistics import access
from fangkong.logistics.crossing_input import CrossingIn, CrossingOut
from fangkong.logistics.tables import crossing_people, crossings
from fangkong.store.engine import make_engine
from fangkong.store.schema import audit_log, persons
from fangkong.testing.tables import tube_members, tubes
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import client, make_app
from tests.conftest import _pg_database, load_province
from tests.logistics.world import COUNTY_A, T0, LWorld, crossing, make_lworld, person

NOW = T0 + timedelta(minutes=5)
SHOWN = T0 - timedelta(hours=20)  # a negative test shown from elsewhere (互认)


@pytest.fixture
def other_province(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, twin_files: dict[str, Path]
) -> Iterator[Engine]:
    """A second fresh database holding the same province."""
    if backend == "sqlite":
        path = tmp_path / "other.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
        load_province(eng, twin_files)
        yield eng
        eng.dispose()
        return
    databases = _pg_database(request.getfixturevalue("pg_template"))
    eng = next(databases)
    load_province(eng, twin_files)
    yield eng
    databases.close()


def _device_call(lw: LWorld) -> Call:
    engine = lw.w.engine
    token, _ = issue_device_token(engine, AUDIT_KEY, cli_actor(), "checkpoint", lw.venue, 30, "t")
    return Call(engine=engine, key=AUDIT_KEY, actor=device_actor(engine, token, NOW), at=NOW)


def _rows(engine: Engine, after: tuple[int, int]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows crossings wrote: theirs, their people's, the persons created since
    ``after`` (last person id, last audit seq) — the sealed values are encrypted with a
    fresh nonce each time: compared by their hash instead — and the audit rows."""
    after_person, after_audit = after
    person_cols = [c for c in persons.c if not c.name.endswith("_sealed")]
    audit_cols = [c for c in audit_log.c if c.name not in ("seq", "row_hash", "prev_hash")]
    fact_cols = [c for c in person_facts.c if c.name != "id"]
    code_cols = [c for c in health_codes.c if c.name != "qr_ref"]
    with engine.connect() as conn:
        return {
            "crossings": [
                tuple(r) for r in conn.execute(select(crossings).order_by(crossings.c.id))
            ],
            "people": [
                tuple(r)
                for r in conn.execute(select(crossing_people).order_by(crossing_people.c.id))
            ],
            "persons": [
                tuple(r)
                for r in conn.execute(
                    select(*person_cols).where(persons.c.id > after_person).order_by(persons.c.id)
                )
            ],
            "tubes": [tuple(r) for r in conn.execute(select(tubes).order_by(tubes.c.id))],
            "members": [
                tuple(r)
                for r in conn.execute(
                    select(tube_members).order_by(tube_members.c.tube_id, tube_members.c.person_id)
                )
            ],
            "facts": [
                tuple(r)
                for r in conn.execute(
                    select(*fact_cols)
                    .where(person_facts.c.person_id > after_person)
                    .order_by(person_facts.c.person_id, person_facts.c.client_event_id)
                )
            ],
            "codes": [
                tuple(r)
                for r in conn.execute(
                    select(*code_cols)
                    .where(health_codes.c.person_id > after_person)
                    .order_by(health_codes.c.person_id)
                )
            ],
            "audit": [
                tuple(r)
                for r in conn.execute(
                    select(*audit_cols)
                    .where(audit_log.c.seq > after_audit)
                    .order_by(audit_log.c.seq)
                )
            ],
        }


def _marks(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.execute(select(func.max(persons.c.id))).scalar_one()),
            int(conn.execute(select(func.coalesce(func.max(audit_log.c.seq), 0))).scalar_one()),
        )


def _crossings_to_compare() -> list[CrossingIn]:
    return [
        # a driver the registry lacks (created), a test shown: passed
        crossing("same-1", [person(11, negative_test_at=SHOWN)]),
        # two people, one of them already created by the first crossing
        crossing(
            "same-2",
            [person(12, negative_test_at=SHOWN), person(11, "passenger", negative_test_at=SHOWN)],
            plate="冀B54321",
            cargo_class="ordinary",
        ),
        # a driver without a test, sampled there (即采即走): a tube, a pending test, codes
        crossing("same-3", [person(13)], plate="冀C11111"),
    ]


def test_the_fast_and_the_full_path_store_the_same_rows(
    province: Engine, other_province: Engine
) -> None:
    fast_world, full_world = make_lworld(province), make_lworld(other_province)
    fast_call, full_call = _device_call(fast_world), _device_call(full_world)
    marks = _marks(province), _marks(other_province)
    fast_answers, full_answers = [], []
    for c in _crossings_to_compare():
        fast_answers.append(access.record_device(fast_call, fast_world.w.codes, c))
        full_answers.append(access.record(full_call, full_world.w.codes, c))
    assert [a.outcome for a in fast_answers] == ["passed", "passed", "sampled_released"]
    assert fast_answers == full_answers
    # all three group-committed: the sampled one too (not sent back to the full path)
    assert access.writer_for(province, fast_world.w.codes).written == 3
    for lang in ("zh", "en"):
        assert [result(a, lang) for a in fast_answers] == [result(a, lang) for a in full_answers]
    fast_rows, full_rows = _rows(province, marks[0]), _rows(other_province, marks[1])
    assert len(fast_rows["crossings"]) == 3
    assert len(fast_rows["people"]) == 4
    assert len(fast_rows["persons"]) == 3  # the three drivers the registry lacked
    assert len(fast_rows["tubes"]) == len(fast_rows["members"]) == 1
    assert fast_rows["codes"], "the sampled driver's code evaluated"
    assert fast_rows == full_rows
    assert fast_rows["audit"] == []  # a device's crossing is its own record, on both paths


def test_a_replay_answers_the_stored_outcome(province: Engine) -> None:
    lw = make_lworld(province)
    call = _device_call(lw)
    c = crossing("again-1", [person(21, negative_test_at=SHOWN)])
    first = access.record_device(call, lw.w.codes, c)
    again = access.record_device(call, lw.w.codes, c)
    assert (first.created, again.created, again.id, again.outcome) == (
        True,
        False,
        first.id,
        first.outcome,
    )
    assert again == access.record(call, lw.w.codes, c)  # the full path answers the same


def test_a_duplicate_ref_sent_at_once_is_stored_once(province: Engine) -> None:
    lw = make_lworld(province)
    call = _device_call(lw)
    c = crossing("dup-1", [person(31, negative_test_at=SHOWN)])
    answers: list[CrossingOut] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        try:
            answers.append(access.record_device(call, lw.w.codes, c))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({a.id for a in answers}) == 1
    assert sorted(a.created for a in answers) == [False] * 7 + [True]
    with province.connect() as conn:
        stored = conn.execute(
            select(func.count()).select_from(crossings).where(crossings.c.ref == "dup-1")
        ).scalar_one()
    assert stored == 1


def test_sampling_and_the_closed_loop_still_happen(province: Engine) -> None:
    lw = make_lworld(province)
    call = _device_call(lw)
    sampled = access.record_device(call, lw.w.codes, crossing("s-1", [person(41)]))
    assert sampled.outcome == "sampled_released"
    barcode = sampled.people[0].sample_barcode
    assert barcode is not None
    assert sampled.people[0].sampled
    with province.connect() as conn:
        members = conn.execute(
            select(func.count())
            .select_from(tube_members.join(tubes))
            .where(tubes.c.barcode == barcode)
        ).scalar_one()
    assert members == 1
    loop = access.record_device(
        call, lw.w.codes,
        crossing("s-2", [person(42), person(43, "passenger", negative_test_at=SHOWN)],
                 history=[COUNTY_A]),
    )  # fmt: skip
    assert loop.outcome == "closed_loop"
    assert all(p.traveller_id is not None for p in loop.people)


def test_the_endpoint_answers_as_the_route_did(province: Engine, tmp_path: Path) -> None:
    lw = make_lworld(province)
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", lw.venue, 30, "t")
    device = client(app, authorization=f"Bearer {token}", **{"accept-language": "en"})
    body = {
        "ref": "http-1", "at": T0.isoformat(), "plate": "冀A12345", "cargo_class": "ordinary",
        "origin_region": "130102", "destination_region": "140121", "history": ["130102"],
        "people": [{"id_number": person(51).id_number, "name": "司机51",
                    "negative_test_at": SHOWN.isoformat()}],
    }  # fmt: skip
    got = device.post("/api/v1/crossings", json=body)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert "x-content-type-options" in got.headers
    call = _device_call(lw)
    stored = access.record(call, lw.w.codes, crossing_from(body))
    assert got.json() == {**result(stored, "en").model_dump(mode="json"), "created": True}
    bad = device.post("/api/v1/crossings", content=b"{not json")
    assert (bad.status_code, bad.json()["code"]) == (422, "request.invalid")
    wrong = device.post("/api/v1/crossings", json={**body, "plate": "nonsense"})
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "logistics.crossing_invalid"
    nobody = client(app, authorization="Bearer nope").post("/api/v1/crossings", json=body)
    assert nobody.status_code == 401
    # sampled there: answered after the writer's commit (awaited on the loop), tube stored
    untested = {**body, "ref": "http-2",
                "people": [{"id_number": person(52).id_number, "name": "司机52"}]}  # fmt: skip
    sampled = device.post("/api/v1/crossings", json=untested)
    assert sampled.status_code == 200, sampled.text
    assert sampled.json()["outcome"] == "sampled_released"
    barcode = sampled.json()["people"][0]["sample_barcode"]
    with province.connect() as conn:
        assert conn.execute(select(tubes.c.id).where(tubes.c.barcode == barcode)).first()
    again = device.post("/api/v1/crossings", json=untested)
    assert (again.status_code, again.json()["created"]) == (200, False)


def crossing_from(body: dict[str, Any]) -> CrossingIn:
    from fangkong.api.logistics_routes import CrossingBody, crossing_in

    return crossing_in(CrossingBody.model_validate(body))
