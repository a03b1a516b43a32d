"""Check-ins the co-presence engine reads when a registered case is traced.

``CheckinSource`` indexes check-ins (from the lake, an Arrow table or parallel arrays)
for ``copresence``, with the dictionaries back to database person ids, place codes and
event ids (the evidence); ``trace_job`` queries it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc

from fangkong.tracing.copresence import I64, Cases, CheckinIndex, CoPresence, Ints, Stays
from fangkong.tracing.copresence import resolve_time_out as _resolve
from fangkong.tracing.groups import (
    Manifest,
)
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.zones import zone_codes

pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays


@dataclass(frozen=True)
class CheckinSource:
    """Check-ins indexed for the co-presence engine, with their dictionaries back.

    ``person_ids[code]`` is the database person id of person code ``code``;
    ``venue_codes[v]`` the place code of venue index ``v``; ``event_ids[row]`` the
    event id of stay ``row`` (evidence). ``manifest`` (optional) holds transport
    passengers with ``person`` as database person ids. ``min_overlap_by_venue`` is the
    close-contact overlap of the venue's type (never where it is ``close_by_unit``).
    ``zone[row]`` is the zone code of stay ``row`` (−1: none; ``None``: no stay has one)
    and ``zone_by_venue[v]`` whether venue ``v``'s type makes close contacts by zone.
    """

    index: CheckinIndex
    person_ids: I64
    venue_codes: Sequence[str]
    min_overlap_by_venue: I64
    event_ids: Any
    manifest: Manifest | None = None
    code_of: Mapping[int, int] = field(default_factory=dict)
    zone: I64 | None = None
    zone_by_venue: Any = None

    @classmethod
    def build(
        cls,
        *,
        person_ids: Ints,
        venue: Ints,
        venue_codes: Sequence[str],
        venue_types: Sequence[str],
        time_in: I64,
        time_out: I64,
        missing_out: Any,
        rules: ContactRules,
        event_ids: Any,
        manifest: Manifest | None = None,
        zone: Ints | None = None,
    ) -> CheckinSource:
        """From parallel arrays: per stay the database person id, the venue index, epoch
        seconds in and out (``missing_out``: no time out, the venue type's dwell applies)
        and optionally its zone code (``zone_codes``; −1: none); per venue index its place
        code and type."""
        uniq, code = np.unique(np.asarray(person_ids, np.int64), return_inverse=True)
        dwell = np.array([rules.venue(t).default_dwell_seconds for t in venue_types], np.int64)
        minimum = np.array([rules.venue(t).close_overlap_seconds for t in venue_types], np.int64)
        venue = np.asarray(venue, np.int64)
        t_in = np.asarray(time_in, np.int64)
        t_out = _resolve(
            t_in,
            np.asarray(time_out, np.int64),
            np.asarray(missing_out, bool),
            dwell[venue] if len(venue) else np.zeros(0, np.int64),
        )
        stays = Stays(person=code.astype(np.int64), venue=venue, time_in=t_in, time_out=t_out)
        index = CheckinIndex.build(stays, n_persons=len(uniq), n_venues=len(venue_codes))
        return cls(
            index=index, person_ids=uniq.astype(np.int64), venue_codes=list(venue_codes),
            min_overlap_by_venue=minimum, event_ids=event_ids, manifest=manifest,
            code_of={int(p): i for i, p in enumerate(uniq.tolist())},
            zone=None if zone is None else np.asarray(zone, np.int64),
            zone_by_venue=np.array([rules.venue(t).close_by_zone for t in venue_types], bool),
        )  # fmt: skip

    @classmethod
    def from_table(cls, table: pa.Table, rules: ContactRules) -> CheckinSource:
        """From check-ins in the lake's columns (docs/formats.md; ``zone`` optional);
        ``person_id`` holds the database person id (as scans land it); rows of other ids
        are left out."""
        ok = pc.fill_null(pc.utf8_is_digit(table.column("person_id")), False)
        table = table.filter(ok)
        pid = pc.cast(table.column("person_id"), pa.int64())
        venue = pc.dictionary_encode(table.column("venue_id")).combine_chunks()
        codes = venue.dictionary.to_pylist()
        vindex = np.asarray(venue.indices.to_numpy(zero_copy_only=False), np.int64)
        types = [""] * len(codes)
        for v, t in zip(vindex.tolist(), table.column("venue_type").to_pylist(), strict=True):
            types[v] = str(t)
        t_out = table.column("time_out")
        return cls.build(
            person_ids=np.asarray(pid.to_numpy(zero_copy_only=False), np.int64),
            venue=vindex, venue_codes=codes, venue_types=types,
            time_in=_seconds(table.column("time_in")),
            time_out=_seconds(pc.fill_null(pc.cast(t_out, pa.int64()), 0)),
            missing_out=np.asarray(pc.is_null(t_out).to_numpy(zero_copy_only=False), bool),
            rules=rules,
            event_ids=np.asarray(table.column("event_id").to_numpy(zero_copy_only=False)),
            zone=zone_codes(table.column("zone")) if "zone" in table.column_names else None,
        )  # fmt: skip

    @classmethod
    def from_lake(cls, lake: CheckinLake, rules: ContactRules) -> CheckinSource:
        return cls.from_table(lake.read(), rules)

    def codes(self, person_ids: Sequence[int]) -> I64:
        """Person codes of database ids (−1: no check-in)."""
        return np.array([self.code_of.get(int(p), -1) for p in person_ids], np.int64)

    def event(self, row: int) -> str:
        return str(self.event_ids[row])

    def query(self, cases: Cases) -> CoPresence:
        """Close and general contacts of ``cases`` (person codes), by zone where the
        venue's type says so."""
        return self.index.query(cases, self.min_overlap_by_venue, zone=self.zone,
                                zone_by_venue=self.zone_by_venue)  # fmt: skip


def _seconds(column: Any) -> I64:
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), np.int64)


__all__ = [
    "CheckinSource",
]
