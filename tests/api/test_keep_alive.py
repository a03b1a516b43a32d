"""A real ``fangkong serve`` keeps an idle connection open longer than uvicorn's 5 s: a
client (or balancer) that reuses its connection after a pause must not race the server
closing it (the fuzzing campaign once lost a request that way)."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fangkong.server.cli import KEEP_ALIVE_S
from tests.conftest import database_url
from tests.fuzz.live import Server

PAUSE_S = 6.5  # past uvicorn's default of 5 s


@pytest.fixture
def live(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path, database_url(engine))
    try:
        yield server
    finally:
        server.stop()


def _health(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/health")
    response = conn.getresponse()
    response.read()
    return response.status


def test_an_idle_connection_outlives_a_pause(live: Server) -> None:
    assert KEEP_ALIVE_S > PAUSE_S
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    try:
        assert _health(conn) == 200
        first = conn.sock
        time.sleep(PAUSE_S)
        # closed by the server, the request fails (RemoteDisconnected) instead of answering
        assert _health(conn) == 200
        assert conn.sock is first, "a new connection was opened"
    finally:
        conn.close()
