"""kill -9 of ``fangkong`` in the middle of writes, on SQLite and on PostgreSQL (issue 16).

The server (or the import command) is killed with SIGKILL while clients send scans,
placement requests and lab results (or while an import writes); the database server is
not killed (the test PostgreSQL runs without fsync, so killing it would prove nothing).
After the kill: every write the server acknowledged is stored, an import left nothing
behind, the audit chain verifies, and the app starts again and answers."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from fangkong.audit import anchor
from fangkong.clock import now as utcnow
from fangkong.healthcode.tables import scans
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons
from fangkong.testing.campaigns import add_lab
from fangkong.testing.tables import results, tubes
from tests.api.codes import device_token, venue_of
from tests.api.helpers import person_identity, person_ids
from tests.conftest import database_url, load_province
from tests.fuzz.live import Server, person_session, server_env
from tests.quarantine.helpers import COUNTY_A, add, hotel, people
from tests.registry.import_watch import ImportWatch

SENDERS = 2
# a send: (client, i) → the key of the acknowledged write, or None when refused
Send = Callable[[httpx.Client, int], str | None]


@dataclass
class Crash:
    engine: Engine
    home: Path
    url: str  # the database's

    def serve(self) -> Server:
        return Server(self.home, self.url)

    def fangkong(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "fangkong", *args], text=True,
                              capture_output=True, env=server_env(self.home, self.url),
                              timeout=120, check=False)  # fmt: skip


@pytest.fixture
def crash(engine: Engine, twin_files: dict[str, Path], tmp_path: Path) -> Iterator[Crash]:
    # the province's audit rows are anchored in the home the server and the CLI will use
    anchor.attach(engine, anchor.Anchor((tmp_path / "audit" / "anchor.log",)))
    load_province(engine, twin_files)
    yield Crash(engine, tmp_path, database_url(engine))
    engine.dispose()


def _stream_and_kill(server: Server, headers: dict[str, str], send: Send, n: int,
                     kill_after: int) -> list[str]:  # fmt: skip
    """``n`` writes from SENDERS threads; SIGKILL once ``kill_after`` are acknowledged.
    The keys of the acknowledged writes."""
    acked: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def sender(indexes: range) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
            for i in indexes:
                try:
                    key = send(c, i)
                except httpx.HTTPError:
                    return  # the server is gone: nothing further is acknowledged
                if key is None:
                    continue
                with lock:
                    acked.append(key)
                    if len(acked) >= kill_after and not killed.is_set():
                        killed.set()
                        server.kill()

    threads = [threading.Thread(target=sender, args=(range(k, n, SENDERS),))
               for k in range(SENDERS)]  # fmt: skip
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        server.stop()
    assert killed.is_set(), f"the stream ended before the kill ({len(acked)} acknowledged)"
    assert kill_after <= len(acked) < n, "the kill came too late to test anything"
    assert server.proc.returncode == -signal.SIGKILL
    return acked


def _after_restart(crash: Crash) -> None:
    """The audit chain verifies and the app starts again over the same database."""
    verified = crash.fangkong("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    again = crash.serve()
    try:
        ready = httpx.get(f"{again.url}/ready", timeout=10)
        assert ready.status_code == 200, ready.text
    finally:
        again.stop()


def _column(engine: Engine, column: Any) -> set[str]:
    engine.dispose()  # no connection from before the kill
    with engine.connect() as conn:
        return {str(v) for v in conn.execute(select(column)).scalars()}


def test_kill9_during_scans(crash: Crash) -> None:
    venue = venue_of(crash.engine, "market")
    token = device_token(crash.engine, venue, "scan")
    numbers = [person_identity(crash.engine, p)[0] for p in person_ids(crash.engine, "140102")[:20]]
    at = utcnow().isoformat()

    def send(c: httpx.Client, i: int) -> str | None:
        event = f"kill9-{i:03d}"
        body = {"venue_code": venue, "device_time": at, "event_id": event,
                "id_number": numbers[i % len(numbers)]}  # fmt: skip
        return event if c.post("/api/v1/scan", json=body).status_code == 200 else None

    server = crash.serve()
    acked = _stream_and_kill(server, {"Authorization": f"Bearer {token}"}, send, 400, 60)
    stored = _column(crash.engine, scans.c.client_event_id)
    assert set(acked) <= stored, sorted(set(acked) - stored)
    _after_restart(crash)


def test_kill9_during_placements(crash: Crash) -> None:
    add(crash.engine, hotel("QK1", COUNTY_A, single=200))
    who = people(crash.engine, COUNTY_A)[:80]
    server = crash.serve()
    headers = person_session(server.url, "epi")

    def send(c: httpx.Client, i: int) -> str | None:
        row = {"person_id": who[i], "risk_group": "close_contact", "household": f"k9-{i}",
               "ref": f"kill9-{i}"}  # fmt: skip
        r = c.post("/api/v1/quarantine/placements", json={"rows": [row]})
        if r.status_code != 200 or not r.json()["assignments"]:
            return None
        return str(r.json()["assignments"][0]["placement_id"])

    acked = _stream_and_kill(server, headers, send, len(who), 15)
    stored = _column(crash.engine, quarantine_placements.c.id)
    assert set(acked) <= stored, sorted(set(acked) - stored)
    _after_restart(crash)


def test_kill9_during_lab_results(crash: Crash) -> None:
    add_lab(crash.engine, "LAB1", "晋昌区检测实验室", "140102", 20_000)
    venue = venue_of(crash.engine, "hospital")
    sampler = {"Authorization": f"Bearer {device_token(crash.engine, venue, 'sampling')}"}
    lab = {"Authorization": f"Bearer {device_token(crash.engine, venue, 'lab')}"}
    who = person_ids(crash.engine, "140102")[:60]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    barcodes = [f"K9-{i:03d}" for i in range(len(who))]
    server = crash.serve()
    with httpx.Client(base_url=server.url, headers=sampler, timeout=30) as c:
        for barcode, person in zip(barcodes, who, strict=True):
            body = {"barcode": barcode, "person_ids": [person], "collected_at": at.isoformat()}
            assert c.post("/api/v1/samples", json=body).status_code == 201
        assert c.post("/api/v1/tubes/ship", json={"lab": "LAB1", "barcodes": barcodes}).is_success
    received = httpx.post(f"{server.url}/api/v1/tubes/receive", headers=lab, timeout=30,
                          json={"lab": "LAB1", "barcodes": barcodes})  # fmt: skip
    assert received.is_success, received.text
    tested = (at + timedelta(hours=3)).isoformat()

    def send(c: httpx.Client, i: int) -> str | None:
        row = {"barcode": barcodes[i], "run": "run-1", "ct_orf1ab": None, "ct_n": None,
               "tested_at": tested}  # fmt: skip
        ok = c.post("/api/v1/lab/results", json={"lab": "LAB1", "rows": [row]}).status_code
        return barcodes[i] if ok == 200 else None

    acked = _stream_and_kill(server, lab, send, len(barcodes), 15)
    crash.engine.dispose()
    with crash.engine.connect() as conn:
        q = select(tubes.c.barcode).join(results, results.c.tube_id == tubes.c.id)
        stored = set(conn.execute(q).scalars())
    assert set(acked) <= stored, sorted(set(acked) - stored)
    _after_restart(crash)


def test_kill9_during_an_import(crash: Crash, tmp_path: Path) -> None:
    """The import command killed while it writes: no person of the file is stored."""
    from fangkong.twin.registry import generate_registry, write_registry

    files = write_registry(generate_registry(15_000, seed=5), tmp_path / "more", "csv")
    for kind in ("regions", "venues"):
        done = crash.fangkong("import", kind, str(files[kind]))
        assert done.returncode == 0, done.stdout + done.stderr
    with crash.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(persons)).scalar_one()
    env = {**server_env(crash.home, crash.url), "FANGKONG_IMPORT_BATCH_SIZE": "200"}
    with (tmp_path / "import.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "fangkong", "import", "persons",
                                 str(files["persons"])], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    watch = ImportWatch(crash.engine)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not watch.writing():
        time.sleep(0.01)
    still_writing = watch.write_locked()  # killed inside the import's transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "import.log").read_text()[-2000:]
    assert still_writing, "the import had committed before it could be killed"
    crash.engine.dispose()
    with crash.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(persons)).scalar_one() == before
    _after_restart(crash)
