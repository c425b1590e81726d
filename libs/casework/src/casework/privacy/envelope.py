"""A sealed value: a person's text encrypted under their data key, stored as a plain string.

The event store, the hash chain, NATS and every read model see only this string, so it is
designed to be one: `sealed:v1:<key id>:<nonce>:<ciphertext>` (each part base64url, no padding,
so the whole token matches `TOKEN` and can also sit inside a longer free text, where a phone
number typed into a description was). AES-256-GCM (from `cryptography`) both hides the text and
authenticates it; the additional data binds the ciphertext to the place it was sealed for (the
case and the field path, see `binding`), so a token copied into another case or another field
does not open there. Which person a token belongs to is the key's business (`casework.privacy
.keys`): the token names the key, not the person, so reading the store does not list who said
what without the key table.

Destroying the key (erasure) leaves the token in place, unreadable: the hash chain, which
covers the token, still verifies.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.domain.errors import TamperedError

PREFIX = "sealed:v1:"
TOKEN = re.compile(r"sealed:v1:([A-Za-z0-9_-]{16,64}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})")
"""A sealed token anywhere in a string: key id, 12-byte nonce, ciphertext with its 16-byte tag."""

ERASED = "[erased]"
"""What a sealed value reads as once its person's key was destroyed."""
PERSONAL = "[personal]"
"""What a sealed value reads as to a reader not allowed to see personal data (an auditor)."""

KEY_BYTES = 32
"""AES-256."""
NONCE_BYTES = 12


class SealError(TamperedError):
    """A token that does not open with the key it names: altered, or moved to another place."""


@dataclass(frozen=True)
class Token:
    """The parts of one sealed token, as found in a string."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_id() -> str:
    """A random key id (16 bytes, base64url): no person's id is derivable from it."""
    return _b64(os.urandom(16))


def binding(case_id: UUID | str, field: str) -> bytes:
    """The additional data a token is sealed with: which case and which field path it is for."""
    return f"casework/v1\x00{case_id}\x00{field}".encode()


def seal(key: bytes | AESGCM, key_id: str, plaintext: str, aad: bytes) -> str:
    """`plaintext` encrypted under `key` (AES-256-GCM, a fresh random nonce) as a token."""
    nonce = os.urandom(NONCE_BYTES)
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    ciphertext = cipher.encrypt(nonce, plaintext.encode("utf-8"), aad)
    return f"{PREFIX}{key_id}:{_b64(nonce)}:{_b64(ciphertext)}"


def parse(token: str) -> Token:
    """The parts of a string that is exactly one token; `SealError` otherwise."""
    match = TOKEN.fullmatch(token)
    if match is None:
        raise SealError("not a sealed value (sealed:v1:<key>:<nonce>:<ciphertext>)")
    return Token(match[1], _unb64(match[2]), _unb64(match[3]))


def unseal(key: bytes | AESGCM, token: Token, aad: bytes) -> str:
    """The plaintext of `token`; `SealError` if it was altered or sealed for another place."""
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    try:
        return cipher.decrypt(token.nonce, token.ciphertext, aad).decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise SealError(
            f"sealed value under key {token.key_id} does not open here (altered, or moved from "
            "another case or field)"
        ) from None


def is_sealed(value: object) -> bool:
    """Whether `value` is exactly one sealed token (a whole personal field)."""
    return (
        isinstance(value, str) and value.startswith(PREFIX) and TOKEN.fullmatch(value) is not None
    )


def contains_sealed(value: str) -> bool:
    """Whether a sealed token occurs anywhere in `value` (a free text with numbers sealed)."""
    return PREFIX in value and TOKEN.search(value) is not None
