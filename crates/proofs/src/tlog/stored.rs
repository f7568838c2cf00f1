//! The tree as a store keeps it: the hash of every perfect subtree, written
//! once when its last leaf arrives and never changed, plus the frontier (the
//! perfect subtrees a tree of the current size splits into).
//!
//! Appending needs only the frontier, so the sequencer reads nothing but one
//! row; a proof needs at most two hashes per level, so it costs one read of
//! O(log n) stored hashes. [`Plan`] says which ones, and puts the answer together.

use super::{Hash, ProofError, empty_root, node_hash, split};

/// A perfect subtree: the `2^level` leaves from `index * 2^level` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub level: u8,
    pub index: u64,
}

impl Node {
    pub fn new(level: u8, index: u64) -> Node {
        Node { level, index }
    }
}

/// The perfect subtrees of a tree of `size` leaves, largest first: one per
/// set bit of `size`. Enough to append to the tree and to compute its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("a frontier of {size} leaves holds {expected} hashes, not {found}")]
pub struct FrontierError {
    size: u64,
    expected: usize,
    found: usize,
}

impl Frontier {
    pub fn empty() -> Frontier {
        Frontier {
            size: 0,
            hashes: Vec::new(),
        }
    }

    /// Reads a frontier from its size and its hashes concatenated.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Frontier, FrontierError> {
        let expected = size.count_ones() as usize;
        if bytes.len() != expected * 32 {
            return Err(FrontierError {
                size,
                expected,
                found: bytes.len() / 32,
            });
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().expect("chunks of 32"))
            .collect();
        Ok(Frontier { size, hashes })
    }

    /// The hashes concatenated, largest subtree first.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf and reports the perfect subtrees it completes (the
    /// leaf itself first), each of which is to be stored.
    pub fn push(&mut self, leaf: Hash, completed: &mut Vec<(Node, Hash)>) {
        let index = self.size;
        let mut hash = leaf;
        completed.push((Node::new(0, index), hash));
        let mut level = 0;
        while index >> level & 1 == 1 {
            let left = self.hashes.pop().expect("a set bit has its subtree");
            hash = node_hash(&left, &hash);
            level += 1;
            completed.push((Node::new(level, index >> level), hash));
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// `MTH` of the tree: its perfect subtrees folded from the right.
    pub fn root(&self) -> Hash {
        fold(&self.hashes).unwrap_or_else(empty_root)
    }
}

/// Folds the hashes of consecutive perfect subtrees, largest first, into the
/// hash of the range they cover, as RFC 6962 splits it.
fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

/// The perfect subtrees that cover leaves `start..end`, left to right, each as
/// large as its alignment allows. For the ranges of RFC 6962's recursion they
/// shrink from left to right, so [`fold`] gives the range's hash.
pub fn range_nodes(start: u64, end: u64) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut at = start;
    while at < end {
        let aligned = if at == 0 { 63 } else { at.trailing_zeros() };
        let fits = 63 - (end - at).leading_zeros();
        let level = aligned.min(fits);
        nodes.push(Node::new(level as u8, at >> level));
        at += 1 << level;
    }
    nodes
}

/// The stored hashes a proof needs, and how they make it.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Each proof hash is the hash of one range of leaves, in proof order.
    ranges: Vec<(u64, u64)>,
}

impl Plan {
    /// `PATH(index, D[size])` (RFC 6962 §2.1.1).
    pub fn inclusion(index: u64, size: u64) -> Result<Plan, ProofError> {
        if index >= size {
            return Err(ProofError::OutOfRange);
        }
        let mut ranges = Vec::new();
        path(index, 0, size, &mut ranges);
        Ok(Plan { ranges })
    }

    /// `PROOF(old_size, D[size])` (RFC 6962 §2.1.2); empty for equal sizes or an empty old tree.
    pub fn consistency(old_size: u64, size: u64) -> Result<Plan, ProofError> {
        if old_size > size {
            return Err(ProofError::OutOfRange);
        }
        let mut ranges = Vec::new();
        if old_size > 0 {
            subproof(old_size, 0, size, true, &mut ranges);
        }
        Ok(Plan { ranges })
    }

    /// Every stored hash the proof is made of, without repeats.
    pub fn nodes(&self) -> Vec<Node> {
        let mut nodes: Vec<Node> = self
            .ranges
            .iter()
            .flat_map(|&(start, end)| range_nodes(start, end))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// The proof, from the stored hashes; `None` if `lookup` lacks one.
    pub fn assemble(&self, lookup: impl Fn(Node) -> Option<Hash>) -> Option<Vec<Hash>> {
        self.ranges
            .iter()
            .map(|&(start, end)| {
                let hashes = range_nodes(start, end)
                    .into_iter()
                    .map(&lookup)
                    .collect::<Option<Vec<Hash>>>()?;
                fold(&hashes)
            })
            .collect()
    }
}

fn path(m: u64, start: u64, end: u64, ranges: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n as usize) as u64;
    if m < k {
        path(m, start, start + k, ranges);
        ranges.push((start + k, end));
    } else {
        path(m - k, start + k, end, ranges);
        ranges.push((start, start + k));
    }
}

