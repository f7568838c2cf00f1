//! Queries on the transparency log's tables (see the migration that makes
//! them): entries waiting for and placed in the tree, the stored hashes of
//! its perfect subtrees, and the one `log_state` row whose lock makes its
//! holder the sequencer.

use std::collections::HashMap;
use std::ops::Range;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Value};

use super::{CHUNK, raw};
use crate::proofs::tlog::Hash;
use crate::proofs::tlog::stored::{Frontier, Node};

/// The tree as the sequencer left it.
#[derive(Clone, Debug)]
pub struct Head {
    pub frontier: Frontier,
    /// The signed checkpoint of `frontier`'s size; `None` before the first.
    pub checkpoint: Option<String>,
}

impl Head {
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }
}

/// Records an entry to be placed in the tree, and returns its id.
pub async fn insert_entry(
    conn: &impl ConnectionTrait,
    leaf_hash: &Hash,
    body: &[u8],
) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let values = [leaf_hash.to_vec().into(), body.to_vec().into()];
    let sql = "INSERT INTO log_entries (leaf_hash, body) VALUES (?, ?)";
    if backend == DbBackend::Postgres {
        let row = conn
            .query_one_raw(raw(backend, &format!("{sql} RETURNING id"), values))
            .await?
            .ok_or_else(|| DbErr::Custom("INSERT … RETURNING gave no row".into()))?;
        return row.try_get("", "id");
    }
    let done = conn.execute_raw(raw(backend, sql, values)).await?;
    i64::try_from(done.last_insert_id()).map_err(|e| DbErr::Custom(e.to_string()))
}

/// Records `entries` and returns their ids, in the same order: in as few
/// statements as the parameter limits allow where the database can return
/// what it inserted, one statement each on MySQL.
pub async fn insert_entries_returning_ids(
    conn: &impl ConnectionTrait,
    entries: &[(Hash, &[u8])],
) -> Result<Vec<i64>, DbErr> {
    let backend = conn.get_database_backend();
    let mut ids = Vec::with_capacity(entries.len());
    if !backend.support_returning() {
        for (leaf, body) in entries {
            ids.push(insert_entry(conn, leaf, body).await?);
        }
        return Ok(ids);
    }
    for chunk in entries.chunks(CHUNK) {
        let insert = insert_statement(backend, chunk, " RETURNING id, leaf_hash");
        // Rows come back in no promised order: each is matched by its leaf
        // hash (identical entries are interchangeable), lowest id first.
        let mut by_leaf: HashMap<Hash, std::collections::VecDeque<i64>> = HashMap::new();
        let mut rows: Vec<(i64, Hash)> = conn
            .query_all_raw(insert)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("", "id")?, hash_of(row, "leaf_hash")?)))
            .collect::<Result<_, DbErr>>()?;
        rows.sort_unstable();
        for (id, leaf) in rows {
            by_leaf.entry(leaf).or_default().push_back(id);
        }
        for (leaf, _) in chunk {
            let id = by_leaf
                .get_mut(leaf)
                .and_then(|ids| ids.pop_front())
                .ok_or_else(|| DbErr::Custom("an inserted log entry was not returned".into()))?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Records many entries in as few statements as the parameter limits allow.
pub async fn insert_entries(
    conn: &impl ConnectionTrait,
    entries: &[(Hash, Vec<u8>)],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    for chunk in entries.chunks(CHUNK) {
        conn.execute_raw(insert_statement(backend, chunk, ""))
            .await?;
    }
    Ok(())
}

/// One multi-row `INSERT` of `entries`, followed by `tail`.
fn insert_statement(
    backend: DbBackend,
    entries: &[(Hash, impl AsRef<[u8]>)],
    tail: &str,
) -> sea_orm::Statement {
    let sql = format!(
        "INSERT INTO log_entries (leaf_hash, body) VALUES {}{tail}",
        vec!["(?, ?)"; entries.len()].join(", ")
    );
    let values = entries
        .iter()
        .flat_map(|(hash, body)| [hash.to_vec().into(), body.as_ref().to_vec().into()]);
    raw(backend, &sql, values)
}

/// Whether a sequencer has anything to do: entries wait, or there is no checkpoint yet.
pub async fn has_work(conn: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "SELECT 1 AS one FROM log_entries WHERE leaf_index IS NULL \
               UNION ALL SELECT 1 AS one FROM log_state WHERE id = 1 AND checkpoint IS NULL";
    let sql = format!("SELECT one FROM ({sql}) AS work LIMIT 1");
    Ok(conn.query_one_raw(raw(backend, &sql, [])).await?.is_some())
}

/// Locks the tree's head for the transaction and reads it. Whoever holds the
/// lock is the one sequencer; others wait here for their turn.
pub async fn lock_head(conn: &impl ConnectionTrait) -> Result<Head, DbErr> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        // SQLite locks the whole database for the first writer.
        DbBackend::Sqlite => {
            let lock = "UPDATE log_state SET size = size WHERE id = 1";
            conn.execute_raw(raw(backend, lock, [])).await?;
            "SELECT size, frontier, checkpoint FROM log_state WHERE id = 1"
        }
        _ => "SELECT size, frontier, checkpoint FROM log_state WHERE id = 1 FOR UPDATE",
    };
    read_head(conn.query_one_raw(raw(backend, sql, [])).await?)
}

