"""The verify line of a case-file page: the events shown, checked, and the checkpoint they were
checked against.

A page as of event N shows events 1..N, so it verifies those: their hash chain from the first
(`casework.audit.verify_events` over the first N stored events), then each one's inclusion in the
transparency log's latest signed checkpoint (RFC 6962 proofs recomputed from the log's leaves and
checked against the *signed* root, `casework.transparency`). When no checkpoint covers the shown
events yet the page says so, instead of claiming more than was checked. The checkpoint's
signature is checked when the intake is given the notary's public key (`INTAKE_NOTARY_PUBKEY`);
otherwise the page says it was not, and how an auditor checks it away from the server.

The leaves' Merkle tree is the one the exports prove against (`exports.signed_tree`): one per
store and process, extended by the leaf rows signed since it was last used (only those are read
and hashed), and built again from the table when it does not give the signed root; the page
checks that root again before it trusts a proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from casework.audit import verify_events
from casework.transparency.checkpoints import Checkpoint
from casework.transparency.exports import signed_tree
from casework.transparency.leaves import leaf_of
from casework.transparency.merkle import verify_inclusion
from casework.transparency.tables import tables_for
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from intake.web.readable import moment


@dataclass(frozen=True)
class ShownCheck:
    ok: bool
    """The shown events' hash chain is unbroken (the log's verdict is `log_state`)."""
    text: str
    log_state: str
    """'proven' (in a checkpoint), 'uncovered' (no checkpoint covers them yet) or 'failed'."""
    log_text: str
    later_text: str = ""
    """When the page is as of an earlier event: how the rest of the file stands, if broken."""


def check_shown(app: Any, case_id: UUID, version: int, key: Ed25519PublicKey | None) -> ShownCheck:
    """Events 1..`version` of the case: chained, and in the latest signed checkpoint."""
    stored = list(app.recorder.select_events(case_id))
    shown = stored[:version]
    part = f"events 1–{version} shown" if version < len(stored) else f"all {version} events"
    chain = verify_events(case_id, shown, app.mapper)
    later = ""
    if version < len(stored):
        whole = verify_events(case_id, stored, app.mapper)
        if not whole.ok:
            later = (
                f"the rest of the file does not verify: 被篡改 TAMPERED at event "
                f"{whole.position}: {whole.problem}"
            )
    if not chain.ok:
        return ShownCheck(
            False,
            f"被篡改 TAMPERED at event {chain.position} ({part}): {chain.problem}",
            "failed",
            "not checked against the transparency log: the chain is already broken",
            later,
        )
    text = f"完整 intact: {part}, hash chain unbroken (head {chain.head[:12]})"
    state, log_text = _in_log(app, case_id, shown, key)
    return ShownCheck(True, text, state, log_text, later)


def _in_log(
    app: Any, case_id: UUID, shown: list[Any], key: Ed25519PublicKey | None
) -> tuple[str, str]:
    tables = tables_for(app)
    checkpoint = tables.latest()
    if checkpoint is None:
        return (
            "uncovered",
            "no signed checkpoint of the transparency log yet (the notary has not signed one): "
            "these events are checked by their hash chain only",
        )
    name = _name(checkpoint)
    positions = tables.positions(case_id)
    newer = [
        s.originator_version
        for s in shown
        if positions.get(s.originator_version, checkpoint.size) >= checkpoint.size
    ]
    if newer:
        first = newer[0]
        return (
            "uncovered",
            f"not yet in a signed checkpoint: event {first}"
            + (f"–{newer[-1]}" if len(newer) > 1 else "")
            + f" came after the latest, {name}; those events are checked by their hash chain "
            "only until the notary signs the next one",
        )
    signature = _signature(checkpoint, key)
    if signature is None:
        return "failed", f"被篡改 TAMPERED: {name} — its signature does not verify"
    tree = signed_tree(tables, checkpoint)
    if tree.root_at(checkpoint.size) != checkpoint.root:
        return (
            "failed",
            f"被篡改 TAMPERED: the log's leaves do not give the signed root of {name}",
        )
    for stored in shown:
        leaf = leaf_of(app.mapper, stored)
        position = positions[stored.originator_version]
        proof = tree.inclusion_proof(position, checkpoint.size)
        if not verify_inclusion(leaf.digest(), position, checkpoint.size, proof, checkpoint.root):
            return (
                "failed",
                f"被篡改 TAMPERED: event {stored.originator_version} is not the one {name} signed "
                f"at log position {position}",
            )
    return (
        "proven",
        f"in the transparency log: each of the {len(shown)} events shown is included in {name} "
        f"(inclusion proofs against its root {checkpoint.root.hex()[:12]}); {signature}",
    )


def _name(checkpoint: Checkpoint) -> str:
    size = checkpoint.size
    return f"checkpoint {size} (the log's first {size} events, signed {moment(checkpoint.at)})"


def _signature(checkpoint: Checkpoint, key: Ed25519PublicKey | None) -> str | None:
    """What was checked of the signature; None when it does not verify."""
    if key is None:
        return (
            "signature not checked here (no notary public key set, INTAKE_NOTARY_PUBKEY): check "
            "it away from the server with `casework export` and `casework verify-file --pubkey`"
        )
    if not checkpoint.signed_by(key):
        return None
    return "signature verified with the notary's public key"
