"""Chain of custody (转运交接): tubes shipped to a lab and received there.

collected → in transit (``ship``, 转运中) → received (``receive``, 签收). A tube with
another lab, or handed over before it was collected, is refused, all or none; sending the
same hand-over again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from fangkong.errors import NotFound, Problem
from fangkong.store.tx import write_transaction
from fangkong.testing._common import Bind, _chunks, _now
from fangkong.testing.samples import TubeConflict, TubeUnknown, _bad
from fangkong.testing.tables import labs, tubes


@dataclass(frozen=True)
class CustodyOutcome:
    changed: int
    already: int


def _tube_ids(conn: Connection, barcodes: Sequence[str]) -> dict[str, tuple[int, datetime]]:
    found = {
        b: (int(i), t)
        for b, i, t in conn.execute(
            select(tubes.c.barcode, tubes.c.id, tubes.c.collected_at).where(
                tubes.c.barcode.in_(list(barcodes))
            )
        )
    }
    missing = [b for b in barcodes if b not in found]
    if missing:
        raise TubeUnknown(
            Problem("testing.tube_unknown", f"无此采样管 {missing[0]}", f"no tube {missing[0]}")
        )
    return found


def _require_lab(conn: Connection, lab_code: str) -> None:
    if conn.execute(select(labs.c.code).where(labs.c.code == lab_code)).first() is None:
        raise NotFound(
            Problem("testing.lab_unknown", f"无此实验室 {lab_code}", f"no lab {lab_code}")
        )


def ship(
    bind: Bind, barcodes: Sequence[str], lab_code: str, *, at: datetime | None = None
) -> CustodyOutcome:
    """Tubes leave the collection point for a lab (in transit, 转运中). Resending is harmless."""
    return _custody(bind, barcodes, lab_code, "shipped_at", _now(at), None)


def receive(
    bind: Bind, barcodes: Sequence[str], lab_code: str, *, by: str, at: datetime | None = None
) -> CustodyOutcome:
    """A lab receives tubes (签收). A tube received elsewhere, or before it was collected, is
    refused; all or none."""
    return _custody(bind, barcodes, lab_code, "received_at", _now(at), by)


def _custody(
    bind: Bind, barcodes: Sequence[str], lab_code: str, column: str, at: datetime, by: str | None
) -> CustodyOutcome:
    codes = sorted(set(barcodes))
    if not codes:
        raise _bad("请给出采样管条码", "give at least one tube barcode")
    with write_transaction(bind) as conn:
        _require_lab(conn, lab_code)
        found = _tube_ids(conn, codes)
        rows = conn.execute(
            select(tubes.c.id, tubes.c.barcode, tubes.c.lab_code, tubes.c[column]).where(
                tubes.c.id.in_([i for i, _ in found.values()])
            )
        ).all()
        todo: list[int] = []
        for r in rows:
            if r.lab_code is not None and r.lab_code != lab_code:
                raise TubeConflict(
                    Problem(
                        "testing.custody_conflict",
                        f"采样管 {r.barcode} 已交给实验室 {r.lab_code}",
                        f"tube {r.barcode} is already with lab {r.lab_code}",
                    )
                )
            if at < found[r.barcode][1]:
                raise TubeConflict(
                    Problem(
                        "testing.custody_conflict",
                        f"采样管 {r.barcode} 的交接时间早于采样时间",
                        f"tube {r.barcode}: handed over before it was collected",
                    )
                )
            if r[3] is None:
                todo.append(int(r.id))
        values: dict[str, object] = {column: at, "lab_code": lab_code}
        if by is not None:
            values["received_by"] = by[:80]
        for part in _chunks(todo):  # one statement for the tubes that change
            conn.execute(update(tubes).where(tubes.c.id.in_(part)).values(**values))
    return CustodyOutcome(len(todo), len(codes) - len(todo))


__all__ = [
    "CustodyOutcome",
    "receive",
    "ship",
]
