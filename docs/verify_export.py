#!/usr/bin/env python3
"""Verify a Casework case-file export without Casework: verify_export.py FILE PUBKEY [ORIGIN]

Needs only Python 3.10+ and the `cryptography` package (for the Ed25519 signature). PUBKEY is
the notary's public key in base64, as `casework notary pubkey` prints it, or a file holding it.
Exit 0: the file is intact; 3: it is not (every problem found is printed); 2: bad arguments.

What it checks (docs/adr/014-a-transparency-log.md):
1. the file is in its one canonical form (so any edited byte shows), hashes are lowercase hex;
2. the checkpoint (log origin, tree size, root, time) is signed by PUBKEY, and is of the log
   ORIGIN when given (`casework checkpoints latest` shows a log's origin);
3. each event's hash is SHA-256 of the canonical JSON of (topic, case id, version, state), its
   prev_hash is the hash before it, and versions run 1, 2, 3, ...;
4. each event's leaf, SHA-256(0x00 || "casework.leaf.v1\\n" case id \\n version \\n hash), is in
   the signed Merkle tree at its position (RFC 9162 section 2.1.3.2).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HEX = re.compile(r"[0-9a-f]{64}")
ORIGIN = re.compile(r"[!-~]{1,200}")


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def included(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: verify an inclusion proof."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def signed(checkpoint: dict, key: bytes) -> bool:
    text = "{format}\n{size}\n{root}\n{at}\n".format(**checkpoint)
    if checkpoint["format"] == "casework.checkpoint.v2":  # the log's origin after the format
        text = "{format}\n{origin}\n{size}\n{root}\n{at}\n".format(**checkpoint)
    signature = base64.b64decode(checkpoint["signature"], validate=True)
    if base64.b64encode(signature).decode() != checkpoint["signature"]:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, text.encode("ascii"))
    except InvalidSignature:
        return False
    return True


def problems(data: bytes, key: bytes, origin: str | None = None) -> list[str]:
    """Everything wrong with an export; empty when it is intact."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return ["not a JSON document"]
    try:
        return check(doc, data, key, origin)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        return [f"malformed export ({type(error).__name__}: {error})"]


def check(doc: dict, data: bytes, key: bytes, origin: str | None) -> list[str]:
    if (canonical(doc) + "\n").encode("ascii") != data:
        return ["not in canonical form (edited after export?)"]
    if doc["format"] != "casework.export.v1":
        return ["format is not casework.export.v1"]
    cp = doc["checkpoint"]
    if cp is None:
        return ["no signed checkpoint"]
    v2 = cp["format"] == "casework.checkpoint.v2"
    if not (v2 or cp["format"] == "casework.checkpoint.v1") or not HEX.fullmatch(cp["root"]):
        return ["checkpoint malformed"]
    if v2 != ("origin" in cp) or (v2 and not ORIGIN.fullmatch(cp["origin"])):
        return ["checkpoint malformed"]
    if not isinstance(cp["size"], int) or isinstance(cp["size"], bool) or cp["size"] < 0:
        return ["checkpoint malformed"]
    if not signed(cp, key):
        return ["checkpoint signature does not verify"]
    if origin is not None and cp.get("origin") != origin:
        return [f"checkpoint is of {cp.get('origin')!r}, not of the log {origin!r}"]
    size, root, case_id = cp["size"], bytes.fromhex(cp["root"]), doc["case_id"]
    found, previous = [], ""
    if not doc["events"]:
        found.append("no events")
    for index, event in enumerate(doc["events"]):
        where, version, digest = f"event {index + 1}", event["version"], event["hash"]
        if version != index + 1:
            found.append(f"{where}: version {version} out of place")
        body = {"topic": event["topic"], "case_id": case_id, "version": version}
        body["state"] = event["state"]
        if (
            not HEX.fullmatch(digest)
            or hashlib.sha256(canonical(body).encode()).hexdigest() != digest
        ):
            found.append(f"{where}: content does not match its hash")
        if event["state"].get("prev_hash") != previous:
            found.append(f"{where}: prev_hash does not match the event before it")
        previous = digest
        if event["proof"] is None or event["position"] is None:
            found.append(f"{where}: not in the checkpoint (newer; export again later)")
            continue
        if not all(isinstance(h, str) and HEX.fullmatch(h) for h in event["proof"]):
            found.append(f"{where}: proof malformed")
            continue
        text = f"casework.leaf.v1\n{case_id}\n{version}\n{digest}".encode("ascii")
        leaf = hashlib.sha256(b"\x00" + text).digest()
        proof = [bytes.fromhex(h) for h in event["proof"]]
        if not included(leaf, event["position"], size, proof, root):
            found.append(f"{where}: not in the signed log at position {event['position']}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    key_text = Path(argv[2]).read_text() if Path(argv[2]).is_file() else argv[2]
    key = base64.b64decode(key_text.strip(), validate=True)
    found = problems(Path(argv[1]).read_bytes(), key, argv[3] if len(argv) == 4 else None)
    for problem in found:
        print(f"TAMPERED: {problem}")
    if not found:
        print("export intact: chained, signed, and every event in the signed log")
    return 3 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
