"""Manifests in (旅客名单): validate every row, then register the travellers atomically.

A manifest comes from a flight, a train or a highway checkpoint, by the API (a device
token bound to the arrival point) or a file (CSV, columns in docs/formats.md). The flow::

    rows ─▶ identity columns through the registry's own person checks (ID numbers, phones,
            sealing: fangkong.registry.validate.check_persons) + arrival columns
            (manifest_rows.py)
         ─▶ any bad row: ManifestRejected naming row, column and problem in zh + en;
            nothing is written
         ─▶ one transaction: the manifest (by ``ref``), per traveller (by manifest and
            sealed document): the registry person found by ``doc_hash`` or created
            (registry.persons.find_or_create_by_document: residence = the
            destination region, occupation other), the risk decision,
            the arrival fact for the health code, the first stage and its deadline,
            a hand-off when the destination lies in another jurisdiction
         ─▶ codes re-evaluated for the travellers registered

Sending the same manifest again changes nothing; a traveller sent again with other data
is a row problem (nothing is silently replaced: correct it by hand and re-send).

We create registry persons for travellers the registry lacks, rather than keeping
travellers apart, because every other capability (codes, tests, quarantine, tracing)
works on ``persons.id``; such a person's residence is the destination region, so the
jurisdiction that receives them sees them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong import clock
from fangkong.arrivals.decision import AreaHistory, Decision, decide
from fangkong.arrivals.loop import enter_stage, open_handoff
from fangkong.arrivals.manifest_rows import _Clean, _p, _rejected, _validate
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import MODES, manifests, travellers
from fangkong.errors import Conflict, FieldProblem, InvalidFields, RowProblem
from fangkong.healthcode.codes import evaluate_person
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.writer import FactInput, write_facts
from fangkong.identity.sealing import Sealer
from fangkong.registry.persons import find_or_create_by_document
from fangkong.settings import default_tz
from fangkong.store.schema import regions, venues
from fangkong.store.tx import write_transaction

_REF = re.compile(r"[A-Za-z0-9_.:-]{1,80}")


class ManifestConflict(Conflict):
    """arrivals.manifest_conflict: the ref is taken by a manifest of another point or carrier."""


@dataclass(frozen=True)
class ManifestHeader:
    ref: str  # the sender's manifest id, e.g. CA1234-20220318
    mode: str  # flight | train | highway
    carrier: str  # flight or train number, or the checkpoint's lane
    point_code: str  # the arrival point (a venue)


@dataclass(frozen=True)
class ManifestOutcome:
    manifest_id: int
    ref: str
    rows: int
    registered: int
    unchanged: int
    persons_created: int
    handoffs: int
    by_risk: Mapping[str, int] = field(default_factory=dict)
    traveller_ids: tuple[int, ...] = ()


def _bad_header(field_name: str, zh: str, en: str) -> InvalidFields:
    return InvalidFields(
        _p("manifest_invalid", f"名单信息 {field_name}：{zh}", f"manifest {field_name}: {en}"),
        [FieldProblem(field_name, _p("manifest_invalid", zh, en))],
    )


def _check_header(conn: Connection, header: ManifestHeader, rules: ArrivalRules) -> Any:
    if not _REF.fullmatch(header.ref or ""):
        raise _bad_header(
            "ref", "应为 1–80 位字母、数字或 _ . : -", "must be 1–80 letters, digits or _ . : -"
        )
    if header.mode not in MODES:
        raise _bad_header(
            "mode", f"应为 {'、'.join(MODES)} 之一", f"must be one of {', '.join(MODES)}"
        )
    if not header.carrier or not header.carrier.strip() or len(header.carrier) > 40:
        raise _bad_header("carrier", "应为 1–40 个字符", "must be 1–40 characters")
    point = conn.execute(select(venues).where(venues.c.code == header.point_code)).first()
    if point is None or point.type not in rules.point_venue_types:
        raise _bad_header(
            "point_code",
            f"{header.point_code!r} 不是入境/来返卡口（场所类型 "
            f"{'、'.join(rules.point_venue_types)}）",
            f"{header.point_code!r} is not "
            f"an arrival point (venue types {', '.join(rules.point_venue_types)})",
        )
    return point


# ---- registering -----------------------------------------------------------------------------


def import_manifest(
    engine: Engine,
    header: ManifestHeader,
    rows: Sequence[Mapping[str, Any]],
    rules: ArrivalRules,
    *,
    sealer: Sealer,
    codes: CodeContext | None = None,
    by: str,
    via: str = "import",
    source: str = "manifest",
    tz: ZoneInfo | None = None,
    at: datetime | None = None,
) -> ManifestOutcome:
    """Validate and register a manifest (see the module docstring); all or nothing."""
    at = at or clock.now()
    tz = tz or (codes.tz if codes else default_tz())
    with write_transaction(engine) as conn:
        return register_manifest(
            conn, header, rows, rules, sealer=sealer, codes=codes, by=by, via=via,
            source=source, tz=tz, at=at,
        )  # fmt: skip


def register_manifest(
    conn: Connection,
    header: ManifestHeader,
    rows: Sequence[Mapping[str, Any]],
    rules: ArrivalRules,
    *,
    sealer: Sealer,
    codes: CodeContext | None,
    by: str,
    via: str,
    source: str,
    tz: ZoneInfo,
    at: datetime,
) -> ManifestOutcome:
    """``import_manifest`` inside the caller's transaction (a checkpoint's crossing hands
    its travellers to the closed loop in the same transaction as the crossing)."""
    point = _check_header(conn, header, rules)
    region_codes = set(conn.execute(select(regions.c.code)).scalars())
    clean, problems = _validate(rows, region_codes, sealer, tz, at.astimezone(tz).date())
    if problems:
        raise _rejected(source, problems)
    manifest_id = _manifest(conn, header, by, at)
    stored = {
        bytes(r.doc_hash): (int(r.id), bytes(r.content_hash))
        for r in conn.execute(
            select(travellers.c.id, travellers.c.doc_hash, travellers.c.content_hash).where(
                travellers.c.manifest_id == manifest_id
            )
        )
    }
    changed = [
        RowProblem(
            c.row,
            "id_number",
            _p(
                "traveller_changed",
                "此旅客已按本名单登记，内容不同：请核对后人工更正",
                "this traveller is registered on this "
                "manifest with other data: check and correct by hand",
            ),
        )
        for c in clean
        if c.person["doc_hash"] in stored and stored[c.person["doc_hash"]][1] != c.content
    ]
    if changed:
        raise _rejected(source, changed)
    fresh = [c for c in clean if c.person["doc_hash"] not in stored]
    history = AreaHistory.load(conn)
    person_ids, created = find_or_create_by_document(
        conn, [c.person for c in fresh], [c.destination_region for c in fresh], at
    )
    ids: list[int] = []
    by_risk: dict[str, int] = {}
    handoffs = 0
    for c, pid in zip(fresh, person_ids, strict=True):
        decision = decide(c.stays, c.arrived_at, history, rules, point_name=point.name, tz=tz)
        tid, handed = _register(
            conn,
            manifest_id,
            point,
            c,
            pid,
            decision,
            history,
            rules,
            sealer,
            by,
            via,
            at,
            codes,
        )
        ids.append(tid)
        handoffs += handed
        by_risk[decision.rule.risk] = by_risk.get(decision.rule.risk, 0) + 1
    if codes is not None:
        for pid in sorted(set(person_ids)):
            evaluate_person(conn, codes, pid, at=at, trigger="arrivals:manifest")
    return ManifestOutcome(
        manifest_id,
        header.ref,
        len(rows),
        len(fresh),
        len(clean) - len(fresh),
        created,
        handoffs,
        by_risk,
        tuple(ids),
    )


def _manifest(conn: Connection, header: ManifestHeader, by: str, at: datetime) -> int:
    old = conn.execute(select(manifests).where(manifests.c.ref == header.ref)).first()
    if old is not None:
        if (old.mode, old.carrier, old.point_code) != (
            header.mode,
            header.carrier.strip(),
            header.point_code,
        ):
            raise ManifestConflict(
                _p(
                    "manifest_conflict",
                    f"名单号 {header.ref} 已用于另一航班/车次或卡口",
                    f"manifest {header.ref} is already used by another carrier or point",
                )
            )
        return int(old.id)
    return int(
        conn.execute(
            manifests.insert()
            .values(
                ref=header.ref,
                mode=header.mode,
                carrier=header.carrier.strip(),
                point_code=header.point_code,
                received_at=at,
                received_by=by[:80],
            )
            .returning(manifests.c.id)
        ).scalar_one()
    )


def _register(
    conn: Connection,
    manifest_id: int,
    point: Any,
    c: _Clean,
    person_id: int,
    decision: Decision,
    history: AreaHistory,
    rules: ArrivalRules,
    sealer: Sealer,
    by: str,
    via: str,
    at: datetime,
    codes: CodeContext | None,
) -> tuple[int, int]:
    rule = decision.rule
    point_region = history.at_level(point.region_code, rules.handoff_level) or point.region_code
    dest_region = history.at_level(c.destination_region, rules.handoff_level)
    dest_region = dest_region or c.destination_region
    pack_ref = f"{codes.pack.name}@{codes.pack.version}" if codes else rules.source
    tid = int(
        conn.execute(
            travellers.insert()
            .values(
                manifest_id=manifest_id,
                person_id=person_id,
                doc_hash=c.person["doc_hash"],
                content_hash=c.content,
                phone_hash=c.person.get("phone_hash"),
                phone_sealed=c.person.get("phone_sealed"),
                address_sealed=sealer.seal("address", c.address),
                point_code=point.code,
                arrived_at=c.arrived_at,
                destination_region=c.destination_region,
                history=[
                    {
                        "place": p.stay.place,
                        "name": p.name,
                        "level": p.level,
                        "from": p.stay.start.isoformat(),
                        "to": p.stay.end.isoformat(),
                        "declared": p.stay.declared,
                    }
                    for p in decision.places
                ],
                risk=decision.risk,
                management=rule.management,
                rule_id=rule.rule_id,
                reason_zh=decision.reason_zh,
                reason_en=decision.reason_en,
                landing_test=rule.landing_test,
                transfer=rule.transfer,
                stage="registered",
                stage_since=at,
                due_at=None,
                responsible_region=point_region,
                pack_ref=pack_ref[:80],
                created_at=at,
            )
            .returning(travellers.c.id)
        ).scalar_one()
    )
    if rule.code is not None:
        detail = {"risk": rule.code, "origin": decision.origin or point.name}
        fact = FactInput("arrival", c.arrived_at, None, detail, f"arrival-{tid}")
        write_facts(conn, [(person_id, fact)], recorded_by=by, now=at)
    enter_stage(conn, tid, None, "registered", rules, at=at, by=by, via=via)
    handed = 0
    if dest_region != point_region:
        open_handoff(conn, tid, point_region, dest_region, rules, at=at)
        handed = 1
    return tid, handed
