"""Who may do what on NATS: one user per part, each allowed only its own subjects.

nats-server checks every publish and subscribe against the connection's user
(`authorization { users = [...] }` in its config). The lists here are the whole of each part's
rights (docs/adr/012-a-cluster-users-and-one-relay.md):

- `relay`: publishes the case subjects (`casework.*.*.*.*`; nobody else may), reads and
  creates/updates the `CASEWORK` stream and reads its last messages (where it resumes).
- a service (`intake`, `dispatch`, `mediation`): binds to, pulls from and acks ITS durable
  consumer on `CASEWORK` (nobody else's), reads the stream's info, and publishes its own dead
  letters (`casework.dlq.<service>`); nothing else: no case subject, no other consumer, no
  stream changes.
- `notary`: publishes the checkpoints (`casework-log.checkpoints`; nobody else may, neither the
  relay nor a service), reads and creates/updates the `CASEWORK_CHECKPOINTS` stream and reads
  its last message (where it goes on from).
- `admin`: everything; for operators' one-shot commands (`casework dlq list|replay` puts a
  letter back on a case subject) and for provisioning. No long-running part uses it.

Replies: JetStream answers requests on the caller's inbox. Each user may subscribe only to
`_INBOX_<user>.>`, and the library connects with that `inbox_prefix`, so no part can listen
to another's replies (the default `_INBOX.>` would let every user read every other's).

Credentials: a random password per user per deployment, one 0600 file per user in a 0700
folder (`<var>/nats-credentials/<user>.password`), never in a command line, a URL or
compose.yaml. A part is told its user and file by `NATS_USER` and `NATS_PASSWORD_FILE`; the
library reads them where it connects (`client_options`), for every process alike. The
nats-server config that lists the users is a 0600 file too (passwords in clear: it is the
server's secret, kept like the store's).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework.files import private_dir, write_private
from casework.messaging.dead_letter import dead_letter_subject
from casework.messaging.subjects import CHECKPOINTS, CHECKPOINTS_STREAM, EVENTS, STREAM

USER_ENV = "NATS_USER"
PASSWORD_FILE_ENV = "NATS_PASSWORD_FILE"
CREDENTIALS_DIR = "nats-credentials"
"""The folder under the var dir holding one `<user>.password` file per user."""

RELAY = "relay"
NOTARY = "notary"
ADMIN = "admin"
ROUTE = "route"
"""The user the cluster's nodes authenticate their routes with (not a client)."""

SERVICE_DURABLES: Mapping[str, str] = {
    "intake": "intake-case-index",
    "dispatch": "dispatch",
    "mediation": "mediation",
}
"""Each service's durable consumer on `CASEWORK`: the one its user may bind to. The services'
own defaults (`<SERVICE>_DURABLE`); tests/test_nats_users.py checks that they agree."""


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def inbox_prefix(user: str) -> str:
    return f"_INBOX_{user}"


def relay_permissions(stream: str = STREAM) -> Permissions:
    api = "$JS.API.STREAM"
    return Permissions(
        publish=(
            EVENTS,
            f"{api}.INFO.{stream}",
            f"{api}.CREATE.{stream}",
            f"{api}.UPDATE.{stream}",
            f"{api}.MSG.GET.{stream}",
        ),
        subscribe=(f"{inbox_prefix(RELAY)}.>",),
    )


def notary_permissions(stream: str = CHECKPOINTS_STREAM) -> Permissions:
    api = "$JS.API.STREAM"
    return Permissions(
        publish=(
            CHECKPOINTS,
            f"{api}.INFO.{stream}",
            f"{api}.CREATE.{stream}",
            f"{api}.UPDATE.{stream}",
            f"{api}.MSG.GET.{stream}",
        ),
        subscribe=(f"{inbox_prefix(NOTARY)}.>",),
    )


def service_permissions(service: str, durable: str, stream: str = STREAM) -> Permissions:
    consumer = "$JS.API.CONSUMER"
    return Permissions(
        publish=(
            f"{consumer}.INFO.{stream}.{durable}",
            f"{consumer}.CREATE.{stream}.{durable}",
            f"{consumer}.CREATE.{stream}.{durable}.>",
            f"{consumer}.DURABLE.CREATE.{stream}.{durable}",
            f"{consumer}.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
            f"$JS.API.STREAM.INFO.{stream}",
            "$JS.API.STREAM.NAMES",
            dead_letter_subject(service),
        ),
        subscribe=(f"{inbox_prefix(service)}.>",),
    )


