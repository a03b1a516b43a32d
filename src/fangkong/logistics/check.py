"""The check at a checkpoint (pure core): a crossing's outcome from the facts.

Each person of the vehicle (driver, passengers) brings four facts — the health code's
colour, whether a negative test is within its validity, the most severe risk level of the
areas in force where they were within the window, and their role — and the vehicle brings
its cargo and the key-freight pass's verdict. The pack's ``[logistics]`` rules decide::

    colour → colours.<colour> = turned_back          → turned back (劝返)
    colour → closed_loop, or from an area of a level
      in closed_loop_levels                          → the closed loop (闭环管理, point to
                                                       point, handed to arrivals); sampled
                                                       there and then if no valid test
      — for a vehicle entering (a direction of
      closed_loop_directions); one leaving with a
      person from such an area                       → that person checked as below, the
                                                       closed loop being the destination's
                                                       (落地管理: the crossing records it)
    colour → check, negative test within
      test_valid_hours (互认: any province's)        → passed, no second test
    colour → check, no valid test                    → no_valid_test: sampled and let go
                                                       without waiting (即采即走), or turned
                                                       back where a pack says so

Nobody is held for a result: the outcomes are the four of the table, never "wait". The
vehicle's outcome is its most severe person's (turned back > closed loop > sampled >
passed); a vehicle turned back takes all its people back with it (none is sampled or
handed over: none enters). A valid pass gives priority (优先通行) to the cargo classes of
``priority_cargo``; it never replaces the check of a person. Every outcome carries the
rule id that decided it and a sentence in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from fangkong.logistics.rules import LogisticsRules

SEVERITY = ("passed", "sampled_released", "closed_loop", "turned_back")  # least severe first
_LEVEL = {"high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
_COLOUR = {
    "green": ("绿码", "green code"),
    "yellow": ("黄码", "yellow code"),
    "red": ("红码", "red code"),
    "none": ("未查到健康码", "no health code on record"),
}


@dataclass(frozen=True)
class PersonFacts:
    role: str  # driver | passenger
    colour: str  # green | yellow | red | none
    test_valid: bool  # a negative test sampled within test_valid_hours
    risk_level: str | None = None  # the most severe level of the areas visited in the window
    risk_place: str = ""  # the area that decided it (for the sentence)


@dataclass(frozen=True)
class PersonCheck:
    outcome: str  # one of SEVERITY
    sampled: bool  # sampled at the checkpoint (即采即走)
    closed_loop: bool  # handed to the arrivals closed loop
    from_risk_area: bool
    rule_id: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class CrossingCheck:
    outcome: str
    people: tuple[PersonCheck, ...]
    priority: bool  # a valid pass for a cargo class of priority_cargo (优先通行)
    rule_id: str  # the rule of the person that decided the vehicle's outcome
    reason_zh: str
    reason_en: str


def check_person(facts: PersonFacts, rules: LogisticsRules, direction: str = "in") -> PersonCheck:
    """One person's outcome (see the module docstring); ``direction`` the vehicle's."""
    action = rules.colours.get(facts.colour, "check")
    colour_zh, colour_en = _COLOUR.get(facts.colour, _COLOUR["none"])
    from_risk = facts.risk_level is not None and facts.risk_level in rules.closed_loop_levels
    if from_risk and direction not in rules.closed_loop_directions:
        return _leaving(facts, rules, action)
    hours = f"{rules.test_valid_hours:g}"
    if action == "turned_back":
        return PersonCheck(
            "turned_back",
            False,
            False,
            from_risk,
            f"logistics.colours.{facts.colour}",
            f"{colour_zh}：劝返",
            f"{colour_en}: turned back",
        )
    if action == "closed_loop" or from_risk:
        if from_risk:
            zh_level, en_level = _LEVEL[facts.risk_level or "high"]
            place = facts.risk_place or "—"
            rule = "logistics.closed_loop_levels"
            why_zh = f"{rules.history_days}天内到过{zh_level}风险区（{place}）"
            why_en = f"was in a {en_level}-risk area ({place}) within {rules.history_days} days"
        else:
            rule = f"logistics.colours.{facts.colour}"
            why_zh, why_en = colour_zh, colour_en
        test_zh, test_en = (
            ("核酸有效，不再重复检测", "test valid, not tested again")
            if facts.test_valid
            else ("现场采样，不等结果", "sampled here without waiting for the result")
        )
        return PersonCheck(
            "closed_loop",
            not facts.test_valid,
            True,
            from_risk,
            rule,
            f"{why_zh}：点对点闭环管理，移交闭环专班；{test_zh}",
            f"{why_en}: point-to-point under the closed loop, handed to arrivals; {test_en}",
        )
    if facts.test_valid:
        return PersonCheck(
            "passed",
            False,
            False,
            False,
            "logistics.test_valid_hours",
            f"{colour_zh}，{hours}小时内核酸阴性（各地互认）：通行，不再检测",
            f"{colour_en}, negative test within {hours} h (accepted wherever taken): "
            "passed, not tested again",
        )
    if rules.no_valid_test == "turned_back":
        return PersonCheck(
            "turned_back",
            False,
            False,
            False,
            "logistics.no_valid_test",
            f"无{hours}小时内核酸阴性证明：劝返",
            f"no negative test within {hours} h: turned back",
        )
    return PersonCheck(
        "sampled_released",
        True,
        False,
        False,
        "logistics.no_valid_test",
        f"无{hours}小时内核酸阴性证明：即采即走，不等结果，阳性即追",
        f"no negative test within {hours} h: sampled and let go without waiting for the "
        "result, chased if positive",
    )


def _leaving(facts: PersonFacts, rules: LogisticsRules, action: str) -> PersonCheck:
    """A person from a risk area on a vehicle leaving the checkpoint's jurisdiction: the
    closed loop is the destination's (落地管理); here the code and the test are checked
    as for anyone (a colour's own action still applies), the person marked as from a risk
    area."""
    plain = check_person(replace(facts, risk_level=None), rules)
    if action != "check":
        return replace(plain, from_risk_area=True)
    zh_level, en_level = _LEVEL[facts.risk_level or "high"]
    place = facts.risk_place or "—"
    return replace(
        plain,
        from_risk_area=True,
        rule_id="logistics.closed_loop_directions",
        reason_zh=f"{rules.history_days}天内到过{zh_level}风险区（{place}），驶离本辖区："
        f"由目的地落地闭环管理；{plain.reason_zh}",
        reason_en=f"was in a {en_level}-risk area ({place}) within {rules.history_days} days, "
        f"leaving: the destination's closed loop receives them; {plain.reason_en}",
    )


_BACK_WITH_VEHICLE = (
    "logistics.vehicle_turned_back",
    "同车人员被劝返，随车返回",
    "another person of the vehicle is turned back: returns with it",
)


def check_crossing(
    people: Sequence[PersonFacts],
    rules: LogisticsRules,
    *,
    cargo_class: str = "none",
    verdict: str = "none",
    direction: str = "in",
) -> CrossingCheck:
    """The vehicle's outcome and each person's (see the module docstring)."""
    checks = [check_person(p, rules, direction) for p in people]
    if not checks:
        raise ValueError("a crossing carries at least one person")
    worst = max(range(len(checks)), key=lambda i: (SEVERITY.index(checks[i].outcome), -i))
    outcome = checks[worst].outcome
    if outcome == "turned_back":
        rule, zh, en = _BACK_WITH_VEHICLE
        checks = [
            c
            if c.outcome == "turned_back"
            else PersonCheck("turned_back", False, False, c.from_risk_area, rule, zh, en)
            for c in checks
        ]
    priority = verdict == "valid" and cargo_class in rules.priority_cargo
    decisive = checks[worst]
    zh, en = decisive.reason_zh, decisive.reason_en
    if priority and outcome != "turned_back":
        zh += "；重点物资通行证有效：优先通行"
        en += "; key-freight pass valid: priority"
    elif verdict not in ("none", "valid"):
        zh += "；通行证未通过核验：按普通车辆查验"
        en += "; the pass failed verification: checked as any vehicle"
    return CrossingCheck(outcome, tuple(checks), priority, decisive.rule_id, zh, en)
