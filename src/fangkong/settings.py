"""Settings, declared once: name, default, environment variable, help.

``fangkong settings`` prints this table with the values in force; docs and ``--help``
come from it, and a test fails when a setting is missing from the docs.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fangkong.clock import AUTO, ClockSetting, parse_setting


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    parse: Callable[[str], Any] = str


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be a positive whole number, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must be zero or a positive whole number, got {text!r}")
    return value


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false (1/0), got {text!r}")


def _lang(text: str) -> str:
    if text not in ("zh", "en", "zh+en"):
        raise ValueError(f"must be zh, en or zh+en, got {text!r}")
    return text


def _networks(text: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks, each checked; empty: none."""
    out: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise ValueError(
                f"{item!r} 不是IP地址或网段 / is not an IP address or CIDR network"
            ) from exc
    return tuple(out)


DEFAULT_TIMEZONE = "Asia/Shanghai"  # FANGKONG_TIMEZONE unless set


def default_tz() -> ZoneInfo:
    """The default time zone, for library calls made without settings (tests, tools);
    pages, the API and the CLI use ``Settings.tz``."""
    return ZoneInfo(DEFAULT_TIMEZONE)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "FANGKONG_HOME",
        "./fangkong-data",
        "Data directory: the default SQLite database, the sealing key, the event lake.",
    ),
    Setting(
        "database_url",
        "FANGKONG_DATABASE_URL",
        "sqlite:///{home}/fangkong.db",
        "SQLAlchemy URL of the operational store; "
        "postgresql+psycopg://user@host:port/db for PostgreSQL.",
    ),
    Setting(
        "seal_key",
        "FANGKONG_SEAL_KEY",
        "",
        "Base64 key (32 bytes) that seals ID and phone numbers. Empty: read or create "
        "{home}/keys/seal.key (mode 0600).",
    ),
    Setting(
        "timezone",
        "FANGKONG_TIMEZONE",
        DEFAULT_TIMEZONE,
        "The region's time zone, applied at the edges; storage is UTC.",
    ),
    Setting(
        "phone_region",
        "FANGKONG_PHONE_REGION",
        "CN",
        "Default region (ISO 3166 alpha-2) for phone numbers written without +country code.",
    ),
    Setting(
        "lang",
        "FANGKONG_LANG",
        "zh+en",
        "Language of messages shown to people: zh, en or zh+en.",
        _lang,
    ),
    Setting(
        "import_batch_size",
        "FANGKONG_IMPORT_BATCH_SIZE",
        "50000",
        "Rows read, validated and written per batch by bulk imports.",
        _positive_int,
    ),
    Setting(
        "server_key",
        "FANGKONG_SERVER_KEY",
        "",
        "Base64 key (32 bytes) for the audit hash chain and CSRF tokens. Empty: read or "
        "create {home}/keys/server.key (mode 0600).",
    ),
    Setting(
        "session_idle_minutes",
        "FANGKONG_SESSION_IDLE_MINUTES",
        "30",
        "Minutes without a request after which a login session ends (log in again).",
        _positive_int,
    ),
    Setting(
        "session_max_hours",
        "FANGKONG_SESSION_MAX_HOURS",
        "12",
        "Hours after login at which a session ends however active it was.",
        _positive_int,
    ),
    Setting(
        "login_max_failures",
        "FANGKONG_LOGIN_MAX_FAILURES",
        "5",
        "Wrong passwords in a row that lock an account.",
        _positive_int,
    ),
    Setting(
        "lockout_minutes",
        "FANGKONG_LOCKOUT_MINUTES",
        "15",
        "Minutes an account stays locked after too many wrong passwords.",
        _positive_int,
    ),
    Setting(
        "login_rate_per_minute",
        "FANGKONG_LOGIN_RATE_PER_MINUTE",
        "20",
        "Failed logins per minute accepted from one address before it must wait.",
        _positive_int,
    ),
    Setting(
        "cookie_secure",
        "FANGKONG_COOKIE_SECURE",
        "true",
        "Mark session cookies Secure (sent over HTTPS only; browsers also accept them "
        "from http://127.0.0.1 and localhost). Set false only behind a trusted proxy test.",
        _flag,
    ),
    Setting(
        "trusted_proxies",
        "FANGKONG_TRUSTED_PROXIES",
        "",
        "Comma-separated IP addresses or CIDR networks of reverse proxies whose "
        "X-Forwarded-For/-Proto headers are believed (rate limits, audit addresses). "
        "Empty: none, the peer's address is the client's.",
        _networks,
    ),
    Setting(
        "https",
        "FANGKONG_HTTPS",
        "false",
        "The service is reached over HTTPS (directly or through the proxy): answers carry "
        "Strict-Transport-Security (one year, subdomains included).",
        _flag,
    ),
    Setting(
        "policy_pack",
        "FANGKONG_POLICY_PACK",
        "protocol-9",
        "The policy pack in force: a shipped pack's name (protocol-9, twenty-measures) or "
        "the path of a pack file (see docs/policy.md).",
    ),
    Setting(
        "qr_validity_seconds",
        "FANGKONG_QR_VALIDITY_SECONDS",
        "60",
        "Seconds a dynamic health-code QR token stays valid after it is issued.",
        _positive_int,
    ),
    Setting(
        "qr_clock_skew_seconds",
        "FANGKONG_QR_CLOCK_SKEW_SECONDS",
        "10",
        "Seconds of clock difference tolerated when checking a QR token's issue time.",
        _positive_int,
    ),
    Setting(
        "scan_offline_hours",
        "FANGKONG_SCAN_OFFLINE_HOURS",
        "24",
        "Hours after its device time that a scan queued on an offline device is still "
        "accepted: its token is checked and its code computed at the device time (0: "
        "refuse late scans).",
        _non_negative_int,
    ),
    Setting(
        "input_past_days",
        "FANGKONG_INPUT_PAST_DAYS",
        "730",
        "Days before the system's clock that a date or time sent by a person, a file or a "
        "device may lie (onsets, samples, checks, results); older values are refused.",
        _positive_int,
    ),
    Setting(
        "input_future_days",
        "FANGKONG_INPUT_FUTURE_DAYS",
        "90",
        "Days after the system's clock that a planned date (a quarantine end, a period's "
        "start) may lie; each capability may narrow it (a quarantine end within the "
        "pack's longest period).",
        _positive_int,
    ),
    Setting(
        "device_ahead_seconds",
        "FANGKONG_DEVICE_AHEAD_SECONDS",
        "300",
        "Seconds a device's clock (a scan's device time, a lab's report time) or any "
        "event time may run ahead of the system's clock before it is refused.",
        _non_negative_int,
    ),
    Setting(
        "clock",
        "FANGKONG_CLOCK",
        "auto",
        "The system's clock (business time): auto = the replay instant stored in the "
        "database if one is set (`fangkong clock set`), else live; live = machine time; "
        "an ISO-8601 instant with offset (2022-04-08T00:00+08:00) = fixed there. Login "
        "sessions, lockouts and audit rows always use machine time.",
        parse_setting,
    ),
    Setting(
        "audit_anchor_copy",
        "FANGKONG_AUDIT_ANCHOR_COPY",
        "",
        "A second file the audit log's signed checkpoints are appended to (e.g. on another "
        "disk or a log host's mount), besides {home}/audit/anchor.log. Empty: none.",
    ),
    Setting(
        "audit_anchor_rows",
        "FANGKONG_AUDIT_ANCHOR_ROWS",
        "16",
        "Write an audit checkpoint once the log grew this many rows past the last one.",
        _positive_int,
    ),
    Setting(
        "audit_anchor_seconds",
        "FANGKONG_AUDIT_ANCHOR_SECONDS",
        "1",
        "Also write one when this many seconds passed since the last and the log grew "
        "(0: by rows only).",
        _non_negative_int,
    ),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    seal_key: str
    timezone: str
    phone_region: str
    lang: str
    import_batch_size: int
    server_key: str = ""
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    lockout_minutes: int = 15
    login_rate_per_minute: int = 20
    cookie_secure: bool = True
    policy_pack: str = "protocol-9"
    qr_validity_seconds: int = 60
    qr_clock_skew_seconds: int = 10
    scan_offline_hours: int = 24
    clock: ClockSetting = AUTO
    input_past_days: int = 730
    input_future_days: int = 90
    device_ahead_seconds: int = 300
    audit_anchor_copy: str = ""
    audit_anchor_rows: int = 16
    audit_anchor_seconds: int = 1
    trusted_proxies: tuple[str, ...] = ()
    https: bool = False

    @property
    def tz(self) -> ZoneInfo:
        """The region's time zone (``FANGKONG_TIMEZONE``)."""
        return ZoneInfo(self.timezone)

    @property
    def key_path(self) -> Path:
        return self.home / "keys" / "seal.key"

    @property
    def server_key_path(self) -> Path:
        return self.home / "keys" / "server.key"

    @property
    def qr_key_path(self) -> Path:
        return self.home / "keys" / "qr_ed25519.pem"


class SettingError(ValueError):
    def __init__(self, setting: Setting, reason: str) -> None:
        super().__init__(f"{setting.env}: {reason}")
        self.setting = setting


def setting_sources(env: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """For each setting, (raw value, where it came from: 'env' or 'default')."""
    env = os.environ if env is None else env
    out: dict[str, tuple[str, str]] = {}
    for s in SETTINGS:
        if env.get(s.env, "") != "":
            out[s.name] = (env[s.env], "env")
        else:
            out[s.name] = (s.default, "default")
    return out


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the environment (or a given mapping), parse and check them."""
    raw = setting_sources(env)
    values: dict[str, Any] = {}
    for s in SETTINGS:
        text = raw[s.name][0]
        try:
            values[s.name] = s.parse(text)
        except ValueError as exc:
            raise SettingError(s, str(exc)) from exc
    home = Path(values["home"]).expanduser()
    values["home"] = home
    values["database_url"] = values["database_url"].replace("{home}", str(home))
    return Settings(**values)
