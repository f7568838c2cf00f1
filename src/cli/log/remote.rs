//! The log as a monitor sees it: C2SP tlog-tiles fetched over HTTP(S), and
//! what can be rebuilt from them (proof hashes, the tree's right edge).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use anyhow::{Context, anyhow};

use super::Inconsistent;
use crate::proofs::tlog::stored::{Frontier, Node, Plan, range_nodes};
use crate::proofs::tlog::tiles::{Tile, WIDTH, tile_for, unbundle};
use crate::proofs::tlog::{self, Hash};

/// One log's tlog-tiles prefix (`…/log`) and the HTTP client that reads it.
pub struct Remote {
    http: ureq::Agent,
    pub prefix: String,
}

impl Remote {
    pub fn new(prefix: String) -> Remote {
        // Proxies come from the environment (ALL_PROXY, HTTPS_PROXY), as for curl.
        let http = ureq::Agent::config_builder()
            .user_agent(concat!("securestamp-monitor/", env!("CARGO_PKG_VERSION")))
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Remote { http, prefix }
    }

    /// The verifier key the server publishes beside its log.
    pub fn published_key(&self) -> anyhow::Result<String> {
        let server = self.prefix.trim_end_matches("/log");
        Ok(self
            .text(&format!("{server}/keys/log.vkey"))?
            .trim()
            .to_owned())
    }

    /// The signed checkpoint, as served.
    pub fn checkpoint(&self) -> anyhow::Result<String> {
        self.text(&format!("{}/checkpoint", self.prefix))
    }

    /// The hashes of `plan`'s proof in the tree of `size` leaves, rebuilt
    /// from the hash tiles.
    pub fn proof(&self, plan: &Plan, size: u64) -> anyhow::Result<Vec<Hash>> {
        let hashes = self.node_hashes(plan.nodes(), size)?;
        plan.assemble(|node| hashes.get(&node).copied())
            .ok_or_else(|| anyhow!("a proof hash is missing from the tiles"))
    }

    /// The frontier of the tree of `size` leaves, from the hash tiles; the
    /// caller checks its root against a checkpoint.
    pub fn frontier(&self, size: u64) -> anyhow::Result<Frontier> {
        let nodes = range_nodes(0, size);
        let hashes = self.node_hashes(nodes.clone(), size)?;
        let bytes: Vec<u8> = nodes.iter().flat_map(|node| hashes[node]).collect();
        Frontier::from_bytes(size, &bytes).map_err(|e| anyhow!("{e}"))
    }

    /// The hashes of perfect subtrees of the tree of `size` leaves, each
    /// rebuilt from the hash tile that holds it; each tile is fetched once.
    fn node_hashes(
        &self,
        nodes: impl IntoIterator<Item = Node>,
        size: u64,
    ) -> anyhow::Result<HashMap<Node, Hash>> {
        let mut tiles: HashMap<Tile, Vec<Hash>> = HashMap::new();
        let mut hashes = HashMap::new();
        for node in nodes {
            let (tile, within) =
                tile_for(node, size).ok_or_else(|| anyhow!("{node:?} is outside the tree"))?;
            let hashes_of_tile = match tiles.entry(tile) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.hash_tile(tile)?),
            };
            hashes.insert(node, tlog::root(&hashes_of_tile[within]));
        }
        Ok(hashes)
    }

    /// Reads the entries after `frontier`'s up to `size` from the entry
    /// bundles, one bundle at a time, shows each to `each` with its index,
    /// and appends their leaf hashes.
    pub fn append_entries(
        &self,
        frontier: &mut Frontier,
        size: u64,
        mut each: impl FnMut(u64, &[u8]),
    ) -> anyhow::Result<()> {
        let mut completed = Vec::new();
        while frontier.size() < size {
            let index = frontier.size() / WIDTH;
            let width = (size - index * WIDTH).min(WIDTH) as u16;
            let url = self.tile_url(Tile::Entries { index, width });
            let bytes = self.bytes(&url)?;
            let entries = unbundle(&bytes)
                .filter(|entries| entries.len() == usize::from(width))
                .ok_or_else(|| Inconsistent(format!("{url} is not a bundle of {width} entries")))?;
            let skip = (frontier.size() - index * WIDTH) as usize;
            for entry in &entries[skip..] {
                each(frontier.size(), entry);
                frontier.push(tlog::leaf_hash(entry), &mut completed);
                completed.clear();
            }
        }
        Ok(())
    }

    fn hash_tile(&self, tile: Tile) -> anyhow::Result<Vec<Hash>> {
        let url = self.tile_url(tile);
        let bytes = self.bytes(&url)?;
        let expected = match tile {
            Tile::Hashes { width, .. } => usize::from(width) * 32,
            Tile::Entries { .. } => unreachable!("only hash tiles are fetched here"),
        };
        if bytes.len() != expected {
            return Err(
                Inconsistent(format!("{url} holds {} bytes, not {expected}", bytes.len())).into(),
            );
        }
        Ok(bytes
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().expect("chunks of 32"))
            .collect())
    }

    fn tile_url(&self, tile: Tile) -> String {
        format!("{}/tile/{}", self.prefix, tile.path())
    }

    fn bytes(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        let mut response = self.http.get(url).call().map_err(|error| match error {
            ureq::Error::StatusCode(status) => anyhow!("{url} answered {status}"),
            error => anyhow!("cannot fetch {url}: {error}"),
        })?;
        response
            .body_mut()
            .read_to_vec()
            .with_context(|| format!("cannot read {url}"))
    }

    pub fn text(&self, url: &str) -> anyhow::Result<String> {
        String::from_utf8(self.bytes(url)?).map_err(|_| anyhow!("{url} is not UTF-8 text"))
    }
}
