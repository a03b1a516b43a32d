"""The persons screen (column-wise fast path) and the row-by-row checks agree."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.identity.sealing import Sealer
from fangkong.registry.model import FORMATS
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Checked, Context
from fangkong.registry.validate.persons import check_persons
from tests.conftest import TODAY
from tests.registry import samples

SEALER = Sealer(bytes(range(32)))
REGIONS = {r[0] for r in samples.REGIONS}
VENUES = {v[0] for v in samples.VENUES}

good_ids = st.builds(
    samples.resident_id,
    st.sampled_from(["140105", "110105", "440305"]),
    st.dates(min_value=__import__("datetime").date(1920, 1, 1), max_value=TODAY).map(
        lambda d: d.strftime("%Y%m%d")
    ),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
)
cells: dict[str, st.SearchStrategy[str | None]] = {
    "id_type": st.sampled_from(["resident_id", "resident_id", "passport", "visa", None]),
    "id_number": st.one_of(good_ids, good_ids, st.sampled_from(["E1234567", "12345", None])),
    "id_country": st.sampled_from([None, "CHN", "CN", "USA", "XXX"]),
    "name": st.one_of(st.sampled_from(["王伟", "李娜", None]), st.text(min_size=99, max_size=102)),
    "sex": st.sampled_from([None, "M", "F", "男", "女", "x"]),
    "birth_date": st.sampled_from([None, "1980-01-01", "1980-1-1", "2099-01-01", "bad"]),
    "phone": st.sampled_from([None, "13812341234", "13912345678", "12345", "+12025550123"]),
    "household_code": st.sampled_from([None, "H001", "H002", "H 3"]),
    "residence_code": st.sampled_from([None, "140105001001001", "140105001001002", "999"]),
    "venue_code": st.sampled_from([None, "V1401050001", "NOPE"]),
    "unit_code": st.sampled_from([None, "T01", "C06-02", "bad unit", "x" * 21]),
    "occupation": st.sampled_from([None, "worker", "student", "astronaut"]),
}
rows_strategy = st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=30)


def _batch(rows: list[dict[str, Any]]) -> Batch:
    names = FORMATS["persons"].names
    return Batch(1, {n: [r[n] for r in rows] for n in names}, len(rows))


def _comparable(checked: Checked) -> tuple[list[Any], list[Any]]:
    rows = []
    for r in checked.rows:
        r = dict(r)
        r["doc_sealed"] = SEALER.unseal("document", r["doc_sealed"])
        if r["phone_sealed"] is not None:
            r["phone_sealed"] = SEALER.unseal("phone", r["phone_sealed"])
        rows.append(sorted(r.items()))
    problems = sorted(
        (p.row, p.column, p.problem.code, p.problem.message_zh, p.problem.message_en)
        for p in checked.problems
    )
    return rows, problems


@settings(max_examples=300, deadline=None)
@given(rows_strategy)
def test_screen_and_row_checks_agree(rows: list[dict[str, Any]]) -> None:
    def ctx() -> Context:
        return Context(today=TODAY, region_codes=REGIONS, venue_codes=VENUES, sealer=SEALER)

    fast = check_persons(_batch(rows), ctx(), screen=True)
    slow = check_persons(_batch(rows), ctx(), screen=False)
    assert _comparable(fast) == _comparable(slow)


def test_the_screen_passes_clean_rows_without_problems() -> None:
    rows = [dict(zip(FORMATS["persons"].names, r, strict=True)) for r in samples.PERSONS]
    clean = [{k: (v or None) for k, v in r.items()} for r in rows]
    ctx = Context(today=TODAY, region_codes=REGIONS, venue_codes=VENUES, sealer=SEALER)
    checked = check_persons(_batch(clean), ctx)
    assert checked.problems == []
    assert len(checked.rows) == 4
