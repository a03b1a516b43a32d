"""Registry persons written for other capabilities: one owner per table, so a capability
that must add people to the registry (``persons``) calls a function here rather than
inserting rows itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from fangkong.store.fast import DriverSelect, in_list
from fangkong.store.schema import persons

_SEALED_IDENTITY = ("doc_type", "doc_country", "doc_hash", "doc_sealed", "name", "sex",
                    "birth_date", "phone_hash", "phone_sealed")  # fmt: skip
# built once (a checkpoint looks up every vehicle's people: the hot path of a crossing)
_BY_HASH = select(persons.c.doc_hash, persons.c.id).where(
    persons.c.doc_hash.in_(bindparam("hashes", expanding=True))
)
_INSERT = persons.insert().returning(persons.c.id)


# a vehicle's few people: one statement per count, compiled once and run on the driver
# connection (an expanding IN is rendered again at every execution, and SQLAlchemy's
# per-execution work cost a checkpoint's lookup more than SQLite)
_BY_FEW = DriverSelect(
    lambda n: select(persons.c.doc_hash, persons.c.id).where(persons.c.doc_hash.in_(in_list(n))),
    arity=True,
)
_FEW = 16  # up to this many people: the driver's statement of that arity (a vehicle)


def ids_by_document(conn: Connection, people: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """The registry ids of ``people`` (sealed rows) by sealed document, None for a person
    the registry lacks (read only: a caller decides before it creates)."""
    hashes = [bytes(p["doc_hash"]) for p in people]
    if not hashes:
        return []
    if len(hashes) <= _FEW:
        rows = _BY_FEW.rows_in(conn, hashes)
    else:
        rows = list(conn.execute(_BY_HASH, {"hashes": hashes}))
    found = {bytes(h): int(i) for h, i in rows}
    return [found.get(h) for h in hashes]


def find_or_create_by_document(
    conn: Connection, people: Sequence[Mapping[str, Any]], residence_codes: Sequence[str],
    at: datetime,
) -> tuple[list[int], int]:  # fmt: skip
    """The registry ids of ``people`` (rows checked and sealed by
    ``registry.validate.check_persons``), found by sealed document (``doc_hash``). A person
    the registry lacks is created from the row's identity fields, living in the matching
    ``residence_codes`` entry, occupation ``other`` (arrivals registers travellers so).
    Returns the ids in the order of ``people`` and how many persons were created."""
    found = {
        bytes(p["doc_hash"]): pid
        for p, pid in zip(people, ids_by_document(conn, people), strict=True)
        if pid is not None
    }
    created = 0
    out = []
    for p, residence in zip(people, residence_codes, strict=True):
        if p["doc_hash"] not in found:
            values = {k: p.get(k) for k in _SEALED_IDENTITY}
            values.update(
                occupation="other", residence_code=residence, created_at=at, updated_at=at
            )
            found[p["doc_hash"]] = int(conn.execute(_INSERT, values).scalar_one())
            created += 1
        out.append(found[p["doc_hash"]])
    return out, created
