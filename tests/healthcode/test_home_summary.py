"""The home page's numbers (``auth.records.read_summary``, ``healthcode.access.
colour_summary``) counted once per residence code and folded into the branches in Python
(issue 19: 4 s at 1,000,000 persons) are those of the per-branch SQL they replace: a
jurisdiction's subtree joined to every person, grouped by branch. Both backends; actors
of the province, of its city and of the whole store; codes of every colour and persons
without a code."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update

from fangkong.auth.guard import Call
from fangkong.auth.jurisdiction import branches, within
from fangkong.auth.model import Actor
from fangkong.auth.records import read_summary
from fangkong.auth.rights import CODE_READ, DASHBOARD_VIEW
from fangkong.healthcode.access import colour_summary
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.tables import health_codes
from fangkong.store.schema import persons, regions

AT = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)


def _old_by_area(engine: Engine, region: str) -> list[tuple[str, str, int]]:
    """Persons per branch as the home page counted them before (the tree joined)."""
    tree = branches(region).subquery()
    with engine.connect() as conn:
        rows = conn.execute(
            select(tree.c.branch, regions.c.name, func.count(persons.c.id))
            .join(persons, persons.c.residence_code == tree.c.code)
            .join(regions, regions.c.code == tree.c.branch)
            .group_by(tree.c.branch, regions.c.name)
            .order_by(func.count(persons.c.id).desc(), tree.c.branch)
        ).all()
    return [(str(c), str(n), int(k)) for c, n, k in rows]


def _old_colours(engine: Engine, actor: Actor) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Codes by colour, in all and per branch, as counted before (two joins)."""
    with engine.connect() as conn:
        totals = Counter(
            {
                str(colour): int(n)
                for colour, n in conn.execute(
                    select(health_codes.c.colour, func.count())
                    .join(persons, persons.c.id == health_codes.c.person_id)
                    .where(within(actor, persons.c.residence_code))
                    .group_by(health_codes.c.colour)
                )
            }
        )
        per: dict[str, Counter[str]] = {}
        if actor.region_code is not None:
            tree = branches(actor.region_code).subquery()
            for branch, colour, n in conn.execute(
                select(tree.c.branch, health_codes.c.colour, func.count())
                .select_from(tree)
                .join(persons, persons.c.residence_code == tree.c.code)
                .join(health_codes, health_codes.c.person_id == persons.c.id)
                .group_by(tree.c.branch, health_codes.c.colour)
            ):
                per.setdefault(str(branch), Counter())[str(colour)] = int(n)
    return totals, per


def _actors(engine: Engine) -> list[Actor]:
    rights = frozenset({DASHBOARD_VIEW, CODE_READ})
    with engine.connect() as conn:
        province = conn.execute(
            select(regions.c.code).where(regions.c.parent_code.is_(None))
        ).scalar_one()
        city = conn.execute(
            select(regions.c.code).where(regions.c.parent_code == province)
            .order_by(regions.c.code)
        ).scalars().first()  # fmt: skip
    assert city is not None
    return [Actor("user", f"u{i}", rights, code) for i, code in enumerate((province, city, None))]


def test_home_numbers_as_the_per_branch_sql(province: Engine, ctx: CodeContext) -> None:
    recompute_all(province, ctx, AT)
    with province.begin() as conn:  # codes of every colour, some persons without one
        p = health_codes.c.person_id
        conn.execute(update(health_codes).where(p % 7 == 0).values(colour="red"))
        conn.execute(update(health_codes).where(p % 5 == 0, p % 7 != 0).values(colour="yellow"))
        conn.execute(health_codes.delete().where(p % 11 == 0))
    branched = 0
    for actor in _actors(province):
        call = Call(province, b"k" * 32, actor, "test", at=AT)
        summary = read_summary(call)
        colours = colour_summary(call)
        totals, per = _old_colours(province, actor)
        assert (colours.green, colours.yellow, colours.red) == (
            totals["green"], totals["yellow"], totals["red"])  # fmt: skip
        got = {a.code: Counter(green=a.green, yellow=a.yellow, red=a.red) for a in colours.by_area}
        assert {k: +v for k, v in got.items()} == per
        with province.connect() as conn:
            everyone = conn.execute(
                select(func.count()).select_from(persons)
                .where(within(actor, persons.c.residence_code))
            ).scalar_one()  # fmt: skip
        assert summary.persons == everyone
        if actor.region_code is None:
            assert summary.by_area == []
            assert colours.by_area == []
            continue
        old = _old_by_area(province, actor.region_code)
        assert [(a.code, a.name, a.persons) for a in summary.by_area] == old
        branched += len(old) > 1
        assert min(totals["red"], totals["yellow"], totals["green"]) > 0
    assert branched  # a jurisdiction of several branches: their order is tested
