"""Rights and roles as shipped: the seed that migrations 0002 and 0004 write into the database.

After that the database is the truth — admins grant and revoke rights
(``fangkong role grant ROLE RIGHT``) — and code only names rights, never roles: a page
or service asks "does the actor hold ``person.read_full``?", not "is this an admin?".

Admins manage users, roles and the audit log but see personal data masked: the right to
read in full belongs to the roles that act on a person (epidemiologists, tracers...).
Health codes (0004): ``code.read`` shows a code's colour and the ids of its rules;
``code.read_full`` adds the sentences (a case, an exposure: health data). Admins hold
none of them: they audit who read codes, they do not read them.
"""

from __future__ import annotations

from typing import Final

DASHBOARD_VIEW: Final = "dashboard.view"
PERSON_READ: Final = "person.read"
PERSON_READ_FULL: Final = "person.read_full"
PERSON_WRITE: Final = "person.write"
PERSON_EXPORT: Final = "person.export"
VENUE_READ: Final = "venue.read"
AUDIT_READ: Final = "audit.read"
USER_MANAGE: Final = "user.manage"
TOKEN_ISSUE: Final = "token.issue"  # noqa: S105 - a right's name
SCAN_SUBMIT: Final = "scan.submit"
CODE_READ: Final = "code.read"  # colour, next change; reasons as rule ids only
CODE_READ_FULL: Final = "code.read_full"  # the reasons' sentences (health data)
CODE_CORRECT: Final = "code.correct"  # file an objection (纠错) for a person
CODE_DECIDE: Final = "code.decide"  # decide objections filed by others
FACT_RECORD: Final = "fact.record"
QUARANTINE_READ: Final = "quarantine.read"  # facilities, placements (masked), readiness
QUARANTINE_PLACE: Final = "quarantine.place"  # place, health checks, tests, release
QUARANTINE_MANAGE: Final = "quarantine.manage"  # facilities, rooms, candidate sites
QUARANTINE_ADJUST: Final = "quarantine.adjust"  # extend or shorten a period (with a reason)
ALERT_READ: Final = "alert.read"  # alerts and the four-earlies board (counts, no PII)
ALERT_HANDLE: Final = "alert.handle"  # verify, investigate, close, dismiss alerts
SIGNAL_SUBMIT: Final = "signal.submit"  # report surveillance signals (counts)
RISKAREA_READ: Final = "riskarea.read"  # areas with reasons, history, suggestions (no PII)
RISKAREA_DESIGNATE: Final = "riskarea.designate"  # designate, change, run the lifting job
NEED_MANAGE: Final = "need.manage"  # needs of residents of sealed areas (names by rights)

SAMPLE_COLLECT: Final = "sample.collect"  # register samples, ship tubes (chain of custody)
RESULT_POST: Final = "result.post"  # post lab results, receive tubes at the lab
TESTING_READ: Final = "testing.read"  # test orders, campaign progress (names masked)
TESTING_MANAGE: Final = "testing.manage"  # plan campaigns, labs, make and flag orders
ARRIVAL_READ: Final = "arrival.read"  # arrivals board, travellers (names by rights)
ARRIVAL_MANIFEST: Final = "arrival.manifest"  # send traveller manifests (checkpoint devices)
ARRIVAL_MANAGE: Final = "arrival.manage"  # import manifests, sample, plan transfers, hand-offs
ARRIVAL_CONFIRM: Final = "arrival.confirm"  # confirm boarding and hand-over (scan or form)
COMMAND_READ: Final = "command.read"  # the board and briefings: aggregates only (no PII)
TASK_READ: Final = "task.read"  # tasks of the caller's jurisdiction
TASK_CHANGE: Final = "task.change"  # acknowledge, progress, close tasks of the caller's units
TASK_ASSIGN: Final = "task.assign"  # raise tasks for units below, cancel them (commanders)
LOGISTICS_READ: Final = "logistics.read"  # checkpoints, crossings (names by rights)
LOGISTICS_CROSSING: Final = "logistics.crossing"  # record crossings (desks, checkpoint devices)
LOGISTICS_MANAGE: Final = "logistics.manage"  # add checkpoints, import crossings' files
PASS_READ: Final = "pass.read"  # noqa: S105 - freight passes, drivers (names by rights)
PASS_ISSUE: Final = "pass.issue"  # noqa: S105 - issue, renew, revoke passes (0025)
SUPPLY_READ: Final = "supply.read"  # days of supply, outlets, deliveries (no PII; issue 20)
SUPPLY_REPORT: Final = "supply.report"  # report outlets' stock and sales (devices, forms)
SUPPLY_MANAGE: Final = "supply.manage"  # outlets, plan and confirm deliveries to sealed areas

