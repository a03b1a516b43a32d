"""The epidemic desks' stored values in zh and en: risk areas, health codes, arrivals,
testing, quarantine, alerts and the command centre, and the registry they all read.

Part of the label registry (``fangkong.web.vocabularies``: ``VOCABULARIES[vocabulary][value]
= (zh, en)``); pages reach it through ``fangkong.web.labels``.
"""

from __future__ import annotations

from typing import Final

from fangkong.alerts.model import SIGNALS
from fangkong.arrivals.rules import STAGE_NAMES
from fangkong.auth.rights import ROLES
from fangkong.command.model import TASK_KINDS, TASK_STATUSES
from fangkong.web.vocabularies._kit import Label, capital

VOCABULARIES: Final[dict[str, dict[str, Label]]] = {
    # risk areas (riskareas.rules.LEVEL_NAMES, ORIGINS)
    "risk_level": {
        "high": ("高风险区", "High risk"),
        "medium": ("中风险区", "Medium risk"),
        "low": ("低风险区", "Low risk"),
    },
    # alerts.status and .severity where Python names them (a task's facts, an audit row's
    # detail); the alert pages' own names (alerts/_labels.html) must say the same, and
    # tests/web/test_vocabularies.py holds the two equal in both languages
    "alert_severity": {
        "low": ("低", "Low"),
        "medium": ("中", "Medium"),
        "high": ("高", "High"),
    },
    "alert_status": {
        "raised": ("已发出", "Raised"),
        "verified": ("已核实", "Verified"),
        "investigated": ("已调查", "Investigated"),
        "closed": ("已结案", "Closed"),
        "dismissed": ("已排除（误报）", "Dismissed (false alarm)"),
    },
    # the parameters a raised task keeps for its explanation (command.raising)
    "task_param": {
        "alert": ("预警", "Alert"),
        "rule": ("规则", "Rule"),
        "severity": ("严重程度", "Severity"),
        "region": ("地区", "Region"),
        "stage": ("环节", "Stage"),
        "point": ("抵达口岸", "Arrival point"),
        "due_at": ("应完成时间", "Due"),
        "need": ("需求", "Need"),
        "area": ("风险区", "Risk area"),
        "persons": ("人数", "Persons"),
        "overdue": ("已超时", "Overdue"),
        "tubes": ("样本管数", "Tubes"),
        "run_out": ("预计用尽日期", "Runs out on"),
        "level": ("风险等级", "Level"),
        "to": ("降为", "Lowered to"),
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
    "arrival_management": {  # arrivals.rules.MANAGEMENTS: what a traveller's risk orders
        "centralised_quarantine": ("集中隔离", "Centralised quarantine"),
        "home_quarantine": ("居家隔离", "Home quarantine"),
        "tests_only": ("仅需核酸检测", "Tests only"),
        "none": ("无需管控", "No management"),
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
    "role": {name: (zh, capital(en)) for name, (zh, en, _) in ROLES.items()},
    # command tasks' statuses, from their own table (command.model.TASK_STATUSES)
    "task_status": {s.key: (s.label("zh"), capital(s.label("en"))) for s in TASK_STATUSES},
    "task_kind": {k.key: (k.label("zh"), capital(k.label("en"))) for k in TASK_KINDS},
    # surveillance signals, from their own table (alerts.model.SIGNALS: key → zh, en)
    "signal": {key: (zh, capital(en)) for key, (zh, en) in SIGNALS.items()},
    # the registry (persons.sex, venues.type: registry.model.VenueType)
    "sex": {"M": ("男", "Male"), "F": ("女", "Female")},
    "venue_type": {
        "school": ("学校", "School"),
        "market": ("农贸市场", "Market"),
        "supermarket": ("超市", "Supermarket"),
        "restaurant": ("餐馆", "Restaurant"),
        "hospital": ("医院", "Hospital"),
        "fever_clinic": ("发热门诊", "Fever clinic"),
        "pharmacy": ("药店", "Pharmacy"),
        "workplace": ("工作单位", "Workplace"),
        "transit_hub": ("交通枢纽", "Transit hub"),
        "checkpoint": ("检查站", "Checkpoint"),
        "residential_compound": ("居民小区", "Residential compound"),
        "quarantine_site": ("隔离场所", "Quarantine site"),
        "other": ("其他场所", "Other place"),
    },
    # arrivals (arrivals_travellers.stage, manifests.mode, teams.kind, trips.status)
    "arrival_stage": {k: (zh, capital(en)) for k, (zh, en) in STAGE_NAMES.items()},
    "travel_mode": {
        "flight": ("航班", "Flight"),
        "train": ("列车", "Train"),
        "highway": ("公路", "Highway"),
    },
    "team_kind": {
        "checkpoint": ("检疫点", "Checkpoint"),
        "transfer": ("转运组", "Transfer team"),
        "receiving": ("接收地", "Receiving unit"),
        "command": ("指挥部", "Command centre"),
    },
    "trip_status": {
        "planned": ("已安排", "Planned"),
        "done": ("已完成", "Done"),
        "cancelled": ("已取消", "Cancelled"),
    },
    # quarantine (rooms.state; candidate sites' power and road access)
    "room_state": {
        "free": ("空闲", "Free"),
        "occupied": ("已入住", "Occupied"),
        "out_of_service": ("停用", "Out of service"),
    },
    "site_power": {
        "none": ("无供电", "No power"),
        "grid": ("市电", "Grid"),
        "grid_backup": ("市电加备用电源", "Grid with backup"),
    },
    "site_access": {
        "poor": ("道路条件差", "Poor road"),
        "road": ("普通道路", "Road"),
        "highway": ("临近高速", "Near a highway"),
    },
    # testing orders (testing_orders.status) and health-code objections (code_corrections)
    "order_status": {
        "open": ("待检", "Open"),
        "done": ("已检", "Done"),
        "missed": ("应检未检", "Missed"),
        "cancelled": ("已取消", "Cancelled"),
    },
    "correction_state": {
        "open": ("待审核", "Open"),
        "upheld": ("已支持", "Upheld"),
        "rejected": ("已驳回", "Rejected"),
    },
    "filer_role": {"person": ("本人", "The person"), "officer": ("工作人员", "An officer")},
    # the events a timeliness measure runs between (command.model.MEASURES' start, end)
    "measure_event": {
        "positive result": ("阳性结果", "Positive result"),
        "case reported": ("病例网络直报", "Case reported"),
        "case verified": ("病例审核", "Case verified"),
        "team on site": ("流调队伍到达现场", "Team on site"),
        "core facts recorded": ("核心信息查清", "Core facts recorded"),
        "report written": ("流调报告完成", "Report written"),
        "contact placed or under a home order": (
            "密接集中隔离或居家管控",
            "Contact placed or under a home order",
        ),
        "campaign started": ("区域核酸启动", "Campaign started"),
        "campaign finished": ("区域核酸完成", "Campaign finished"),
    },
}
