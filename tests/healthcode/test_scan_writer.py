"""Group commit of scans: many threads, few commits, each scan answered with its own
verdict or its own refusal; a failed commit acknowledges nobody. Both backends."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from fangkong.errors import FangkongError
from fangkong.healthcode import scanning
from fangkong.healthcode.scanning import ScanWriter
from fangkong.healthcode.service import CodeContext, ScanVerdict
from fangkong.healthcode.tables import scans
from tests.healthcode.conftest import ID_LI, ID_NOBODY, ID_ZHANG, NOW, World


def _count(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(scans)).scalar_one())


def _submit_all(writer: ScanWriter, jobs: list[tuple[str, str]]) -> dict[str, object]:
    """Submit (event id, ID number) from one thread each, all released at once."""
    results: dict[str, object] = {}
    start = threading.Barrier(len(jobs))

    def one(event: str, number: str) -> None:
        start.wait()
        try:
            results[event] = writer.submit("V-MARKET", number, NOW, event, NOW)
        except FangkongError as exc:
            results[event] = exc

    threads = [threading.Thread(target=one, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_scans_share_commits_and_keep_their_own_answers(
    world: World, ctx: CodeContext
) -> None:
    writer = ScanWriter(world.engine, ctx)
    jobs = [(f"w-{i}", ID_ZHANG if i % 2 else ID_LI) for i in range(40)]
    jobs += [("w-nobody", ID_NOBODY), ("w-0", ID_LI)]  # a refusal; a resend of w-0
    results = _submit_all(writer, jobs)
    assert len(results) == 41
    assert isinstance(results["w-nobody"], FangkongError)
    assert results["w-nobody"].code == "scan.person_unknown"
    verdicts = [v for v in results.values() if isinstance(v, ScanVerdict)]
    assert len(verdicts) == 40
    assert {v.masked_name for v in verdicts} == {"张*丰", "李*"}
    assert _count(world) == 40
    assert writer.written == 40
    assert writer.batches < 40  # some commits held several scans


def test_a_failed_commit_acknowledges_nobody(
    world: World, ctx: CodeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = ScanWriter(world.engine, ctx)

    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(scanning, "commit_scans", broken)
    with pytest.raises(RuntimeError):
        writer.submit("V-MARKET", ID_LI, NOW, "x", NOW)
    monkeypatch.undo()
    assert _count(world) == 0
    verdict = writer.submit("V-MARKET", ID_LI, NOW, "y", NOW)
    assert verdict.client_event_id == "y"
    assert _count(world) == 1


def test_the_writer_thread_stops_when_idle_and_restarts(world: World, ctx: CodeContext) -> None:
    writer = ScanWriter(world.engine, ctx, idle_s=0.05)
    when = datetime.fromisoformat("2022-06-01T10:00:00+08:00")
    writer.submit("V-MARKET", ID_LI, when, "a", NOW)
    first = writer._thread
    assert first is not None
    first.join(timeout=5)
    assert writer._thread is None
    writer.submit("V-MARKET", ID_LI, when, "b", NOW)
    assert _count(world) == 2


def test_async_submissions_resolve_on_the_loop_after_their_commit(
    world: World, ctx: CodeContext
) -> None:
    """The ASGI endpoint's path: prepare, then await the writer's future."""
    import asyncio

    writer = ScanWriter(world.engine, ctx)

    async def scan_all() -> list[object]:
        prepared = [writer.prepare("V-MARKET", ID_LI, NOW, f"a-{i}", NOW) for i in range(10)]
        prepared.append(writer.prepare("V-MARKET", ID_ZHANG, NOW, "a-0", NOW))  # reused id
        assert all(isinstance(p, scanning.PreparedScan) for p in prepared)
        futures = [writer.submit_async(p) for p in prepared if isinstance(p, scanning.PreparedScan)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    results = asyncio.run(scan_all())
    assert [type(r).__name__ for r in results[:10]] == ["ScanVerdict"] * 10
    assert isinstance(results[10], FangkongError)
    assert results[10].code == "scan.event_conflict"
    assert _count(world) == 10
