"""The batch trace written once as Ibis expressions: DuckDB locally, Apache Spark at scale.

Inputs are three Parquet tables — check-ins (docs/formats.md columns, time_out may be
missing, ``zone`` optional), cases (``person_id``, ``win_from``, ``win_until`` in epoch
seconds) and venue rules (``venue_type``, ``dwell_seconds``, ``min_overlap_seconds``,
``close_by_zone``) — and the expression is the exact semantics of ``copresence``: the
case's stay cut to its window, overlap = min(ends) − max(starts) > 0, the case never its
own contact, one row per stay pair, ``close`` when the overlap reaches the venue type's
minimum — and, where the type is ``close_by_zone``, unless both stays name different
zones (``copresence.by_zone``). It is the self-join an
analyst would write; the in-memory engine answers the same question from an index.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis  # type: ignore[import-untyped]
import pyarrow as pa

ENGINES = ("memory", "duckdb", "spark")
OUT_COLUMNS = (
    "case_id", "contact_id", "venue_id", "overlap_start", "overlap_end", "overlap_seconds",
    "case_event_id", "contact_event_id", "close",
)  # fmt: skip


@contextmanager
def _quiet() -> Iterator[None]:
    # Ibis 12 on DuckDB 2 and PySpark 4 on pandas 3 warn about their own internals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        yield


def trace_expr(checkins: Any, cases: Any, venue_rules: Any) -> Any:
    """The co-presence self-join as one Ibis expression (backend-neutral)."""
    if "zone" not in checkins.columns:  # files from before zones
        checkins = checkins.mutate(zone=ibis.null().cast("string"))
    ck = checkins.distinct().inner_join(venue_rules, "venue_type")
    t_in = ck.time_in.epoch_seconds().cast("int64")
    t_out = ibis.coalesce(ck.time_out.epoch_seconds().cast("int64"), t_in + ck.dwell_seconds)
    ck = ck.select(
        event_id=ck.event_id, person_id=ck.person_id, venue_id=ck.venue_id,
        min_overlap=ck.min_overlap_seconds.cast("int64"), t_in=t_in, t_out=t_out,
        zone=ck.zone.cast("string"), by_zone=ck.close_by_zone,
    )  # fmt: skip
    joined = ck.inner_join(cases, "person_id")
    cs = joined.select(
        case_id=joined.person_id,
        case_event_id=joined.event_id,
        case_zone=joined.zone,
        venue_id=joined.venue_id,
        s=ibis.greatest(joined.t_in, joined.win_from),
        e=ibis.least(joined.t_out, joined.win_until),
    )
    cs = cs.filter(cs.s < cs.e)
    other = ck.view()
    pairs = cs.inner_join(
        other,
        [
            cs.venue_id == other.venue_id,
            other.t_in < cs.e,
            other.t_out > cs.s,
            other.person_id != cs.case_id,
        ],
    )
    start = ibis.greatest(pairs.s, pairs.t_in)
    end = ibis.least(pairs.e, pairs.t_out)
    out = pairs.select(
        case_id=pairs.case_id,
        contact_id=pairs.person_id,
        venue_id=pairs.venue_id,
        overlap_start=start,
        overlap_end=end,
        overlap_seconds=end - start,
        case_event_id=pairs.case_event_id,
        contact_event_id=pairs.event_id,
        min_overlap=pairs.min_overlap,
        apart=pairs.by_zone
        & pairs.case_zone.notnull()
        & pairs.zone.notnull()
        & (pairs.case_zone != pairs.zone),
    )
    out = out.filter(out.overlap_seconds > 0)
    close = (out.overlap_seconds >= out.min_overlap) & ~out.apart
    return out.mutate(close=close).drop("min_overlap", "apart")


def spark_session(cores: int = 2) -> Any:
    """A local Spark session (no UI, UTC, quiet); the same one for the whole process."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no loopback-address warning
    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(logging.ERROR)
    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("fangkong-trace")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_trace(engine: str, checkins: Sequence[Path], cases: Path, venue_rules: Path) -> pa.Table:
    """Run ``trace_expr`` on DuckDB or Spark over Parquet files; rows in OUT_COLUMNS."""
    if engine == "duckdb":
        with _quiet():
            con = ibis.duckdb.connect()
            try:
                expr = trace_expr(
                    # files from before zones have no zone column: union by name
                    con.read_parquet([str(p) for p in checkins], union_by_name=True),
                    con.read_parquet(str(cases)),
                    con.read_parquet(str(venue_rules)),
                )
                result: pa.Table = con.to_pyarrow(expr)
            finally:
                con.disconnect()
        return result
    if engine == "spark":
        with _quiet():
            session = spark_session()
            con = ibis.pyspark.connect(session)

            def load(name: str, paths: Sequence[Path]) -> Any:
                session.read.option("recursiveFileLookup", "true").option(
                    "mergeSchema", "true"
                ).parquet(*[str(p) for p in paths]).createOrReplaceTempView(name)
                return con.table(name)

            expr = trace_expr(
                load("fk_checkins", checkins), load("fk_cases", [cases]),
                load("fk_venue_rules", [venue_rules]),
            )  # fmt: skip
            spark_result: pa.Table = session.sql(con.compile(expr)).toArrow()
        return spark_result
    raise ValueError(f"unknown engine {engine!r}")
