"""The kinds of case this installation knows: registered, never listed in the library's code.

A kind is a `Kind` (its aggregate and contract models, its rows of the deadlines table, which
roles may run its own commands, its labels, the skills dispatch sends for it). Kinds come from
the entry point group `casework.kinds` of every installed distribution (the library's own three
are declared there too) and from `register_kind`, for an application or a test that defines one
in code (docs/adr/015-kinds-registered.md). The entry points are read once, on the first
question asked of the registry; whatever is registered then or later is what the library, the
CLI, the relay and the services read (`casework.kinds.live`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from threading import RLock
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

    from casework.contracts.envelope import CaseEvent
    from casework.domain.actors import Role
    from casework.domain.case import Case
    from casework.domain.ladder import Deadlines
    from casework.domain.places import Tier

GROUP = "casework.kinds"
"""The entry point group a package declares its kinds in (each names a `Kind`)."""

BUILTIN = ("repair", "leak", "dispute")
"""The library's own kinds, first in every listing (the order of docs/asyncapi.json)."""

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""A kind's name is a token of every subject it is published on (casework.<kind>.<event>…)."""


class KindError(ValueError):
    """A kind that cannot be registered (what is wrong is in the message), or an unknown one."""


@dataclass(frozen=True)
class Kind:
    """Everything the library and the services need to know of one kind of case.

    `name`: the aggregate's `KIND`, the contracts' `kind` and the subjects' second token.
    `label`/`title`: what people call it (`电梯困人`) and its English words (`lift entrapment`).
    `contracts`: one model per event the aggregate records, `casework.<name>.<event>.v1`.
    `deadlines`: (priority, tier) -> `Deadlines`, for every priority and tier.
    `permissions`: the kind's own commands (`check_may` actions) -> the roles that may run them.
    `report`: opens a case of this kind (the aggregate's classmethod), called by
    `Casework.report_case` with the report's common fields and `report_fields`' values.
    `report_fields`: the kind's own report fields (a pydantic model), validated by intake.
    `skills`: skill -> label, the skills dispatch matches for this kind; none: not assigned.
    `need`: the skill a case needs (default: the first of `skills`); `workers`: who is sent.
    `need_reads_personal`: whether `need` may read the case's personal values (description,
    contact, …): then it is given the case with them opened, which costs dispatch a load of the
    case from the store; a kind whose `need` reads only plain fields (the category, the
    address) says False, and dispatch decides on the case it holds, personal values sealed.
    """

    name: str
    label: str
    title: str
    aggregate: type[Case]
    contracts: tuple[type[CaseEvent], ...]
    deadlines: Mapping[tuple[str, Tier], Deadlines]
    permissions: Mapping[str, frozenset[Role]] = field(default_factory=dict)
    report: Callable[..., Case] | None = None
    report_fields: type[BaseModel] | None = None
    skills: Mapping[str, str] = field(default_factory=dict)
    need: Callable[[Case], str] | None = None
    workers: frozenset[Role] = frozenset()
    need_reads_personal: bool = True

    @property
    def assignable(self) -> bool:
        """Dispatch assigns its cases (it names skills); otherwise people take them up."""
        return bool(self.skills)

    def skill_for(self, case: Case) -> str:
        """The skill a case of this kind needs; KindError if the kind names none."""
        if self.need is not None:
            return self.need(case)
        if not self.skills:
            raise KindError(f"a {self.name} case is not assigned by skill")
        return next(iter(self.skills))


_lock = RLock()
_kinds: dict[str, Kind] = {}
_generation = 0
_loaded = False
_loading = False


def _order(name: str) -> tuple[int, str]:
    return (BUILTIN.index(name), "") if name in BUILTIN else (len(BUILTIN), name)


def _load_entry_points() -> None:
    """Register every kind the installed distributions declare; the built-in three come from
    the library's own entry points, or from `casework.kinds.builtin` when the library runs from
    a source tree without its metadata (the same `Kind` objects either way). Other threads wait
    for the whole load; a load that failed is tried again (and fails again, saying why)."""
    global _loaded, _loading
    if _loaded:  # the common case, without the lock: every live table asks on every use
        return
    with _lock:
        if _loaded or _loading:  # _loading: this very thread, registering what it loads
            return
        _loading = True
        try:
            found = sorted(entry_points(group=GROUP), key=lambda e: _order(e.name))
            if not any(e.name in BUILTIN for e in found):
                from casework.kinds.builtin import BUILTIN_KINDS

                for kind in BUILTIN_KINDS:
                    register_kind(kind)
            for point in found:
                register_kind(_loaded_kind(point))
        finally:
            _loading = False
        _loaded = True


def _loaded_kind(point: EntryPoint) -> Kind:
    value = point.load()
    if not isinstance(value, Kind):
        raise KindError(
            f"entry point {point.name} = {point.value} in group {GROUP} names a "
            f"{type(value).__name__}, not a casework.kinds.Kind"
        )
    if value.name != point.name:
        raise KindError(
            f"entry point {point.name} = {point.value} names the kind {value.name!r}; "
            "name the entry point after its kind"
        )
    return value


def generation() -> int:
    """A number that changes whenever a kind is registered or removed (for `Live` tables)."""
    _load_entry_points()
    return _generation


