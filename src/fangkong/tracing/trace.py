"""The batch trace (the trace engine): close and general contacts from check-in and case files.

``trace`` takes validated check-ins and cases (Arrow tables, see ``files``) and returns
close and general contacts with evidence, from any engine: ``memory`` (the NumPy index
of ``copresence``), ``duckdb`` or ``spark`` (the Ibis expression of ``engines``). The
three give identical rows; the result is sorted so they compare equal. ``fangkong trace``
calls it; the trace of registered cases, stored in the database, is ``trace_job``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.parquet as pq

from fangkong.tracing.copresence import Cases, CheckinIndex, Pairs, Stays, resolve_time_out
from fangkong.tracing.engines import ENGINES, run_trace
from fangkong.tracing.files import TIME, VENUE_TYPES
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.zones import zone_codes

Arrow = Any
pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays

OPEN_END = 2**62  # a case not isolated yet: the window stays open
_RESULT_FIELDS: list[Any] = [
    pa.field("case_id", pa.string()),
    pa.field("contact_id", pa.string()),
    pa.field("venue_id", pa.string()),
    pa.field("overlap_start", TIME),
    pa.field("overlap_end", TIME),
    pa.field("overlap_seconds", pa.int64()),
    pa.field("case_event_id", pa.string()),
    pa.field("contact_event_id", pa.string()),
]
RESULT_SCHEMA = pa.schema(_RESULT_FIELDS)
_RULE_FIELDS: list[Any] = [
    pa.field("venue_type", pa.string()),
    pa.field("dwell_seconds", pa.int64()),
    pa.field("min_overlap_seconds", pa.int64()),
    pa.field("close_by_zone", pa.bool_()),
]
OUTPUT_COLUMNS = RESULT_SCHEMA.names[:6]


@dataclass(frozen=True)
class TraceResult:
    close: pa.Table  # 密切接触者: overlap ≥ the venue type's minimum
    general: pa.Table  # 一般接触者: 0 < overlap < minimum


@dataclass(frozen=True)
class Encoded:
    """Check-ins and cases as codes for the NumPy engine, with the dictionaries back."""

    stays: Stays
    cases: Cases
    min_overlap_by_venue: np.ndarray
    persons: Arrow
    venues: Arrow
    event_ids: Arrow
    case_ids: Arrow
    zone: np.ndarray | None = None  # per stay, zone_codes (−1: none); None: no zone column
    zone_by_venue: np.ndarray | None = None


def _seconds(column: Arrow) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False))


def venue_rules_table(rules: ContactRules) -> pa.Table:
    """One row per venue type: the dwell, minimum overlap and zone rule the trace applies."""
    return pa.table(
        {
            "venue_type": list(VENUE_TYPES),
            "dwell_seconds": [rules.venue(t).default_dwell_seconds for t in VENUE_TYPES],
            "min_overlap_seconds": [rules.venue(t).close_overlap_seconds for t in VENUE_TYPES],
            "close_by_zone": [rules.venue(t).close_by_zone for t in VENUE_TYPES],
        },
        schema=pa.schema(_RULE_FIELDS),
    )


def encode(checkins: pa.Table, cases: pa.Table, rules: ContactRules) -> Encoded:
    """Dictionary-encode ids, resolve missing time_out by the venue type's dwell."""
    person = pc.dictionary_encode(checkins.column("person_id")).combine_chunks()
    venue = pc.dictionary_encode(checkins.column("venue_id")).combine_chunks()
    vtype = pc.dictionary_encode(checkins.column("venue_type")).combine_chunks()
    type_names = vtype.dictionary.to_pylist()
    dwell = np.array([rules.venue(t).default_dwell_seconds for t in type_names], np.int64)
    minimum = np.array([rules.venue(t).close_overlap_seconds for t in type_names], np.int64)
    type_code = np.asarray(vtype.indices.to_numpy(zero_copy_only=False), np.int64)
    venue_code = np.asarray(venue.indices.to_numpy(zero_copy_only=False), np.int64)
    min_by_venue = np.zeros(len(venue.dictionary), np.int64)
    min_by_venue[venue_code] = minimum[type_code] if len(type_code) else 0
    zoned = np.array([rules.venue(t).close_by_zone for t in type_names], bool)
    zone_by_venue = np.zeros(len(venue.dictionary), bool)
    zone_by_venue[venue_code] = zoned[type_code] if len(type_code) else False
    t_in = _seconds(checkins.column("time_in"))
    t_out_col = checkins.column("time_out")
    missing = pc.is_null(t_out_col).to_numpy(zero_copy_only=False)
    t_out = _seconds(pc.fill_null(t_out_col, pa.scalar(0, TIME)))
    stays = Stays(
        person=np.asarray(person.indices.to_numpy(zero_copy_only=False), np.int64),
        venue=venue_code,
        time_in=t_in,
        time_out=resolve_time_out(t_in, t_out, missing, dwell[type_code]),
    )
    case_code = pc.fill_null(pc.index_in(cases.column("person_id"), person.dictionary), -1)
    until = pc.fill_null(pc.cast(cases.column("infectious_until"), pa.int64()), OPEN_END)
    encoded_cases = Cases(
        person=np.asarray(case_code.to_numpy(zero_copy_only=False), np.int64),
        start=_seconds(cases.column("infectious_from")),
        end=np.asarray(until.to_numpy(zero_copy_only=False), np.int64),
    )
    return Encoded(
        stays=stays, cases=encoded_cases, min_overlap_by_venue=min_by_venue,
        persons=person.dictionary, venues=venue.dictionary,
        event_ids=checkins.column("event_id").combine_chunks(),
        case_ids=cases.column("person_id").combine_chunks(),
        zone=zone_codes(checkins.column("zone")) if "zone" in checkins.column_names else None,
        zone_by_venue=zone_by_venue,
    )  # fmt: skip


