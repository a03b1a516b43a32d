"""No acknowledged scan is lost: ``fangkong serve`` is killed with SIGKILL in the middle of a
stream of scans; every scan it answered 200 is in the database after the restart, and
sending the whole stream again stores nothing twice."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from fangkong.clock import now as utcnow
from fangkong.healthcode.tables import scans
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.api.codes import device_token, venue_of
from tests.api.helpers import person_identity, person_ids
from tests.conftest import load_province
from tests.fuzz.live import Server

N_SCANS = 200
KILL_AFTER = 80  # acknowledged scans before the kill
SENDERS = 4


def _serve(home: Path) -> Server:
    """``python -m fangkong serve`` over the default SQLite file in ``home``."""
    return Server(home, f"sqlite:///{home / 'fangkong.db'}")


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path]) -> Iterator[tuple[Path, Engine]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")  # the default database
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    yield tmp_path, engine
    engine.dispose()


def _stream(engine: Engine) -> tuple[str, list[dict[str, Any]]]:
    """A device token and N scans by ID number with distinct event ids."""
    venue = venue_of(engine, "market")
    numbers = [person_identity(engine, pid)[0] for pid in person_ids(engine, "140102")[:20]]
    now = utcnow().isoformat()
    bodies = [
        {"venue_code": venue, "device_time": now, "event_id": f"kill9-{i:03d}",
         "id_number": numbers[i % len(numbers)]}
        for i in range(N_SCANS)
    ]  # fmt: skip
    return device_token(engine, venue), bodies


def _send(
    url: str, token: str, bodies: list[dict[str, Any]], acked: list[str], on_ack: Any
) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        for body in bodies:
            try:
                r = c.post("/api/v1/scan", json=body, timeout=10)
            except httpx.HTTPError:
                return  # the server is gone: nothing further is acknowledged
            if r.status_code == 200:
                acked.append(body["event_id"])
                on_ack()


def _stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(scans.c.client_event_id)).scalars())


def test_sigkill_loses_no_acknowledged_scan(home: tuple[Path, Engine]) -> None:
    folder, engine = home
    token, bodies = _stream(engine)
    server = _serve(folder)
    acked: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def on_ack() -> None:
        with lock:
            if len(acked) >= KILL_AFTER and not killed.is_set():
                killed.set()
                server.kill()

    try:
        senders = [
            threading.Thread(target=_send, args=(server.url, token, bodies[i::SENDERS], acked,
                                                 on_ack))
            for i in range(SENDERS)
        ]  # fmt: skip
        for t in senders:
            t.start()
        for t in senders:
            t.join(timeout=120)
    finally:
        server.stop()
    assert killed.is_set(), f"the stream ended before the kill ({len(acked)} acknowledged)"
    assert KILL_AFTER <= len(acked) < N_SCANS, "the kill came too late to test anything"
    assert server.proc.returncode == -signal.SIGKILL

    stored = _stored(engine)
    assert set(acked) <= set(stored), sorted(set(acked) - set(stored))

    again = _serve(folder)  # restart; resend everything: retries change nothing
    try:
        with httpx.Client(base_url=again.url, headers={"Authorization": f"Bearer {token}"}) as c:
            answers = [c.post("/api/v1/scan", json=b, timeout=10) for b in bodies]
    finally:
        again.stop()
    assert [a.status_code for a in answers] == [200] * N_SCANS
    repeated = {a.json()["event_id"] for a in answers if a.json()["repeated"]}
    assert set(acked) <= repeated
    assert repeated == set(stored)
    final = _stored(engine)
    assert sorted(final) == sorted(b["event_id"] for b in bodies)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == N_SCANS