# name: (Chinese label, English label)
RIGHTS: Final[dict[str, tuple[str, str]]] = {
    DASHBOARD_VIEW: ("查看工作台", "view the dashboard"),
    PERSON_READ: ("查询人员（脱敏）", "look up persons (masked)"),
    PERSON_READ_FULL: ("查看人员完整信息", "see persons' data in full"),
    PERSON_WRITE: ("修改人员信息", "change persons' records"),
    PERSON_EXPORT: ("导出人员数据", "export persons"),
    VENUE_READ: ("查看场所", "view venues"),
    AUDIT_READ: ("查看审计日志", "read the audit log"),
    USER_MANAGE: ("管理用户与角色", "manage users and roles"),
    TOKEN_ISSUE: ("签发设备令牌", "issue device tokens"),
    SCAN_SUBMIT: ("提交扫码记录", "submit scans"),
    CODE_READ: ("查看健康码（原因脱敏）", "see health codes (reasons masked)"),
    CODE_READ_FULL: ("查看健康码完整原因", "see the reasons of health codes in full"),
    CODE_CORRECT: ("提交健康码纠错申请", "file health-code corrections"),
    CODE_DECIDE: ("审核健康码纠错申请", "decide health-code corrections"),
    FACT_RECORD: ("录入赋码依据", "record the facts codes are computed from"),
    QUARANTINE_READ: ("查看隔离场所、安置与准备", "see quarantine sites, placements, readiness"),
    QUARANTINE_PLACE: ("安置隔离人员、随访、解除", "place, follow up and release people"),
    QUARANTINE_MANAGE: ("管理隔离场所与备选场地", "manage facilities and candidate sites"),
    QUARANTINE_ADJUST: ("延长或缩短隔离期", "extend or shorten quarantine periods"),
    ALERT_READ: ("查看预警与四早看板", "see alerts and the four-earlies board"),
    ALERT_HANDLE: ("处置预警（核实、调查、结案、排除）", "handle alerts"),
    SIGNAL_SUBMIT: ("上报监测信号", "submit surveillance signals"),
    RISKAREA_READ: ("查看风险区（原因、历史、建议）", "see risk areas, history, suggestions"),
    RISKAREA_DESIGNATE: ("划定、调整风险区", "designate and change risk areas"),
    NEED_MANAGE: ("处理封控区居民需求", "handle the needs of residents of sealed areas"),
    SAMPLE_COLLECT: ("采样登记与转运交接", "register samples and hand tubes over"),
    RESULT_POST: ("上传检测结果", "post test results"),
    TESTING_READ: ("查看检测任务与进度", "see test orders and testing progress"),
    TESTING_MANAGE: ("管理检测计划与实验室", "plan campaigns, manage labs and orders"),
    ARRIVAL_READ: ("查看入境/来返人员闭环看板", "see the arrivals board and travellers"),
    ARRIVAL_MANIFEST: ("上传旅客名单", "send traveller manifests"),
    ARRIVAL_MANAGE: ("管理落地检测、转运与移交", "manage landing tests, transfers and hand-offs"),
    ARRIVAL_CONFIRM: ("确认登车与交接", "confirm boarding and hand-over"),
    COMMAND_READ: ("查看态势看板与日报（汇总数）", "see the situation board and briefings"),
    TASK_READ: ("查看工作任务", "see tasks"),
    TASK_CHANGE: ("签收、办理、办结本单位任务", "acknowledge, work on and close own tasks"),
    TASK_ASSIGN: ("向下级交办、撤销任务", "set tasks for units below and cancel them"),
    LOGISTICS_READ: ("查看卡口与通行记录", "see checkpoints and crossings"),
    LOGISTICS_CROSSING: ("登记车辆通行查验", "record crossings at checkpoints"),
    LOGISTICS_MANAGE: ("管理卡口、导入通行记录", "manage checkpoints, import crossings"),
    PASS_READ: ("查看重点物资运输车辆通行证", "see key-freight vehicle passes"),
    PASS_ISSUE: ("签发、换发、撤销通行证", "issue, renew and revoke passes"),
    SUPPLY_READ: ("查看民生物资保供", "see necessities' supply"),
    SUPPLY_REPORT: ("上报民生物资库存与销量", "report necessities' stock and sales"),
    SUPPLY_MANAGE: ("管理保供网点与封控区配送", "manage outlets and deliveries to sealed areas"),
}

