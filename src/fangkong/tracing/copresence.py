"""Exact venue co-presence (时空伴随) of cases and everyone else — the pure core.

Semantics (docs/formats.md, "trace"):
- a stay is [time_in, time_out) in whole seconds; a missing time_out was already
  replaced by time_in + the venue type's default dwell (``resolve_time_out``);
- a case's stay is first cut to the case's infectious window [start, end);
- overlap = min(ends) − max(starts); a close contact needs overlap > 0 and
  ≥ the venue's minimum; 0 < overlap < minimum is a general contact (一般接触者);
- the case is never its own contact; one row per (case, contact, venue, stay pair).

The index (``CheckinIndex``) sorts every stay by (venue, time_in) into one int64 key
``venue << t_bits | time_in − t0`` and keeps, per venue, the longest stay. A case stay
[s, e) at venue v can only meet stays with time_in in (s − longest(v), e): two binary
searches on the key bound them, and the whole query — every stay of every case — is a
handful of vectorised NumPy steps with no Python loop over stays or cases::

    case ──person index──▶ its stays ──cut to window──▶ [s, e) at v
         ──searchsorted(key, v|s−longest+1) .. searchsorted(key, v|e)──▶ candidates
         ──time_out > s, person ≠ case, overlap > 0──▶ pairs ──≥ minimum?──▶ close | general

Building sorts packed keys (value bits | row bits) with ``np.sort`` instead of
``argsort`` (3–4× faster): first by (venue, time_in), then the index's persons by
person with the index position as the row, each sort dealt into buckets of adjacent
majors that are sorted on two threads (NumPy releases the GIL). The sorted buffer
becomes the key in place and the rows are int32: the build allocates little beyond the
index itself, which matters where fresh memory is slow to fault in.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
Ints = npt.NDArray[np.integer[Any]]
Bools = npt.NDArray[np.bool_]


def resolve_time_out(time_in: I64, time_out: I64, missing: Bools, dwell: I64) -> I64:
    """time_out, with time_in + dwell (per row) where it is missing."""
    return np.where(missing, time_in + dwell, time_out).astype(np.int64)


@dataclass(frozen=True)
class Stays:
    """Check-ins as parallel arrays: person and venue codes (0..n-1), epoch seconds."""

    person: Ints
    venue: Ints
    time_in: I64
    time_out: I64  # resolved: never missing

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Cases:
    """Cases as parallel arrays: person code and infectious window [start, end)."""

    person: Ints
    start: I64
    end: I64

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Pairs:
    """One row per (case, contact, venue, stay pair), with the overlap as evidence."""

    case: I64  # row in Cases
    contact: I64  # person code
    venue: I64
    case_stay: I64  # row in Stays
    contact_stay: I64
    start: I64  # overlap [start, end), epoch seconds
    end: I64

    @property
    def seconds(self) -> I64:
        return self.end - self.start

    def __len__(self) -> int:
        return len(self.case)

    def take(self, which: Ints | Bools) -> Pairs:
        return Pairs(**{f.name: getattr(self, f.name)[which] for f in fields(self)})

    def rows(self) -> list[tuple[int, ...]]:
        """Plain tuples (case, contact, venue, case_stay, contact_stay, start, end)."""
        cols = [getattr(self, f.name).tolist() for f in fields(self)]
        return list(zip(*cols, strict=True))

    def plus(self, other: Pairs) -> Pairs:
        """These rows, then ``other``'s."""
        return Pairs(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                        for f in fields(self)})  # fmt: skip

    @classmethod
    def empty(cls) -> Pairs:
        none = np.zeros(0, np.int64)
        return cls(none, none, none, none, none, none, none)


@dataclass(frozen=True)
class CoPresence:
    close: Pairs  # overlap ≥ the venue's minimum: close contacts (密切接触者)
    general: Pairs  # 0 < overlap < minimum: general contacts (一般接触者)


def _bits(value: int) -> int:
    return max(int(value).bit_length(), 1)


def _compact(values: Ints) -> Ints:
    """The smallest of int32/int64 that holds the values (halves the index's memory)."""
    if len(values) == 0 or (values.min() >= -(2**31) and values.max() < 2**31):
        return values.astype(np.int32, copy=False)
    return values.astype(np.int64, copy=False)


