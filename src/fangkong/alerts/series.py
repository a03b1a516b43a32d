"""Counts per region level × signal × day or ISO week, with populations (汇总).

Reported counts sit at any region (a compound, a community, a county...). Each is added
to its region's ancestor at the level asked for, through the registry's region tree;
DuckDB does the joins and sums over Arrow tables, so a province's years of counts
aggregate in one pass. Weeks are ISO weeks (``epiweeks``), labelled by their Monday.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from epiweeks import Week
from sqlalchemy import Connection, Engine, func, select

from fangkong.alerts.model import LEVELS, SIGNALS
from fangkong.alerts.tables import signal_counts
from fangkong.errors import BadInput, Problem
from fangkong.store.schema import persons, regions

F64 = npt.NDArray[np.float64]
pc: Any = _pc


@dataclass(frozen=True)
class RegionTree:
    """The registry's regions: parent, level, name and population of every code."""

    parent: Mapping[str, str | None]
    level: Mapping[str, str]
    name: Mapping[str, str]
    population: Mapping[str, int]

    @classmethod
    def load(cls, conn: Connection) -> RegionTree:
        rows = conn.execute(
            select(regions.c.code, regions.c.parent_code, regions.c.level, regions.c.name,
                   regions.c.population)
        ).all()  # fmt: skip
        residents: dict[Any, int] = dict(
            conn.execute(
                select(persons.c.residence_code, func.count()).group_by(persons.c.residence_code)
            ).all()
        )
        tree = cls({r.code: r.parent_code or None for r in rows},
                   {r.code: r.level for r in rows}, {r.code: r.name for r in rows}, {})  # fmt: skip
        stated = {r.code: r.population for r in rows if r.population is not None}
        return cls(tree.parent, tree.level, tree.name, tree._populations(stated, residents))

    def _populations(
        self, stated: Mapping[str, int], residents: Mapping[Any, int]
    ) -> dict[str, int]:
        """A region's stated population; where none is stated, its registered residents."""
        counted: dict[str, int] = {}
        for code, n in residents.items():
            c: str | None = code
            while c is not None:
                counted[c] = counted.get(c, 0) + int(n)
                c = self.parent.get(c)
        return {c: int(stated.get(c, counted.get(c, 0))) for c in self.level}

    def ancestor(self, code: str, level: str) -> str | None:
        """``code`` itself or the region above it at ``level`` (None: it lies above it)."""
        c: str | None = code
        while c is not None:
            if self.level.get(c) == level:
                return c
            c = self.parent.get(c)
        return None

    def parent_of(self, code: str) -> str | None:
        return self.parent.get(code)

    def codes_at(self, level: str) -> list[str]:
        return sorted(c for c, lv in self.level.items() if lv == level)


def period_start(day: date, frequency: str) -> date:
    """The first day of the period holding ``day``: itself, or the Monday of its ISO week."""
    return Week.fromdate(day, system="iso").startdate() if frequency == "week" else day