fn subproof(m: u64, start: u64, end: u64, complete: bool, ranges: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if m == n {
        if !complete {
            ranges.push((start, end));
        }
        return;
    }
    let k = split(n as usize) as u64;
    if m <= k {
        subproof(m, start, start + k, complete, ranges);
        ranges.push((start + k, end));
    } else {
        subproof(m - k, start + k, end, false, ranges);
        ranges.push((start, start + k));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::tlog::{consistency_proof, inclusion_proof, leaf_hash, root};

    /// Grows a tree leaf by leaf the way the sequencer does, keeping every stored hash.
    fn grow(n: u64) -> (Frontier, HashMap<Node, Hash>, Vec<Hash>) {
        let mut frontier = Frontier::empty();
        let mut store = HashMap::new();
        let mut leaves = Vec::new();
        let mut completed = Vec::new();
        for i in 0..n {
            let leaf = leaf_hash(format!("leaf-{i}").as_bytes());
            leaves.push(leaf);
            completed.clear();
            frontier.push(leaf, &mut completed);
            for (node, hash) in &completed {
                assert!(
                    store.insert(*node, *hash).is_none(),
                    "{node:?} stored twice"
                );
            }
        }
        (frontier, store, leaves)
    }

    #[test]
    fn every_stored_hash_is_the_root_of_its_subtree() {
        let (_, store, leaves) = grow(100);
        for (node, hash) in &store {
            let start = (node.index << node.level) as usize;
            let end = start + (1 << node.level);
            assert_eq!(*hash, root(&leaves[start..end]), "{node:?}");
        }
        // One per leaf plus one per internal node of each complete subtree.
        assert_eq!(store.len(), (0..=6).map(|l| 100 >> l).sum::<usize>());
    }

    #[test]
    fn the_frontier_gives_the_root_at_every_size_and_round_trips() {
        let mut frontier = Frontier::empty();
        assert_eq!(frontier.root(), empty_root());
        let mut leaves = Vec::new();
        for i in 0..130u32 {
            let leaf = leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            frontier.push(leaf, &mut Vec::new());
            assert_eq!(frontier.root(), root(&leaves), "size {}", leaves.len());
            let read = Frontier::from_bytes(frontier.size(), &frontier.to_bytes()).unwrap();
            assert_eq!(read, frontier);
        }
        assert!(Frontier::from_bytes(3, &[0; 32]).is_err());
    }

    #[test]
    fn planned_proofs_equal_the_recursive_definitions() {
        let (_, store, leaves) = grow(70);
        let lookup = |node: Node| store.get(&node).copied();
        for size in 0..=70 {
            for index in 0..size {
                let plan = Plan::inclusion(index, size).unwrap();
                assert!(plan.nodes().len() <= 2 * 64);
                assert_eq!(
                    plan.assemble(lookup).unwrap(),
                    inclusion_proof(&leaves[..size as usize], index as usize).unwrap(),
                    "inclusion of {index} in {size}"
                );
            }
            for old in 0..=size {
                let plan = Plan::consistency(old, size).unwrap();
                assert_eq!(
                    plan.assemble(lookup).unwrap(),
                    consistency_proof(&leaves[..size as usize], old as usize).unwrap(),
                    "consistency of {old} with {size}"
                );
            }
        }
        assert_eq!(Plan::inclusion(5, 5).unwrap_err(), ProofError::OutOfRange);
        assert_eq!(Plan::consistency(6, 5).unwrap_err(), ProofError::OutOfRange);
    }

    #[test]
    fn proofs_in_a_huge_tree_read_few_hashes() {
        let size = (1u64 << 40) + 12_345;
        let plan = Plan::inclusion(777, size).unwrap();
        assert!(plan.nodes().len() <= 2 * 41, "{}", plan.nodes().len());
        let plan = Plan::consistency(1_000_001, size).unwrap();
        assert!(plan.nodes().len() <= 2 * 41, "{}", plan.nodes().len());
    }

    #[test]
    fn a_missing_hash_is_reported_not_guessed() {
        let (_, mut store, _) = grow(8);
        store.remove(&Node::new(1, 1));
        let plan = Plan::inclusion(0, 8).unwrap();
        assert!(plan.nodes().contains(&Node::new(1, 1)));
        assert!(plan.assemble(|node| store.get(&node).copied()).is_none());
    }
}