/// The head as last committed, without locking.
pub async fn head(conn: &impl ConnectionTrait) -> Result<Head, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "SELECT size, frontier, checkpoint FROM log_state WHERE id = 1";
    read_head(conn.query_one_raw(raw(backend, sql, [])).await?)
}

fn read_head(row: Option<QueryResult>) -> Result<Head, DbErr> {
    let row = row.ok_or_else(|| DbErr::RecordNotFound("log_state has no row".into()))?;
    let size: i64 = row.try_get("", "size")?;
    let frontier: Vec<u8> = row.try_get("", "frontier")?;
    let frontier = Frontier::from_bytes(size as u64, &frontier)
        .map_err(|e| DbErr::Custom(format!("log_state: {e}")))?;
    Ok(Head {
        frontier,
        checkpoint: row.try_get("", "checkpoint")?,
    })
}

/// Up to `limit` entries waiting for a place, oldest first: their ids and leaf hashes.
pub async fn pending(conn: &impl ConnectionTrait, limit: u32) -> Result<Vec<(i64, Hash)>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT id, leaf_hash FROM log_entries WHERE leaf_index IS NULL ORDER BY id LIMIT {limit}"
    );
    conn.query_all_raw(raw(backend, &sql, []))
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "id")?, hash_of(row, "leaf_hash")?)))
        .collect()
}

/// An entry given its place in the tree.
pub struct Placed {
    pub id: i64,
    pub leaf_hash: Hash,
    pub index: u64,
}

/// Gives each entry its index in the tree, and records where each leaf hash
/// is for lookups. The caller holds the head's lock and read these entries
/// as waiting under it, so no one else places them. (The primary key finds
/// them; a `leaf_index IS NULL` test here would lead PostgreSQL to scan
/// every waiting entry instead.)
pub async fn place(conn: &impl ConnectionTrait, placed: &[Placed]) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let mut by_hash: Vec<(&Hash, u64)> = placed.iter().map(|p| (&p.leaf_hash, p.index)).collect();
    // In key order, the lookup's new keys land together page by page.
    by_hash.sort_unstable();
    for chunk in by_hash.chunks(CHUNK) {
        let sql = format!(
            "INSERT{} INTO log_leaves (leaf_hash, leaf_index) VALUES {}",
            or_ignore(backend),
            vec!["(?, ?)"; chunk.len()].join(", ")
        );
        let values = chunk
            .iter()
            .flat_map(|(hash, index)| [hash.to_vec().into(), (*index as i64).into()]);
        let statement = raw(backend, &sql, values);
        execute_all(
            conn,
            statement,
            chunk.len(),
            "a placed leaf is already in the lookup",
        )
        .await?;
    }
    let placed: Vec<(i64, u64)> = placed.iter().map(|p| (p.id, p.index)).collect();
    for chunk in placed.chunks(CHUNK) {
        let pairs = chunk
            .iter()
            .flat_map(|&(id, index)| [Value::from(id), (index as i64).into()]);
        let (sql, values): (String, Vec<Value>) = match backend {
            // MySQL and MariaDB share no way to join a list of values: a
            // CASE, tried arm by arm for every row.
            DbBackend::MySql => (
                format!(
                    "UPDATE log_entries SET leaf_index = CASE id{} END WHERE id IN ({})",
                    " WHEN ? THEN ?".repeat(chunk.len()),
                    vec!["?"; chunk.len()].join(", ")
                ),
                pairs
                    .chain(chunk.iter().map(|&(id, _)| id.into()))
                    .collect(),
            ),
            // A join with the pairs: each row finds its index by key.
            _ => (
                format!(
                    "UPDATE{} log_entries SET leaf_index = pairs.column2 \
                     FROM (VALUES {}) AS pairs WHERE log_entries.id = pairs.column1",
                    or_ignore(backend),
                    vec!["(?, ?)"; chunk.len()].join(", ")
                ),
                pairs.collect(),
            ),
        };
        let statement = raw(backend, &sql, values);
        let gone = "an entry to place has gone, or its place is taken";
        execute_all(conn, statement, chunk.len(), gone).await?;
    }
    Ok(())
}

/// Stores the hashes of newly completed perfect subtrees.
pub async fn store_nodes(conn: &impl ConnectionTrait, nodes: &[(Node, Hash)]) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    for chunk in nodes.chunks(CHUNK) {
        let sql = format!(
            "INSERT{} INTO log_nodes (level, idx, hash) VALUES {}",
            or_ignore(backend),
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let values = chunk.iter().flat_map(|(node, hash)| {
            [
                i16::from(node.level).into(),
                (node.index as i64).into(),
                hash.to_vec().into(),
            ]
        });
        let statement = raw(backend, &sql, values);
        execute_all(
            conn,
            statement,
            chunk.len(),
            "a completed subtree is already stored",
        )
        .await?;
    }
    Ok(())
}

