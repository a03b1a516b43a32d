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
}

_STAFF = (DASHBOARD_VIEW, PERSON_READ, VENUE_READ)
_CASEWORK = (*_STAFF, PERSON_READ_FULL, PERSON_WRITE)
_CODES = (CODE_READ, CODE_READ_FULL)  # migration 0004 added the code rights

# name: (Chinese label, English label, rights)
ROLES: Final[dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "admin": ("系统管理员", "administrator",
              (*_STAFF, AUDIT_READ, USER_MANAGE, TOKEN_ISSUE)),
    "commander": ("指挥部", "command centre", (*_STAFF, PERSON_EXPORT, *_CODES, CODE_DECIDE)),
    "epidemiologist": ("流调/疾控人员", "epidemiologist",
                       (*_CASEWORK, PERSON_EXPORT, *_CODES, CODE_CORRECT, CODE_DECIDE,
                        FACT_RECORD)),
    "contact_tracer": ("密接追踪员", "contact tracer",
                       (*_CASEWORK, *_CODES, CODE_CORRECT, FACT_RECORD)),
    "lab": ("检测机构", "laboratory", (DASHBOARD_VIEW, PERSON_READ, FACT_RECORD)),
    "port_officer": ("口岸工作人员", "port-of-entry officer",
                     (*_STAFF, PERSON_READ_FULL, *_CODES, CODE_CORRECT)),
    "transfer_team": ("转运专班", "transfer team", (*_STAFF, PERSON_READ_FULL, *_CODES)),
    "quarantine_manager": ("隔离点管理员", "quarantine-site manager",
                           (*_STAFF, PERSON_READ_FULL, PERSON_WRITE, *_CODES, CODE_CORRECT,
                            FACT_RECORD)),
    "venue_device": ("场所扫码设备", "venue device", (SCAN_SUBMIT,)),
    "viewer": ("只读用户", "viewer", (*_STAFF, CODE_READ)),
}  # fmt: skip

DEVICE_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    # a device token's scope → the rights it carries (a token is bound to one venue)
    "scan": (SCAN_SUBMIT,),
    "lab": (),
    "checkpoint": (),
}
