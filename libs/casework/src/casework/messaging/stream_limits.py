"""How many copies of the `CASEWORK` stream JetStream keeps, and how much of it.

- **Replicas** (`CASEWORK_STREAM_REPLICAS`): 3 when `NATS_URL` names three or more servers (a
  cluster: any one node may die and the stream and every durable consumer go on), else 1. A
  durable consumer made with no replica count of its own takes the stream's, so the services'
  consumers follow this without a setting of their own. 2 is refused: a Raft group of two stops
  when either node is lost, no better than 1 and twice the writes.
- **Max bytes** (`CASEWORK_STREAM_MAX_BYTES`, default 1 GiB, `discard old`): the stream is the
  post, not the record (the store is); past the limit the oldest messages go. 1 GiB is about a
  million case events, years of a county's reports; a consumer that falls that far behind
  (months away) must be rebuilt from the store instead (`casework rebuild`).
- **Max age** (`CASEWORK_STREAM_MAX_AGE`, seconds, default 0 = none): off by default because
  the relay resumes after the last case event ON the stream; if a quiet spell longer than the
  max age emptied the stream, a relay starting then would find nothing and publish the store
  again from the start (docs/adr/012-a-cluster-users-and-one-relay.md). Set it only far above
  the longest quiet spell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

REPLICAS_ENV = "CASEWORK_STREAM_REPLICAS"
MAX_BYTES_ENV = "CASEWORK_STREAM_MAX_BYTES"
MAX_AGE_ENV = "CASEWORK_STREAM_MAX_AGE"
DEFAULT_MAX_BYTES = 1 << 30
CLUSTER_REPLICAS = 3


@dataclass(frozen=True)
class StreamLimits:
    replicas: int = 1
    max_bytes: int = DEFAULT_MAX_BYTES
    max_age: float = 0.0
    """Seconds; 0: messages do not expire."""

    def __post_init__(self) -> None:
        if self.replicas not in (1, 3, 5):
            raise ValueError(
                f"{REPLICAS_ENV} must be 1, 3 or 5 (a Raft group survives the loss of a "
                f"minority); got {self.replicas}"
            )
        if self.max_bytes < 1 << 20:
            raise ValueError(f"{MAX_BYTES_ENV} must be at least 1 MiB; got {self.max_bytes}")
        if self.max_age < 0:
            raise ValueError(f"{MAX_AGE_ENV} must be 0 (no limit) or more; got {self.max_age}")

    @classmethod
    def from_env(
        cls, nats_url: str | None = None, env: Mapping[str, str] | None = None
    ) -> StreamLimits:
        """From the variables above; replicas by default from the number of servers in
        `nats_url` (else `NATS_URL`). A bad value is refused with the reason."""
        env = os.environ if env is None else env
        url = nats_url if nats_url is not None else env.get("NATS_URL", "")
        nodes = len([part for part in url.split(",") if part.strip()])
        default_replicas = CLUSTER_REPLICAS if nodes >= CLUSTER_REPLICAS else 1
        return cls(
            replicas=int(_number(env, REPLICAS_ENV, default_replicas, int)),
            max_bytes=int(_number(env, MAX_BYTES_ENV, DEFAULT_MAX_BYTES, int)),
            max_age=_number(env, MAX_AGE_ENV, 0.0, float),
        )


def _number(env: Mapping[str, str], name: str, default: float, kind: type[float]) -> float:
    given = env.get(name, "").strip()
    if not given:
        return default
    try:
        return kind(given)
    except ValueError:
        raise ValueError(f"{name} must be a number; got {given!r}") from None
