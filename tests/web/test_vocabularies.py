"""Every value the database may hold in an enum column has a label in both languages, and
so has every action the code audits: a new value without one fails here, not on a page.

The values come from the tables themselves (each ``col IN (...)`` CHECK constraint of the
declared metadata) and from the source (``tests/web/audit_actions.py``). Each enum column
is shown through a vocabulary of ``fangkong.web.labels`` or through a template's table of
names (``tracing/_labels.html``...): ``SHOWN_BY`` says which, and a column missing from it
fails the test."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import CheckConstraint

from fangkong.command.model import MEASURES
from fangkong.store.migrate import _metadata
from fangkong.web.i18n import environment
from fangkong.web.labels import audit_outcome, label, one_language
from fangkong.web.vocabularies import VOCABULARIES
from tests.web.audit_actions import audited_actions

# (table, column) → a labels.py vocabulary, or (template, its dict of names)
SHOWN_BY: dict[tuple[str, str], str | tuple[str, str]] = {
    ("regions", "level"): "region_level",
    ("alerts", "severity"): ("alerts/_labels.html", "severity_names"),
    ("alerts", "status"): ("alerts/_labels.html", "status_names"),
    ("alerts", "kind"): ("alerts/_labels.html", "kind_names"),
    ("alert_changes", "action"): "alert_action",
    ("signal_counts", "signal"): "signal",
    ("command_tasks", "source_type"): "task_source",
    ("command_tasks", "status"): "task_status",
    ("command_tasks", "kind"): "task_kind",
    ("quarantine_facilities", "status"): "facility_status",
    ("quarantine_facilities", "kind"): "facility_kind",
    ("quarantine_sites", "site_type"): "site_type",
    ("quarantine_sites", "power"): "site_power",
    ("quarantine_sites", "access"): "site_access",
    ("quarantine_rooms", "kind"): "room_kind",
    ("quarantine_rooms", "state"): "room_state",
    ("quarantine_placements", "status"): ("quarantine/_labels.html", "placement_status_names"),
    ("quarantine_placements", "kind"): ("quarantine/_labels.html", "placement_kind_names"),
    ("quarantine_alerts", "kind"): ("quarantine/_labels.html", "alert_kind_names"),
    ("quarantine_checks", "status"): ("quarantine/_labels.html", "check_names"),
    ("quarantine_tests", "result"): ("quarantine/_labels.html", "result_names"),
    ("risk_areas", "granularity"): "granularity",
    ("risk_areas", "origin"): "risk_origin",
    ("risk_areas", "level"): "risk_level",
    ("risk_area_needs", "status"): "need_status",
    ("care_needs", "kind"): "care_kind",  # issue 20
    ("care_needs", "status"): "care_status",
    ("care_needs", "outcome"): "care_outcome",
    ("arrivals_manifests", "mode"): "travel_mode",
    ("arrivals_teams", "kind"): "team_kind",
    ("arrivals_trips", "status"): "trip_status",
    ("arrivals_travellers", "stage"): "arrival_stage",
    ("arrivals_alerts", "kind"): "arrival_alert_kind",
    ("arrivals_stage_changes", "via"): "via",
    ("persons", "sex"): "sex",
    ("freight_passes", "vehicle_kind"): "vehicle_kind",
    ("freight_passes", "cargo_class"): "cargo_class",
    ("freight_pass_drivers", "code_colour"): "crossing_colour",
    ("health_codes", "colour"): ("_colour.html", "colour_names"),
    ("code_corrections", "filer_role"): "filer_role",
    ("code_corrections", "state"): "correction_state",
    ("testing_tubes", "flag"): ("testing/_labels.html", "flag_names"),
    ("testing_tubes", "purpose"): ("testing/_labels.html", "purpose_names"),
    ("testing_results", "outcome"): "test_outcome",
    ("testing_orders", "status"): "order_status",
    ("tracing_contacts", "kind"): ("tracing/_labels.html", "kind_names"),
    ("tracing_contacts", "status"): ("tracing/_labels.html", "status_names"),
    ("tracing_exposures", "kind"): ("tracing/_labels.html", "kind_names"),
    ("tracing_exposures", "setting"): ("tracing/_labels.html", "setting_names"),
    # issue 20: necessities
    ("supply_outlets", "kind"): "outlet_kind",
    ("supply_reports", "via"): "via",
    ("supply_deliveries", "status"): "delivery_status",
    ("supply_alerts", "status"): "supply_alert_status",
    ("supply_alerts", "cause"): "supply_cause",
    ("logistics_checkpoints", "kind"): "checkpoint_kind",
    ("logistics_crossings", "direction"): "crossing_direction",
    ("logistics_crossings", "vehicle_kind"): "vehicle_kind",
    ("logistics_crossings", "cargo_class"): "cargo_class",
    ("logistics_crossings", "pass_verdict"): "pass_verdict",
    ("logistics_crossings", "outcome"): "crossing_outcome",
    ("logistics_crossings", "via"): "crossing_via",
    ("logistics_crossing_people", "role"): "crossing_role",
    ("logistics_crossing_people", "code_colour"): "crossing_colour",
    ("roads_reports", "status"): "road_report_status",
    ("roads_reports", "authority_level"): "authority_level",
    ("roads_reports", "via"): "road_report_via",
    ("roads_status", "state"): "road_state",
    ("roads_alerts", "condition"): "road_condition",
}

_IN = re.compile(r"^\s*(?:\w+ IS NULL OR )?(\w+) IN \((.*)\)\s*$")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def enum_columns() -> dict[tuple[str, str], set[str]]:
    """(table, column) → the values its CHECK constraint allows."""
    found: dict[tuple[str, str], set[str]] = {}
    for table in _metadata().sorted_tables:
        for constraint in table.constraints:
            m = (
                _IN.match(str(constraint.sqltext))
                if isinstance(constraint, CheckConstraint)
                else None
            )
            if m:
                values = set(re.findall(r"'([^']*)'", m[2]))
                found.setdefault((table.name, m[1]), set()).update(values)
    return found


def names(shown_by: str | tuple[str, str], lang: str) -> dict[str, str]:
    """The labels of a column's values in ``lang``, wherever the pages take them from."""
    if isinstance(shown_by, str):
        return {v: label(v, shown_by, lang) for v in VOCABULARIES[shown_by]}
    template, variable = shown_by
    module = environment(lang).get_template(template).make_module()
    table: dict[str, str] = getattr(module, variable)
    return table


