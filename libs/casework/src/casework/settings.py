"""Where the case files live, from one setting: `CASEWORK_STORE`.

`sqlite:///path/to/file.db` (the default, under `./var/`) or a `postgresql://` URL. eventsourcing's
own recorders do the storing; this module only translates the URL into their settings.

`CASEWORK_STORE_TIMEOUT` (whole seconds, default 2; or `?timeout=` on a postgresql URL): how long
one store operation waits for a connection before giving up with `OperationalError`, which the
services answer as 503 + Retry-After. Without it a request hung for minutes while PostgreSQL was
down (eventsourcing waits 30 s for a connection, and tries 10 times).

`CASEWORK_SQLITE_LOCK_TIMEOUT` (whole seconds, default 10): how long a SQLite file (the store on
`sqlite:///`, and every service's read-model file) waits for another writer's lock before giving
up (the store's `OperationalError` and a read model's `sqlite3.OperationalError` both become 503 +
Retry-After). `CASEWORK_STORE_TIMEOUT` bounds PostgreSQL only; this bounds SQLite.

Also `CASEWORK_MAX_CLOCK_SKEW`: how many seconds a writer's clock may be behind a case's latest
event and still have its command recorded (see `Casework.dated`); 5 unless set.

`CASEWORK_GROUP_COMMIT` (`1`, the default, or `0`; PostgreSQL only): whether saves made at the
same time by several threads of one process share one transaction (`casework.group_commit`,
docs/adr/018-group-commit.md). SQLite stores are unaffected.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from casework._extras import require
from casework.domain.errors import CaseworkError, ValidationError
from casework.files import private_file

DEFAULT_VAR_DIR = Path("var")
DEFAULT_STORE = f"sqlite:///{DEFAULT_VAR_DIR / 'casework.db'}"


def var_dir() -> Path:
    """The project's working folder for data (SQLite file, embedded nats-server's store)."""
    return Path(os.environ.get("CASEWORK_VAR_DIR", str(DEFAULT_VAR_DIR)))


def store_url() -> str:
    return os.environ.get("CASEWORK_STORE") or f"sqlite:///{var_dir() / 'casework.db'}"


CLOCK_SKEW_ENV = "CASEWORK_MAX_CLOCK_SKEW"
DEFAULT_MAX_CLOCK_SKEW = timedelta(seconds=5)


def clock_skew(value: object, name: str = CLOCK_SKEW_ENV) -> timedelta:
    """A clock-skew tolerance given in seconds (or as a timedelta), refused with the reason if it
    is not a finite number of seconds, 0 or more. 0 means no tolerance: a command whose clock is
    behind the case's latest event at all is refused (`OutOfOrderError`)."""
    seconds = math.nan
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):  # True is no duration
        seconds = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a number: nan, refused below
            seconds = float(value.strip())
    if not math.isfinite(seconds):
        raise ValidationError(
            f"{name} must be a number of seconds, e.g. 5 or 0.5 (default "
            f"{DEFAULT_MAX_CLOCK_SKEW.total_seconds():g}); got {value!r}"
        )
    if seconds < 0:
        raise ValidationError(
            f"{name} must be 0 or more seconds (how far a writer's clock may be behind a "
            f"case's latest event); got {value!r}"
        )
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValidationError(f"{name} is too large for a duration; got {value!r}") from None


def max_clock_skew() -> timedelta:
    """`CASEWORK_MAX_CLOCK_SKEW` (seconds), else 5 seconds; a bad value is refused, not ignored."""
    given = os.environ.get(CLOCK_SKEW_ENV, "")
    return clock_skew(given) if given.strip() else DEFAULT_MAX_CLOCK_SKEW


SNAPSHOT_EVERY_ENV = "CASEWORK_SNAPSHOT_EVERY"
DEFAULT_SNAPSHOT_EVERY = 100


def snapshot_every(env: Mapping[str, str] | None = None) -> int:
    """`CASEWORK_SNAPSHOT_EVERY` (from `env`, else the process environment): a case file is
    snapshotted at every this many events (0: never); default 100. A bad value is refused."""
    given = (env or {}).get(SNAPSHOT_EVERY_ENV) or os.environ.get(SNAPSHOT_EVERY_ENV, "")
    if not given.strip():
        return DEFAULT_SNAPSHOT_EVERY
    try:
        every = int(given)
    except ValueError:
        every = -1
    if every < 0:
        raise ValidationError(
            f"{SNAPSHOT_EVERY_ENV}={given!r}: give a whole number of events (0 turns snapshots off)"
        )
    return every


