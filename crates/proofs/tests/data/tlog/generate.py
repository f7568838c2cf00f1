#!/usr/bin/env python3
"""Independent reference implementation of RFC 6962 / RFC 9162 Merkle tree
hashing, used to generate known-answer test vectors (vectors.json).

Generation follows the recursive definitions of RFC 6962 section 2.1
(equivalently RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1) literally; no
iterative or cached shortcuts are used.

Every generated proof is then checked with the independent verification
algorithms of RFC 9162 section 2.1.3.2 (inclusion) and section 2.1.4.2
(consistency) against the generated roots. The script aborts if any check
fails, so the vectors written are known to be self-consistent.

Leaf i's data is the ASCII string "leaf-{i}". Standard library only.

Usage: python3 generate.py   (writes vectors.json next to this script)
"""

import hashlib
import json
import os
import sys

NUM_LEAVES = 64
# Fallback size set, used only if the full cross product would be too large.
LIMIT_BYTES = 3 * 1024 * 1024
REDUCED_SIZES = list(range(1, 33)) + [40, 47, 48, 63, 64]


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_data(i):
    return ("leaf-%d" % i).encode("ascii")


def largest_pow2_less_than(n):
    """The largest power of two k with k < n (requires n > 1), so k < n <= 2k."""
    assert n > 1
    k = 1
    while k * 2 < n:
        k *= 2
    return k


# --- RFC 6962 section 2.1: Merkle Tree Hash ------------------------------------

def mth(d):
    """MTH(D[n]) for a list d of leaf data byte strings."""
    n = len(d)
    if n == 0:
        return sha256(b"")                       # MTH({}) = SHA-256()
    if n == 1:
        return sha256(b"\x00" + d[0])            # MTH({d0}) = SHA-256(0x00 || d0)
    k = largest_pow2_less_than(n)
    return sha256(b"\x01" + mth(d[0:k]) + mth(d[k:n]))


# --- RFC 6962 section 2.1.1: Merkle Audit Paths --------------------------------

def path(m, d):
    """PATH(m, D[n]): list of hashes (leaf-to-root order)."""
    n = len(d)
    assert 0 <= m < n
    if n == 1:
        return []                                # PATH(0, {d0}) = {}
    k = largest_pow2_less_than(n)
    if m < k:
        return path(m, d[0:k]) + [mth(d[k:n])]
    return path(m - k, d[k:n]) + [mth(d[0:k])]


# --- RFC 6962 section 2.1.2: Merkle Consistency Proofs -------------------------

def subproof(m, d, b):
    """SUBPROOF(m, D[n], b)."""
    n = len(d)
    assert 0 < m <= n
    if m == n:
        if b:
            return []                            # SUBPROOF(m, D[m], true) = {}
        return [mth(d)]                          # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    k = largest_pow2_less_than(n)
    if m <= k:
        return subproof(m, d[0:k], b) + [mth(d[k:n])]
    return subproof(m - k, d[k:n], False) + [mth(d[0:k])]


def proof(m, d):
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return subproof(m, d, True)


# --- RFC 9162 section 2.1.3.2: verifying an inclusion proof ---------------------

def node(left, right):
    return sha256(b"\x01" + left + right)


