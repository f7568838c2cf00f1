//! Known answers from an independent implementation (`crates/proofs/tests/data/tlog/generate.py`,
//! which follows RFC 6962's definitions and checks its own output with RFC
//! 9162's verifiers), for trees of 0 to 64 leaves where leaf i is `leaf-i`.

use super::*;

#[derive(serde::Deserialize)]
struct Vectors {
    leaf_hashes: Vec<String>,
    roots: Vec<String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(serde::Deserialize)]
struct Inclusion {
    index: usize,
    size: usize,
    proof: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Consistency {
    old_size: usize,
    size: usize,
    proof: Vec<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../../tests/data/tlog/vectors.json"))
        .expect("the vectors parse")
}

fn hash(hex: &str) -> Hash {
    hex::decode(hex).expect("hex").try_into().expect("32 bytes")
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("leaf-{i}").as_bytes()))
        .collect()
}

fn hashes(proof: &[String]) -> Vec<Hash> {
    proof.iter().map(|h| hash(h)).collect()
}

/// Every proof with one bit flipped somewhere, one at a time.
fn tampered(proof: &[Hash]) -> impl Iterator<Item = Vec<Hash>> + '_ {
    (0..proof.len() * 32).map(move |byte| {
        let mut changed = proof.to_vec();
        changed[byte / 32][byte % 32] ^= 0x01;
        changed
    })
}

#[test]
fn leaf_hashes_and_roots_match_the_independent_implementation() {
    let v = vectors();
    let all = leaves(64);
    for (i, expected) in v.leaf_hashes.iter().enumerate() {
        assert_eq!(all[i], hash(expected), "leaf {i}");
    }
    for (n, expected) in v.roots.iter().enumerate() {
        assert_eq!(root(&all[..n]), hash(expected), "root of {n} leaves");
    }
    assert_eq!(root(&[]), empty_root());
}

#[test]
fn inclusion_proofs_match_and_verify_and_any_changed_byte_fails() {
    let all = leaves(64);
    let v = vectors();
    assert!(!v.inclusion.is_empty());
    for case in &v.inclusion {
        let tree = &all[..case.size];
        let expected = hashes(&case.proof);
        let proof = inclusion_proof(tree, case.index).unwrap();
        assert_eq!(proof, expected, "PATH({}, D[{}])", case.index, case.size);
        let head = root(tree);
        let (index, size) = (case.index as u64, case.size as u64);
        assert_eq!(
            verify_inclusion(&all[case.index], index, size, &proof, &head),
            Ok(())
        );
        for bad in tampered(&proof) {
            assert!(verify_inclusion(&all[case.index], index, size, &bad, &head).is_err());
        }
        if case.size > 1 {
            let other = (case.index + 1) % case.size;
            assert!(
                verify_inclusion(&all[case.index], other as u64, size, &proof, &head).is_err(),
                "wrong index"
            );
        }
        // A size with another path shape cannot use this proof. (A size with
        // the same shape can: the size is bound by the signed checkpoint.)
        assert!(
            verify_inclusion(&all[case.index], index, 2 * size, &proof, &head).is_err(),
            "twice the size"
        );
        assert!(
            verify_inclusion(&leaf_hash(b"intruder"), index, size, &proof, &head).is_err(),
            "wrong leaf"
        );
    }
}

#[test]
fn consistency_proofs_match_and_verify_and_any_changed_byte_fails() {
    let all = leaves(64);
    let v = vectors();
    assert!(!v.consistency.is_empty());
    for case in &v.consistency {
        let expected = hashes(&case.proof);
        let proof = consistency_proof(&all[..case.size], case.old_size).unwrap();
        assert_eq!(
            proof, expected,
            "PROOF({}, D[{}])",
            case.old_size, case.size
        );
        let (old_root, new_root) = (root(&all[..case.old_size]), root(&all[..case.size]));
        let (old, new) = (case.old_size as u64, case.size as u64);
        assert_eq!(
            verify_consistency(old, new, &old_root, &new_root, &proof),
            Ok(())
        );
        for bad in tampered(&proof) {
            assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
        }
        if old < new {
            let forked =
                root(&[&all[..case.old_size - 1], &[leaf_hash(b"rewritten")][..]].concat());
            assert!(
                verify_consistency(old, new, &forked, &new_root, &proof).is_err(),
                "a rewritten old tree"
            );
        }
    }
}

#[test]
fn out_of_range_requests_are_refused() {
    let all = leaves(5);
    assert_eq!(inclusion_proof(&all, 5), Err(ProofError::OutOfRange));
    assert_eq!(consistency_proof(&all, 6), Err(ProofError::OutOfRange));
    assert_eq!(
        verify_inclusion(&all[0], 5, 5, &[], &root(&all)),
        Err(ProofError::OutOfRange)
    );
    assert_eq!(
        verify_consistency(6, 5, &root(&all), &root(&all), &[]),
        Err(ProofError::OutOfRange)
    );
    assert_eq!(
        verify_consistency(0, 5, &empty_root(), &root(&all), &[]),
        Ok(())
    );
}
