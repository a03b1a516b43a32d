"""Dynamic QR codes (动态健康码): short-lived tokens signed with Ed25519, drawn by segno.

Token: base64url (no padding) of ``version (1) ‖ ref (16) ‖ issued (4, seconds since
1970, big-endian) ‖ Ed25519 signature (64)`` — 85 bytes, 114 characters. ``ref`` is the
person's random QR reference (``health_codes.qr_ref``), not an ID number: the token holds
no personal data, and a reference can be replaced to revoke every token issued for it.

The key pair lives in ``{home}/keys/qr_ed25519.pem`` (PKCS#8, mode 0600), created on
first use. Verifiers need only the public key.

Keys and signing are ``cryptography``'s; a scan's signature check — the costliest step of
verifying a scan — is libsodium's (PyNaCl), which checks an Ed25519 signature (RFC 8032)
in about 70 µs where OpenSSL 3 takes about 110 µs (benchmarks/scan_load.py). A test holds
the two verifiers to the same answer on genuine, altered and random tokens.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fangkong.errors import Problem
from fangkong.healthcode.errors import (
    TokenExpired,
    TokenForged,
    TokenNotYetValid,
    malformed,
)

VERSION = 1
REF_BYTES = 16
_HEAD = struct.Struct(">B16sI")
_SIG_BYTES = 64
TOKEN_BYTES = _HEAD.size + _SIG_BYTES
TOKEN_CHARS = (TOKEN_BYTES * 8 + 5) // 6


@dataclass(frozen=True)
class QrKeys:
    """The signing key (issuers) and its public half (verifiers)."""

    private: Ed25519PrivateKey | None
    public: Ed25519PublicKey

    @property
    def public_raw(self) -> bytes:
        """The public key's 32 raw bytes (libsodium's form), computed once."""
        raw: bytes | None = self.__dict__.get("_public_raw")
        if raw is None:
            raw = self.public.public_bytes_raw()
            object.__setattr__(self, "_public_raw", raw)
        return raw

    @classmethod
    def generate(cls) -> QrKeys:
        key = Ed25519PrivateKey.generate()
        return cls(key, key.public_key())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> QrKeys:
        key = Ed25519PrivateKey.from_private_bytes(raw)
        return cls(key, key.public_key())


def load_or_create_keys(path: Path) -> QrKeys:
    """The key pair in ``path`` (PKCS#8 PEM), created with mode 0600 when missing."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            os.chmod(path, 0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TokenForged(
            Problem(
                "scan.key_invalid",
                f"{path} 不是 Ed25519 私钥",
                f"{path} does not hold an Ed25519 private key",
            )
        )
    return QrKeys(key, key.public_key())


def new_ref() -> bytes:
    return os.urandom(REF_BYTES)


def issue_token(keys: QrKeys, ref: bytes, now: datetime) -> str:
    """A signed token for ``ref`` issued at ``now`` (whole seconds)."""
    if keys.private is None:
        raise ValueError("issuing tokens needs the private key")
    head = _HEAD.pack(VERSION, ref, int(now.timestamp()))
    raw = head + keys.private.sign(head)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenClaims:
    ref: bytes
    issued_at: datetime


def signature_check(public_raw: bytes, signature: bytes, message: bytes) -> None:
    """Raise ``InvalidSignature`` unless ``signature`` is the Ed25519 signature of
    ``message`` by the key ``public_raw`` (libsodium; same answers as cryptography's)."""
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_raw)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as exc:
        raise InvalidSignature from exc


def looks_like_token(text: str) -> bool:
    return len(text) == TOKEN_CHARS


def verify_token(
    keys: QrKeys, token: str, now: datetime, *, validity_s: int, skew_s: int
) -> TokenClaims:
    """The claims of a genuine, current token; a typed error for anything else."""
    text = token.strip()
    if len(text) != TOKEN_CHARS or not text.isascii():
        raise malformed("二维码内容无法识别", "the QR content is not a health-code token")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise malformed("二维码内容无法识别", "the QR content is not base64url") from exc
    if len(raw) != TOKEN_BYTES or raw[0] != VERSION:
        raise malformed("二维码版本无法识别", "unknown token version")
    head, signature = raw[: _HEAD.size], raw[_HEAD.size :]
    try:
        signature_check(keys.public_raw, signature, head)
    except InvalidSignature as exc:
        raise TokenForged(
            Problem(
                "scan.token_forged",
                "健康码签名无效（伪造或被篡改），请核验身份证件",
                "the code's signature is invalid (forged or altered): check an ID document",
            )
        ) from exc
    _, ref, issued = _HEAD.unpack(head)
    issued_at = datetime.fromtimestamp(issued, UTC)
    age = (now - issued_at).total_seconds()
    if age > validity_s + skew_s:
        raise TokenExpired(
            Problem(
                "scan.token_expired",
                f"健康码已过期（{int(age)} 秒前生成），请刷新后重新出示",
                f"the code expired (issued {int(age)} s ago): refresh it and show it again",
            )
        )
    if age < -skew_s:
        raise TokenNotYetValid(
            Problem(
                "scan.token_not_yet_valid",
                "健康码生成时间晚于当前时间，请检查设备时钟",
                "the code was issued in the future: check the phone's clock",
            )
        )
    return TokenClaims(ref, issued_at)


def qr_image(token: str, path: Path, *, scale: int = 6) -> Path:
    """Write the token as a QR image; the suffix (.png, .svg, …) picks the format."""
    segno.make(token, error="m").save(str(path), scale=scale, border=2)
    return path