def register_kind(kind: Kind) -> Kind:
    """Add a kind, after checking it whole (`kind_gaps`); registering the same one again is a
    no-op, another under a taken name a KindError."""
    global _generation, _kinds
    with _lock:
        _load_entry_points()
        known = _kinds.get(kind.name)
        if known is kind or known == kind:
            return kind
        if known is not None:
            raise KindError(f"a kind named {kind.name!r} is registered already")
        if gaps := kind_gaps(kind, others=list(_kinds.values())):
            raise KindError(f"kind {kind.name!r} cannot be registered:\n" + "\n".join(gaps))
        # A new dict swapped in by one assignment: `kind_named` reads `_kinds` without the
        # lock, so the dict it sees must never be half-filled.
        _kinds = dict(sorted({**_kinds, kind.name: kind}.items(), key=lambda i: _order(i[0])))
        _generation += 1
        return kind


def unregister_kind(name: str) -> None:
    """Remove a kind registered in code (a test's); the built-in ones stay."""
    global _generation, _kinds
    with _lock:
        if name in BUILTIN:
            raise KindError(f"{name} is one of the library's own kinds; it stays registered")
        if name in _kinds:
            _kinds = {n: k for n, k in _kinds.items() if n != name}  # swapped whole, as above
            _generation += 1


@contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """`kind` registered for the block and removed after (for tests that define one in code)."""
    register_kind(kind)
    try:
        yield kind
    finally:
        unregister_kind(kind.name)


def kinds() -> tuple[Kind, ...]:
    """Every registered kind: the built-in ones first, then the others by name."""
    _load_entry_points()
    with _lock:
        return tuple(_kinds.values())


def kind_names() -> tuple[str, ...]:
    return tuple(k.name for k in kinds())


def kind_named(name: str) -> Kind:
    """The registered kind called `name`; a KindError naming the registered ones if none."""
    _load_entry_points()
    found = _kinds.get(name)
    if found is None:
        raise KindError(
            f"kind must be one of {', '.join(kind_names())}, not {name!r} (a kind is added by "
            f"installing a package that declares it in the entry point group {GROUP})"
        )
    return found


def kind_gaps(kind: Kind, others: list[Kind] | None = None) -> list[str]:
    """What keeps `kind` from being registered, one line each; [] if nothing."""
    from casework.contracts.envelope import CaseEvent
    from casework.contracts.mapping import kind_model_gaps
    from casework.domain.actors import PERMISSIONS
    from casework.domain.case import Case
    from casework.domain.ladder import PRIORITIES
    from casework.domain.places import Tier

    gaps: list[str] = []
    if not NAME.match(kind.name):
        gaps.append(f"its name must match {NAME.pattern} (a subject token), not {kind.name!r}")
    if not (isinstance(kind.aggregate, type) and issubclass(kind.aggregate, Case)):
        return [*gaps, "its aggregate must be a subclass of casework.domain.case.Case"]
    if kind.name != kind.aggregate.KIND:
        gaps.append(f"its aggregate {kind.aggregate.__name__} has KIND {kind.aggregate.KIND!r}")
    for model in kind.contracts:
        if not (isinstance(model, type) and issubclass(model, CaseEvent)):
            gaps.append(f"{model!r} in its contracts is not a casework.contracts.CaseEvent")
        elif model.model_fields["kind"].default != kind.name:
            gaps.append(f"{model.__name__} has kind {model.model_fields['kind'].default!r}")
    if not gaps:
        gaps.extend(kind_model_gaps(kind))
    missing = [f"{p}/{t.value}" for p in PRIORITIES for t in Tier if (p, t) not in kind.deadlines]
    if missing:
        gaps.append(f"its deadlines lack the rows (priority/tier) {', '.join(missing)}")
    for other in others or []:
        if other.aggregate is kind.aggregate:
            gaps.append(f"its aggregate is the kind {other.name}'s already")
        for action, roles in kind.permissions.items():
            theirs = other.permissions.get(action)
            if theirs is not None and theirs != roles:
                gaps.append(f"the action {action!r} is {other.name}'s, with other roles")
    for action, roles in kind.permissions.items():
        if action in PERMISSIONS and PERMISSIONS[action] != roles:
            gaps.append(
                f"the action {action!r} is the library's, with other roles; name yours anew"
            )
    if kind.skills and not kind.workers:
        gaps.append("it names skills but no workers (the roles dispatch may send)")
    if kind.report_fields is not None:
        taken = sorted(set(kind.report_fields.model_fields) & _report_case_parameters())
        if taken:
            gaps.append(
                f"its report_fields {', '.join(taken)} are parameters of Casework.report_case "
                "(the report's common fields); rename them"
            )
    return gaps


def _report_case_parameters() -> set[str]:
    """The names `Casework.report_case` takes itself: a kind's report field of the same name
    would reach it twice (a TypeError, an HTTP 500 in intake) instead of as the kind's own."""
    from inspect import Parameter, signature

    from casework.application.lifecycle import LifecycleCommands

    parameters = signature(LifecycleCommands.report_case).parameters.values()
    return {p.name for p in parameters if p.kind is not Parameter.VAR_KEYWORD}


def permissions_of(action: str) -> frozenset[Role] | None:
    """The roles a registered kind lets run `action`, or None if no kind names it."""
    for kind in kinds():
        roles = kind.permissions.get(action)
        if roles is not None:
            return roles
    return None