def test_the_columns_are_found() -> None:
    columns = enum_columns()
    assert len(columns) >= 40
    assert columns[("arrivals_travellers", "stage")] >= {"registered", "handed_over"}


def test_every_enum_column_is_shown_through_labels() -> None:
    unmapped = sorted(set(enum_columns()) - set(SHOWN_BY))
    assert unmapped == [], "add these columns to SHOWN_BY (and their labels)"


@pytest.mark.parametrize("column", sorted(SHOWN_BY))
def test_every_stored_value_has_both_languages(column: tuple[str, str]) -> None:
    values = enum_columns()[column]
    zh, en = names(SHOWN_BY[column], "zh"), names(SHOWN_BY[column], "en")
    for value in values:
        assert value in zh, (column, value)
        assert _HAN.search(zh[value]), (column, value, zh[value])
        assert en[value].strip(), (column, value)
        assert not _HAN.search(en[value]), (column, value, en[value])
        assert value not in (zh[value], en[value]), (column, value)


def test_every_audited_action_has_a_label() -> None:
    actions = audited_actions()
    assert {"login", "person.read", "tracing.case", "command.wall", "testing.ship"} <= actions
    missing = sorted(a for a in actions if a not in VOCABULARIES["audit_action"]
                     and not re.fullmatch(r"arrival\.", a))  # fmt: skip
    assert missing == []
    # a stage confirmed is audited as f"arrival.{via}" (arrivals.access.confirm_stage)
    assert {"arrival.form", "arrival.scan", "arrival.api"} <= set(VOCABULARIES["audit_action"])


def test_an_unknown_value_is_shown_in_words_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fangkong.web.labels"):
        shown = label("no_such_value", "risk_level", "zh")
    assert shown == "No such value"
    assert "no_such_value" in caplog.text
    assert audit_outcome("tracing.case_unknown", "zh") == "已拒绝"
    assert audit_outcome("ok", "en") == "Done"


def test_every_measure_event_has_a_label() -> None:
    events = {e for m in MEASURES for e in (m.start, m.end)}
    assert events <= set(VOCABULARIES["measure_event"])


def test_stored_notes_are_shown_in_one_language() -> None:
    assert one_language("无需转运 / no transfer", "zh") == "无需转运"
    assert one_language("无需转运 / no transfer", "en") == "no transfer"
    assert one_language("居家：阳远县 / home: 阳远县", "en") == "home: 阳远县"
    assert one_language("居家：阳远县 / home: 阳远县", "zh") == "居家：阳远县"
    assert one_language("已确认：已交接 / confirmed: handed over", "en") == "confirmed: handed over"
    for typed in ("电话未接通", "called twice / no answer", "a / b / c", "体温 37.5 / 复测"):
        assert one_language(typed, "zh") == typed  # not a stored pair: as typed


def test_every_management_an_arrival_rule_can_order_has_a_label() -> None:
    """A traveller's management (arrivals.rules.MANAGEMENTS) is said by its own vocabulary
    (it once borrowed the quarantine periods', which lack ``tests_only`` and ``none``)."""
    from fangkong.arrivals.rules import MANAGEMENTS
    from fangkong.web.vocabularies import VOCABULARIES

    assert set(VOCABULARIES["arrival_management"]) == set(MANAGEMENTS)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_alert_names_of_python_and_of_the_alert_pages_agree(lang: str) -> None:
    """A task's facts and the audit log name an alert's status and severity from the
    registry; the alert pages from their own table: one alert, one name, in both."""
    assert names("alert_status", lang) == names(("alerts/_labels.html", "status_names"), lang)
    assert names("alert_severity", lang) == names(("alerts/_labels.html", "severity_names"), lang)