def periods(first: date, last: date, frequency: str) -> list[date]:
    """Every period start from the one holding ``first`` to the one holding ``last``."""
    step = 7 if frequency == "week" else 1
    start, end = period_start(first, frequency), period_start(last, frequency)
    return [start + timedelta(days=step * i) for i in range((end - start).days // step + 1)]


def load_signals(
    conn: Connection, signals: Iterable[str], first: date | None, last: date
) -> pa.Table:
    """Reported counts of several signals in one query: signal, region_code, day, count."""
    c = signal_counts.c
    q = (
        select(c.signal, c.region_code, c.day, func.sum(c.count))
        .where(c.signal.in_(sorted(set(signals))), c.day <= last)
        .group_by(c.signal, c.region_code, c.day)
    )
    if first is not None:
        q = q.where(c.day >= first)
    rows = conn.execute(q).all()
    return pa.table(
        {
            "signal": pa.array([r[0] for r in rows], pa.string()),
            "region_code": pa.array([r[1] for r in rows], pa.string()),
            "day": pa.array([r[2] for r in rows], pa.date32()),
            "count": pa.array([int(r[3]) for r in rows], pa.int64()),
        }
    )


def select_signals(
    table: pa.Table, signals: Iterable[str], first: date | None, last: date
) -> pa.Table:
    """The rows of ``signals`` from ``first`` to ``last`` of a ``load_signals`` table."""
    keep = pc.and_(pc.is_in(table.column("signal"), pa.array(sorted(set(signals)))),
                   pc.less_equal(table.column("day"), pa.scalar(last, pa.date32())))  # fmt: skip
    if first is not None:
        keep = pc.and_(keep, pc.greater_equal(table.column("day"), pa.scalar(first, pa.date32())))
    return table.filter(keep).select(["region_code", "day", "count"])


@dataclass(frozen=True)
class SeriesSet:
    """Counts of one set of signals, one row per region of ``level``, one column per period."""

    level: str
    frequency: str
    periods: list[date]
    regions: list[str]
    counts: F64  # regions × periods
    population: F64  # per region

    def row(self, region: str) -> F64:
        return np.asarray(self.counts[self.regions.index(region)], np.float64)


def aggregate(
    counts: pa.Table, tree: RegionTree, level: str, frequency: str, first: date, last: date,
) -> SeriesSet:  # fmt: skip
    """Dense counts per region of ``level`` × period from ``first`` to ``last`` (regions
    of that level with no count are rows of zeros; counts above the level are left out).

    Over Arrow columns with NumPy: each distinct reported region is mapped to its
    ancestor once, each row lands with one vectorised ``add.at``."""
    if level not in LEVELS:
        raise ValueError(f"not a region level: {level}")
    spans = periods(first, last, frequency)
    codes = tree.codes_at(level)
    dense = np.zeros((len(codes), len(spans)))
    if counts.num_rows:
        row_of = {c: i for i, c in enumerate(codes)}
        regions_ = pc.dictionary_encode(counts.column("region_code")).combine_chunks()
        anc = [tree.ancestor(c, level) for c in regions_.dictionary.to_pylist()]
        lookup = np.array([-1 if a is None else row_of[a] for a in anc], np.int64)
        row = lookup[regions_.indices.to_numpy(zero_copy_only=False)]
        day = counts.column("day").to_numpy().astype("datetime64[D]")
        offset = (day - np.datetime64(spans[0], "D")).astype(np.int64)
        if frequency == "week":
            offset = np.floor_divide(offset, 7)
        ok = (row >= 0) & (offset >= 0) & (offset < len(spans))
        values = counts.column("count").to_numpy().astype(np.float64)
        np.add.at(dense, (row[ok], offset[ok]), values[ok])
    population = np.array([tree.population.get(c, 0) for c in codes], np.float64)
    return SeriesSet(level, frequency, spans, codes, dense, population)


def aggregate_table(
    conn: Connection, tree: RegionTree, signals: Sequence[str], levels: Sequence[str],
    frequency: str, first: date, last: date,
) -> pa.Table:  # fmt: skip
    """Every level × region × signal × period at once, long form for export: level,
    region_code, signal, period, count, population. DuckDB joins the counts to each
    region's ancestors and sums, so years of a province's counts take one query."""
    c = signal_counts.c
    rows = conn.execute(
        select(c.signal, c.region_code, c.day, func.sum(c.count))
        .where(c.signal.in_(list(signals)), c.day >= period_start(first, frequency),
               c.day <= last)
        .group_by(c.signal, c.region_code, c.day)
    ).all()  # fmt: skip
    counts = pa.table({
        "signal": pa.array([r[0] for r in rows], pa.string()),
        "region_code": pa.array([r[1] for r in rows], pa.string()),
        "day": pa.array([r[2] for r in rows], pa.date32()),
        "count": pa.array([int(r[3]) for r in rows], pa.int64()),
    })  # fmt: skip
    reported = {str(c) for c in counts.column("region_code").to_pylist()}
    pairs = [(code, lv, tree.ancestor(code, lv)) for code in reported for lv in levels]
    ancestry = pa.table({
        "code": [p[0] for p in pairs], "level": [p[1] for p in pairs],
        "ancestor": [p[2] for p in pairs],
    })  # fmt: skip
    days: list[date] = sorted(set(counts.column("day").to_pylist()))  # type: ignore[arg-type]
    calendar = pa.table({"day": pa.array(days, pa.date32()),
                         "period": pa.array([period_start(d, frequency) for d in days],
                                            pa.date32())})  # fmt: skip
    population = pa.table({"code": list(tree.population),
                           "population": list(tree.population.values())})  # fmt: skip
    con = duckdb.connect()
    try:
        for name, source in (("counts", counts), ("ancestry", ancestry),
                             ("calendar", calendar), ("population", population)):  # fmt: skip
            con.register(name, source)
        table: pa.Table = con.sql(
            "SELECT a.level, a.ancestor AS region_code, c.signal, k.period, "
            "SUM(c.count)::BIGINT AS count, p.population "
            "FROM counts c JOIN ancestry a ON a.code = c.region_code "
            "JOIN calendar k ON k.day = c.day LEFT JOIN population p ON p.code = a.ancestor "
            "WHERE a.ancestor IS NOT NULL "
            "GROUP BY a.level, a.ancestor, c.signal, k.period, p.population "
            "ORDER BY a.level, a.ancestor, c.signal, k.period"
        ).to_arrow_table()
        return table
    finally:
        con.close()


def export_options(
    levels: Sequence[str] | None, signals: Sequence[str] | None, frequency: str
) -> tuple[list[str], list[str]]:
    """The levels and signals an export asks for (default: province to community, every
    signal), or ``BadInput`` naming the first unknown value (or frequency)."""
    chosen_levels = list(levels or LEVELS[:5])
    chosen_signals = list(signals or SIGNALS)
    bad = [x for x in chosen_levels if x not in LEVELS]
    bad += [x for x in chosen_signals if x not in SIGNALS]
    if bad or frequency not in ("day", "week"):
        what = bad[0] if bad else frequency
        raise BadInput(Problem("value.invalid", f"无效的取值 {what!r}", f"invalid value {what!r}"))
    return chosen_levels, chosen_signals


def export_table(
    engine: Engine, signals: Sequence[str], levels: Sequence[str], frequency: str,
    first: date, last: date,
) -> pa.Table:  # fmt: skip
    """:func:`aggregate_table` over the stored counts and regions (one read)."""
    with engine.connect() as conn:
        return aggregate_table(conn, RegionTree.load(conn), signals, levels, frequency,
                               first, last)  # fmt: skip


def write_table(table: pa.Table, path: Path) -> None:
    """``table`` to ``path``: Parquet for ``.parquet``/``.pq``, else CSV."""
    if path.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