ADMIN_PERMISSIONS = Permissions(publish=(">",), subscribe=(">",))


def permissions_of(user: str) -> Permissions:
    if user == RELAY:
        return relay_permissions()
    if user == NOTARY:
        return notary_permissions()
    if user == ADMIN:
        return ADMIN_PERMISSIONS
    if user in SERVICE_DURABLES:
        return service_permissions(user, SERVICE_DURABLES[user])
    raise ValueError(f"no NATS user {user!r}; known: {', '.join(CLIENT_USERS)}")


CLIENT_USERS = (RELAY, NOTARY, *SERVICE_DURABLES, ADMIN)


class Credentials:
    """The deployment's users and passwords: one 0600 file each under `folder`, made once.

    `ensure()` writes a new random password for every user that has none yet and keeps the
    ones that exist, so a restart of the stack (or of one node) keeps every part's password.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def under(cls, var: Path) -> Credentials:
        return cls(var / CREDENTIALS_DIR)

    def path(self, user: str) -> Path:
        return self.folder / f"{user}.password"

    def ensure(self, users: Iterable[str] = (*CLIENT_USERS, ROUTE)) -> Credentials:
        private_dir(self.folder)
        for user in users:
            if not self.path(user).is_file():
                write_private(self.path(user), secrets.token_urlsafe(32) + "\n")
        return self

    def password(self, user: str) -> str:
        return read_password(self.path(user))

    def client_env(self, user: str) -> dict[str, str]:
        """The environment a part needs to connect as `user`."""
        return {USER_ENV: user, PASSWORD_FILE_ENV: str(self.path(user).resolve())}

    def client_options(self, user: str) -> dict[str, Any]:
        """nats-py `connect` options for `user` (tests and in-process tools)."""
        return {"user": user, "password": self.password(user), "inbox_prefix": inbox_prefix(user)}

    def authorization(self, users: Sequence[str] = CLIENT_USERS) -> str:
        """The nats-server `authorization { users = [...] }` block for `users`."""
        return authorization_block({user: self.password(user) for user in users})


def _quoted(items: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def authorization_block(passwords: Mapping[str, str]) -> str:
    lines = ["authorization {", "  users = ["]
    for user, password in passwords.items():
        rights = permissions_of(user)
        lines.append(
            f'    {{ user: "{user}", password: "{password}", permissions: {{ '
            f"publish: {{ allow: {_quoted(rights.publish)} }}, "
            f"subscribe: {{ allow: {_quoted(rights.subscribe)} }} }} }}"
        )
    lines += ["  ]", "}"]
    return "\n".join(lines)


def read_password(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(
            f"{PASSWORD_FILE_ENV} {path} cannot be read ({error.strerror or error})"
        ) from None
    if not text:
        raise ValueError(f"{PASSWORD_FILE_ENV} {path} is empty")
    return text


def client_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """nats-py `connect` options from `NATS_USER` and `NATS_PASSWORD_FILE`, or none when unset
    (an unauthenticated server, or credentials in the URL). One without the other is refused."""
    env = os.environ if env is None else env
    user = env.get(USER_ENV, "").strip()
    password_file = env.get(PASSWORD_FILE_ENV, "").strip()
    if not user and not password_file:
        return {}
    if not user or not password_file:
        raise ValueError(
            f"set both {USER_ENV} and {PASSWORD_FILE_ENV} (the part's NATS user and the file "
            "holding its password), or neither"
        )
    return {
        "user": user,
        "password": read_password(Path(password_file)),
        "inbox_prefix": inbox_prefix(user),
    }


def servers(url: str) -> list[str]:
    """`NATS_URL` may name several servers, comma-separated (every node of a cluster)."""
    found = [part.strip() for part in url.split(",") if part.strip()]
    if not found:
        raise ValueError("NATS_URL names no server")
    return found