def persistence_env(url: str, *, read_only: bool = False) -> dict[str, str]:
    """eventsourcing environment keys for a store URL; a bad URL gets a message saying why.
    `read_only`: for a command that only reads (`read_only_env`)."""
    if read_only:
        return read_only_env(url)
    if url.startswith("sqlite://"):
        # As SQLAlchemy spells it: sqlite:///relative/file.db, sqlite:////absolute/file.db
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
        if not path:
            raise ValidationError(
                "CASEWORK_STORE sqlite URL needs a file: sqlite:///var/casework.db"
            )
        recorder = "casework.side_tables:SqliteRecorder"  # eventsourcing's, with side writes
        if path == ":memory:":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": ":memory:",
                "PROCESS_RECORDER_TOPIC": recorder,
            }
        private_file(Path(path))  # 0600 in 0700 folders; SQLite's -wal/-shm take its mode
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": str(sqlite_lock_timeout()),
            "PROCESS_RECORDER_TOPIC": recorder,
        }
    if url.startswith(("postgresql://", "postgres://")):
        return _postgres_env(url)
    scheme = url.split(":", 1)[0] if ":" in url else url[:20]
    raise ValidationError(
        f"CASEWORK_STORE must be sqlite:///path/to/file.db or "
        f"postgresql://user:password@host:port/dbname, not a {scheme!r} URL"
    )


POSTGRES_QUERY_KEYS = ("pool_size", "max_overflow", "schema", "timeout")

STORE_TIMEOUT_ENV = "CASEWORK_STORE_TIMEOUT"
DEFAULT_STORE_TIMEOUT = 2
SQLITE_LOCK_TIMEOUT_ENV = "CASEWORK_SQLITE_LOCK_TIMEOUT"
DEFAULT_SQLITE_LOCK_TIMEOUT = 10


GROUP_COMMIT_ENV = "CASEWORK_GROUP_COMMIT"
DEFAULT_GROUP_COMMIT = True


def group_commit() -> bool:
    """`CASEWORK_GROUP_COMMIT`: `1` on, `0` off, unset the default; anything else is refused
    with the reason (a typo must not silently leave it as it was)."""
    given = os.environ.get(GROUP_COMMIT_ENV, "").strip().lower()
    if not given:
        return DEFAULT_GROUP_COMMIT
    if given in ("1", "0"):
        return given == "1"
    raise ValidationError(f"{GROUP_COMMIT_ENV} must be 1 (on) or 0 (off), not {given!r}")


def sqlite_lock_timeout() -> int:
    """`CASEWORK_SQLITE_LOCK_TIMEOUT` in whole seconds (eventsourcing reads an int), at least 1;
    else 10. A bad value is refused with the reason, not ignored."""
    given = os.environ.get(SQLITE_LOCK_TIMEOUT_ENV, "").strip()
    if not given:
        return DEFAULT_SQLITE_LOCK_TIMEOUT
    return int(_count({"x": [given]}, "x", "", minimum=1, name=SQLITE_LOCK_TIMEOUT_ENV))


def store_timeout() -> int:
    """`CASEWORK_STORE_TIMEOUT` in whole seconds (eventsourcing reads an int), at least 1; else
    eventsourcing's own `POSTGRES_CONNECT_TIMEOUT` if set (it keeps working); else 2. A bad
    value is refused with the reason, not ignored."""
    for name in (STORE_TIMEOUT_ENV, "POSTGRES_CONNECT_TIMEOUT"):
        given = os.environ.get(name, "").strip()
        if given:
            return int(_count({"x": [given]}, "x", "", minimum=1, name=name))
    return DEFAULT_STORE_TIMEOUT