_CHUNK = 1 << 21  # rows per step when packing: temporaries stay small (and in the heap)
_HIST_BITS = 16  # the split points are chosen on a histogram of major's top bits
_PARALLEL_ROWS = 1 << 20  # below this, one bucket (threads cost more than they save)
_BUCKET_ROWS = 1 << 19  # rows a bucket aims at: 4 MB of packed values, sorted in cache


def _halves(n: int) -> list[tuple[int, int]]:
    """Two row ranges split on a chunk boundary (one per thread), or one if n is small."""
    mid = min(-(-n // 2 // _CHUNK) * _CHUNK, n)
    return [(0, mid), (mid, n)] if 0 < mid < n else [(0, n)]


def _plan(
    major: Ints, mb: int, room: int, parts: int, ranges: list[tuple[int, int]]
) -> tuple[int, I64, list[I64]] | None:
    """Buckets of ``major`` for a parallel sort: (shift, the first bin of each bucket, rows
    per bin in each of ``ranges``), the bins being ``major >> shift``; each bucket spans
    under ``2**room`` values of major (so its packed value fits 64 bits) and holds about
    ``1/parts`` of the rows. None when even one bin is too wide."""
    shift = max(mb - _HIST_BITS, 0)
    if shift > room:
        return None
    width = 1 << (room - shift)  # bins per bucket at most
    hists = []
    for lo, hi in ranges:
        hist = np.zeros(((1 << mb) >> shift) + 1, np.int64)
        for i in range(lo, hi, _CHUNK):
            hist += np.bincount(major[i : min(i + _CHUNK, hi)] >> shift, minlength=len(hist))
        hists.append(hist)
    total = np.sum(hists, axis=0)
    target = -(-len(major) // parts)
    firsts, first, held = [0], 0, 0
    for b in np.flatnonzero(total).tolist():
        if b - first >= width or (held >= target and b > first):
            firsts.append(b)
            first, held = b, 0
        held += int(total[b])
    return shift, np.asarray(firsts, np.int64), hists


def sort_packed(
    major: Ints, minor: Ints | None, minor_bits: int, *, offset: int = 0,
    want_key: bool = True, parts: int | None = None,
) -> tuple[Ints, I64]:  # fmt: skip
    """(rows ordered by (major, minor − offset), the sorted keys ``major << minor_bits |
    (minor − offset)``); empty keys unless ``want_key``. No ``minor``: by major alone.

    Both parts ≥ 0 and ``minor − offset < 2**minor_bits``. The row number rides in the
    low bits of one packed uint64 per row, so a plain ``np.sort`` (SIMD, no index
    array) does the work and the sorted keys come out of the same array. The rows are
    first dealt into buckets of adjacent major values (a histogram of its top bits picks
    the bounds), each holding major less its bucket's first value, so the packed value
    fits 64 bits even where the whole key and the row number would not. Two threads
    pack (each its half of the rows into its own stretch of every bucket), sort (a
    bucket each) and unpack (NumPy releases the GIL), all in one buffer that ends up
    holding the keys in place. The rows come back as int32 when they fit (half the
    bytes). ``parts``: how many buckets to aim for (default: from a million rows on,
    buckets of about half a million rows, sorted in the cache — about half the time of
    one sort of the whole array).
    """
    n = len(major)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if minor is None:
        minor_bits = 0
    mb, rb = _bits(int(major.max())), _bits(n - 1)
    if want_key and mb + minor_bits > 63:
        raise ValueError("keys do not fit 63 bits")
    room = 64 - minor_bits - rb  # bits left for major within a bucket
    parts = parts or (min(max(n // _BUCKET_ROWS, 2), 4096) if n >= _PARALLEL_ROWS else 1)
    ranges = _halves(n) if n >= _PARALLEL_ROWS else [(0, n)]
    plan = _plan(major, mb, room, parts, ranges) if room > 0 else None
    if plan is None:
        return _sort_by_lexsort(major, minor, minor_bits, offset, want_key)
    shift, firsts, hists = plan
    nb, n_bins = len(firsts), len(hists[0])
    bin_bucket = np.repeat(np.arange(nb, dtype=np.int16 if nb < 2**15 else np.int64),
                           np.diff(np.append(firsts, n_bins)))  # fmt: skip
    bin_base = (firsts << shift).astype(np.uint64)[bin_bucket]  # each bin's bucket's first
    sizes = [np.add.reduceat(h, firsts) for h in hists]  # rows per bucket in each range
    bounds = np.concatenate([[0], np.cumsum(np.sum(sizes, axis=0))])
    starts = [bounds[:-1] + np.sum(sizes[:r], axis=0, dtype=np.int64) for r in range(len(sizes))]
    low, row_bits = np.uint64(minor_bits + rb), np.uint64(rb)
    packed = np.empty(n, np.uint64)

    def pack(lo: int, hi: int, cursor: I64) -> None:
        cursor = cursor.copy()
        for i in range(lo, hi, _CHUNK):
            j = min(i + _CHUNK, hi)
            m = major[i:j]
            top = m >> shift
            value = m.astype(np.uint64)
            value -= bin_base[top]
            value <<= low
            if minor is not None:
                part = minor[i:j].astype(np.int64) - offset
                value |= part.astype(np.uint64) << row_bits
            value |= np.arange(i, j, dtype=np.uint64)
            if nb == 1:
                packed[cursor[0] : cursor[0] + j - i] = value
                cursor[0] += j - i
                continue
            bucket = bin_bucket[top]
            if nb <= 4:
                for k in range(nb):
                    chosen = value[bucket == k]
                    packed[cursor[k] : cursor[k] + len(chosen)] = chosen
                    cursor[k] += len(chosen)
                continue
            # many buckets: deal the chunk by one stable sort of its bucket numbers (a
            # radix sort for int16), then copy each bucket's run
            value = value[np.argsort(bucket, kind="stable")]
            counts = np.bincount(bucket, minlength=nb)
            at = 0
            for k in np.flatnonzero(counts).tolist():
                size = int(counts[k])
                packed[cursor[k] : cursor[k] + size] = value[at : at + size]
                cursor[k] += size
                at += size

    views = [packed[bounds[k] : bounds[k + 1]] for k in range(nb)]
    order: Ints = np.empty(n, np.int32 if rb < 32 else np.int64)
    row_mask = np.uint64((1 << rb) - 1)

    def unpack(lo: int, hi: int) -> None:
        np.bitwise_and(packed[lo:hi], row_mask, out=order[lo:hi], casting="unsafe")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(pack, *zip(*ranges, strict=True), starts))
        list(pool.map(np.ndarray.sort, views))
        list(pool.map(unpack, *zip(*_halves(n), strict=True)))
    if not want_key:
        return order, np.zeros(0, np.int64)
    for view, first in zip(views, (firsts << shift).tolist(), strict=True):
        np.right_shift(view, row_bits, out=view)
        view += np.uint64(first << minor_bits)
    return order, packed.view(np.int64)


def _sort_by_lexsort(
    major: Ints, minor: Ints | None, minor_bits: int, offset: int, want_key: bool
) -> tuple[Ints, I64]:
    """The slow path for keys too wide to pack with a row number in any bucket."""
    if minor is None:
        order = np.argsort(major, kind="stable").astype(np.int64)
        key = major[order].astype(np.int64)
    else:
        order = np.lexsort((minor, major)).astype(np.int64)
        key = (major[order].astype(np.int64) << minor_bits) | (minor[order] - offset)
    return order, key.astype(np.int64) if want_key else np.zeros(0, np.int64)


def sort_by(major: Ints, minor: Ints) -> Ints:
    """Rows ordered by (major, minor), both ≥ 0."""
    bits = _bits(int(minor.max())) if len(minor) else 1
    return sort_packed(major, minor, bits, want_key=False)[0]


def _ranges(starts: Ints, counts: Ints) -> I64:
    """Concatenated aranges [starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    before = np.cumsum(counts) - counts
    out: I64 = np.arange(total, dtype=np.int64) + np.repeat(starts - before, counts)
    return out


class CheckinIndex:
    """Stays sorted by (venue, time_in) with per-venue longest stay, plus a person index."""

    def __init__(
        self,
        *,
        t0: int,
        t_bits: int,
        key: I64,
        time_out: Ints,
        person: Ints,
        row: Ints,
        longest: I64,
        person_offsets: I64,
        person_positions: Ints,
    ) -> None:
        self.t0, self.t_bits = t0, t_bits
        self.key, self.time_out, self.person, self.row = key, time_out, person, row
        self.longest = longest
        self.person_offsets, self.person_positions = person_offsets, person_positions

    def __len__(self) -> int:
        return len(self.key)

    @property
    def nbytes(self) -> int:
        arrays = (self.key, self.time_out, self.person, self.row, self.longest,
                  self.person_offsets, self.person_positions)  # fmt: skip
        return sum(a.nbytes for a in arrays)

    @classmethod
    def build(
        cls, stays: Stays, *, n_persons: int | None = None, n_venues: int | None = None
    ) -> CheckinIndex:
        n = len(stays)
        n_persons = n_persons if n_persons is not None else _count(stays.person)
        n_venues = n_venues if n_venues is not None else _count(stays.venue)
        t0 = int(stays.time_in.min()) if n else 0
        t_bits = _bits(int(stays.time_in.max()) - t0 + 1 if n else 1)
        if _bits(n_venues) + t_bits > 63:
            raise ValueError("check-ins span too long a time for the index")
        row, key = sort_packed(stays.venue, stays.time_in, t_bits, offset=t0)
        row = _compact(row)
        time_out, person = _gathered(stays, row, t0)
        with ThreadPoolExecutor(2) as pool:
            longest_job = pool.submit(_longest, key, time_out, t_bits, n_venues)
            counts_job = pool.submit(np.bincount, stays.person, minlength=n_persons)
            longest, counts = longest_job.result(), counts_job.result()
        # each person's stays: index positions grouped by person (the positions ride in
        # the packed value, so no inverse permutation is needed)
        person_positions = _compact(sort_packed(person, None, 0, want_key=False)[0])
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(
            t0=t0, t_bits=t_bits, key=key, time_out=time_out, person=person, row=row,
            longest=longest, person_offsets=offsets, person_positions=person_positions,
        )  # fmt: skip

    def stays_of(self, persons: Ints) -> tuple[I64, I64]:
        """(which of ``persons``, position in the index) for every stay of those persons."""
        persons = np.asarray(persons, np.int64)
        known = (persons >= 0) & (persons < len(self.person_offsets) - 1)
        safe = np.where(known, persons, 0)
        if len(self.person_offsets) < 2:
            safe = safe[:0]
            persons = persons[:0]
            known = known[:0]
        starts = self.person_offsets[safe]
        counts = np.where(known, self.person_offsets[safe + 1] - starts, 0)
        which = np.repeat(np.arange(len(persons), dtype=np.int64), counts)
        return which, self.person_positions[_ranges(starts, counts)].astype(np.int64)

    def query(
        self, cases: Cases, min_overlap_by_venue: Ints, *, zone: Ints | None = None,
        zone_by_venue: Bools | None = None,
    ) -> CoPresence:  # fmt: skip
        """Close and general contacts of every case (one vectorised pass); with ``zone``
        (per stay row) and ``zone_by_venue``, narrowed by zone (``by_zone``)."""
        tb, tmax = self.t_bits, (1 << self.t_bits) - 1
        mask = np.int64(tmax)
        which, pos = self.stays_of(cases.person)
        v = self.key[pos] >> tb
        s = np.maximum(self.key[pos] & mask, np.asarray(cases.start)[which] - self.t0)
        e = np.minimum(self.time_out[pos], np.asarray(cases.end)[which] - self.t0)
        cut = s < e  # the part of the stay inside the infectious window
        which, pos, v, s, e = which[cut], pos[cut], v[cut], s[cut], e[cut]
        lo = np.searchsorted(self.key, (v << tb) | np.clip(s - self.longest[v] + 1, 0, tmax))
        hi = np.searchsorted(self.key, (v << tb) | np.clip(e, 0, tmax))
        counts = hi - lo
        q = np.repeat(np.arange(len(v), dtype=np.int64), counts)
        cand = _ranges(lo, counts)
        case_person = np.asarray(cases.person, np.int64)[which[q]]
        c_out = self.time_out[cand]
        keep = (c_out > s[q]) & (self.person[cand] != case_person)
        q, cand, c_out = q[keep], cand[keep], c_out[keep]
        start = np.maximum(s[q], self.key[cand] & mask)
        end = np.minimum(e[q], c_out)
        met = end > start
        q, cand, start, end = q[met], cand[met], start[met], end[met]
        pairs = Pairs(
            case=which[q],
            contact=self.person[cand].astype(np.int64),
            venue=v[q],
            case_stay=self.row[pos[q]].astype(np.int64),
            contact_stay=self.row[cand].astype(np.int64),
            start=start + self.t0,
            end=end + self.t0,
        )
        close = pairs.seconds >= np.asarray(min_overlap_by_venue, np.int64)[pairs.venue]
        found = CoPresence(close=pairs.take(close), general=pairs.take(~close))
        if zone is None or zone_by_venue is None:
            return found
        return by_zone(found, zone, zone_by_venue)


def by_zone(found: CoPresence, zone: Ints, zone_by_venue: Bools) -> CoPresence:
    """Close pairs at a venue of ``zone_by_venue`` whose two stays were in different
    zones become general contacts (another table, another room).

    ``zone[row]`` is the zone code of stay ``row`` (any int; equal: the same zone;
    negative: no zone). A pair where either stay has no zone stays close: the whole-venue
    rule, the safe side when the table is not known.
    """
    close = found.close
    if len(close) == 0:
        return found
    zone = np.asarray(zone, np.int64)
    mine, theirs = zone[close.case_stay], zone[close.contact_stay]
    apart = np.asarray(zone_by_venue, bool)[close.venue] & (mine >= 0) & (theirs >= 0)
    apart &= mine != theirs
    if not apart.any():
        return found
    return CoPresence(close=close.take(~apart), general=found.general.plus(close.take(apart)))


def _gathered(stays: Stays, row: Ints, t0: int) -> tuple[Ints, Ints]:
    """(time_out − t0, person) of the stays in index order: two random gathers, each
    split in halves over two threads (NumPy's take releases the GIL), time_out written
    relative to t0 in the smallest of int32/int64 that holds it (later gathers from the
    index then move half the bytes) with no full-length temporary."""
    n = len(row)
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    low, high = int(stays.time_out.min()) - t0, int(stays.time_out.max()) - t0
    fits = low >= -(2**31) and high < 2**31
    time_out: Ints = np.empty(n, np.int32 if fits else np.int64)
    person: Ints = np.empty(n, np.asarray(stays.person).dtype)

    def times(lo: int, hi: int) -> None:
        for i in range(lo, hi, _CHUNK):
            j = min(i + _CHUNK, hi)
            np.subtract(np.take(stays.time_out, row[i:j]), t0, out=time_out[i:j],
                        casting="unsafe")  # fmt: skip

    def persons(lo: int, hi: int) -> None:
        np.take(stays.person, row[lo:hi], out=person[lo:hi])

    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(f, lo, hi) for f in (times, persons) for lo, hi in _halves(n)]
        for job in jobs:
            job.result()
    return time_out, _compact(person)


def _count(codes: Ints) -> int:
    return int(codes.max()) + 1 if len(codes) else 0


def _longest(key: I64, time_out: Ints, t_bits: int, n_venues: int) -> I64:
    """The longest stay at each venue (0 if none), from the sorted index, chunk by chunk."""
    longest = np.zeros(n_venues, np.int64)
    mask = np.int64((1 << t_bits) - 1)
    for i in range(0, len(key), _CHUNK):
        k = key[i : i + _CHUNK]
        venue = k >> t_bits
        duration = time_out[i : i + _CHUNK] - (k & mask)
        starts = np.flatnonzero(np.diff(venue, prepend=-1))
        at = venue[starts]
        longest[at] = np.maximum(longest[at], np.maximum.reduceat(duration, starts))
    return longest


def copresence(stays: Stays, cases: Cases, min_overlap_by_venue: Ints) -> CoPresence:
    """Build the index and query every case: the batch trace of the in-memory engine."""
    return CheckinIndex.build(stays).query(cases, min_overlap_by_venue)
