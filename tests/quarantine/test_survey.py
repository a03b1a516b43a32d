"""Site scoring against the formula worked by hand from the pack's numbers."""

from __future__ import annotations

import pytest

from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import SiteInput, rank_sites, score_site

S = QuarantineRules.shipped("protocol-9").survey


def test_a_gym_scored_by_hand() -> None:
    gym = SiteInput("G", "体育馆", "gym", "140102", 5000.0, 40, "grid", "road", 10.0)
    s = score_site(gym, S)
    # area: 5000 × 0.6 / 6 = 500 beds; toilets: 40 × 10 = 400 → 400 beds
    assert (s.beds_by_area, s.beds_by_sanitation, s.beds) == (500, 400, 400)
    hospital = (30 - 10) / (30 - 5)
    expected = 100 * (
        0.35 * 400 / 1000 + 0.2 * 400 / 500 + 0.15 * 0.6 + 0.15 * 0.7 + 0.15 * hospital
    )
    assert s.score == pytest.approx(expected, abs=0.01)
    assert (s.activation_days, s.meets_target) == (2, True)


def test_hotels_count_rooms_and_ranking_is_by_score() -> None:
    hotel = SiteInput(
        "H", "酒店", "hotel", "140102", 1.0, 500, "grid_backup", "highway", 1.0, rooms=180
    )
    school = SiteInput("X", "学校", "school", "140102", 8000.0, 10, "none", "poor", 50.0)
    ranked = rank_sites([school, hotel], S)
    assert [r.site.code for r in ranked] == ["H", "X"]
    assert ranked[0].beds == 180
    assert ranked[1].factors["hospital"] == 0.0
    assert ranked[1].meets_target is False  # schools take 3 days, the target is 2