def verify_inclusion(leaf_index, tree_size, leaf_hash, inclusion_path, root_hash):
    # 1. leaf_index must be < tree_size.
    if leaf_index >= tree_size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn = leaf_index
    sn = tree_size - 1
    # 3. r = hash.
    r = leaf_hash
    # 4. For each value p in inclusion_path:
    for p in inclusion_path:
        # a. If sn is 0, fail.
        if sn == 0:
            return False
        # b.
        if (fn & 1) == 1 or fn == sn:
            r = node(p, r)
            if (fn & 1) == 0:
                while not ((fn & 1) == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        # c. Right-shift both fn and sn once.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r must equal root_hash.
    return sn == 0 and r == root_hash


# --- RFC 9162 section 2.1.4.2: verifying consistency between two tree heads -----

def verify_consistency(first, second, first_hash, second_hash, consistency_path):
    # The RFC 9162 algorithm is specified for 0 < first < second. For
    # first == second the proof is empty (RFC 6962 section 2.1.2) and the
    # heads must simply be identical.
    if first == second:
        return len(consistency_path) == 0 and first_hash == second_hash
    if not (0 < first < second):
        return False
    path_ = list(consistency_path)
    # 1. An empty consistency_path fails.
    if len(path_) == 0:
        return False
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path_ = [first_hash] + path_
    # 3. fn = first - 1, sn = second - 1.
    fn = first - 1
    sn = second - 1
    # 4. If LSB(fn) is set, right-shift fn and sn until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = first value of the path.
    fr = path_[0]
    sr = path_[0]
    # 6. For each subsequent value c:
    for c in path_[1:]:
        # a. If sn is 0, fail.
        if sn == 0:
            return False
        # b.
        if (fn & 1) == 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if (fn & 1) == 0:
                while not ((fn & 1) == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        # c. Right-shift both fn and sn once.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash, sn == 0.
    return fr == first_hash and sr == second_hash and sn == 0


def flip(h):
    """Return h with one bit changed (used for negative self-checks)."""
    return bytes([h[0] ^ 0x01]) + h[1:]


def fail(msg):
    sys.stderr.write("SELF-CHECK FAILED: %s\n" % msg)
    sys.exit(1)


def build(sizes, leaves, roots):
    inclusion = []
    consistency = []
    for n in sizes:
        d = leaves[:n]
        for m in range(n):
            inclusion.append({"index": m, "size": n, "proof": path(m, d)})
        for m in range(1, n + 1):
            consistency.append({"old_size": m, "size": n, "proof": proof(m, d)})
    return inclusion, consistency


def self_check(leaf_hashes, roots, inclusion, consistency):
    for e in inclusion:
        m, n, p = e["index"], e["size"], e["proof"]
        if not verify_inclusion(m, n, leaf_hashes[m], p, roots[n]):
            fail("inclusion index=%d size=%d" % (m, n))
        # Negative checks: the verifier must reject corrupted inputs.
        if verify_inclusion(m, n, flip(leaf_hashes[m]), p, roots[n]):
            fail("inclusion accepted corrupted leaf, index=%d size=%d" % (m, n))
        if p and verify_inclusion(m, n, leaf_hashes[m], [flip(p[0])] + p[1:], roots[n]):
            fail("inclusion accepted corrupted path, index=%d size=%d" % (m, n))
        if n > 1 and verify_inclusion((m + 1) % n, n, leaf_hashes[m], p, roots[n]):
            # A different index can only verify if the leaf hashes coincide,
            # which they do not for distinct leaves.
            fail("inclusion accepted wrong index, index=%d size=%d" % (m, n))
    for e in consistency:
        m, n, p = e["old_size"], e["size"], e["proof"]
        if m == n and p:
            fail("consistency proof for m == n must be empty (size=%d)" % n)
        if not verify_consistency(m, n, roots[m], roots[n], p):
            fail("consistency old_size=%d size=%d" % (m, n))
        if verify_consistency(m, n, flip(roots[m]), roots[n], p):
            fail("consistency accepted corrupted old root, old=%d size=%d" % (m, n))
        if verify_consistency(m, n, roots[m], flip(roots[n]), p):
            fail("consistency accepted corrupted new root, old=%d size=%d" % (m, n))
        if p and verify_consistency(m, n, roots[m], roots[n], [flip(p[0])] + p[1:]):
            fail("consistency accepted corrupted path, old=%d size=%d" % (m, n))


def to_hex(entries):
    out = []
    for e in entries:
        e2 = dict(e)
        e2["proof"] = [h.hex() for h in e["proof"]]
        out.append(e2)
    return out


def render(doc):
    return json.dumps(doc, indent=2) + "\n"


def main():
    leaves = [leaf_data(i) for i in range(NUM_LEAVES)]
    leaf_hashes = [sha256(b"\x00" + x) for x in leaves]
    roots = [mth(leaves[:n]) for n in range(NUM_LEAVES + 1)]

    # Basic sanity checks on the hash definitions themselves.
    if roots[0] != hashlib.sha256(b"").digest():
        fail("MTH({}) != SHA-256()")
    if roots[0].hex() != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855":
        fail("SHA-256 of empty string mismatch")
    for i in range(NUM_LEAVES):
        if mth([leaves[i]]) != leaf_hashes[i]:
            fail("leaf hash %d" % i)

    base_desc = ("RFC 6962 Merkle tree vectors; leaf i is the ASCII string leaf-i. "
                 "Generated by generate.py.")

    full_sizes = list(range(1, NUM_LEAVES + 1))
    inclusion, consistency = build(full_sizes, leaves, roots)
    self_check(leaf_hashes, roots, inclusion, consistency)
    doc = {
        "description": base_desc,
        "leaf_hashes": [h.hex() for h in leaf_hashes],
        "roots": [h.hex() for h in roots],
        "inclusion": to_hex(inclusion),
        "consistency": to_hex(consistency),
    }
    text = render(doc)

    if len(text.encode("utf-8")) > LIMIT_BYTES:
        inclusion, consistency = build(REDUCED_SIZES, leaves, roots)
        self_check(leaf_hashes, roots, inclusion, consistency)
        doc = {
            "description": base_desc + (
                " inclusion and consistency are limited to tree sizes n in 1..=32 "
                "and {40, 47, 48, 63, 64}, with every index/old_size m for each n."),
            "leaf_hashes": [h.hex() for h in leaf_hashes],
            "roots": [h.hex() for h in roots],
            "inclusion": to_hex(inclusion),
            "consistency": to_hex(consistency),
        }
        text = render(doc)

    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
    with open(out_path, "w", encoding="ascii", newline="\n") as f:
        f.write(text)

    print("self-check passed: %d leaf_hashes, %d roots, %d inclusion proofs, "
          "%d consistency proofs verified; wrote %s (%d bytes)"
          % (len(leaf_hashes), len(roots), len(inclusion), len(consistency),
             out_path, len(text.encode("ascii"))))


if __name__ == "__main__":
    main()
