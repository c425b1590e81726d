"""Checking the store against signed checkpoints, and the checkpoints against each other.

`check_store`: the checkpoint's signature must verify under the auditor's public key; then the
leaves are rebuilt *from the events* (the notification log, case events only, in order) and must
give the signed root. When they do not, the first leaf that differs is named from the log's own
leaf table, provided those leaves give the signed root (then they are what the notary saw); a
store whose leaf table was rewritten too is still TAMPERED, only with less to point at.

`check_checkpoints`: every checkpoint is signed, and each extends the one before it (an RFC 6962
consistency proof between their sizes, made from the leaf table): the log only grew.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from casework.stored_check import stored_checker
from casework.transparency.chains import ChainWalk, case_notifications
from casework.transparency.checkpoints import Checkpoint
from casework.transparency.leaves import Leaf, leaf_from
from casework.transparency.merkle import MerkleTree, verify_consistency
from casework.transparency.tables import tables_for


@dataclass(frozen=True)
class LogCheck:
    ok: bool
    size: int
    message: str

    def describe(self) -> str:
        return self.message if self.ok else f"TAMPERED: {self.message}"


def stored_leaves(app: object, walk: ChainWalk | None = None, page: int = 1000) -> Iterator[Leaf]:
    """Every case event's leaf, rebuilt from the stored events in notification order; each
    event decoded once, and given to `walk` (the chains) when there is one."""
    recorder, mapper = app.recorder, app.mapper  # type: ignore[attr-defined]
    check = stored_checker(mapper)
    for notification in case_notifications(recorder, page):
        checked = check(notification)
        leaf = leaf_from(notification, checked[0])
        if walk is not None:
            walk.add(leaf.case_id, notification, checked)
        yield leaf


def check_store(
    app: object, checkpoint: Checkpoint, key: Ed25519PublicKey, walk: ChainWalk | None = None
) -> LogCheck:
    """The store against a checkpoint; with `walk`, every chain checked in the same pass (the
    whole log is read then, also past the checkpoint)."""
    size = checkpoint.size
    if not checkpoint.signed_by(key):
        return LogCheck(False, size, f"checkpoint of {size} events: signature does not verify")
    named = tables_for(app).origin()
    if checkpoint.origin and named is not None and checkpoint.origin != named[0]:
        return LogCheck(
            False,
            size,
            f"checkpoint {_name(checkpoint)} is of the log {checkpoint.origin!r}; this store's "
            f"log is {named[0]!r} (another deployment's checkpoint?)",
        )
    found: list[Leaf] = []
    tree = MerkleTree()
    for leaf in stored_leaves(app, walk):
        if tree.size == size:
            if walk is None:
                break
            continue
        found.append(leaf)
        tree.append_hash(leaf.digest())
    if tree.size == size and tree.root() == checkpoint.root:
        return LogCheck(
            True, size, f"log intact: {size} events match checkpoint {_name(checkpoint)}"
        )
    return LogCheck(False, size, _first_difference(app, checkpoint, found))


def _name(checkpoint: Checkpoint) -> str:
    where = f" of {checkpoint.origin}" if checkpoint.origin else ""
    return f"{checkpoint.size}@{checkpoint.at.isoformat(timespec='seconds')}{where}"


def _first_difference(app: object, checkpoint: Checkpoint, found: list[Leaf]) -> str:
    logged = tables_for(app).leaves(checkpoint.size)
    trusted = len(logged) == checkpoint.size and (
        MerkleTree(leaf.digest() for leaf in logged).root() == checkpoint.root
    )
    if not trusted:
        where = next(
            (i for i, (a, b) in enumerate(zip(found, logged, strict=False)) if a != b), None
        )
        hint = (
            f"; first mismatch with the log table at {found[where].names()}"
            if where is not None
            else ""
        )
        return (
            f"the events do not give the root of checkpoint {_name(checkpoint)}, and the log's "
            f"leaf table does not either (rewritten too){hint}"
        )
    present = {(leaf.case_id, leaf.version) for leaf in found}
    for position, expected in enumerate(logged):
        actual = found[position] if position < len(found) else None
        if actual == expected:
            continue
        if (expected.case_id, expected.version) not in present:
            return f"{expected.names()} is missing (removed; log position {position})"
        assert actual is not None  # the expected event is present, so not every one ran out
        if (actual.case_id, actual.version) == (expected.case_id, expected.version):
            return (
                f"{expected.names()} differs from the one signed "
                f"(rewritten; log position {position})"
            )
        return (
            f"{expected.names()} is not at log position {position}; {actual.names()} is "
            "(removed, inserted or reordered)"
        )
    return f"the events do not give the root of checkpoint {_name(checkpoint)}"


def check_checkpoints(
    app: object, key: Ed25519PublicKey, checkpoints: list[Checkpoint] | None = None
) -> list[LogCheck]:
    """One line per checkpoint: signed, and consistent with the one before it. `checkpoints`:
    those kept elsewhere (the JetStream stream), checked against this store's leaves; by
    default the store's own."""
    tables = tables_for(app)
    checkpoints = tables.checkpoints() if checkpoints is None else checkpoints
    if not checkpoints:
        return []
    tree = MerkleTree(leaf.digest() for leaf in tables.leaves(checkpoints[-1].size))
    results: list[LogCheck] = []
    previous: Checkpoint | None = None
    for checkpoint in checkpoints:
        results.append(_extends(tree, previous, checkpoint, key))
        previous = checkpoint
    return results


def _extends(
    tree: MerkleTree, previous: Checkpoint | None, checkpoint: Checkpoint, key: Ed25519PublicKey
) -> LogCheck:
    name = _name(checkpoint)
    if not checkpoint.signed_by(key):
        return LogCheck(False, checkpoint.size, f"checkpoint {name}: signature does not verify")
    if checkpoint.size > tree.size:
        return LogCheck(
            False, checkpoint.size, f"checkpoint {name}: the log holds only {tree.size} leaves"
        )
    if previous is None:
        ok = tree.root_at(checkpoint.size) == checkpoint.root
        return LogCheck(
            ok,
            checkpoint.size,
            f"checkpoint {name}: "
            + ("first, matches the log" if ok else "does not match the log's leaves"),
        )
    proof = tree.consistency_proof(previous.size, checkpoint.size)
    ok = verify_consistency(previous.size, checkpoint.size, previous.root, checkpoint.root, proof)
    said = f"extends {_name(previous)}" if ok else f"does NOT extend {_name(previous)}"
    return LogCheck(ok, checkpoint.size, f"checkpoint {name}: {said}")
