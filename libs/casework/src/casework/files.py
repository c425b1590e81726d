"""Files and folders that hold case data, personal data or tokens: the owner's only.

The SQLite store, the read models, the tokens file, the logs and nats-server's JetStream store
all carry residents' reports, names, contacts or credentials. Created the usual way they get the
caller's umask (often 022: readable by every account on the machine), so everything that makes
them goes through here: files 0600 and folders 0700, set explicitly after creation, since a
umask can only take bits away and may be stricter or looser than we need.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PRIVATE_UMASK = 0o077
"""For child programs that create files of their own (nats-server): nothing for group or others."""


def private_dir(path: Path) -> Path:
    """`path` as a folder, every folder made here 0700; folders that exist are left as they are
    (a parent may be /tmp or a home the operator chose)."""
    missing: list[Path] = []
    walk = path
    while not walk.exists():
        missing.append(walk)
        if walk.parent == walk:
            break
        walk = walk.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it just now; its maker decides its mode
            continue
        os.chmod(folder, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """`path` as an (empty, if new) file made 0600 in a folder made by `private_dir`; an existing
    file is left as it is. SQLite opened on it later gives its -wal and -shm files its mode."""
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to a new file `path` that is 0600 from its first byte (never briefly
    readable by others, as writing first and chmod-ing after would leave it)."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            descriptor = -1
            out.write(text)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
