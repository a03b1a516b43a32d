"""A risk area's reason in both languages (migration 0022): a designation's "zh / en" is
stored as two columns and each reader sees their own; the migration splits the reasons
stored before as one "zh / en" string (anything else kept as it is in both) and its
downgrade joins them back — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from fangkong.clock import now as utcnow
from fangkong.riskareas.service import designate, split_reason
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store import migrate
from fangkong.store.schema import regions
from tests.api.codes import codes_of
from tests.api.helpers import logged_in, make_app


def _compounds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(regions.c.code)
            .where(regions.c.level == "compound")
            .order_by(regions.c.code.desc())  # 140121's compound first (user county2's)
        )
        return [str(c) for c in rows.scalars()][:2]


def test_split_reason() -> None:
    assert split_reason("两例病例 / two cases") == ("两例病例", "two cases")
    assert split_reason(" 仅中文 ") == ("仅中文", "仅中文")
    assert split_reason("a / b / c") == ("a", "b / c")
    assert split_reason(" / en") == ("/ en", "/ en")


def test_reason_per_language_and_migration_both_ways(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    ctx = codes_of(app)
    first, second = _compounds(province)
    at = utcnow() - timedelta(hours=1)
    designate(province, ctx, region_code=first, level="high", reason="两例病例 / two cases",
              by="county2", now=at)  # fmt: skip
    designate(province, ctx, region_code=second, level="medium", reason="仅中文理由",
              by="county2", now=at)  # fmt: skip

    def stored() -> dict[str, tuple[str, ...]]:
        with province.connect() as conn:
            areas = {r.code: tuple(r[1:]) for r in conn.execute(
                select(risk_areas.c.code, *risk_areas.c["reason", "reason_en"]))}  # fmt: skip
            changes = conn.execute(
                select(*risk_area_changes.c["reason", "reason_en"]).order_by(
                    risk_area_changes.c.id)
            ).all()  # fmt: skip
        return {**areas, "changes": tuple(tuple(c) for c in changes)}

    split = {
        first: ("两例病例", "two cases"),
        second: ("仅中文理由", "仅中文理由"),
        "changes": (("两例病例", "two cases"), ("仅中文理由", "仅中文理由")),
    }
    assert stored() == split

    c = logged_in(app, "county2")
    zh = c.get("/risk-areas/manage").text
    assert "两例病例" in zh
    assert "two cases" not in zh
    c.get("/lang/en")
    en = c.get("/risk-areas/manage").text
    assert "two cases" in en
    assert "两例病例" not in en

    migrate.downgrade(province, "0021")
    with province.connect() as conn:
        joined = dict(conn.execute(select(risk_areas.c.code, risk_areas.c.reason)).all())
    assert joined == {first: "两例病例 / two cases", second: "仅中文理由"}
    migrate.upgrade(province)
    assert stored() == split
