"""Rights and roles as shipped: the seed that migration 0002 writes into the database.

After that the database is the truth — admins grant and revoke rights
(``fangkong role grant ROLE RIGHT``) — and code only names rights, never roles: a page
or service asks "does the actor hold ``person.read_full``?", not "is this an admin?".

Admins manage users, roles and the audit log but see personal data masked: the right to
read in full belongs to the roles that act on a person (epidemiologists, tracers...).
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
}

_STAFF = (DASHBOARD_VIEW, PERSON_READ, VENUE_READ)
_CASEWORK = (*_STAFF, PERSON_READ_FULL, PERSON_WRITE)

# name: (Chinese label, English label, rights)
ROLES: Final[dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "admin": ("系统管理员", "administrator",
              (*_STAFF, AUDIT_READ, USER_MANAGE, TOKEN_ISSUE)),
    "commander": ("指挥部", "command centre", (*_STAFF, PERSON_EXPORT)),
    "epidemiologist": ("流调/疾控人员", "epidemiologist", (*_CASEWORK, PERSON_EXPORT)),
    "contact_tracer": ("密接追踪员", "contact tracer", _CASEWORK),
    "lab": ("检测机构", "laboratory", (DASHBOARD_VIEW, PERSON_READ)),
    "port_officer": ("口岸工作人员", "port-of-entry officer", (*_STAFF, PERSON_READ_FULL)),
    "transfer_team": ("转运专班", "transfer team", (*_STAFF, PERSON_READ_FULL)),
    "quarantine_manager": ("隔离点管理员", "quarantine-site manager",
                           (*_STAFF, PERSON_READ_FULL, PERSON_WRITE)),
    "venue_device": ("场所扫码设备", "venue device", (SCAN_SUBMIT,)),
    "viewer": ("只读用户", "viewer", _STAFF),
}  # fmt: skip

DEVICE_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    # a device token's scope → the rights it carries (a token is bound to one venue)
    "scan": (SCAN_SUBMIT,),
    "lab": (),
    "checkpoint": (),
}
