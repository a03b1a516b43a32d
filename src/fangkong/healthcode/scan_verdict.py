"""The scan verdict (用码) without the database: what a scanner shows (:class:`ScanVerdict`),
a verified scan waiting for the writer (:class:`PreparedScan`), when a scan counts as
made (``_scan_time``: live, or an offline scan sent late), the refusals, and how a batch
of prepared scans is answered given what is already stored (``_answer_batch``).

The reads and writes around it are in ``scanning.py``; the group commit in
``scan_writer.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fangkong.errors import FangkongError, Problem
from fangkong.healthcode.context import CodeContext, Stamp
from fangkong.healthcode.errors import ScanEventConflict, TokenExpired, TokenReplayed
from fangkong.healthcode.evaluator import Decision, Reason, fmt_time
from fangkong.identity.masking import mask_name
from fangkong.policy.model import Colour, Text


@dataclass(frozen=True)
class ScanVerdict:
    """What a scanner shows staff: colour, admitted or not, flagged, who (masked), why."""

    client_event_id: str
    venue_code: str
    venue_type: str
    masked_name: str
    colour: Colour
    allowed: bool
    flagged: bool
    reasons: tuple[Reason, ...]
    notes: tuple[Text, ...]
    pack_ref: str
    device_time: datetime
    received_at: datetime
    by: str  # "token" or "id_number"
    repeated: bool = field(default=False, compare=False)  # True: returned from storage

    def as_json(self) -> dict[str, Any]:
        return {
            "client_event_id": self.client_event_id,
            "venue_code": self.venue_code,
            "venue_type": self.venue_type,
            "masked_name": self.masked_name,
            "colour": self.colour.label,
            "allowed": self.allowed,
            "flagged": self.flagged,
            "reasons": [r.as_json() for r in self.reasons],
            "notes": [{"zh": n.zh, "en": n.en} for n in self.notes],
            "pack": self.pack_ref,
            "device_time": self.device_time.isoformat(),
            "received_at": self.received_at.isoformat(),
            "by": self.by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, repeated: bool) -> ScanVerdict:
        return cls(
            data["client_event_id"],
            data["venue_code"],
            data["venue_type"],
            data["masked_name"],
            Colour.parse(data["colour"]),
            data["allowed"],
            data["flagged"],
            tuple(Reason.from_json(r) for r in data["reasons"]),
            tuple(Text(n["zh"], n["en"]) for n in data["notes"]),
            data["pack"],
            datetime.fromisoformat(data["device_time"]),
            datetime.fromisoformat(data["received_at"]),
            data["by"],
            repeated,
        )


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()


def _verdict(
    ctx: CodeContext, venue_code: str, venue_type: str, name: str, decision: Decision,
    event_id: str, device_time: datetime, now: datetime, by: str, facts: Any,
) -> ScanVerdict:  # fmt: skip
    policy = ctx.pack.venue_policy(venue_type)
    allowed = decision.colour in policy.admit
    flagged = decision.colour in policy.flag
    notes: list[Text] = []
    if policy.show_arrival_days:
        since = now - timedelta(days=policy.show_arrival_days)
        for a in sorted(facts.arrivals, key=lambda a: a.arrived_at):
            if since <= a.arrived_at <= now:
                when = fmt_time(a.arrived_at, ctx.tz)
                notes.append(
                    Text(
                        f"{when} 自{_RISK_ZH[a.risk]}（{a.origin or '未登记'}）抵达",
                        f"arrived {when} from a {a.risk}-risk origin ({a.origin or 'unrecorded'})",
                    )
                )
                flagged = flagged or a.risk in ("high", "medium", "inbound")
    if not allowed:
        notes.append(
            Text(
                f"{policy.label.zh}不允许{decision.colour.zh}进入，请按规定处置",
                f"{policy.label.en}: a {decision.colour.label} code may not enter; follow "
                "the procedure",
            )
        )
    return ScanVerdict(
        event_id, venue_code, venue_type, mask_name(name), decision.colour, allowed, flagged,
        decision.reasons, tuple(notes), decision.pack_ref, device_time, now, by,
    )  # fmt: skip


_RISK_ZH = {"high": "高风险区", "medium": "中风险区", "low": "低风险区", "inbound": "境外"}


def _event_conflict() -> ScanEventConflict:
    return ScanEventConflict(
        Problem("scan.event_conflict", "该事件编号已用于另一次扫码",
                "this client event id was used for a different scan")
    )  # fmt: skip


def _replayed() -> TokenReplayed:
    return TokenReplayed(
        Problem(
            "scan.token_replayed",
            "该健康码已被扫描过（疑似截图），请刷新后重新出示",
            "this code was already scanned (a screenshot?): refresh and show again",
        )
    )


@dataclass(frozen=True)
class PreparedScan:
    """A verified scan not yet stored: the verdict and what the writer needs."""

    verdict: ScanVerdict
    request_digest: bytes
    token_digest: bytes | None
    person_id: int
    decision: Decision
    code_changed: bool  # the stored code differs from this decision: store it
    # the live fact rows read (a voided row makes it differ from the stored rows' stamp,
    # so recompute_all re-explains the code: never equal by mistake)
    stamp: Stamp = field(default_factory=Stamp)
    zone: str | None = None  # the table or room (区域/桌号) of a table code, if sent

    def row(self, ctx: CodeContext) -> dict[str, Any]:
        v = self.verdict
        return {
            "client_event_id": v.client_event_id, "person_id": self.person_id,
            "venue_code": v.venue_code, "device_time": v.device_time,
            "received_at": v.received_at, "colour": v.colour.label, "allowed": v.allowed,
            "flagged": v.flagged, "token_digest": self.token_digest,
            "request_digest": self.request_digest, "verdict": v.as_json(),
            "pack_name": ctx.pack.name, "pack_version": ctx.pack.version, "zone": self.zone,
        }  # fmt: skip


DEVICE_TIME_INVALID = Problem(
    "scan.device_time_invalid",
    "设备时间超出允许范围（设备时钟是否有误？）",
    "the device time is out of range (is the device's clock wrong?)",
)


def _scan_time(ctx: CodeContext, device_time: datetime, now: datetime) -> datetime:
    """When the scan happened, for verification: now, or — for a scan queued on a device
    while offline and sent later — its device time, up to ``ctx.offline_s`` back. The
    token must have been valid then and the code is computed as it was then (a late scan
    never changes the stored code). Replays are refused as for live scans."""
    late = (now - device_time).total_seconds()
    if late <= ctx.qr_validity_s + ctx.qr_skew_s:
        return now
    if late > ctx.offline_s:
        hours = ctx.offline_s / 3600
        raise TokenExpired(
            Problem(
                "scan.too_late",
                f"离线扫码记录超过 {hours:g} 小时才上传，不予受理",
                f"an offline scan sent more than {hours:g} h after it was made is refused",
            )
        )
    return device_time


def _answer_batch(
    ctx: CodeContext, batch: Sequence[PreparedScan], seen: Mapping[str, Any], used: set[bytes]
) -> tuple[
    list[ScanVerdict | FangkongError], list[dict[str, Any]], dict[int, tuple[Decision, Stamp]]
]:
    """Each scan's answer given what is stored; the rows to insert; the codes to store."""
    answers: list[ScanVerdict | FangkongError] = []
    fresh: dict[str, PreparedScan] = {}
    rows: list[dict[str, Any]] = []
    changed: dict[int, tuple[Decision, Stamp]] = {}
    for p in batch:
        event = p.verdict.client_event_id
        stored = seen.get(event)
        if stored is not None:
            same = bytes(stored.request_digest) == p.request_digest
            answers.append(
                ScanVerdict.from_json(stored.verdict, repeated=True) if same else _event_conflict()
            )
            continue
        earlier = fresh.get(event)
        if earlier is not None:
            same = earlier.request_digest == p.request_digest
            answers.append(
                ScanVerdict.from_json(earlier.verdict.as_json(), repeated=True)
                if same
                else _event_conflict()
            )
            continue
        if p.token_digest is not None:
            if p.token_digest in used:
                answers.append(_replayed())
                continue
            used.add(p.token_digest)
        fresh[event] = p
        if p.code_changed:
            changed[p.person_id] = (p.decision, p.stamp)  # the latest scan's decision wins
        rows.append(p.row(ctx))
        answers.append(p.verdict)
    return answers, rows, changed