_STAFF = (DASHBOARD_VIEW, PERSON_READ, VENUE_READ)
_CASEWORK = (*_STAFF, PERSON_READ_FULL, PERSON_WRITE)
_CODES = (CODE_READ, CODE_READ_FULL)  # migration 0004 added the code rights
_Q_READ = (QUARANTINE_READ,)  # migration 0006 added the quarantine rights
_Q_PLACE = (QUARANTINE_READ, QUARANTINE_PLACE)
# migration 0008: alerts hold counts per region (no personal data), so staff may read them
_ALERTS = (ALERT_READ, ALERT_HANDLE)
_RISK = (RISKAREA_READ, RISKAREA_DESIGNATE)  # migration 0009: risk areas and needs
_T_READ = (TESTING_READ,)  # migration 0007: testing
_ARR = (ARRIVAL_READ, ARRIVAL_MANAGE, ARRIVAL_CONFIRM)  # migration 0011: arrivals
# migration 0018: the board holds counts only, so every staff role may read it; units that
# owe tasks (tracers, sites, labs, ports, transfer teams) work on them; commanders set them
_CMD_SEE = (COMMAND_READ, TASK_READ)
_CMD_WORK = (*_CMD_SEE, TASK_CHANGE)
# migration 0024: checkpoints and crossings
_LOG = (LOGISTICS_READ, LOGISTICS_CROSSING, LOGISTICS_MANAGE)

# name: (Chinese label, English label, rights)
ROLES: Final[dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "admin": ("系统管理员", "administrator",
              (*_STAFF, AUDIT_READ, USER_MANAGE, TOKEN_ISSUE, ALERT_READ, COMMAND_READ)),
    "commander": ("指挥部", "command centre", (*_STAFF, PERSON_EXPORT, *_CODES, CODE_DECIDE,
                   QUARANTINE_READ, QUARANTINE_MANAGE, QUARANTINE_ADJUST, *_ALERTS,
                   *_RISK,
        *_T_READ, TESTING_MANAGE, *_ARR, *_CMD_WORK, TASK_ASSIGN,
        *_LOG)),
    "epidemiologist": ("流调/疾控人员", "epidemiologist",
                       (*_CASEWORK, PERSON_EXPORT, *_CODES, CODE_CORRECT, CODE_DECIDE,
                        FACT_RECORD, *_Q_PLACE, QUARANTINE_MANAGE, QUARANTINE_ADJUST, *_ALERTS,
                        SIGNAL_SUBMIT, *_RISK, NEED_MANAGE,
        *_T_READ, TESTING_MANAGE, SAMPLE_COLLECT, *_ARR, *_CMD_WORK,
        LOGISTICS_READ)),
    "contact_tracer": ("密接追踪员", "contact tracer",
                       (*_CASEWORK, *_CODES, CODE_CORRECT, FACT_RECORD, *_Q_PLACE, ALERT_READ,
                        RISKAREA_READ,
        *_T_READ, *_CMD_WORK)),
    "lab": ("检测机构", "laboratory", (DASHBOARD_VIEW, PERSON_READ, FACT_RECORD, SIGNAL_SUBMIT,
        *_T_READ, SAMPLE_COLLECT, RESULT_POST, *_CMD_WORK)),
    "port_officer": ("口岸工作人员", "port-of-entry officer",
                     (*_STAFF, PERSON_READ_FULL, *_CODES, CODE_CORRECT, *_Q_PLACE,
                      RISKAREA_READ,
        *_T_READ, SAMPLE_COLLECT, *_ARR, *_CMD_WORK,
        *_LOG)),
    "transfer_team": ("转运专班", "transfer team",
                      (*_STAFF, PERSON_READ_FULL, *_CODES, *_Q_PLACE, RISKAREA_READ,
        ARRIVAL_READ, ARRIVAL_CONFIRM, *_CMD_WORK,
        LOGISTICS_READ)),
    "quarantine_manager": ("隔离点管理员", "quarantine-site manager",
                           (*_STAFF, PERSON_READ_FULL, PERSON_WRITE, *_CODES, CODE_CORRECT,
                            FACT_RECORD, *_Q_PLACE, QUARANTINE_MANAGE, RISKAREA_READ,
                            NEED_MANAGE,
        *_T_READ, SAMPLE_COLLECT, ARRIVAL_READ, ARRIVAL_CONFIRM, *_CMD_WORK)),
    "venue_device": ("场所扫码设备", "venue device", (SCAN_SUBMIT,)),
    "viewer": ("只读用户", "viewer", (*_STAFF, CODE_READ, *_Q_READ, ALERT_READ, RISKAREA_READ,
        *_T_READ, ARRIVAL_READ, *_CMD_SEE,
        LOGISTICS_READ)),
}  # fmt: skip