/// ` OR IGNORE` on SQLite, for the round's statements that write many rows;
/// nothing elsewhere. SQLite copies every page such a statement changes
/// into a statement journal whenever a constraint could abort it midway, to
/// undo its part of the transaction: that copying was a fifth of a round.
/// With `OR IGNORE` nothing aborts, and the callers count the rows written
/// instead, so a row that did not go in still fails the round as before.
/// The other databases undo a statement without such copies.
fn or_ignore(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => " OR IGNORE",
        _ => "",
    }
}

/// Runs `statement`, which must write `rows` rows; fewer fail with `short`.
async fn execute_all(
    conn: &impl ConnectionTrait,
    statement: sea_orm::Statement,
    rows: usize,
    short: &str,
) -> Result<(), DbErr> {
    let done = conn.execute_raw(statement).await?;
    if done.rows_affected() != rows as u64 {
        return Err(DbErr::Custom(short.into()));
    }
    Ok(())
}

/// Records the tree's new head; the caller holds its lock.
pub async fn save_head(
    conn: &impl ConnectionTrait,
    frontier: &Frontier,
    checkpoint: &str,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let sql = "UPDATE log_state SET size = ?, frontier = ?, checkpoint = ? WHERE id = 1";
    let values = [
        (frontier.size() as i64).into(),
        frontier.to_bytes().into(),
        checkpoint.into(),
    ];
    conn.execute_raw(raw(backend, sql, values)).await?;
    Ok(())
}

/// The stored hashes of `nodes`, in one query; missing ones are left out.
pub async fn nodes(
    conn: &impl ConnectionTrait,
    nodes: &[Node],
) -> Result<HashMap<Node, Hash>, DbErr> {
    if nodes.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = conn.get_database_backend();
    let wanted = vec!["(level = ? AND idx = ?)"; nodes.len()].join(" OR ");
    let sql = format!("SELECT level, idx, hash FROM log_nodes WHERE {wanted}");
    let values = nodes
        .iter()
        .flat_map(|node| [i16::from(node.level).into(), (node.index as i64).into()]);
    conn.query_all_raw(raw(backend, &sql, values))
        .await?
        .iter()
        .map(|row| {
            let level: i16 = row.try_get("", "level")?;
            let index: i64 = row.try_get("", "idx")?;
            Ok((Node::new(level as u8, index as u64), hash_of(row, "hash")?))
        })
        .collect()
}

/// The stored hashes at height `level` for positions `range`, in order.
pub async fn node_range(
    conn: &impl ConnectionTrait,
    level: u8,
    range: Range<u64>,
) -> Result<Vec<Hash>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "SELECT hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx";
    let values = [
        i16::from(level).into(),
        (range.start as i64).into(),
        (range.end as i64).into(),
    ];
    conn.query_all_raw(raw(backend, sql, values))
        .await?
        .iter()
        .map(|row| hash_of(row, "hash"))
        .collect()
}

/// The bodies of the entries at tree positions `range`, in order.
pub async fn entry_range(
    conn: &impl ConnectionTrait,
    range: Range<u64>,
) -> Result<Vec<Vec<u8>>, DbErr> {
    let backend = conn.get_database_backend();
    let sql =
        "SELECT body FROM log_entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index";
    let values = [(range.start as i64).into(), (range.end as i64).into()];
    conn.query_all_raw(raw(backend, sql, values))
        .await?
        .iter()
        .map(|row| row.try_get("", "body"))
        .collect()
}

/// An entry by id: its position in the tree once it has one, and its body.
pub async fn entry(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<(Option<u64>, Vec<u8>)>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "SELECT leaf_index, body FROM log_entries WHERE id = ?";
    let Some(row) = conn.query_one_raw(raw(backend, sql, [id.into()])).await? else {
        return Ok(None);
    };
    let index: Option<i64> = row.try_get("", "leaf_index")?;
    Ok(Some((index.map(|i| i as u64), row.try_get("", "body")?)))
}

/// The position of the entry with this leaf hash, once it has one.
pub async fn index_of(conn: &impl ConnectionTrait, leaf_hash: &Hash) -> Result<Option<u64>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "SELECT leaf_index FROM log_leaves WHERE leaf_hash = ? ORDER BY leaf_index LIMIT 1";
    let Some(row) = conn
        .query_one_raw(raw(backend, sql, [leaf_hash.to_vec().into()]))
        .await?
    else {
        return Ok(None);
    };
    let index: i64 = row.try_get("", "leaf_index")?;
    Ok(Some(index as u64))
}

fn hash_of(row: &QueryResult, column: &str) -> Result<Hash, DbErr> {
    let bytes: Vec<u8> = row.try_get("", column)?;
    Hash::try_from(bytes).map_err(|_| DbErr::Custom(format!("{column} is not 32 bytes")))
}
