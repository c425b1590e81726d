"""Snapshots of long case files: a command loads the latest snapshot and the events after it.

eventsourcing's snapshotting (a snapshot store beside the events, the repository reading the
latest snapshot at or below the version asked for, then the events after it) with two changes,
both for personal data (docs/adr/011-personal-data.md):
- **Nothing personal in plaintext.** The case in memory holds opened values; a snapshot of it
  would store them. So a snapshot is made from the *stored* events (the sealed state, opened by
  no one): personal values sit in it as the same tokens the events carry, under the same
  persons' keys, and an erasure (destroying a key) erases them in snapshots too. Each token is
  stored with the field path it was sealed under (its binding), so a load opens it as the event
  would be opened: plaintext, `[erased]` or `[personal]` for the reader.
- **Exact state.** A case holds enums, addresses, tuples, dataclasses: JSON alone would bring
  back lists and strings. The state is written in a small tagged form (`encode`/`decode`) that
  gives back equal values; a state it cannot give back equal (a type it does not know) is not
  snapshotted at all, and the case is replayed from its events, as before.
A snapshot records what made it (`made_by`: the library's version, the aggregate's package and
version, a digest of the source of the modules its fold is written in): after an upgrade or an
edit of either (whose domain may fold events differently) old snapshots are ignored until new
ones are taken. `verify` never reads
snapshots: it walks every event; a snapshot is a cache of the fold, not part of the record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, Mapper, StoredEvent
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from casework.privacy.envelope import PREFIX, TOKEN
from casework.privacy.reveal import Opener


class UnsnapshottableError(Exception):
    """A value the tagged form cannot give back equal: the case is not snapshotted."""


@cache
def library_version() -> str:
    try:
        return version("casework")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


@cache
def made_by(aggregate: type) -> str:
    """What folded a snapshot of an `aggregate`: the library's version, the version of the
    distribution its package comes from (a kind from another package, casework.kinds, changes its
    fold without the library changing) and a digest of the source of every module of its classes
    (an editable install keeps its version across commits; reading a few files once per class is
    cheap, so a development change invalidates snapshots too)."""
    import hashlib
    import sys
    from importlib.metadata import packages_distributions

    top = aggregate.__module__.split(".")[0]
    # an editable install is not in packages_distributions: then the distribution named so
    names = [*packages_distributions().get(top, []), top, top.replace("_", "-")]
    package = next((f"{n} {v}" for n in names if (v := _version_of(n))), f"{top} unknown")
    digest = hashlib.sha256()
    for module in sorted({cls.__module__ for cls in aggregate.__mro__}):
        loaded = sys.modules.get(module)
        path = getattr(loaded, "__file__", None)  # builtins (object's) have none
        if path and path.endswith(".py"):
            with open(path, "rb") as source:
                digest.update(source.read())
    return f"casework {library_version()}; {package}; {digest.hexdigest()[:16]}"


def _version_of(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def encode(value: Any) -> Any:
    """`value` as JSON that `decode` turns back into an equal value (types tagged)."""
    if isinstance(value, Enum):
        return ["E", get_topic(type(value)), encode(value.value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return ["L", [encode(v) for v in value]]
    if isinstance(value, tuple):
        return ["T", [encode(v) for v in value]]
    if isinstance(value, (set, frozenset)):
        return ["F" if isinstance(value, frozenset) else "S", [encode(v) for v in value]]
    if isinstance(value, dict):
        return ["D", [[encode(k), encode(v)] for k, v in value.items()]]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, timedelta):
        return ["td", [value.days, value.seconds, value.microseconds]]
    if isinstance(value, UUID):
        return ["U", value.hex]
    if isinstance(value, Decimal):
        return ["N", str(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return ["C", get_topic(type(value)), fields]
    raise UnsnapshottableError(f"cannot snapshot a value of type {type(value).__name__}")


def decode(value: Any) -> Any:
    """The value `encode` was given."""
    if not isinstance(value, list):
        return value
    tag = value[0]
    if tag == "L":
        return [decode(v) for v in value[1]]
    if tag == "T":
        return tuple(decode(v) for v in value[1])
    if tag == "S":
        return {decode(v) for v in value[1]}
    if tag == "F":
        return frozenset(decode(v) for v in value[1])
    if tag == "D":
        return {decode(k): decode(v) for k, v in value[1]}
    if tag == "E":
        return resolve_topic(value[1])(decode(value[2]))
    if tag == "t":
        return datetime.fromisoformat(value[1])
    if tag == "d":
        return date.fromisoformat(value[1])
    if tag == "td":
        return timedelta(days=value[1][0], seconds=value[1][1], microseconds=value[1][2])
    if tag == "U":
        return UUID(value[1])
    if tag == "N":
        return Decimal(value[1])
    if tag == "C":
        cls = resolve_topic(value[1])
        made = object.__new__(cls)
        for name, field in value[2].items():
            object.__setattr__(made, name, decode(field))
        return made
    raise ValueError(f"unknown tag {tag!r} in a snapshot")


def sealed_fields(state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(token, field path) of every sealed token in an event's stored state, with the paths
    `Opener.open` gives them (`name`, `name.key`, `name[i]`)."""

    def walk(value: Any, field: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, str):
            if PREFIX in value:
                for match in TOKEN.finditer(value):
                    yield match[0], field
        elif isinstance(value, Mapping):
            for k, v in value.items():
                yield from walk(v, f"{field}.{k}")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                yield from walk(v, f"{field}[{i}]")

    for name, value in state.items():
        yield from walk(value, name)


