"""Signed checkpoints: (tree size, root hash, time) signed with the notary's Ed25519 key.

Why Ed25519 through `cryptography`: small keys and signatures, no parameters to get wrong, and
the package is already the library's (sealing personal data). The signed message is a fixed,
line-based text (`signed_text`) so any verifier rebuilds it exactly; the JSON around it is only
transport.

The key: `CASEWORK_NOTARY_KEY` (base64 of the 32-byte raw private key) when set, which is how a
replicated deployment gives every notary the same key; otherwise a key file `notary.key` under
the var dir, made 0600 on first start (`casework.files`), for the embedded default. The public
key (`casework notary pubkey`) is what auditors keep, away from the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from casework.domain.errors import ValidationError
from casework.files import write_private
from casework.settings import var_dir

CHECKPOINT_FORMAT = "casework.checkpoint.v1"
"""A checkpoint signed before logs were named (no origin): still read and verified."""
NAMED_FORMAT = "casework.checkpoint.v2"
"""A checkpoint naming its log: the origin line after the format line, as the C2SP signed-note
checkpoint (and RFC 9162's) begins with the log's origin, so one deployment's checkpoint cannot
pass for another's even when they share a notary key."""
ORIGIN_ENV = "CASEWORK_LOG_ORIGIN"
ORIGIN = re.compile(r"[!-~]{1,200}")
KEY_ENV = "CASEWORK_NOTARY_KEY"
KEY_FILE = "notary.key"


@dataclass(frozen=True)
class Checkpoint:
    """The log's head at a moment, as the notary signed it."""

    size: int
    root: bytes
    at: datetime
    signature: bytes = b""
    origin: str = ""
    """The log's name (`NAMED_FORMAT`); empty in a checkpoint signed before logs were named."""

    def signed_text(self) -> bytes:
        return signed_text(self.size, self.root.hex(), self.at.isoformat(), self.origin)

    def to_json(self) -> dict[str, Any]:
        named = {"format": NAMED_FORMAT, "origin": self.origin} if self.origin else {}
        return {
            "format": CHECKPOINT_FORMAT,
            **named,
            "size": self.size,
            "root": self.root.hex(),
            "at": self.at.isoformat(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: Any) -> Checkpoint:
        """A checkpoint from its JSON; `ValidationError` naming what is wrong."""
        formats = (CHECKPOINT_FORMAT, NAMED_FORMAT)
        if not isinstance(document, dict) or document.get("format") not in formats:
            raise ValidationError(f"not a checkpoint (expected format {NAMED_FORMAT!r})")
        origin = ""
        if document["format"] == NAMED_FORMAT:
            origin = document.get("origin")  # type: ignore[assignment]
            if not isinstance(origin, str) or not ORIGIN.fullmatch(origin):
                raise ValidationError("a checkpoint's origin must be 1-200 printable characters")
        elif "origin" in document:
            raise ValidationError(f"a {CHECKPOINT_FORMAT} checkpoint names no origin")
        size = document.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValidationError("a checkpoint's size must be a whole number >= 0")
        try:
            root = bytes.fromhex(str(document.get("root")))
            at = datetime.fromisoformat(str(document.get("at")))
            signature = base64.b64decode(str(document.get("signature")), validate=True)
        except (ValueError, binascii.Error):
            raise ValidationError("a checkpoint's root, at or signature is malformed") from None
        if len(root) != 32:
            raise ValidationError("a checkpoint's root must be 32 bytes (hex)")
        return cls(size, root, at, signature, origin)

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(self.signature, self.signed_text())
        except InvalidSignature:
            return False
        return True


def signed_text(size: int, root_hex: str, at: str, origin: str = "") -> bytes:
    """What the notary signs: the format, the log's origin (when named), size, root, time."""
    if origin:
        return f"{NAMED_FORMAT}\n{origin}\n{size}\n{root_hex}\n{at}\n".encode("ascii")
    return f"{CHECKPOINT_FORMAT}\n{size}\n{root_hex}\n{at}\n".encode("ascii")


def sign(
    key: Ed25519PrivateKey, size: int, root: bytes, at: datetime, origin: str = ""
) -> Checkpoint:
    unsigned = Checkpoint(size, root, at, origin=origin)
    return Checkpoint(size, root, at, key.sign(unsigned.signed_text()), origin)


def origin_setting(env: Mapping[str, str] | None = None) -> str | None:
    """`CASEWORK_LOG_ORIGIN`, checked; None when unset (the store's log keeps the name it has,
    or is given one on the notary's first start)."""
    settings = os.environ if env is None else env
    text = settings.get(ORIGIN_ENV, "")
    if not text:
        return None
    if not ORIGIN.fullmatch(text):
        raise ValidationError(
            f"{ORIGIN_ENV} must be 1-200 printable ASCII characters without spaces (e.g. "
            f"casework.example.org/wanxin); got {text!r}"
        )
    return text


# ------------------------------------------------------------------ keys


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def private_key_from(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, binascii.Error):
        raise ValidationError(f"{where} must be base64 of a 32-byte Ed25519 private key") from None


def notary_key(
    env: Mapping[str, str] | None = None, folder: Path | None = None
) -> Ed25519PrivateKey:
    """The signing key: `CASEWORK_NOTARY_KEY`, else the key file (made on first call).

    The file is written to a private temporary name and linked into place, which fails if it is
    there already: two processes starting at once both end with the key that was linked first,
    never one each."""
    settings = os.environ if env is None else env
    text = settings.get(KEY_ENV, "")
    if text:
        return private_key_from(text, KEY_ENV)
    path = (folder or var_dir()) / KEY_FILE
    if not path.exists():
        draft = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        write_private(draft, base64.b64encode(_raw(Ed25519PrivateKey.generate())).decode() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    return private_key_from(path.read_text(encoding="ascii"), str(path))


def public_text(key: Ed25519PublicKey) -> str:
    """A public key as auditors keep it: base64 of its 32 raw bytes."""
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """`SHA256:<base64>` of the raw public key, as ssh prints one: short enough to read aloud
    and compare with the key an auditor keeps."""
    digest = hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def public_key_from(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error):
        raise ValidationError(
            "a public key must be base64 of 32 bytes, as `casework notary pubkey` prints it"
        ) from None
