"""Users, roles and rights (as data), jurisdictions, sessions, device tokens.

Service functions live in ``fangkong.auth.users`` (accounts, roles),
``fangkong.auth.sessions`` (login, sessions, lockout), ``fangkong.auth.devices`` (device
tokens) and ``fangkong.auth.records`` (jurisdiction-checked, masked, audited reads); the CLI groups
in ``fangkong.auth.cli``.
"""

from fangkong.auth.model import Actor, UserInfo, cli_actor

__all__ = ["Actor", "UserInfo", "cli_actor"]
