"""The Merkle tree of RFC 6962 §2.1 (RFC 9162 §2.1): hashes, inclusion and consistency proofs.

Why our own code and not a package: the algorithms are short, fixed by the RFC, and must stay
byte-for-byte what `docs/verify_export.py` (stdlib only) recomputes; the packages on PyPI are
unmaintained or pull in a different hash layout. Leaf hash = SHA-256(0x00 || leaf), node hash =
SHA-256(0x01 || left || right), the root of no leaves = SHA-256(""). Proofs are *made* with the
RFC 6962 recursions (PATH, SUBPROOF) and *checked* with RFC 9162's iterative verifiers, so one
cannot hide a mistake in the other.

`MerkleTree` appends leaves keeping the right-edge frontier (one hash per set bit of the size),
so a root after each append costs O(log n), never a rehash of the log; complete, aligned
subtrees are cached so proofs over a large tree stay cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than `n` (n > 1): where RFC 6962 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf *hashes* (RFC 6962's MTH, recursively): the reference the tree must equal."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


class Frontier:
    """The right edge of a tree: the roots of its complete subtrees, largest first (one per set
    bit of the size). Enough to append and to give the root; what the notary keeps and stores."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of {size} leaves has {bin(size).count('1')} hashes")
        self.size = size
        self.hashes = list(hashes)

    def append_hash(self, digest: bytes) -> None:
        n = self.size
        merged = digest
        while n & 1:  # each trailing 1 bit: a complete subtree on the left to merge with
            merged = node_hash(self.hashes.pop(), merged)
            n >>= 1
        self.hashes.append(merged)
        self.size += 1

    def root(self) -> bytes:
        """The root of the whole tree, folding the frontier from its smallest subtree up."""
        if not self.hashes:
            return EMPTY_ROOT
        merged = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            merged = node_hash(left, merged)
        return merged


class MerkleTree:
    """Leaf hashes in order, the right-edge frontier, and a cache of complete subtrees."""

    def __init__(self, hashes: Iterable[bytes] = ()) -> None:
        self.hashes: list[bytes] = []
        self.edge = Frontier()
        self._perfect: dict[tuple[int, int], bytes] = {}
        for digest in hashes:
            self.append_hash(digest)

    @property
    def frontier(self) -> list[bytes]:
        return self.edge.hashes

    @property
    def size(self) -> int:
        return len(self.hashes)

    def append(self, leaf: bytes) -> bytes:
        """Add a leaf (its bytes); its leaf hash."""
        digest = leaf_hash(leaf)
        self.append_hash(digest)
        return digest

    def append_hash(self, digest: bytes) -> None:
        self.hashes.append(digest)
        self.edge.append_hash(digest)

    def root(self) -> bytes:
        return self.edge.root()

    def root_at(self, size: int) -> bytes:
        """The root the tree had when it held `size` leaves."""
        self._check_size(size)
        return self._mth(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size])."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        return self._path(index, 0, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 6962 PROOF(old, D[0:new]); empty when old is 0 or old == new."""
        self._check_size(new)
        if not 0 <= old <= new:
            raise ValueError(f"no consistency proof from {old} to {new}")
        if old == 0 or old == new:
            return []
        return self._subproof(old, 0, new, True)

    # ------------------------------------------------------------------ the recursions

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= len(self.hashes):
            raise ValueError(f"the tree holds {len(self.hashes)} leaves, not {size}")

    def _mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.hashes[start]
        perfect = n & (n - 1) == 0
        if perfect and (start, end) in self._perfect:
            return self._perfect[(start, end)]
        k = _split(n)
        digest = node_hash(self._mth(start, start + k), self._mth(start + k, end))
        if perfect:  # a complete subtree never changes as leaves are appended
            self._perfect[(start, end)] = digest
        return digest

    def _path(self, index: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if index < k:
            return [*self._path(index, start, start + k), self._mth(start + k, end)]
        return [*self._path(index - k, start + k, end), self._mth(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self._mth(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, whole), self._mth(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._mth(start, start + k)]


def verify_inclusion(
    leaf_digest: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` put the leaf hash at `index` of the tree with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_digest
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `new` leaves with `new_root` an extension of the one of
    `old` leaves with `old_root`? (From an empty tree anything is, with an empty proof.)"""
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if old == new:
        return not proof and old_root == new_root
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
