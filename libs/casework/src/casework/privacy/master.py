"""The master key: it wraps every person's data key (envelope encryption), and is kept apart.

Data keys live in the store (`casework.privacy.sql_keys`), wrapped; the master key that unwraps
them comes from `CASEWORK_MASTER_KEY` (base64 of 32 bytes: what a deployment with several
hosts sets, from its secret manager) or, for the embedded default, a key file made 0600 on first
start (`CASEWORK_MASTER_KEY_FILE`, else `<var dir>/master.key`). Keep it OUT of the store's
backups: a backup and the master key together open everything the backup holds, including the
data keys of people erased since the backup was taken.

Losing the master key loses every person's data: their sealed fields read as if erased, and
nothing can bring them back. That is what it is; back the key up apart from the store.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.files import private_dir
from casework.settings import var_dir

MASTER_KEY_ENV = "CASEWORK_MASTER_KEY"
MASTER_KEY_FILE_ENV = "CASEWORK_MASTER_KEY_FILE"
KEY_BYTES = 32
NONCE_BYTES = 12


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or not the one this store's data keys were
    wrapped with (the store then refuses to read or write personal data rather than guess)."""


@dataclass(frozen=True)
class MasterKey:
    """32 secret bytes that wrap and unwrap data keys (AES-256-GCM, bound to key id and person)."""

    secret: bytes = field(repr=False)
    source: str = ""
    """Where it came from (the variable's name or the file's path), for error messages."""

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise MasterKeyError(f"a master key is {KEY_BYTES} bytes, not {len(self.secret)}")

    def wrap(self, key_id: str, subject: str, data_key: bytes) -> bytes:
        """`data_key` encrypted for storage beside its id and person (nonce + ciphertext)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.secret).encrypt(nonce, data_key, _wrap_aad(key_id, subject))

    def unwrap(self, key_id: str, subject: str, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self.secret).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(key_id, subject)
            )
        except InvalidTag:
            raise MasterKeyError(
                f"the master key from {self.source or 'its source'} does not unwrap data key "
                f"{key_id}: this store's keys were wrapped with another master key (set "
                f"{MASTER_KEY_ENV} to the one it was made with), or the key row was altered"
            ) from None


def _wrap_aad(key_id: str, subject: str) -> bytes:
    return f"casework/key/v1\x00{key_id}\x00{subject}".encode()


def parse_master_key(text: str, source: str) -> MasterKey:
    """A master key from its base64 text; `MasterKeyError` naming `source` if it is not one."""
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(
            f"{source} is not base64 (make one: openssl rand -base64 32)"
        ) from None
    if len(secret) != KEY_BYTES:
        raise MasterKeyError(
            f"{source} holds {len(secret)} bytes; a master key is {KEY_BYTES} (base64 of 32 "
            "random bytes: openssl rand -base64 32)"
        )
    return MasterKey(secret, source)


def key_file_path(env: Mapping[str, str] | None = None) -> Path:
    """`CASEWORK_MASTER_KEY_FILE`, else `master.key` in the var dir (`CASEWORK_VAR_DIR`)."""
    environ = os.environ if env is None else env
    return Path(environ.get(MASTER_KEY_FILE_ENV) or var_dir() / "master.key")


def load_or_create_key_file(path: Path, *, create: bool = True) -> MasterKey:
    """The key in `path`, made (32 random bytes, base64, file 0600) if there is none yet.

    Made in a temporary file and linked into place, so two processes starting together end with
    one key, and neither ever reads a half-written file. `create` False (a command that only
    reads): a missing file is refused, not made (a new key would open nothing).
    """
    if not path.exists():
        if not create:
            raise MasterKeyError(
                f"no master key at {path} (set {MASTER_KEY_ENV}, or {MASTER_KEY_FILE_ENV} to the "
                "key file this store's personal data was sealed with)"
            )
        private_dir(path.parent)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, base64.b64encode(os.urandom(KEY_BYTES)) + b"\n")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    return parse_master_key(path.read_text(encoding="ascii"), str(path))


def master_key(env: Mapping[str, str] | None = None) -> MasterKey:
    """`CASEWORK_MASTER_KEY` if set, else the key file (made on first start)."""
    environ = os.environ if env is None else env
    text = environ.get(MASTER_KEY_ENV, "")
    if text:
        return parse_master_key(text, MASTER_KEY_ENV)
    return load_or_create_key_file(key_file_path(environ))
