"""Manifests: bad rows named in zh + en with nothing written; a changed traveller refused;
an unacknowledged hand-off alerts the receiving county and its task escalates; a pack
still carrying the retired [arrivals.escalation] is refused; twenty-measures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from fangkong.arrivals import loop
from fangkong.arrivals.manifest_rows import ManifestRejected, read_file
from fangkong.arrivals.manifests import ManifestConflict, ManifestHeader, import_manifest
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import alerts, travellers
from fangkong.command.rules import CommandRules
from fangkong.errors import BadInput, InvalidFields
from fangkong.policy import check_pack_file, load_pack
from fangkong.store.schema import persons
from tests.arrivals.world import (
    COMPOUND_A,
    COMPOUND_B,
    POINT,
    T0,
    command_step,
    make_world,
    parent_of,
    stage_task,
    traveller,
)

HEADER = ManifestHeader("G601-20220318", "train", "G601", POINT)
DAY = (T0 - timedelta(days=1)).date().isoformat()


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_bad_rows_are_named_and_nothing_is_written(province: Engine) -> None:
    w = make_world(province)
    before = _count(province, persons)
    rows = [
        traveller(1, f"{COMPOUND_A}@{DAY}"),
        traveller(2, f"{COMPOUND_A}@{DAY}", id_number="110105198501020000"),  # check digit
        traveller(3, "XYZ@2022-13-40", destination="999999"),
        traveller(4, f"{COMPOUND_A}@{DAY}=severe", arrived_at="yesterday"),
    ]
    with pytest.raises(ManifestRejected) as err:
        import_manifest(province, HEADER, rows, w.rules, sealer=w.sealer, by="t", at=T0)
    named = {(r.row, r.column) for r in err.value.rows}
    assert {(2, "id_number"), (3, "destination_region"), (3, "travel_history"),
            (4, "arrived_at"), (4, "travel_history")} <= named  # fmt: skip
    assert (1, "id_number") not in named
    assert "第 3 行" in err.value.problem.message_zh
    assert "row 3" in err.value.problem.message_en
    assert _count(province, travellers) == 0
    assert _count(province, persons) == before


def test_header_and_changed_traveller(province: Engine) -> None:
    w = make_world(province)
    with pytest.raises(InvalidFields) as err:
        import_manifest(province, ManifestHeader("x", "ship", "G1", POINT), [], w.rules,
                        sealer=w.sealer, by="t")  # fmt: skip
    assert err.value.fields[0].field == "mode"
    with pytest.raises(InvalidFields):  # a school is not an arrival point
        import_manifest(province, ManifestHeader("x", "train", "G1", "V140102000001"), [],
                        w.rules, sealer=w.sealer, by="t")  # fmt: skip
    row = traveller(1, f"{COMPOUND_A}@{DAY}")
    import_manifest(province, HEADER, [row], w.rules, sealer=w.sealer, by="t", at=T0)
    with pytest.raises(ManifestRejected) as changed:
        import_manifest(province, HEADER, [{**row, "destination_address": "另一处"}], w.rules,
                        sealer=w.sealer, by="t", at=T0)  # fmt: skip
    assert changed.value.rows[0].problem.code == "arrivals.traveller_changed"
    with pytest.raises(ManifestConflict):
        import_manifest(province, ManifestHeader(HEADER.ref, "train", "G999", POINT), [row],
                        w.rules, sealer=w.sealer, by="t", at=T0)  # fmt: skip
    assert _count(province, travellers) == 1


def test_unacknowledged_handoff_alerts_and_its_task_escalates(province: Engine) -> None:
    w = make_world(province)
    row = traveller(7, f"{COMPOUND_B}@{DAY}", destination=COMPOUND_B)
    out = import_manifest(province, HEADER, [row], w.rules, sealer=w.sealer, codes=w.codes,
                          by="t", at=T0)  # fmt: skip
    tid = out.traveller_ids[0]
    ack = timedelta(hours=w.rules.handoff_ack_hours)
    assert loop.check(province, w.rules, at=T0 + ack - timedelta(minutes=1)).handoff_alerts == 0
    assert loop.check(province, w.rules, at=T0 + ack + timedelta(minutes=1)).handoff_alerts == 1
    with province.connect() as conn:
        alert = conn.execute(select(alerts).where(alerts.c.kind == "handoff")).one()
    assert (alert.region_code, alert.team_code, list(alert.notified)) == (
        "140121", "RCV-B", ["RCV-B", "CMD-B"])  # fmt: skip
    raised_at = T0 + ack + timedelta(minutes=2)
    assert command_step(w, raised_at) == []
    task = stage_task(w, f"{tid}/handoff")  # owed by the receiving county's quarantine side
    assert (task.region_code, task.role, task.escalation_level) == (
        "140121", "quarantine_manager", 0)  # fmt: skip
    cmd = CommandRules.from_pack(w.codes.pack)
    step = timedelta(hours=cmd.escalation.after_hours)
    for n in range(1, 5):
        loop.check(province, w.rules, at=task.deadline_at + n * step + timedelta(minutes=2))
        command_step(w, task.deadline_at + n * step + timedelta(minutes=2))
    city = parent_of(province, "140121")
    assert city is not None
    province_code = parent_of(province, city)
    task = stage_task(w, f"{tid}/handoff")
    # it climbs one level per step and stops at the province (above it there is nothing)
    assert (task.region_code, task.origin_region_code, task.escalation_level) == (
        province_code, "140121", 2)  # fmt: skip
    with province.connect() as conn:
        alert = conn.execute(select(alerts).where(alerts.c.kind == "handoff")).one()
    # the alert is the record: it does not climb the teams any more
    assert (alert.level, alert.escalated_at, list(alert.notified)) == (1, None, ["RCV-B", "CMD-B"])
    assert loop.acknowledge(province, tid, by="county2", at=T0 + 12 * step)
    assert not loop.acknowledge(province, tid, by="county2", at=T0 + 12 * step)
    with province.connect() as conn:
        assert conn.execute(select(alerts.c.active).where(alerts.c.id == alert.id)).scalar() is None
    task = stage_task(w, f"{tid}/handoff")  # acknowledging closes the task with the alert
    assert (task.status, task.closed_by) == ("done", "county2")


def test_retired_escalation_table_is_refused(tmp_path: Path) -> None:
    table = dict(load_pack("protocol-9").sections["arrivals"])
    table["escalation"] = {"levels": 3, "every_hours": 2, "handoff_ack_hours": 2}
    with pytest.raises(BadInput) as err:
        ArrivalRules.from_table(table, "test.toml", {})
    text = err.value.problem.message_en
    assert "[arrivals] escalation" in text
    assert "[command.escalation]" in text
    assert "handoff_ack_hours" in text
    assert "逐级上报" in err.value.problem.message_zh
    # `fangkong policy check`: a region's pack still carrying it is told where, and why
    path = tmp_path / "region.toml"
    path.write_text('[pack]\nname = "x"\nversion = "1"\nextends = "protocol-9"\n'
                    'title_zh = "某地"\ntitle_en = "somewhere"\n\n'
                    "[arrivals.escalation]\nlevels = 3\nevery_hours = 2\n",
                    encoding="utf-8")  # fmt: skip
    (problem,) = check_pack_file(path)
    assert (problem.file, problem.line) == (str(path), 8)
    assert "[command.escalation]" in problem.problem.message_en


def test_twenty_measures_high_goes_home_and_none_is_tested(province: Engine) -> None:
    w = make_world(province, "twenty-measures")
    rows = [traveller(1, f"{COMPOUND_A}@{DAY}"), traveller(2, f"110105@{DAY}")]
    import_manifest(province, HEADER, rows, w.rules, sealer=w.sealer, codes=w.codes, by="t", at=T0)
    with province.connect() as conn:
        got = conn.execute(select(travellers.c.management, travellers.c.landing_test,
                                  travellers.c.stage).order_by(travellers.c.id)).all()  # fmt: skip
    assert [tuple(r) for r in got] == [
        ("home_quarantine", True, "registered"), ("none", True, "registered")]  # fmt: skip


def test_file_header_is_checked(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "m.csv"
    path.write_text("id_type,id_number,colour\nresident_id,1,red\n", encoding="utf-8")
    with pytest.raises(BadInput) as err:
        read_file(path)
    assert "arrived_at" in err.value.problem.message_en
    assert "colour" in err.value.problem.message_zh
