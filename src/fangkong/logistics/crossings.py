"""Crossings (车辆通行查验): record a vehicle through a checkpoint, idempotent by its ref.

A device (token scope ``checkpoint``), a file or the desk's page sends one crossing: the
plate, the people (driver, passengers, by identity document), origin, travel history,
destination, cargo and the pass's QR text. The flow, one transaction::

    check the values (bounds: ref, plate, region codes, people ≤ max_people, the device's
        time within its window — a late, offline submission is accepted while inside it)
      ─▶ (checkpoint, ref) stored before: the stored outcome, nothing written (a resent
         crossing with other values is a conflict, nothing is silently replaced)
      ─▶ people sealed and matched to the registry by sealed document (created if absent,
         as arrivals registers travellers: registry.persons.find_or_create_by_document)
      ─▶ facts: each person's code colour (healthcode's stored code), a negative test
         within test_valid_hours (testing's results, or the one the person shows from
         another province: 互认), a stay in a risk area (riskareas.touching over the
         history window); the pass verified by one call (``verify_pass``: passes'
         ``check_pass``) — 'none' when no pass is shown or no verifier is given
      ─▶ the outcome (logistics.check, pure)
      ─▶ the crossing and its people stored; people without a valid test sampled through
         testing's own collection (the result flows and a positive is chased: 即走即追);
         people for the closed loop handed to arrivals as a highway manifest from the
         checkpoint's venue (its own service), their traveller id kept

``counts_by_hour`` gives throughput per checkpoint per hour (road status reads it).
The pieces: ``crossing_input`` (the shapes and their bounds), ``checkpoints`` (the
checkpoint registry), ``stored`` (replays, stored outcomes, listings, counts by hour);
this module records. Their public names are re-exported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, bindparam, select

from fangkong.arrivals.manifests import ManifestHeader, register_manifest
from fangkong.arrivals.rules import ArrivalRules
from fangkong.errors import BadInput
from fangkong.healthcode.codes import stored_colours
from fangkong.healthcode.context import CodeContext
from fangkong.identity.sealing import Sealer
from fangkong.logistics.check import CrossingCheck, PersonFacts, check_crossing
from fangkong.logistics.checkpoints import (
    CHECKPOINT_SORTS,
    CheckpointConflict,
    CheckpointIn,
    CheckpointUnknown,
    add_checkpoint,
    checkpoint_of_venue,
    get_checkpoint,
    list_checkpoints,
)
from fangkong.logistics.crossing_input import (
    _NO_PASS,
    _UNVERIFIED,
    CrossingConflict,
    CrossingIn,
    CrossingOut,
    PassVerdict,
    PassVerifier,
    PersonIn,
    PersonOut,
    _invalid,
    _p,
    _problems,
    _sealed_people,
    normalise_plate,
)
from fangkong.logistics.model import PASS_VERDICTS
from fangkong.logistics.rules import LogisticsRules
from fangkong.logistics.stored import (
    CROSSING_SORTS,
    _out,
    counts_by_hour,
    list_crossings,
    people_of,
    replay_of,
    stored_crossing,
)
from fangkong.logistics.tables import crossing_people, crossings
from fangkong.registry.persons import find_or_create_by_document, ids_by_document
from fangkong.riskareas.touching import levels_touching
from fangkong.settings import default_tz
from fangkong.store.fast import DriverSelect
from fangkong.store.schema import regions
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, register_sample
from fangkong.testing.validity import latest_negative

ARRIVAL_VIA = {"api": "api", "file": "import", "form": "form"}

_FAST_REGION = DriverSelect(
    lambda: select(regions.c.code).where(regions.c.code == bindparam("code"))
)
_INSERT = crossings.insert().returning(crossings.c.id)
_INSERT_PEOPLE = crossing_people.insert()


@dataclass
class _Facts:
    colours: dict[int, str] = field(default_factory=dict)
    tested: dict[int, bool] = field(default_factory=dict)
    risk: dict[int, tuple[str, str] | None] = field(default_factory=dict)


def _facts(conn: Connection, c: CrossingIn, ids: Sequence[int], rules: LogisticsRules) -> _Facts:
    facts = _Facts()
    valid_since = c.at - timedelta(hours=rules.test_valid_hours)
    negatives = latest_negative(conn, ids, since=valid_since, until=c.at)
    window = c.at - timedelta(days=rules.history_days)
    places = [c.origin_region, *c.history]
    touched = levels_touching(conn, places, window, c.at)
    worst = max(
        (touched[p] for p in places if p in touched),
        key=lambda t: ("low", "medium", "high").index(t[0]),
        default=None,
    )
    colours = stored_colours(conn, ids)
    for pid, p in zip(ids, c.people, strict=True):
        facts.colours[pid] = colours.get(pid, "none")
        shown = p.negative_test_at is not None and valid_since <= p.negative_test_at <= c.at
        facts.tested[pid] = pid in negatives or shown
        facts.risk[pid] = worst  # the vehicle's history is each of its people's
    return facts


def _barcode(c: CrossingIn, index: int) -> str:
    digest = hashlib.blake2b(
        f"{c.checkpoint_code}|{c.ref}|{index}".encode(), digest_size=12
    ).hexdigest()
    return f"LG{digest.upper()}"


def _verify(
    conn: Connection, c: CrossingIn, plate: str, driver_ids: Sequence[int], region: str,
    verify_pass: PassVerifier | None,
) -> tuple[str, str | None, str, str]:  # fmt: skip
    if c.pass_token is None or not c.pass_token.strip():
        return "none", None, *_NO_PASS
    if verify_pass is None:
        return "none", None, *_UNVERIFIED
    got = verify_pass(
        conn, c.pass_token.strip(), plate=plate, driver_ids=list(driver_ids),
        checkpoint_region=region, at=c.at,
    )  # fmt: skip
    verdict = got.verdict if got.verdict in PASS_VERDICTS else "invalid"
    serial = (got.serial or None) and str(got.serial)[:32]
    return verdict, serial, got.reason_zh, got.reason_en


@dataclass(frozen=True)
class PreparedCrossing:
    """A crossing checked and decided, not yet stored: what ``store_crossing`` writes."""

    crossing: CrossingIn
    checkpoint: Row[Any]
    plate: str
    sealed: list[dict[str, Any]]
    residence: str  # where a person the registry lacks is registered as living
    known: tuple[int | None, ...]  # registry ids when decided (None: not in the registry)
    facts: tuple[PersonFacts, ...]
    outcome: CrossingCheck
    pass_verdict: str
    pass_serial: str | None
    pass_zh: str
    pass_en: str
    at: datetime
    actor: str
    via: str

    @property
    def plain(self) -> bool:
        """Stores only the crossing and its people: nobody sampled, nobody handed over."""
        return not any(o.sampled or o.closed_loop for o in self.outcome.people)

    @property
    def sampling(self) -> bool:
        """Someone is sampled here (testing's collection: a tube, a pending test, codes)."""
        return any(o.sampled for o in self.outcome.people)

    @property
    def hands_over(self) -> bool:
        """Someone is handed to the closed loop (arrivals' manifest)."""
        return any(o.closed_loop for o in self.outcome.people)


class PeopleChanged(Exception):
    """A person the registry lacked when the crossing was decided is there now (made by
    another request meanwhile): the crossing is decided again on the full path."""


def prepare_crossing(
    conn: Connection,
    crossing: CrossingIn,
    *,
    at: datetime,
    actor: str,
    via: str,
    rules: LogisticsRules,
    sealer: Sealer,
    verify_pass: PassVerifier | None = None,
    tz: ZoneInfo | None = None,
    create: bool = True,
    checkpoint: Row[Any] | None = None,
) -> PreparedCrossing | CrossingOut:
    """Check, look up and decide one crossing (everything ``record_crossing`` does before
    it writes the crossing): the stored outcome if (checkpoint, ref) was sent before. With
    ``create`` the people the registry lacks are created first (the full path, inside its
    write transaction); without, nothing is written and a person the registry lacks is
    decided as a new one is — no code, no test of ours, on no pass — under a placeholder
    id (negative: no row has it), and created when the crossing is stored. ``checkpoint``:
    the crossing's checkpoint row when the caller has read it already."""
    tz = tz or default_tz()
    bad = _problems(crossing, rules, at)
    if bad:
        raise _invalid(crossing, bad)
    cp = checkpoint
    if cp is None or cp.code != crossing.checkpoint_code:
        cp = get_checkpoint(conn, crossing.checkpoint_code)
    plate = normalise_plate(crossing.plate)
    sealed, bad = _sealed_people(crossing, sealer, at.astimezone(tz).date())
    if bad:
        raise _invalid(crossing, bad)
    replay = replay_of(conn, cp.code, crossing, plate, sealed, rules)
    if replay is not None:
        return replay
    in_province = crossing.destination_region
    known_region = _FAST_REGION.rows(conn, code=in_province) or None
    residence = in_province if known_region is not None else cp.region_code
    if create:
        found, _ = find_or_create_by_document(conn, sealed, [residence] * len(sealed), at)
        known: list[int | None] = list(found)
    else:
        known = ids_by_document(conn, sealed)
    ids = [-(i + 1) if pid is None else pid for i, pid in enumerate(known)]
    facts = _facts(conn, crossing, ids, rules)
    drivers = [pid for pid, p in zip(ids, crossing.people, strict=True) if p.role == "driver"]
    verdict, serial, pass_zh, pass_en = _verify(
        conn, crossing, plate, drivers, cp.region_code, verify_pass
    )
    person_facts = tuple(
        PersonFacts(
            p.role,
            facts.colours[pid],
            facts.tested[pid],
            *(facts.risk[pid] or (None, "")),
        )
        for pid, p in zip(ids, crossing.people, strict=True)
    )
    outcome = check_crossing(
        person_facts,
        rules,
        cargo_class=crossing.cargo_class,
        verdict=verdict,
        direction=crossing.direction,
    )
    return PreparedCrossing(
        crossing, cp, plate, sealed, residence, tuple(known), person_facts, outcome, verdict,
        serial, pass_zh, pass_en, at, actor, via,
    )  # fmt: skip


def _people_ids(conn: Connection, p: PreparedCrossing) -> list[int]:
    """The registry ids of the people, creating those the registry lacked when decided
    (by the registry's own function); PeopleChanged if one of them is there by now."""
    if all(pid is not None for pid in p.known):
        return [int(pid) for pid in p.known if pid is not None]
    if ids_by_document(conn, p.sealed) != list(p.known):
        raise PeopleChanged(p.crossing.ref)
    ids, _ = find_or_create_by_document(conn, p.sealed, [p.residence] * len(p.sealed), p.at)
    return ids


def store_crossing(
    conn: Connection,
    p: PreparedCrossing,
    *,
    rules: LogisticsRules,
    sealer: Sealer,
    codes: CodeContext | None = None,
    arrival_rules: ArrivalRules | None = None,
    testing_rules: TestingRules | None = None,
    tz: ZoneInfo | None = None,
    deferred: list[tuple[Sample, str, datetime]] | None = None,
) -> CrossingOut:
    """Store a decided crossing inside the caller's transaction and act on its outcome:
    the crossing row, the people sampled (testing's collection; with ``deferred`` their
    samples added to it for the caller to register with others) and handed to the closed
    loop (arrivals' manifest), the people rows."""
    tz = tz or (codes.tz if codes is not None else default_tz())
    crossing, cp, outcome, at, actor, via = (
        p.crossing,
        p.checkpoint,
        p.outcome,
        p.at,
        p.actor,
        p.via,
    )
    ids = _people_ids(conn, p)
    crossing_id = int(
        conn.execute(
            _INSERT,
            {
                "checkpoint_code": cp.code,
                "ref": crossing.ref,
                "at": crossing.at.astimezone(UTC),
                "direction": crossing.direction,
                "plate": p.plate,
                "vehicle_kind": crossing.vehicle_kind,
                "cargo_class": crossing.cargo_class,
                "origin_region": crossing.origin_region,
                "destination_region": crossing.destination_region,
                "history": list(crossing.history),
                "pass_serial": p.pass_serial,
                "pass_verdict": p.pass_verdict,
                "outcome": outcome.outcome,
                "waited_minutes": crossing.waited_minutes,
                "recorded_at": at,
                "recorded_by": actor[:80],
                "via": via,
            },
        ).scalar_one()
    )
    barcodes = _sample(conn, crossing, cp, ids, outcome, rules, codes, testing_rules, actor, at,
                       deferred)  # fmt: skip
    travellers = _hand_over(
        conn, crossing, crossing_id, cp, p.residence, ids, outcome, rules, sealer, codes,
        arrival_rules, actor, via, tz, at,
    )  # fmt: skip
    conn.execute(
        _INSERT_PEOPLE,
        [
            {
                "crossing_id": crossing_id,
                "person_id": pid,
                "role": person.role,
                "code_colour": f.colour,
                "test_valid": f.test_valid,
                "from_risk_area": o.from_risk_area,
                "sampled": o.sampled,
                "traveller_id": travellers.get(pid),
                "sample_barcode": barcodes.get(pid),
            }
            for pid, person, f, o in zip(ids, crossing.people, p.facts, outcome.people, strict=True)
        ],
    )
    return _out(
        crossing_id, cp.code, crossing.ref, crossing.at, p.plate, outcome, p.pass_verdict,
        p.pass_serial, p.pass_zh, p.pass_en, ids, crossing.people, p.facts, travellers,
        barcodes, True,
    )  # fmt: skip


def record_crossing(
    conn: Connection,
    crossing: CrossingIn,
    *,
    at: datetime,
    actor: str,
    via: str,
    rules: LogisticsRules,
    sealer: Sealer,
    codes: CodeContext | None = None,
    arrival_rules: ArrivalRules | None = None,
    testing_rules: TestingRules | None = None,
    verify_pass: PassVerifier | None = None,
    tz: ZoneInfo | None = None,
) -> CrossingOut:
    """Record one crossing and act on its outcome (see the module docstring), inside the
    caller's transaction; ``at`` is when it is recorded (the crossing's own time is
    ``crossing.at``). The same (checkpoint, ref) again returns the stored outcome."""
    tz = tz or (codes.tz if codes is not None else default_tz())
    got = prepare_crossing(
        conn, crossing, at=at, actor=actor, via=via, rules=rules, sealer=sealer,
        verify_pass=verify_pass, tz=tz,
    )  # fmt: skip
    if isinstance(got, CrossingOut):
        return got
    return store_crossing(
        conn, got, rules=rules, sealer=sealer, codes=codes, arrival_rules=arrival_rules,
        testing_rules=testing_rules, tz=tz,
    )  # fmt: skip


def _sample(
    conn: Connection, c: CrossingIn, cp: Row[Any], ids: Sequence[int], outcome: CrossingCheck,
    rules: LogisticsRules, codes: CodeContext | None, testing_rules: TestingRules | None,
    actor: str, at: datetime, deferred: list[tuple[Sample, str, datetime]] | None = None,
) -> dict[int, str]:  # fmt: skip
    """Sample each person the check samples (即采即走) through testing's own collection
    (``register_sample``: ``collect`` in this transaction, no view of the tube); with
    ``deferred``, the samples are added to it for the caller to register (a batch at once:
    ``testing.samples.register_samples``)."""
    barcodes: dict[int, str] = {}
    wanted = [(i, pid, p) for i, (pid, p, o) in
              enumerate(zip(ids, c.people, outcome.people, strict=True)) if o.sampled]  # fmt: skip
    if not wanted:
        return barcodes
    trules = testing_rules or (TestingRules.from_pack(codes.pack) if codes is not None else None)
    if trules is None and deferred is None:
        raise BadInput(
            _p("no_testing_rules", "采样需要检测规则", "sampling needs the testing rules")
        )
    for i, pid, p in wanted:
        barcode = p.sample_barcode or _barcode(c, i)
        sample = Sample(
            barcode=barcode,
            person_ids=[pid],
            point=f"{cp.name}"[:80],
            region_code=cp.region_code,
            collector=actor[:80] or "checkpoint",
            collected_at=c.at,
            purpose=rules.sample_purpose,
        )
        if deferred is not None:
            deferred.append((sample, actor, at))
        else:
            assert trules is not None  # noqa: S101 - refused above
            register_sample(conn, trules, sample, codes=codes, by=actor, at=at)
        barcodes[pid] = barcode
    return barcodes


def _hand_over(
    conn: Connection, c: CrossingIn, crossing_id: int, cp: Row[Any], destination: str,
    ids: Sequence[int], outcome: CrossingCheck, rules: LogisticsRules, sealer: Sealer,
    codes: CodeContext | None, arrival_rules: ArrivalRules | None, actor: str, via: str,
    tz: ZoneInfo, at: datetime,
) -> dict[int, int]:  # fmt: skip
    """Hand the people of the closed loop to arrivals: a highway manifest from the
    checkpoint's venue, registered by arrivals' own service (never lost between stages)."""
    loop = [(pid, p, o) for pid, p, o in zip(ids, c.people, outcome.people, strict=True)
            if o.closed_loop]  # fmt: skip
    if not loop:
        return {}
    arules = arrival_rules or (ArrivalRules.from_pack(codes.pack) if codes is not None else None)
    if arules is None:
        raise BadInput(
            _p(
                "no_arrival_rules",
                "闭环移交需要入境规则",
                "the closed loop needs the arrival rules",
            )
        )
    if cp.venue_code is None:
        raise BadInput(
            _p(
                "no_arrival_point",
                f"卡口 {cp.code} 未绑定场所：无法移交闭环（请为卡口登记其场所）",
                f"checkpoint {cp.code} has no venue: cannot hand people to the closed loop "
                "(register the checkpoint's venue)",
            )
        )
    start = (c.at - timedelta(days=rules.history_days)).astimezone(tz).date().isoformat()
    end = c.at.astimezone(tz).date().isoformat()
    touched = levels_touching(conn, [c.origin_region, *c.history], c.at - timedelta(
        days=rules.history_days), c.at)  # fmt: skip
    places = list(dict.fromkeys([c.origin_region, *c.history]))
    history = [
        {"place": place, "from": start, "to": end, "level": touched.get(place, (None,))[0]}
        for place in places
    ]
    address = c.destination_address or f"{cp.name}（过境车辆 {normalise_plate(c.plate)}）"
    rows = [
        {
            "id_type": p.id_type,
            "id_number": p.id_number,
            "id_country": p.id_country,
            "name": p.name,
            "sex": p.sex,
            "birth_date": p.birth_date,
            "phone": p.phone,
            "arrived_at": c.at.isoformat(),
            "destination_region": destination,
            "destination_address": address[:300],
            "travel_history": history,
        }
        for _, p, _ in loop
    ]
    got = register_manifest(
        conn,
        ManifestHeader(
            f"crossing-{crossing_id}", "highway", normalise_plate(c.plate), cp.venue_code
        ),
        rows,
        arules,
        sealer=sealer,
        codes=codes,
        by=actor,
        via=ARRIVAL_VIA.get(via, "api"),
        source=f"crossing {c.ref}",
        tz=tz,
        at=at,
    )
    return {pid: tid for (pid, _, _), tid in zip(loop, got.traveller_ids, strict=True)}


__all__ = [
    "CHECKPOINT_SORTS",
    "CROSSING_SORTS",
    "CheckpointConflict",
    "CheckpointIn",
    "CheckpointUnknown",
    "CrossingConflict",
    "CrossingIn",
    "CrossingOut",
    "PassVerdict",
    "PassVerifier",
    "PeopleChanged",
    "PersonIn",
    "PersonOut",
    "PreparedCrossing",
    "add_checkpoint",
    "checkpoint_of_venue",
    "counts_by_hour",
    "get_checkpoint",
    "list_checkpoints",
    "list_crossings",
    "normalise_plate",
    "people_of",
    "prepare_crossing",
    "record_crossing",
    "store_crossing",
    "stored_crossing",
]
