"""The steps of a case's investigation in every shell: the buttons of the tracer's case
page (CSRF, the first stamp kept, the report waiting for the core facts, zh and en), the
API (``POST /api/v1/tracing/cases/{id}/steps/{step}``, the case's stamps in its JSON,
jurisdiction) and ``fangkong tracing step|steps``. Both backends."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from typer.testing import CliRunner

from fangkong import clock
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.cli import app as cli_app
from fangkong.policy.loader import load_pack
from fangkong.store.engine import make_engine
from fangkong.tracing.cases import get_case, register_case
from fangkong.tracing.rules import ContactRules
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import csrf_of, logged_in, make_app, person_ids
from tests.conftest import PASSWORD, load_province, shell_env

NOON = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
RULES = ContactRules.from_pack(load_pack("protocol-9"))


def _case(engine: Engine, county: str = "140102") -> int:
    with clock.frozen(NOON):
        return register_case(engine, person_ids(engine, county)[0], RULES,
                             sampled=date(2026, 11, 19)).id  # fmt: skip


@pytest.fixture
def served(province: Engine, tmp_path: Path) -> FastAPI:
    add_user(province, AUDIT_KEY, cli_actor(), "lab", PASSWORD, "lab", "140102", "test")
    return make_app(province, tmp_path)


def _row(html: str, step: str) -> str:
    found = re.search(rf'<tr id="step-{step}">.*?</tr>', html, re.S)
    assert found, step
    return found.group(0)


def test_the_case_page_stamps_each_step_with_a_button(served: FastAPI, province: Engine) -> None:
    case = _case(province)
    epi = logged_in(served, "epi")
    page = epi.get(f"/tracing/cases/{case}").text
    assert "流调处置节点" in page
    assert "现已完成" in _row(page, "verified")
    assert "disabled" in _row(page, "report")  # the report waits for the core facts
    assert "disabled" not in _row(page, "core_facts")
    assert epi.post(f"/tracing/cases/{case}/steps/verified").status_code == 403  # no CSRF
    with clock.frozen(NOON.replace(hour=5, minute=30)):
        done = epi.post(f"/tracing/cases/{case}/steps/verified",
                        data={"csrf_token": csrf_of(page)}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    after = epi.get(done.headers["location"]).text
    assert 'id="stamped"' in after
    verified = _row(after, "verified")
    assert "2026-11-20 13:30" in verified  # the clock's time, shown in the local zone
    assert "epi" in verified
    assert "<button" not in verified  # done: no button any more
    # a second press (a stale page) keeps the first stamp
    with clock.frozen(NOON.replace(hour=9)):
        epi.post(f"/tracing/cases/{case}/steps/verified", data={"csrf_token": csrf_of(page)})
    assert get_case(province, case).verified_at == NOON.replace(hour=5, minute=30)
    early = epi.post(f"/tracing/cases/{case}/steps/report", data={"csrf_token": csrf_of(page)})
    assert early.status_code == 409
    assert "请先记录“核心信息查清”" in early.text
    assert get_case(province, case).report_at is None
    bad = epi.post(f"/tracing/cases/{case}/steps/teatime", data={"csrf_token": csrf_of(page)})
    assert bad.status_code == 400
    assert 'id="step-error"' in bad.text
    en = logged_in(served, "epi")
    en.cookies.set("fk_lang", "en")
    english = en.get(f"/tracing/cases/{case}").text
    for text in ("Steps of the investigation", "Investigation team on site", "Done now"):
        assert text in english


def test_no_buttons_without_the_right_and_none_outside_the_jurisdiction(
    served: FastAPI, province: Engine
) -> None:
    case = _case(province)
    lab = logged_in(served, "lab")  # reads cases, changes nothing
    page = lab.get(f"/tracing/cases/{case}").text
    assert 'id="steps"' in page
    assert "<button" not in _row(page, "verified")
    refused = lab.post(f"/tracing/cases/{case}/steps/verified", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    other = logged_in(served, "county2")
    page2 = other.get("/").text
    hidden = other.post(f"/tracing/cases/{case}/steps/verified",
                        data={"csrf_token": csrf_of(page2)})  # fmt: skip
    assert hidden.status_code == 404
    assert get_case(province, case).verified_at is None


def test_the_api_records_a_step_now_and_shows_the_stamps(served: FastAPI, province: Engine) -> None:
    case = _case(province)
    epi = logged_in(served, "epi")
    epi.headers["X-CSRF-Token"] = epi.get("/api/v1/session").json()["csrf_token"]
    with clock.frozen(NOON.replace(hour=6)):
        first = epi.post(f"/api/v1/tracing/cases/{case}/steps/on_site")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["step"], body["by"], body["new"]) == ("on_site", "epi", True)
    assert body["label_zh"] == "流调队伍到达现场"
    assert datetime.fromisoformat(body["at"]) == NOON.replace(hour=6)
    again = epi.post(f"/api/v1/tracing/cases/{case}/steps/on_site").json()
    assert (again["new"], again["at"]) == (False, body["at"])
    assert epi.post(f"/api/v1/tracing/cases/{case}/steps/report").status_code == 409
    assert epi.post(f"/api/v1/tracing/cases/{case}/steps/teatime").status_code == 400
    contacts = epi.get(f"/api/v1/tracing/cases/{case}/contacts").json()
    assert datetime.fromisoformat(contacts["case"]["on_site_at"]) == NOON.replace(hour=6)
    assert contacts["case"]["verified_at"] is None
    other = logged_in(served, "county2")
    other.headers["X-CSRF-Token"] = other.get("/api/v1/session").json()["csrf_token"]
    assert other.post(f"/api/v1/tracing/cases/{case}/steps/verified").status_code == 404
    spec = epi.get("/openapi.json").json()
    assert "/api/v1/tracing/cases/{case_id}/steps/{step}" in spec["paths"]
    assert "StepOut" in spec["components"]["schemas"]


def test_cli_records_and_shows_the_steps(tmp_path: Path, twin_files: dict[str, Path]) -> None:
    runner = CliRunner()
    env = shell_env(tmp_path)
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path}/fangkong.db")
    load_province(engine, twin_files)
    case = _case(engine)
    early = runner.invoke(cli_app, ["tracing", "step", str(case), "report"], env=env)
    assert early.exit_code == 2
    assert "tracing.step_out_of_order" in early.output
    done = runner.invoke(cli_app, ["tracing", "step", str(case), "core_facts"], env=env)
    assert done.exit_code == 0, done.output
    assert "核心信息查清" in done.output
    again = runner.invoke(cli_app, ["tracing", "step", str(case), "core_facts"], env=env)
    assert "recorded before" in again.output
    shown = runner.invoke(cli_app, ["tracing", "steps", str(case)], env=env)
    assert shown.exit_code == 0, shown.output
    assert "cli:" in shown.output
    assert "流调报告提交" in shown.output
