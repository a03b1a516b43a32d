"""The twin's person rows ↔ database person ids, by the sealed document's lookup hash."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, select

from fangkong.identity.sealing import Sealer
from fangkong.store.schema import persons
from fangkong.twin.registry import Registry


def person_ids(engine: Engine, sealer: Sealer, registry: Registry) -> npt.NDArray[np.int64]:
    """Database id of each row of the twin's persons file (0 where absent)."""
    t = registry.persons
    keys = [
        f"{kind}|{country or 'CHN'}|{number}"
        for kind, country, number in zip(
            t["id_type"].to_pylist(), t["id_country"].to_pylist(), t["id_number"].to_pylist(),
            strict=True,
        )
    ]  # fmt: skip
    hashes = sealer.lookup_hash_many("document", keys)
    found: dict[bytes, int] = {}
    with engine.connect() as conn:
        for i in range(0, len(hashes), 5_000):
            chunk = hashes[i : i + 5_000]
            found.update(
                (h, pid)
                for h, pid in conn.execute(
                    select(persons.c.doc_hash, persons.c.id).where(persons.c.doc_hash.in_(chunk))
                ).all()
            )
    return np.array([found.get(h, 0) for h in hashes], dtype=np.int64)
