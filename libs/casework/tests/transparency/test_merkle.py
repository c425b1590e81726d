"""The Merkle tree against RFC 6962's definitions: roots, inclusion and consistency proofs.

A proof does not bind the tree size by itself (RFC 9162's verifiers accept a size whose tree has
the same shape along the path): the size is bound by the signed checkpoint, which carries it.
So "a changed size fails" is checked against the root a tree of that size really has."""

from __future__ import annotations

import hashlib

from casework.transparency.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from hypothesis import given
from hypothesis import strategies as st

leaves = st.lists(st.binary(max_size=8), min_size=1, max_size=40, unique=True)
"""Distinct leaves, as the log's are (each names one case event): with equal leaves a tree of
another size can share a root, which no proof could tell apart."""


def _tree(data: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    for leaf in data:
        tree.append(leaf)
    return tree


def test_hashes_are_rfc_6962s_domain_separated_sha256() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_a_three_leaf_root_is_the_rfc_shape() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert _tree([b"a", b"b", b"c"]).root() == node_hash(node_hash(a, b), c)


@given(leaves)
def test_the_frontier_root_equals_the_recursive_root_after_every_append(data: list[bytes]) -> None:
    tree = MerkleTree()
    for n, leaf in enumerate(data, start=1):
        tree.append(leaf)
        assert tree.root() == root_of([leaf_hash(x) for x in data[:n]])
        assert tree.root_at(n) == tree.root()


@given(leaves, st.data())
def test_every_inclusion_proof_verifies_and_a_change_fails(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = _tree(data)
    size = draw.draw(st.integers(1, len(data)))
    root = tree.root_at(size)
    for index in range(size):
        proof = tree.inclusion_proof(index, size)
        digest = tree.hashes[index]
        assert verify_inclusion(digest, index, size, proof, root)
        assert not verify_inclusion(leaf_hash(data[index] + b"!"), index, size, proof, root)
        if size < tree.size:  # the proof for one size does not place the leaf in the next tree
            assert not verify_inclusion(digest, index, size + 1, proof, tree.root_at(size + 1))
        assert not verify_inclusion(digest, index, size, proof, hashlib.sha256(root).digest())
        if size > 1:
            other = (index + 1) % size
            assert not verify_inclusion(digest, other, size, proof, root) or (
                tree.hashes[other] == digest
            )


@given(leaves, st.data())
def test_every_consistency_proof_verifies_and_a_change_fails(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = _tree(data)
    new = draw.draw(st.integers(1, len(data)))
    old = draw.draw(st.integers(0, new))
    proof = tree.consistency_proof(old, new)
    old_root, new_root = tree.root_at(old), tree.root_at(new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    if 0 < old < new:
        forged = hashlib.sha256(old_root).digest()
        assert not verify_consistency(old, new, forged, new_root, proof)
        assert not verify_consistency(old, new, old_root, hashlib.sha256(new_root).digest(), proof)
        if new < tree.size:  # a proof made for one size does not vouch for the next tree
            later = tree.root_at(new + 1)
            assert not verify_consistency(old, new + 1, old_root, later, proof)
        if old > 1:
            assert not verify_consistency(old - 1, new, old_root, new_root, proof)


@given(leaves, st.data())
def test_a_rewritten_prefix_is_not_consistent(data: list[bytes], draw: st.DataObject) -> None:
    new = len(data)
    old = draw.draw(st.integers(1, new))
    changed = draw.draw(st.integers(0, old - 1))
    rewritten = [*data[:changed], data[changed] + b"!", *data[changed + 1 :]]
    honest, forged = _tree(data), _tree(rewritten)
    proof = forged.consistency_proof(old, new)
    assert not verify_consistency(old, new, honest.root_at(old), forged.root_at(new), proof)


def test_a_root_over_100k_leaves_is_kept_incrementally() -> None:
    tree = MerkleTree()
    for i in range(100_000):
        tree.append(i.to_bytes(4, "big"))
    assert len(tree.frontier) == bin(100_000).count("1")
    tree.append(b"one more")
    proof = tree.inclusion_proof(100_000, tree.size)
    assert len(proof) <= 17
    assert verify_inclusion(tree.hashes[-1], 100_000, tree.size, proof, tree.root())
