"""`fangkong evaluate`: packs × seeds through the province loop, scored against the truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.demo.evaluation.jobs import no_control
from fangkong.twin.score import (
    DECISIONS,
    FOUND,
    contacts_infected_share,
    contacts_per_case,
    isolation_delays,
)

runner = CliRunner()
PEOPLE, DAYS, SEEDS = 2000, 6, 2
PACKS = ("protocol-9", "twenty-measures")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    home = tmp_path_factory.mktemp("evaluate")
    args = ["evaluate", "--people", str(PEOPLE), "--days", str(DAYS), "--seeds", str(SEEDS),
            "--workers", "2", "--pack", PACKS[0], "--pack", PACKS[1]]  # fmt: skip
    result = runner.invoke(app, args, env={"FANGKONG_HOME": str(home), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    folder = home / "evaluation"
    return folder, json.loads((folder / "evaluation.json").read_text("utf-8")), result.output


def test_the_report_holds_every_run_and_a_summary_per_pack(
    evaluated: tuple[Path, dict[str, Any], str],
) -> None:
    folder, body, output = evaluated
    assert (body["people"], body["days"], body["seeds"]) == (PEOPLE, DAYS, [1, 2])
    assert body["packs"] == list(PACKS)
    assert body["seconds"] > 0
    assert sorted((r["pack"], r["seed"]) for r in body["runs"]) == sorted(
        (p, s) for p in PACKS for s in (1, 2)
    )
    assert set(body["summary"]) == set(PACKS)
    for pack in PACKS:
        for metric, stats in body["summary"][pack].items():
            if stats["n"]:
                assert stats["p10"] <= stats["median"] <= stats["p90"], (pack, metric)
                values = [r[metric] for r in body["runs"] if r["pack"] == pack]
                assert min(v for v in values if v is not None) <= stats["median"]
    assert "averted share" in output
    assert "红码人日" in output
    png = folder / "evaluation.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_agree_with_the_truth_they_came_from(
    evaluated: tuple[Path, dict[str, Any], str],
) -> None:
    _, body, _ = evaluated
    alone = {b["seed"]: b["infections"] for b in body["no_control"]}
    for seed in (1, 2):  # the no-control arm, run again here, gives the same infections
        assert no_control(seed, PEOPLE, DAYS)["infections"] == alone[seed]
    for r in body["runs"]:
        # the run's infections: the truth's rows, as counted day by day by the loop
        assert r["infections"] == sum(r["infections_per_day"]) > 0
        assert len(r["infections_per_day"]) == DAYS
        # one no-control arm per seed, shared by every pack
        assert r["infections_without_control"] == alone[r["seed"]]
        assert r["averted_share"] == pytest.approx(1 - r["infections"] / alone[r["seed"]])
        assert r["restricted_person_days"] == (
            r["centralised_person_days"] + r["home_person_days"] + r["sealed_person_days"]
        )
        assert r["venue_closure_days"] == 0
        assert r["samples"] >= r["tubes"] > 0
        assert r["confirmed"] <= r["infections"]
        for share in ("found_under_control_share", "tracing_precision", "tracing_recall"):
            assert r[share] is None or 0 <= r[share] <= 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--pack", "no-such-pack"], "no-such-pack"),
        (["--pack", "protocol-9", "--pack", "protocol-9"], "named twice"),
        (["--pack", "protocol-9", "--seeds", "0"], "--seeds must be at least 1"),
        (["--pack", "protocol-9", "--days", "0"], "--days must be at least 1"),
        ([], "at least one policy pack"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    tmp_path: Path, args: list[str], says: str
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["evaluate", *args, "--out", str(out)], env={"FANGKONG_HOME": str(tmp_path)}
    )
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.output)  # and in Chinese
    assert not out.exists()


def _truth(rows: list[tuple[int, int | None, int]]) -> pa.Table:
    return pa.table({
        "infectee": pa.array([a for a, _, _ in rows], pa.int32()),
        "infector": pa.array([b for _, b, _ in rows], pa.int32()),
        "day": pa.array([d for _, _, d in rows], pa.int32()),
    })  # fmt: skip


def test_isolation_delay_counts_from_infection_to_the_first_order() -> None:
    truth = _truth([(1, None, 0), (2, 1, 2), (3, 1, 3), (4, 2, 4)])
    decisions = pa.table(
        [pa.array([1, 2, 3, 1], pa.int32()), pa.array([3, 2, 6, 5], pa.int32()),
         pa.array(["isolate", "home_quarantine", "isolate", "release"])],
        schema=DECISIONS,
    )  # fmt: skip
    # 1: infected day 0, isolated day 3 → 3; 2: ordered on its infection day → 0;
    # 3: infected day 3, isolated day 6 → 3; 4: never ordered → left out; 9: never infected
    delays = isolation_delays(truth, decisions, np.array([1, 2, 3, 4, 9]))
    assert delays.tolist() == [3, 0, 3]


def test_contacts_per_case_and_the_share_later_infected() -> None:
    found = pa.table(
        [pa.array([1, 1, 1, 2], pa.int32()), pa.array([2, 5, 5, 6], pa.int32())], schema=FOUND
    )
    assert contacts_per_case(found, np.array([1, 2, 3])).tolist() == [2, 1, 0]
    truth = _truth([(1, None, 0), (2, 1, 2), (6, 2, 4)])
    assert contacts_infected_share(truth, found) == pytest.approx(2 / 3)  # 2 and 6 of 2, 5, 6
    # a contact infected before the case that named it (its infector) is not "later"
    back = pa.table([pa.array([2], pa.int32()), pa.array([1], pa.int32())], schema=FOUND)
    assert contacts_infected_share(truth, back) == 0.0
    assert contacts_infected_share(truth, FOUND.empty_table()) is None


def test_packs_are_compared_seed_by_seed(evaluated: tuple[Path, dict[str, Any], str]) -> None:
    _, body, output = evaluated
    first, other = PACKS
    by = {(r["pack"], r["seed"]): r for r in body["runs"]}
    for metric in ("infections", "restricted_person_days", "samples"):
        d = [by[(other, s)][metric] - by[(first, s)][metric] for s in (1, 2)]
        stats = body["paired"][other][metric]
        assert stats["n"] == 2
        assert stats["median"] == pytest.approx(float(np.median(d)))
        assert stats["p10"] <= stats["median"] <= stats["p90"]
        assert stats["lower"] == sum(x < 0 for x in d)
    assert first not in body["paired"]
    assert "paired by seed" in output