def take(aggregate: Any, fields: Mapping[str, str]) -> Snapshot:
    """A snapshot of `aggregate` (folded from the stored, sealed events); `fields` the field
    path of each token those events carried. Raises `UnsnapshottableError`."""
    state = dict(vars(aggregate))
    for private in ("_id", "_version", "_pending_events"):
        state.pop(private, None)
    class_version = getattr(type(aggregate), "class_version", 1)
    if class_version > 1:  # as eventsourcing's Snapshot.take: its mutate upcasts from it
        state["class_version"] = class_version
    encoded = encode(state)
    if decode(encoded) != state:
        raise UnsnapshottableError("the case's state does not come back equal")
    text = json.dumps(encoded)
    tokens = {match[0] for match in TOKEN.finditer(text)}
    used = {token: fields[token] for token in tokens if token in fields}
    if len(used) != len(tokens):
        raise UnsnapshottableError("a sealed value whose field is not known")
    return Snapshot(
        originator_id=aggregate.id,
        originator_version=aggregate.version,
        timestamp=Snapshot.create_timestamp(),
        topic=get_topic(type(aggregate)),
        state={"made_by": made_by(aggregate.__class__), "state": encoded, "sealed": used},
    )


def fold_stored(mapper: Mapper[UUID], stored: Sequence[StoredEvent]) -> tuple[Any, dict[str, str]]:
    """The aggregate folded from `stored` read as stored (sealed), and each token's field."""
    aggregate: Any = None
    fields: dict[str, str] = {}
    for record in stored:
        event: Any = mapper.to_domain_event(record)
        fields.update(sealed_fields(vars(event)))
        aggregate = event.mutate(aggregate)
    return aggregate, fields


class LongCases:
    """The cases this process has seen reach the snapshot interval. Only these are looked up
    in the snapshot store: a short case (most of them) costs no extra query per load. A case
    first loaded here replays in full once, then loads from its snapshots."""

    KEPT = 100_000

    def __init__(self, every: int) -> None:
        self.every = every
        self._ids: set[UUID] = set()

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._ids

    def saw(self, case_id: UUID, version: int) -> None:
        if self.every and version >= self.every and case_id not in self._ids:
            if len(self._ids) >= self.KEPT:  # a bound, not a policy: they are relearned
                self._ids.clear()
            self._ids.add(case_id)


def mutated_in_turn(aggregate: Any, events: Iterable[Any]) -> Any:
    """Each event's `mutate` in turn: eventsourcing's `project_aggregate` without its `assert
    isinstance(event, CanMutateProtocol)` per event, a check against a runtime-checkable
    Protocol (slow: it looks up every member) that Python runs unless started with -O; a
    twentieth of a command's CPU with 20 writers on PostgreSQL (issue 16). Every event here is
    an eventsourcing aggregate event or snapshot, which has `mutate`."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class SnapshotRepository(Repository[UUID]):
    """eventsourcing's repository, telling `LongCases` the version of what it loaded."""

    def __init__(self, *args: Any, long_cases: LongCases, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.long_cases = long_cases

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        kwargs.setdefault("projector_func", mutated_in_turn)
        aggregate = super().get(aggregate_id, **kwargs)
        self.long_cases.saw(aggregate_id, aggregate.version)
        return aggregate


class OpeningSnapshots(EventStore[UUID]):
    """The snapshot store as a repository reads it: snapshots made by this code only (`made_by`),
    their sealed values opened for the reader (`allowed`), their state decoded; asked only
    about cases known to be long (`LongCases`)."""

    def __init__(
        self, snapshots: EventStore[UUID], opener: Any, *, allowed: bool, long_cases: LongCases
    ) -> None:
        super().__init__(mapper=snapshots.mapper, recorder=snapshots.recorder)
        self._opener = opener
        self.allowed = allowed
        self.long_cases = long_cases

    def get(self, originator_id: UUID, *args: Any, **kwargs: Any) -> Any:
        if originator_id not in self.long_cases:
            return
        for snapshot in super().get(originator_id, *args, **kwargs):
            opened = self._opened(snapshot)
            if opened is not None:
                yield opened

    def _opened(self, snapshot: Any) -> Snapshot | None:
        held = snapshot.state
        if not isinstance(held, dict) or held.get("made_by") != _made_by_topic(snapshot.topic):
            return None
        sealed: dict[str, str] = held.get("sealed", {})
        encoded = held["state"]
        if sealed:
            opener: Opener = self._opener()

            def open_token(token: str) -> str:
                field = sealed.get(token)
                if field is None:
                    return token
                opened: str = opener.open(
                    token, case_id=snapshot.originator_id, field=field, allowed=self.allowed
                )
                return opened

            encoded = _open_strings(encoded, open_token)
        return _Decoded(
            originator_id=snapshot.originator_id,
            originator_version=snapshot.originator_version,
            timestamp=snapshot.timestamp,
            topic=snapshot.topic,
            state=decode(encoded),
        )


def _made_by_topic(topic: str) -> str | None:
    """`made_by` of the aggregate class named by `topic`; None if it is no longer there."""
    try:
        return made_by(resolve_topic(topic))
    except TopicError:
        return None


class _Decoded(Snapshot):
    """A snapshot whose state is the aggregate's own (decoded, opened): eventsourcing's
    `Snapshot.mutate` rebuilds the aggregate from it."""


def _open_strings(value: Any, open_token: Any) -> Any:
    if isinstance(value, str):
        if PREFIX not in value:
            return value
        return TOKEN.sub(lambda match: open_token(match[0]), value)
    if isinstance(value, list):
        return [_open_strings(v, open_token) for v in value]
    if isinstance(value, dict):
        return {k: _open_strings(v, open_token) for k, v in value.items()}
    return value