def store_place(url: str) -> str:
    """Where a store URL points, for messages: never its password."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        try:
            port = parts.port or 5432
        except ValueError:
            port = 5432
        host = unquote(parts.hostname or "127.0.0.1")
        return f"PostgreSQL at {host}:{port}/{unquote(parts.path.lstrip('/'))}"
    return f"SQLite file {url.removeprefix('sqlite:///')}"


def _postgres_env(url: str) -> dict[str, str]:
    """Never echo the URL back in an error: it may carry a password."""
    require("psycopg", "a PostgreSQL store (CASEWORK_STORE=postgresql://...)")
    parts = urlparse(url)
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(
            "CASEWORK_STORE postgresql URL has a bad port (a number 1-65535 after host:)"
        ) from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(POSTGRES_QUERY_KEYS))
    if unknown:
        raise ValidationError(
            f"CASEWORK_STORE postgresql URL has unsupported parameters {', '.join(unknown)}; "
            f"supported: {', '.join(POSTGRES_QUERY_KEYS)}"
        )
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise ValidationError("CASEWORK_STORE postgresql URL needs a database name")
    if "/" in dbname:
        raise ValidationError(
            "CASEWORK_STORE postgresql URL path must be one database name (write / as %2F)"
        )
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": unquote(parts.hostname or "127.0.0.1"),
        "POSTGRES_PORT": str(port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": _count(query, "pool_size", "5", minimum=1),
        "POSTGRES_MAX_OVERFLOW": _count(query, "max_overflow", "10", minimum=0),
        "POSTGRES_CONN_MAX_AGE": "600",
        # Give up on a connection after the store timeout, check a pooled connection before
        # handing it out (one left broken by a restart is replaced, not failed on), and try an
        # operation once more only if that failure was quick (see casework.postgres).
        "POSTGRES_CONNECT_TIMEOUT": (
            _count(query, "timeout", "", minimum=1) if "timeout" in query else str(store_timeout())
        ),
        "POSTGRES_PRE_PING": "y",
        "PROCESS_RECORDER_TOPIC": (
            "casework.group_commit:GroupCommitProcessRecorder"
            if group_commit()
            else "casework.postgres:FailFastProcessRecorder"
        ),
    }
    if "schema" in query:
        env["POSTGRES_SCHEMA"] = query["schema"][-1]
    return env


def _count(
    query: dict[str, list[str]], key: str, default: str, *, minimum: int, name: str = ""
) -> str:
    value = query.get(key, [default])[-1]
    if not (value.isascii() and value.isdigit()) or int(value) < minimum:
        raise ValidationError(
            f"{name or 'CASEWORK_STORE ' + key} must be a whole number, at least {minimum}; "
            f"got {value!r}"
        )
    return str(int(value))


# ------------------------------------------------------------- read-only opening


class StoreNotFoundError(CaseworkError):
    """A command that only reads was pointed at a SQLite store that does not exist."""


def read_only_env(url: str) -> dict[str, str]:
    """eventsourcing settings for a command that only reads the store (verify, history, …).

    A `sqlite:///` store must already exist: SQLite (and `persistence_env`, which makes the
    folder) would otherwise create an empty store where a typo pointed, and the auditor would
    read "no case files" instead of "wrong path". The existence check gives the one-line answer;
    the file is then opened with SQLite's `mode=ro` URI (eventsourcing connects with
    `uri=True`) and without creating tables, so even a file removed between the check and the
    connect is never recreated, and nothing the command does can write to the store.
    PostgreSQL URLs get the ordinary settings (a server's database is not made by connecting).
    """
    path = require_store(url)
    if path is None:
        return persistence_env(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:{quote(str(path.resolve()))}?mode=ro",
        "SQLITE_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "n",
    }


def require_store(url: str) -> Path | None:
    """The file of a `sqlite:///` store that exists and holds something (None for other URLs);
    `StoreNotFoundError`, in words an operator can act on, otherwise. Creates nothing."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists():
        raise StoreNotFoundError(
            f"no store at {path} (CASEWORK_STORE={url}); nothing was created. Check the path, "
            f"or CASEWORK_VAR_DIR / CASEWORK_STORE"
        )
    if not path.is_file():
        raise StoreNotFoundError(f"the store {path} is not a file (CASEWORK_STORE={url})")
    if path.stat().st_size == 0:  # made, but nothing ever recorded: not even its tables
        raise StoreNotFoundError(f"the store {path} is empty: nothing was ever recorded in it")
    return path
