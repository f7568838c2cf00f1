//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): where a log's hashes and
//! entries are published, and what those resources hold.
//!
//! A hash tile at level `L`, index `N` holds the hashes of the perfect
//! subtrees of height `8·L` numbered `N·256` on, 32 bytes each: 256 of them
//! when full, fewer (`.p/W`) at the right edge of a tree. An entry bundle
//! holds the entries `N·256` on, each after its length as a big-endian `u16`.

use std::ops::Range;

use super::stored::Node;

/// Hashes (or entries) per full tile.
pub const WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const HEIGHT: u8 = 8;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tile {
    /// `tile/<L>/<N>[.p/<W>]`.
    Hashes { level: u8, index: u64, width: u16 },
    /// `tile/entries/<N>[.p/<W>]`.
    Entries { index: u64, width: u16 },
}

impl Tile {
    /// Reads the part of a path after `tile/`; `None` for anything the spec does not spell that way.
    pub fn parse(path: &str) -> Option<Tile> {
        let (kind, rest) = path.split_once('/')?;
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => (index, parse_width(width)?),
            None => (rest, WIDTH as u16),
        };
        let index = parse_index(index)?;
        if kind == "entries" {
            return Some(Tile::Entries { index, width });
        }
        let level = parse_decimal(kind).filter(|level| *level < 64)? as u8;
        // Tiles above level 7 would start beyond any 64-bit tree size.
        if level >= 8 {
            return None;
        }
        Some(Tile::Hashes {
            level,
            index,
            width,
        })
    }

    /// The path after `tile/`.
    pub fn path(&self) -> String {
        let (kind, index, width) = match *self {
            Tile::Hashes {
                level,
                index,
                width,
            } => (level.to_string(), index, width),
            Tile::Entries { index, width } => ("entries".to_owned(), index, width),
        };
        let mut path = format!("{kind}/{}", format_index(index));
        if u64::from(width) < WIDTH {
            path.push_str(&format!(".p/{width}"));
        }
        path
    }

    /// The stored hashes a hash tile is made of, left to right.
    pub fn nodes(&self) -> Option<(u8, std::ops::Range<u64>)> {
        match *self {
            Tile::Hashes {
                level,
                index,
                width,
            } => {
                let start = index.checked_mul(WIDTH)?;
                Some((level * HEIGHT, start..start.checked_add(u64::from(width))?))
            }
            Tile::Entries { .. } => None,
        }
    }

    /// Whether a tree of `size` leaves has everything this tile holds. A
    /// partial tile exists for every width up to what the tree has, so a
    /// client holding an older checkpoint still finds it.
    pub fn exists_in(&self, size: u64) -> bool {
        let (available, index, width) = match *self {
            Tile::Hashes {
                level,
                index,
                width,
            } => (nodes_at(size, level * HEIGHT), index, width),
            Tile::Entries { index, width } => (size, index, width),
        };
        index
            .checked_mul(WIDTH)
            .and_then(|start| start.checked_add(u64::from(width)))
            .is_some_and(|end| end <= available)
    }
}

/// How many perfect subtrees of height `level` a tree of `size` leaves has.
fn nodes_at(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level)).unwrap_or(0)
}

/// Where a client of a tree of `size` leaves finds what `node`'s hash is
/// made of: the hash tile to fetch (as wide as that tree has it), and which
/// of its hashes form the perfect subtree (their RFC 6962 root is the node's
/// hash). `None` if the tree does not hold the whole subtree.
pub fn tile_for(node: Node, size: u64) -> Option<(Tile, Range<usize>)> {
    let level = node.level / HEIGHT;
    let below = u32::from(node.level % HEIGHT);
    let first = node.index.checked_shl(below)?;
    let count = 1u64 << below;
    let available = nodes_at(size, level * HEIGHT);
    if first.checked_add(count)? > available {
        return None;
    }
    let index = first / WIDTH;
    let width = (available - index * WIDTH).min(WIDTH) as u16;
    let offset = (first - index * WIDTH) as usize;
    Some((
        Tile::Hashes {
            level,
            index,
            width,
        },
        offset..offset + count as usize,
    ))
}

/// `1234067` → `x001/x234/067`.
pub fn format_index(index: u64) -> String {
    let digits = index.to_string();
    let padded = format!("{digits:0>width$}", width = digits.len().div_ceil(3) * 3);
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .map(|group| std::str::from_utf8(group).expect("ASCII digits"))
        .collect();
    let (last, rest) = groups.split_last().expect("at least one group");
    rest.iter()
        .map(|group| format!("x{group}/"))
        .chain(std::iter::once((*last).to_owned()))
        .collect()
}

fn parse_index(path: &str) -> Option<u64> {
    let mut groups: Vec<&str> = path.split('/').collect();
    let last = groups.pop()?;
    let mut digits = String::new();
    for group in groups {
        let group = group.strip_prefix('x').filter(|g| is_group(g))?;
        digits.push_str(group);
    }
    if !is_group(last) {
        return None;
    }
    digits.push_str(last);
    // Leading groups of zeros would give one index two paths.
    if digits.len() > 3 && digits.starts_with("000") {
        return None;
    }
    digits.parse().ok()
}

fn is_group(group: &str) -> bool {
    group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit())
}

