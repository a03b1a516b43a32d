"""The one translation layer for stored values shown to a person.

Every enum, rule id and key the database or the policy pack stores, and a page shows, has
a label here in Chinese and English: ``VOCABULARIES[vocabulary][value] = (zh, en)``.
Templates call ``label(value, "vocabulary")`` (a Jinja filter and global installed by
``fangkong.web.i18n``). A value missing from its vocabulary is shown in words (``no_room``
as "No room"), never as its key, and logged once as a warning; the page tests
(``tests/web/test_labels.py``) look for every value of this registry on the pages, and
``tests/web/test_vocabularies.py`` fails when a value the database may hold (a CHECK
constraint's list) or an action the code audits has no label here.

Numbers go through ``number`` / ``decimal`` (per-language grouping, at most N decimals).
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Final

from fangkong.alerts.model import SIGNALS
from fangkong.arrivals.rules import STAGE_NAMES
from fangkong.auth.rights import ROLES
from fangkong.command.model import TASK_KINDS, TASK_STATUSES

log = logging.getLogger(__name__)

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
    "role": {name: (zh, _capital(en)) for name, (zh, en, _) in ROLES.items()},
    # command tasks' statuses, from their own table (command.model.TASK_STATUSES)
    "task_status": {s.key: (s.label("zh"), _capital(s.label("en"))) for s in TASK_STATUSES},
    "task_kind": {k.key: (k.label("zh"), _capital(k.label("en"))) for k in TASK_KINDS},
    # surveillance signals, from their own table (alerts.model.SIGNALS: key → zh, en)
    "signal": {key: (zh, _capital(en)) for key, (zh, en) in SIGNALS.items()},
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
    "arrival_stage": {k: (zh, _capital(en)) for k, (zh, en) in STAGE_NAMES.items()},
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
    # logistics (migration 0024): checkpoints, crossings and their people
    "checkpoint_kind": {
        "road_checkpoint": ("公路检查站", "Road checkpoint"),
        "service_area": ("服务区", "Service area"),
        "toll_station": ("收费站", "Toll station"),
        "freight_hub": ("物流枢纽", "Freight hub"),
    },
    "crossing_direction": {"in": ("驶入", "In"), "out": ("驶出", "Out")},
    "vehicle_kind": {
        "lorry": ("货车", "Lorry"),
        "van": ("厢式货车", "Van"),
        "car": ("小客车", "Car"),
        "bus": ("客车", "Bus"),
    },
    "cargo_class": {
        "key_supplies": ("重点物资", "Key supplies"),
        "medical": ("医疗物资", "Medical supplies"),
        "ordinary": ("普通货物", "Ordinary goods"),
        "none": ("空载/无货", "No cargo"),
    },
    "pass_verdict": {
        "none": ("未出示通行证", "No pass shown"),
        "valid": ("通行证有效", "Pass valid"),
        "invalid": ("通行证无效", "Pass invalid"),
        "revoked": ("通行证已撤销", "Pass revoked"),
        "expired": ("通行证已过期", "Pass expired"),
        "wrong_vehicle": ("车辆与通行证不符", "Pass for another vehicle"),
        "wrong_route": ("路线与通行证不符", "Pass for another route"),
        "wrong_driver": ("司机与通行证不符", "Pass for other drivers"),
    },
    "crossing_outcome": {
        "passed": ("查验通行", "Passed"),
        "sampled_released": ("即采即走", "Sampled and released"),
        "turned_back": ("劝返", "Turned back"),
        "closed_loop": ("闭环管理", "Into the closed loop"),
    },
    "crossing_via": {
        "api": ("设备接口", "Device API"),
        "file": ("文件导入", "File import"),
        "form": ("页面登记", "Page form"),
    },
    "crossing_role": {"driver": ("司机", "Driver"), "passenger": ("随车人员", "Passenger")},
    "crossing_colour": {
        "green": ("绿码", "Green code"),
        "yellow": ("黄码", "Yellow code"),
        "red": ("红码", "Red code"),
        "none": ("未查到健康码", "No health code found"),
    },
    # the audit log (audit_log.action, .outcome, .target_type): the actions are those the
    # code audits (tests/web/audit_actions.py reads them from the source)
    "audit_action": {
        "login": ("登录", "Sign-in"),
        "logout": ("退出登录", "Sign-out"),
        "person.lookup": ("按证件号查询人员", "Person looked up by ID number"),
        "person.read": ("查看人员", "Person read"),
        "person.search": ("搜索人员", "Person search"),
        "user.add": ("新增用户", "User added"),
        "user.disable": ("停用用户", "User disabled"),
        "user.enable": ("启用用户", "User enabled"),
        "user.password": ("修改密码", "Password changed"),
        "user.role": ("变更用户角色", "User's role changed"),
        "role.add": ("新增角色", "Role added"),
        "role.remove": ("删除角色", "Role removed"),
        "role.grant": ("授予权限", "Right granted"),
        "role.revoke": ("撤销权限", "Right revoked"),
        "token.issue": ("签发设备令牌", "Device token issued"),
        "token.revoke": ("吊销设备令牌", "Device token revoked"),
        "code.read": ("查看健康码", "Health code read"),
        "code.lookup": ("按证件号查询健康码", "Health code looked up"),
        "code.qr": ("生成健康码二维码", "Health-code QR made"),
        "code.correct": ("提交健康码纠错", "Code correction filed"),
        "code.decide": ("审核健康码纠错", "Code correction decided"),
        "tracing.case": ("查看/流调病例", "Case traced"),
        "tracing.chains": ("查看传播链", "Chains read"),
        "tracing.clusters": ("查看聚集性疫情", "Clusters read"),
        "tracing.contacts": ("查看密接名单", "Contacts read"),
        "tracing.status": ("变更密接状态", "Contact status changed"),
        "tracing.step": ("记录流调环节", "Tracing step recorded"),
        "quarantine.abscond": ("登记脱管", "Absconding recorded"),
        "quarantine.alerts": ("查看隔离预警", "Quarantine alerts read"),
        "quarantine.check": ("录入健康监测", "Health check recorded"),
        "quarantine.checks": ("批量录入健康监测", "Health checks recorded"),
        "quarantine.facility": ("保存隔离场所", "Facility saved"),
        "quarantine.occupants": ("查看在住人员", "Occupants read"),
        "quarantine.period": ("调整隔离期", "Quarantine period changed"),
        "quarantine.place": ("安置隔离人员", "Persons placed"),
        "quarantine.placement": ("查看安置记录", "Placement read"),
        "quarantine.release": ("解除隔离", "Released from quarantine"),
        "quarantine.resolve": ("处置隔离预警", "Quarantine alert resolved"),
        "quarantine.test": ("录入隔离期检测", "Quarantine test recorded"),
        "testing.campaign": ("保存检测计划", "Campaign saved"),
        "testing.campaign_start": ("启动检测计划", "Campaign started"),
        "testing.collect": ("采样登记", "Samples registered"),
        "testing.flag": ("标记样本", "Tube flagged"),
        "testing.person": ("查看个人检测记录", "Person's tests read"),
        "testing.receive": ("实验室接收样本", "Tubes received"),
        "testing.results": ("上传检测结果", "Results posted"),
        "testing.ship": ("样本转运交接", "Tubes shipped"),
        "testing.tube": ("查看样本管", "Tube read"),
        "arrival.board": ("查看闭环看板", "Arrivals board read"),
        "arrival.manifest": ("导入旅客名单", "Manifest imported"),
        "arrival.read": ("查看来返人员", "Traveller read"),
        # a stage confirmed, by how (arrivals.access.confirm_stage: f"arrival.{via}")
        **{
            f"arrival.{via}": (f"确认闭环环节（{zh}）", f"Stage confirmed ({en.lower()})")
            for via, (zh, en) in {
                "form": ("页面填报", "Page form"),
                "scan": ("扫码", "Scan"),
                "api": ("接口", "API"),
            }.items()
        },
        "alerts.board": ("查看四早看板", "Four-earlies board read"),
        "alerts.list": ("查看预警列表", "Alerts read"),
        "alerts.show": ("查看预警", "Alert read"),
        "alerts.transition": ("处置预警", "Alert handled"),
        "needs.view": ("查看封控区需求", "Sealed-area needs read"),
        "needs.change": ("处理封控区需求", "Sealed-area need changed"),
        "riskarea.designate": ("划定/调整风险区", "Risk area designated"),
        "command.board": ("查看态势看板", "Situation board read"),
        "command.wall": ("查看大屏", "Wall screen read"),
        "command.briefing": ("查看日报", "Briefing read"),
        "command.accountability": ("查看责任落实", "Accountability read"),
        "task.list": ("查看任务列表", "Tasks read"),
        "task.view": ("查看任务", "Task read"),
        "task.assign": ("交办任务", "Task assigned"),
        "task.change": ("办理任务", "Task changed"),
        "task.escalate": ("任务升级", "Task escalated"),
    },
    "audit_outcome": {
        "ok": ("成功", "Done"),
        "noop": ("无变化", "No change"),
        "forbidden": ("无权限", "Forbidden"),
        "not_found": ("未找到", "Not found"),
        "out_of_jurisdiction": ("超出辖区", "Outside the jurisdiction"),
        "rate_limited": ("尝试过于频繁", "Too many attempts"),
        "locked": ("账号已锁定", "Account locked"),
        "disabled": ("账号已停用", "Account disabled"),
        "failed": ("失败", "Failed"),
    },
    "audit_target": {
        "person": ("人员", "Person"),
        "region": ("地区", "Region"),
        "user": ("用户", "User"),
        "role": ("角色", "Role"),
        "device": ("设备", "Device"),
        "traveller": ("来返人员", "Traveller"),
        "tube": ("样本管", "Tube"),
        "lab": ("实验室", "Lab"),
        "facility": ("隔离场所", "Facility"),
        "placement": ("安置记录", "Placement"),
        "alert": ("预警", "Alert"),
        "case": ("病例", "Case"),
        "contact": ("密接", "Contact"),
        "campaign": ("检测计划", "Campaign"),
        "need": ("需求", "Need"),
        "risk_area": ("风险区", "Risk area"),
        "task": ("任务", "Task"),
        "briefing": ("日报", "Briefing"),
    },
}

# key-freight passes (migration 0025), in a block of their own: a pass's status at a time,
# the audit log's pass actions and target
VOCABULARIES["pass_status"] = {
    "valid": ("有效", "Valid"),
    "pending": ("未生效", "Not yet in force"),
    "expired": ("已过期", "Expired"),
    "revoked": ("已撤销", "Revoked"),
}
VOCABULARIES["audit_action"].update({
    "pass.issue": ("签发通行证", "Pass issued"),
    "pass.revoke": ("撤销通行证", "Pass revoked"),
    "pass.renew": ("换发通行证", "Pass renewed"),
    "pass.read": ("查看通行证", "Pass read"),
    "pass.list": ("查看通行证列表", "Passes listed"),
    "pass.verify": ("核验通行证", "Pass verified"),
})  # fmt: skip
VOCABULARIES["audit_target"]["pass"] = ("通行证", "Pass")
# issue 20: necessities (fangkong.supply) — its stored values and audit rows
VOCABULARIES["outlet_kind"] = {
    "market": ("农贸市场", "Market"),
    "supermarket": ("超市", "Supermarket"),
    "supplier": ("保供企业", "Supplier"),
    "pharmacy": ("药店", "Pharmacy"),
}
VOCABULARIES["delivery_status"] = {
    "planned": ("待配送", "Planned"),
    "delivered": ("已送达", "Delivered"),
    "cancelled": ("已取消", "Cancelled"),
}
VOCABULARIES["supply_alert_status"] = {"open": ("未解除", "Open"), "closed": ("已解除", "Closed")}
VOCABULARIES["supply_cause"] = {
    "stock": ("库存低于保供底线", "Stock below the floor"),
    "delivery": ("封控区配送未按时送达", "Delivery to a sealed area late"),
}
VOCABULARIES["via"] |= {"file": ("文件导入", "File import")}
VOCABULARIES["task_source"] |= {"supply_alert": ("保供预警", "Supply alert")}
VOCABULARIES["task_param"] |= {
    "good": ("物资", "Good"),
    "cause": ("原因", "Cause"),
    "days": ("可供应天数", "Days of supply"),
    "floor": ("保供底线（天）", "Floor (days)"),
}
VOCABULARIES["audit_action"] |= {
    "supply.read": ("查看保供台", "Supply desk read"),
    "supply.outlet_add": ("新增保供网点", "Outlet added"),
    "supply.report": ("上报库存与销量", "Stock and sales reported"),
    "supply.plan": ("生成封控区配送计划", "Deliveries planned"),
    "supply.confirm": ("确认配送送达", "Delivery confirmed"),
    "supply.check": ("核查保供底线", "Floors checked"),
}
VOCABULARIES["audit_target"] |= {"outlet": ("保供网点", "Outlet"),
                                 "delivery": ("配送", "Delivery")}  # fmt: skip

# checkpoints and crossings (migration 0024), in a block of their own: the audit log's
# logistics actions and target
VOCABULARIES["audit_action"].update({
    "logistics.crossing": ("登记车辆通行查验", "Crossing recorded"),
    "logistics.import": ("导入通行记录", "Crossings imported"),
    "logistics.desk": ("查看卡口查验台", "Checkpoint desk read"),
    "logistics.checkpoint_add": ("添加卡口", "Checkpoint added"),
})  # fmt: skip
VOCABULARIES["audit_target"]["checkpoint"] = ("卡口", "Checkpoint")


def label(value: object, vocabulary: str, lang: str) -> str:
    """``value``'s label in ``lang`` ("zh" or "en"); None as "—"; a value the vocabulary
    lacks in words (:func:`readable`), logged once, never as its stored key."""
    if value is None:
        return "—"
    found = VOCABULARIES[vocabulary].get(str(value))
    if found is None:
        return readable(str(value), vocabulary)
    return found[0] if lang == "zh" else found[1]


def names(vocabulary: str, lang: str) -> dict[str, str]:
    """Every value of ``vocabulary`` → its label in ``lang`` (for a page's select or table)."""
    return {value: label(value, vocabulary, lang) for value in VOCABULARIES[vocabulary]}


@cache
def readable(value: str, vocabulary: str) -> str:
    """A value without a label, in words: ``no_room`` → "No room", ``a.b-c`` → "A b c".
    Logged once per value: a vocabulary should hold it (the page tests look for it)."""
    log.warning("no label for %r in vocabulary %r", value, vocabulary)
    return _capital(re.sub(r"[_.\-]+", " ", value).strip()) or "—"


# an audit row's detail that is the status of its target (a task viewed: "open")
AUDIT_DETAIL: Final = {"task": "task_status", "alert": "alert_status"}


def audit_detail(detail: str | None, target_type: str | None, lang: str) -> str:
    """An audit row's detail as a reader says it: a target's stored status by its label,
    any other note as written."""
    vocabulary = AUDIT_DETAIL.get(target_type or "")
    if detail and vocabulary and detail in VOCABULARIES[vocabulary]:
        return label(detail, vocabulary, lang)
    return detail or ""


def audit_outcome(outcome: str, lang: str) -> str:
    """An audit row's outcome: a vocabulary value, or the refusing error's code (a refused
    call is audited with its problem's code), said as a refusal."""
    if outcome in VOCABULARIES["audit_outcome"]:
        return label(outcome, "audit_outcome", lang)
    return "已拒绝" if lang == "zh" else "Refused"


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


_HAN = re.compile(r"[\u4e00-\u9fff]")
_PAIR = re.compile(r"(?P<zh>[^/]+?) / (?P<en>[A-Za-z0-9][^/]*)")


def one_language(text: str | None, lang: str) -> str:
    """A stored note in the reader's language only: notes written by the code are stored
    as "zh / en" in one column (``无需转运 / no transfer``, ``居家：X / home: X``); the
    side of the reader is shown. Text that is not such a pair (typed by a person, in one
    language) is shown as it is."""
    if not text:
        return "—" if text is None else text
    found = _PAIR.fullmatch(text.strip())
    if found is None or not _HAN.search(found["zh"]) or _HAN.search(found["en"].split(":")[0]):
        return text
    return found["zh"] if lang == "zh" else found["en"]


def raw_values() -> set[str]:
    """Every stored value of every vocabulary: the strings a page must never show raw."""
    return {value for vocabulary in VOCABULARIES.values() for value in vocabulary}
