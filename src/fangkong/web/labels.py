"""The one translation layer for stored values shown to a person.

Every enum, rule id and key the database or the policy pack stores, and a page shows, has
a label here in Chinese and English: ``VOCABULARIES[vocabulary][value] = (zh, en)``.
Templates call ``label(value, "vocabulary")`` (a Jinja filter and global installed by
``fangkong.web.i18n``); a value missing from its vocabulary is shown as itself and the
page tests (``tests/web/test_labels.py``) fail on it, because they build the list of raw
values to look for from this registry, so a new vocabulary is covered by adding it here.

Numbers go through ``number`` / ``decimal`` (per-language grouping, at most N decimals).
"""

from __future__ import annotations

import re
from typing import Final

from fangkong.auth.rights import ROLES
from fangkong.command.model import TASK_STATUSES

Label = tuple[str, str]
"""(Chinese, English)."""


def _capital(text: str) -> str:
    """An English label from a table that writes it in running text: "in progress"."""
    return text[:1].upper() + text[1:]


VOCABULARIES: Final[dict[str, dict[str, Label]]] = {
    # risk areas (riskareas.rules.LEVEL_NAMES, ORIGINS)
    "risk_level": {
        "high": ("高风险区", "High risk"),
        "medium": ("中风险区", "Medium risk"),
        "low": ("低风险区", "Low risk"),
    },
    "risk_origin": {
        "designated": ("划定", "Designated"),
        "downgraded": ("由高风险区降级", "Downgraded"),
    },
    "granularity": {
        "building": ("楼栋", "Building"),
        "compound": ("小区", "Compound"),
        "community": ("社区", "Community"),
    },
    # the region tree (registry regions.level)
    "region_level": {
        "province": ("省", "Province"),
        "city": ("市", "City"),
        "county": ("县区", "County"),
        "township": ("乡镇街道", "Township"),
        "community": ("社区村", "Community"),
        "compound": ("小区", "Compound"),
    },
    # health-code rules (policy pack [healthcode.rules.*])
    "code_rule": {
        "case": ("确诊病例", "Confirmed case"),
        "discharged_case": ("出院病例", "Discharged case"),
        "close_contact": ("密切接触者", "Close contact"),
        "contact_of_contact": ("密接的密接", "Contact of a close contact"),
        "companion": ("时空伴随者", "Companion"),
        "arrival_inbound": ("入境人员", "Inbound arrival"),
        "arrival_high": ("高风险区来返人员", "Arrival from a high-risk area"),
        "arrival_medium": ("中风险区来返人员", "Arrival from a medium-risk area"),
        "arrival_low": ("低风险区来返人员", "Arrival from a low-risk area"),
        "positive_pool": ("混检阳性", "Positive pool"),
        "positive_screen": ("筛查阳性", "Positive screening"),
        "required_testing": ("应检未检", "Required test missing"),
        "residence_high": ("居住在高风险区", "Lives in a high-risk area"),
        "residence_medium": ("居住在中风险区", "Lives in a medium-risk area"),
        "fever_clinic": ("发热门诊就诊", "Fever-clinic visit"),
        "centralised_quarantine": ("集中隔离", "Centralised quarantine"),
        "home_quarantine": ("居家隔离", "Home quarantine"),
        "home_monitoring": ("居家健康监测", "Home health monitoring"),
        "manual": ("人工赋码", "Set by hand"),
    },
    # what made a code be evaluated (code_transitions.trigger)
    "code_trigger": {
        "read": ("查询时评估", "Evaluated on reading"),
        "evaluate": ("评估", "Evaluation"),
        "recompute": ("批量重算", "Recomputation"),
        "day": ("每日重算", "Daily recomputation"),
        "quarantine": ("隔离管理", "Quarantine"),
        "risk_area": ("风险区划定", "Risk area"),
        "tracing": ("流调", "Contact tracing"),
        "testing:sample": ("核酸采样", "Test sampled"),
        "testing:result": ("核酸结果", "Test result"),
        "arrivals:manifest": ("来返人员名单", "Arrivals manifest"),
    },
    # management periods (policy.model.PERIODS) and arrival risk classes ([arrivals.risks.*])
    "period": {
        "centralised_quarantine": ("集中隔离", "Centralised quarantine"),
        "home_quarantine": ("居家隔离", "Home quarantine"),
        "home_monitoring": ("居家健康监测", "Home health monitoring"),
    },
    "arrival_risk": {
        "inbound": ("入境", "Inbound"),
        "high": ("高风险区", "High-risk area"),
        "medium": ("中风险区", "Medium-risk area"),
        "low": ("低风险区", "Low-risk area"),
        "none": ("无风险区", "No risk area"),
    },
    "arrival_rule": {
        "arrivals.risks.inbound": ("入境人员规则", "Inbound arrivals rule"),
        "arrivals.risks.high": ("高风险区来返规则", "High-risk area arrivals rule"),
        "arrivals.risks.medium": ("中风险区来返规则", "Medium-risk area arrivals rule"),
        "arrivals.risks.low": ("低风险区来返规则", "Low-risk area arrivals rule"),
        "arrivals.risks.none": ("其他来返规则", "Other arrivals rule"),
    },
    "via": {
        "import": ("文件导入", "File import"),
        "api": ("接口", "API"),
        "scan": ("扫码", "Scan"),
        "form": ("页面填报", "Page form"),
        "job": ("定时任务", "Scheduled job"),
        "cli": ("命令行", "Command line"),
    },
    "test_outcome": {
        "negative": ("阴性", "Negative"),
        "positive": ("阳性", "Positive"),
        "inconclusive": ("不确定", "Inconclusive"),
        "invalid": ("无效", "Invalid"),
        "pending": ("待出结果", "Pending"),
    },
    "arrival_alert_kind": {"overdue": ("超时未交接", "Overdue"), "handoff": ("交接", "Hand-off")},
    # quarantine sites (quarantine_sites.site_type, .status, facilities.kind)
    "site_type": {
        "gym": ("体育馆", "Gym"),
        "exhibition_hall": ("会展中心", "Exhibition hall"),
        "school": ("学校", "School"),
        "hotel": ("酒店", "Hotel"),
        "warehouse": ("仓库", "Warehouse"),
        "other": ("其他", "Other"),
    },
    # a person's occupation group (persons.occupation, registry.model.Occupation)
    "occupation": {
        "preschool": ("学龄前儿童", "Preschool child"),
        "student": ("学生", "Student"),
        "worker": ("在职人员", "Employed"),
        "retiree": ("离退休人员", "Retired"),
        "unemployed": ("无业人员", "Not employed"),
        "medical": ("医务人员", "Medical staff"),
        "fever_clinic": ("发热门诊人员", "Fever-clinic staff"),
        "quarantine_site": ("隔离场所工作人员", "Quarantine-site staff"),
        "port_of_entry": ("口岸工作人员", "Port-of-entry staff"),
        "cold_chain": ("冷链从业人员", "Cold-chain worker"),
        "courier": ("快递从业人员", "Courier"),
        "delivery": ("外卖配送人员", "Delivery rider"),
        "supermarket": ("商超从业人员", "Supermarket worker"),
        "transport": ("交通运输从业人员", "Transport worker"),
        "public_service": ("公共服务人员", "Public-service worker"),
        "other": ("其他", "Other"),
    },
    "facility_status": {
        "standby": ("备用", "Standby"),
        "activating": ("启用中", "Activating"),
        "open": ("已启用", "Open"),
        "closing": ("关闭中", "Closing"),
    },
    "facility_kind": {
        "hotel": ("隔离酒店", "Quarantine hotel"),
        "fangcang": ("方舱医院", "Fangcang hospital"),
        "designated_hospital": ("定点医院", "Designated hospital"),
    },
    "room_kind": {
        "single": ("单人间", "Single"),
        "family": ("家庭间", "Family"),
        "accessible": ("无障碍间", "Accessible"),
    },
    # alerts (alerts.method, .frequency, detector level, history action)
    "alert_method": {
        "trigger": ("单事件触发", "Single-event trigger"),
        "ears-c1": ("EARS C1", "EARS C1"),
        "ears-c2": ("EARS C2", "EARS C2"),
        "ears-c3": ("EARS C3", "EARS C3"),
        "farrington": ("Farrington", "Farrington"),
        "farrington-flexible": ("Farrington（改进）", "Farrington (flexible)"),
        "cusum": ("CUSUM 累积和", "CUSUM"),
        "glrnb": ("GLR 负二项", "GLR negative binomial"),
        "mpm": ("MPM", "MPM"),
        "ewma": ("EWMA 指数加权", "EWMA"),
    },
    "frequency": {"day": ("按日", "Daily"), "week": ("按周", "Weekly")},
    "alert_action": {
        "raised": ("发出", "Raised"),
        "repeated": ("重复", "Repeated"),
        "verified": ("已核实", "Verified"),
        "investigated": ("已调查", "Investigated"),
        "closed": ("已关闭", "Closed"),
        "dismissed": ("排除（误报）", "Dismissed (false alarm)"),
        "escalated": ("已升级", "Escalated"),
    },
    "task_source": {
        "alert": ("预警", "Alert"),
        "arrival": ("来返人员", "Arrival"),
        "region_day": ("地区日报", "Region's day"),
        "risk_area_need": ("封控区需求", "Sealed-area need"),
        "risk_area": ("风险区", "Risk area"),
    },
    "need_status": {
        "open": ("待办", "Open"),
        "in_progress": ("处理中", "In progress"),
        "done": ("已完成", "Done"),
        "cancelled": ("已取消", "Cancelled"),
    },
    # the roles, from their own table (auth.rights.ROLES: name → zh, en, rights)
    "role": {name: (zh, _capital(en)) for name, (zh, en, _) in ROLES.items()},
    # command tasks' statuses, from their own table (command.model.TASK_STATUSES)
    "task_status": {s.key: (s.label("zh"), _capital(s.label("en"))) for s in TASK_STATUSES},
}


