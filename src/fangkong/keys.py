"""The server key: one 32-byte secret, kept outside the database, from which the audit
chain's HMAC key and the CSRF key are derived (HKDF-SHA256, distinct labels)."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fangkong.errors import BadInput, Problem
from fangkong.settings import Settings

KEY_BYTES = 32


@dataclass(frozen=True)
class ServerKeys:
    audit: bytes
    csrf: bytes

    @classmethod
    def from_master(cls, master: bytes) -> ServerKeys:
        return cls(
            audit=_derive(master, b"fangkong/audit-chain/v1"),
            csrf=_derive(master, b"fangkong/csrf/v1"),
        )


def load_server_keys(settings: Settings) -> ServerKeys:
    """``FANGKONG_SERVER_KEY`` if set, else ``{home}/keys/server.key`` (created 0600)."""
    if settings.server_key:
        return ServerKeys.from_master(_decode(settings.server_key, "FANGKONG_SERVER_KEY"))
    path = settings.server_key_path
    if not path.exists():
        _create(path)
    return ServerKeys.from_master(
        _decode(path.read_text(encoding="ascii", errors="replace"), str(path))
    )


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile: keep theirs
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(os.urandom(KEY_BYTES)) + b"\n")


def _decode(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise BadInput(
            Problem(
                "server_key.invalid",
                f"{source}：服务器密钥应为32字节的 base64 文本",
                f"{source}: the server key must be 32 bytes in base64",
            )
        )
    return key