def decode(pairs: Pairs, enc: Encoded) -> pa.Table:
    """Pairs of codes back to ids and times, as RESULT_SCHEMA."""

    def take(values: Arrow, codes: np.ndarray) -> Arrow:
        return values.take(pa.array(codes, pa.int64()))

    return pa.table(
        [
            take(enc.case_ids, pairs.case),
            take(enc.persons, pairs.contact),
            take(enc.venues, pairs.venue),
            pa.array(pairs.start, pa.int64()).cast(TIME),
            pa.array(pairs.end, pa.int64()).cast(TIME),
            pa.array(pairs.seconds, pa.int64()),
            take(enc.event_ids, pairs.case_stay),
            take(enc.event_ids, pairs.contact_stay),
        ],
        schema=RESULT_SCHEMA,
    )


def sort_result(table: pa.Table) -> pa.Table:
    keys: Any = [(c, "ascending") for c in RESULT_SCHEMA.names]
    return table.select(RESULT_SCHEMA.names).sort_by(keys)


def trace(
    checkins: pa.Table,
    cases: pa.Table,
    rules: ContactRules,
    *,
    engine: str = "memory",
    lake_files: Sequence[Path] | None = None,
) -> TraceResult:
    """Close and general contacts of every case (see ``copresence`` for the semantics).

    ``lake_files``: for ``duckdb``/``spark``, read check-ins from these Parquet files
    (the lake) instead of writing ``checkins`` out first.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "memory":
        enc = encode(checkins, cases, rules)
        index = CheckinIndex.build(enc.stays, n_venues=len(enc.venues))
        found = index.query(enc.cases, enc.min_overlap_by_venue, zone=enc.zone,
                            zone_by_venue=enc.zone_by_venue)  # fmt: skip
        return TraceResult(
            close=sort_result(decode(found.close, enc)),
            general=sort_result(decode(found.general, enc)),
        )
    with tempfile.TemporaryDirectory(prefix="fangkong-trace-") as tmp:
        root = Path(tmp)
        files = list(lake_files or [])
        if not files:
            files = [root / "checkins.parquet"]
            pq.write_table(checkins, files[0])
        until = pc.fill_null(pc.cast(cases.column("infectious_until"), pa.int64()), OPEN_END)
        case_table = pa.table(
            {
                "person_id": cases.column("person_id"),
                "win_from": pc.cast(cases.column("infectious_from"), pa.int64()),
                "win_until": until,
            }
        )
        pq.write_table(case_table, root / "cases.parquet")
        pq.write_table(venue_rules_table(rules), root / "venue_rules.parquet")
        raw = run_trace(engine, files, root / "cases.parquet", root / "venue_rules.parquet")
    return _split(raw)


def _split(raw: pa.Table) -> TraceResult:
    def shaped(part: pa.Table) -> pa.Table:
        cols = [
            part.column("case_id").cast(pa.string()),
            part.column("contact_id").cast(pa.string()),
            part.column("venue_id").cast(pa.string()),
            part.column("overlap_start").cast(pa.int64()).cast(TIME),
            part.column("overlap_end").cast(pa.int64()).cast(TIME),
            part.column("overlap_seconds").cast(pa.int64()),
            part.column("case_event_id").cast(pa.string()),
            part.column("contact_event_id").cast(pa.string()),
        ]
        return sort_result(pa.table(cols, schema=RESULT_SCHEMA))

    close = raw.column("close")
    return TraceResult(
        close=shaped(raw.filter(close)), general=shaped(raw.filter(pc.invert(close)))
    )
