"""A pass's signed QR token, "like the health code" (fangkong.healthcode.qr), and its image.

Token: base64url (no padding) of ``kind "P" (1) ‖ format (1) ‖ revision (2, big-endian) ‖
serial length (1) ‖ serial (ASCII) ‖ Ed25519 signature (64)``. The signature covers
``DOMAIN ‖`` the bytes before it. A pass token is no health-code token and never passes
for one, nor the reverse: its own key pair (``{home}/keys/pass_ed25519.pem``, never the
code's ``qr_ed25519.pem``), its own domain label inside the signed bytes, its own kind
byte and length (≥ 92 characters; a code token is 114 and starts with version 1).

A pass token does not expire on its own: it is printed and kept in the cab for the
pass's period. What it proves is the serial and the revision the province issued; the
period, the vehicle, the drivers, the route and any revocation are read from the table
when it is verified (``fangkong.passes.verify``). Renewing a pass raises its revision,
so the old paper stops verifying.

Pure: no database. Signing is ``cryptography``'s, checking libsodium's (the health
code's ``signature_check``, about 70 µs).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import segno
from cryptography.exceptions import InvalidSignature

from fangkong.healthcode.qr import QrKeys, load_or_create_keys, signature_check
from fangkong.passes.model import SERIAL_MAX

KIND = ord("P")
FORMAT = 1
DOMAIN = b"fangkong/freight-pass-token/v1\x00"
_HEAD = struct.Struct(">BBHB")
_SIG = 64
MIN_CHARS = ((_HEAD.size + 1 + _SIG) * 8 + 5) // 6
MAX_CHARS = ((_HEAD.size + SERIAL_MAX + _SIG) * 8 + 5) // 6
SERIAL = re.compile(r"^[0-9A-Z][0-9A-Z-]{0,31}$")

PassKeys = QrKeys  # the same key shape as the health code's; another key pair


def key_path(home: Path) -> Path:
    """Where the pass key pair lives: beside, never the same as, the code's."""
    return home / "keys" / "pass_ed25519.pem"


def load_keys(home: Path) -> PassKeys:
    """The pass key pair of ``home`` (created with mode 0600 on first use)."""
    return load_or_create_keys(key_path(home))


def looks_like_token(text: str) -> bool:
    """A token is longer than any serial: the two never mix."""
    return len(text) > SERIAL_MAX


def issue_token(keys: PassKeys, serial: str, revision: int) -> str:
    """The signed token of revision ``revision`` of pass ``serial``."""
    if keys.private is None:
        raise ValueError("issuing pass tokens needs the private key")
    if not SERIAL.match(serial) or not 1 <= revision <= 0xFFFF:
        raise ValueError("a pass serial is 1–32 of 0-9 A-Z and '-', its revision 1–65535")
    raw_serial = serial.encode("ascii")
    head = _HEAD.pack(KIND, FORMAT, revision, len(raw_serial)) + raw_serial
    raw = head + keys.private.sign(DOMAIN + head)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PassClaims:
    serial: str
    revision: int


class BadToken(ValueError):
    """Not a genuine pass token: ``why`` is ``malformed`` or ``forged``."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def read_token(keys: PassKeys, token: str) -> PassClaims:
    """The serial and revision of a genuine pass token; ``BadToken`` for anything else."""
    text = token.strip()
    if not MIN_CHARS <= len(text) <= MAX_CHARS or not text.isascii():
        raise BadToken("malformed")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadToken("malformed") from exc
    if len(raw) < _HEAD.size + 1 + _SIG:
        raise BadToken("malformed")
    kind, fmt, revision, n = _HEAD.unpack_from(raw)
    if kind != KIND or fmt != FORMAT or len(raw) != _HEAD.size + n + _SIG:
        raise BadToken("malformed")
    head, signature = raw[:-_SIG], raw[-_SIG:]
    try:
        signature_check(keys.public_raw, signature, DOMAIN + head)
    except InvalidSignature as exc:
        raise BadToken("forged") from exc
    serial = head[_HEAD.size :].decode("ascii", errors="replace")
    if not SERIAL.match(serial):
        raise BadToken("malformed")
    return PassClaims(serial, revision)


def qr_svg(token: str, *, scale: int = 4) -> str:
    """The token as an inline SVG QR code (segno; error correction M, as the code's)."""
    out = io.BytesIO()
    segno.make(token, error="m").save(
        out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True, svgclass="qr"
    )
    return out.getvalue().decode("utf-8")
