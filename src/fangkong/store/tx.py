"""One use case, one transaction: the helper every service function opens with.

A service function takes a ``Bind``: given an ``Engine`` it opens its own write
transaction (on SQLite ``BEGIN IMMEDIATE``, see ``store.engine``) and commits at the end;
given a ``Connection`` it runs inside the caller's transaction, so use cases compose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

Bind = Engine | Connection


@contextmanager
def write_transaction(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect().execution_options(write=True) as conn, conn.begin():
        yield conn