def label(value: object, vocabulary: str, lang: str) -> str:
    """``value``'s label in ``lang`` ("zh" or "en"); None as "—"; an unknown value as itself."""
    if value is None:
        return "—"
    found = VOCABULARIES[vocabulary].get(str(value))
    if found is None:
        return str(value)
    return found[0] if lang == "zh" else found[1]


def names(vocabulary: str, lang: str) -> dict[str, str]:
    """Every value of ``vocabulary`` → its label in ``lang`` (for a page's select or table)."""
    return {value: label(value, vocabulary, lang) for value in VOCABULARIES[vocabulary]}


def code_trigger(trigger: str | None, lang: str) -> str:
    """What made a code be evaluated: a vocabulary value, or ``fact:<kind>`` (a fact
    recorded about the person, its kind a health-code rule's id)."""
    if trigger is not None and trigger.startswith("fact:"):
        kind = label(trigger.removeprefix("fact:"), "code_rule", lang)
        return f"记录：{kind}" if lang == "zh" else f"Recorded: {kind}"
    return label(trigger, "code_trigger", lang)


_LIFTING = re.compile(r"lifting\.(\w+) \((\d+) d\)")


def risk_rule(rule: str | None, lang: str) -> str:
    """A risk-area change's rule (``lifting.high (7 d)``, stored by the lifting job) in
    words; anything else as itself."""
    if rule is None:
        return "—"
    found = _LIFTING.fullmatch(rule)
    if found is None:
        return rule
    level, days = label(found[1], "risk_level", lang), found[2]
    if lang == "zh":
        return f"{level}连续 {days} 天无新增感染者解除规则"
    return f"{level.lower()} lifted after {days} days without a new infection"


def raw_values() -> set[str]:
    """Every stored value of every vocabulary: the strings a page must never show raw."""
    return {value for vocabulary in VOCABULARIES.values() for value in vocabulary}