# migration 0025: key-freight passes — the command centre issues them (the provincial
# mechanism), checkpoint, transfer and CDC staff and viewers read them (own block: added
# to the roles above without touching their lines)
for _role, _extra in {"commander": (PASS_READ, PASS_ISSUE), "epidemiologist": (PASS_READ,),
                      "port_officer": (PASS_READ,), "transfer_team": (PASS_READ,),
                      "viewer": (PASS_READ,)}.items():  # fmt: skip
    _zh, _en, _held = ROLES[_role]
    ROLES[_role] = (_zh, _en, (*_held, *_extra))
# migration 0027 (issue 20): necessities — the command centre runs the supply desk, the
# epidemiologists and viewers see it (counts of goods, no personal data)
_SUPPLY_GRANTS: Final = {"commander": (SUPPLY_READ, SUPPLY_REPORT, SUPPLY_MANAGE),
                         "epidemiologist": (SUPPLY_READ,), "viewer": (SUPPLY_READ,)}  # fmt: skip
for _role, _extra in _SUPPLY_GRANTS.items():
    ROLES[_role] = (ROLES[_role][0], ROLES[_role][1], (*ROLES[_role][2], *_extra))

DEVICE_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    # a device token's scope → the rights it carries (a token is bound to one venue, or
    # for the scopes of UNIT_SCOPES to one unit: a region and optionally a role)
    "scan": (SCAN_SUBMIT,),
    "lab": (RESULT_POST,),  # lab systems post results (migration 0007)
    "sampling": (SAMPLE_COLLECT,),  # sampling points register samples, ship tubes
    # arrival points send manifests (migration 0011); road checkpoints record crossings (0024)
    "checkpoint": (ARRIVAL_MANIFEST, LOGISTICS_CROSSING),
    "signals": (SIGNAL_SUBMIT,),  # fever clinics, pharmacies, schools report counts
    # quarantine sites' tablets: occupants (names masked), daily health checks, follow-up
    "quarantine": (QUARANTINE_READ, QUARANTINE_PLACE),
    # a unit's duty terminal (值班终端, migration 0021): the tasks the unit owes — read,
    # acknowledge, work on, close with evidence; never set nor cancel them
    "tasks": (TASK_READ, TASK_CHANGE),
    # markets', supermarkets', suppliers' and pharmacies' terminals (issue 20): the daily
    # stock and sales of their outlet (the outlet whose venue the token is bound to)
    "supply": (SUPPLY_REPORT,),
}
# scopes bound to a unit (a region of UNIT_LEVELS, optionally a role) instead of a venue:
# tasks are owed by townships and above, never by a venue
UNIT_SCOPES: Final = frozenset({"tasks"})
UNIT_LEVELS: Final = ("province", "city", "county", "township")