fn parse_width(text: &str) -> Option<u16> {
    parse_decimal(text)
        .filter(|width| (1..WIDTH).contains(width))
        .map(|width| width as u16)
}

/// Decimal with no sign and no leading zeros.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// An entry bundle: each entry after its length, big-endian `u16`.
pub fn bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let length = u16::try_from(entry.len()).expect("log entries are shorter than 64 KiB");
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(entry);
    }
    out
}

/// The entries of a bundle; `None` if it is cut short.
pub fn unbundle(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let (length, rest) = bytes.split_first_chunk::<2>()?;
        let length = usize::from(u16::from_be_bytes(*length));
        if rest.len() < length {
            return None;
        }
        let (entry, rest) = rest.split_at(length);
        entries.push(entry);
        bytes = rest;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_written_in_groups_of_three_digits() {
        assert_eq!(format_index(0), "000");
        assert_eq!(format_index(67), "067");
        assert_eq!(format_index(1000), "x001/000");
        assert_eq!(format_index(1_234_067), "x001/x234/067");
        for index in [0, 5, 999, 1000, 123_456_789, u64::MAX / 256] {
            assert_eq!(parse_index(&format_index(index)), Some(index));
        }
    }

    #[test]
    fn paths_parse_as_the_spec_spells_them_and_nothing_else() {
        assert_eq!(
            Tile::parse("0/x001/x234/067"),
            Some(Tile::Hashes {
                level: 0,
                index: 1_234_067,
                width: 256
            })
        );
        assert_eq!(
            Tile::parse("1/000.p/17"),
            Some(Tile::Hashes {
                level: 1,
                index: 0,
                width: 17
            })
        );
        assert_eq!(
            Tile::parse("entries/x001/002.p/255"),
            Some(Tile::Entries {
                index: 1002,
                width: 255
            })
        );
        for bad in [
            "0/1",
            "0/0001",
            "0/x000/001",
            "00/000",
            "8/000",
            "64/000",
            "0/001.p/0",
            "0/001.p/256",
            "0/001.p/07",
            "0/x1/001",
            "0/001/",
            "entries/",
            "0/-01",
            "0/00a",
            "x/000",
        ] {
            assert_eq!(Tile::parse(bad), None, "{bad}");
        }
        for tile in [
            Tile::Hashes {
                level: 2,
                index: 1_234_067,
                width: 9,
            },
            Tile::Entries {
                index: 7,
                width: 256,
            },
        ] {
            assert_eq!(Tile::parse(&tile.path()), Some(tile));
        }
    }

    #[test]
    fn tiles_exist_once_the_tree_covers_them() {
        // The spec's example: a tree of 70,000 leaves.
        let size = 70_000;
        let full = |level, index| Tile::Hashes {
            level,
            index,
            width: 256,
        };
        let partial = |level, index, width| Tile::Hashes {
            level,
            index,
            width,
        };
        assert!(full(0, 272).exists_in(size));
        assert!(!full(0, 273).exists_in(size));
        assert!(partial(0, 273, 112).exists_in(size));
        assert!(!partial(0, 273, 113).exists_in(size));
        assert!(full(1, 0).exists_in(size));
        assert!(partial(1, 1, 17).exists_in(size));
        assert!(partial(2, 0, 1).exists_in(size));
        assert!(!partial(2, 0, 2).exists_in(size));
        assert!(!partial(3, 0, 1).exists_in(size));
        assert!(
            Tile::Entries {
                index: 273,
                width: 112
            }
            .exists_in(size)
        );
        assert_eq!(full(1, 2).nodes(), Some((8, 512..768)));
    }

    #[test]
    fn every_stored_hash_can_be_rebuilt_from_tiles() {
        use crate::tlog::stored::Frontier;
        use crate::tlog::{leaf_hash, root};
        let size = 70_000u64;
        let mut frontier = Frontier::empty();
        let mut stored = std::collections::HashMap::new();
        let mut completed = Vec::new();
        for i in 0..size {
            completed.clear();
            frontier.push(leaf_hash(&i.to_be_bytes()), &mut completed);
            stored.extend(completed.iter().copied());
        }
        // A tile is the stored hashes of its level, as the server serves it.
        let tile_bytes = |tile: Tile| -> Vec<[u8; 32]> {
            let (level, range) = tile.nodes().unwrap();
            range.map(|i| stored[&Node::new(level, i)]).collect()
        };
        for (node, hash) in &stored {
            let (tile, within) = tile_for(*node, size).unwrap();
            assert!(tile.exists_in(size), "{node:?} → {tile:?}");
            assert_eq!(root(&tile_bytes(tile)[within]), *hash, "{node:?}");
        }
        assert_eq!(tile_for(Node::new(17, 0), size), None);
        assert_eq!(tile_for(Node::new(0, size), size), None);
    }

    #[test]
    fn bundles_round_trip_and_refuse_truncation() {
        let entries: [&[u8]; 3] = [b"one", b"", b"three"];
        let bytes = bundle(entries);
        assert_eq!(&bytes[..5], b"\x00\x03one");
        assert_eq!(unbundle(&bytes).unwrap(), entries);
        assert_eq!(unbundle(&bytes[..bytes.len() - 1]), None);
        assert_eq!(unbundle(&[0]), None);
    }
}
