//! Vector stores behind one trait: embedded Qdrant (the default) and a Qdrant
//! server or cluster.

mod edge;
mod server;

use quarry_core::{ChunkId, DocId};
use serde::{Deserialize, Serialize};

pub use edge::EdgeStore;
pub use server::ServerStore;

use crate::error::{IndexError, Result};

/// One chunk's vector.
#[derive(Clone, Debug)]
pub struct Point {
    pub chunk_id: ChunkId,
    pub vector: Vec<f32>,
}

/// A nearest-neighbour index over chunk vectors, keyed by chunk id, filterable
/// by document id.
pub trait VectorStore: Send + Sync {
    /// Adds or replaces points.
    fn upsert(&self, points: Vec<Point>) -> Result<()>;
    /// Removes every point of these documents.
    fn delete_docs(&self, docs: &[DocId]) -> Result<()>;
    /// The `k` nearest chunks, optionally only from `docs`, with cosine scores.
    fn search(&self, vector: &[f32], k: usize, docs: &[DocId]) -> Result<Vec<(ChunkId, f32)>>;
    /// The stored vectors of these chunks (missing ones are left out).
    fn vectors(&self, ids: &[ChunkId]) -> Result<Vec<(ChunkId, Vec<f32>)>>;
    /// Makes everything written durable.
    fn flush(&self) -> Result<()>;
    /// Builds search structures (HNSW) after a bulk load.
    fn optimize(&self) -> Result<()>;
    /// Number of points.
    fn count(&self) -> Result<u64>;
}

/// Where the vectors live, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// Embedded Qdrant in `<index>/vectors/`.
    Edge,
    /// A collection on a Qdrant server (`qdrant://host:6334/collection`, or
    /// `qdrants://` for TLS). The API key comes from QDRANT_API_KEY and is
    /// never recorded.
    Server { url: String, collection: String },
}

impl Backend {
    /// Parses `--vectors`: `edge` (default) or `qdrant://host:port/collection`.
    pub fn parse(s: &str) -> Result<Backend> {
        if s == "edge" || s == "embedded" {
            return Ok(Backend::Edge);
        }
        let (scheme, rest) = if let Some(r) = s.strip_prefix("qdrant://") {
            ("http", r)
        } else if let Some(r) = s.strip_prefix("qdrants://") {
            ("https", r)
        } else {
            return Err(IndexError::Usage(format!(
                "--vectors {s:?}: expected `edge` or qdrant://host:6334/collection"
            )));
        };
        let (host, collection) = rest
            .split_once('/')
            .filter(|(h, c)| !h.is_empty() && !c.is_empty() && !c.contains('/'))
            .ok_or_else(|| IndexError::Usage(format!("--vectors {s:?}: expected qdrant://host:6334/collection")))?;
        Ok(Backend::Server { url: format!("{scheme}://{host}"), collection: collection.to_owned() })
    }

    /// For people: `embedded Qdrant` or the server URL and collection.
    pub fn describe(&self) -> String {
        match self {
            Backend::Edge => "embedded Qdrant (vectors/)".into(),
            Backend::Server { url, collection } => {
                format!("Qdrant server {url}, collection {collection}")
            }
        }
    }
}

/// A chunk id as a Qdrant point id: 64 bits of its BLAKE3 hash. The chunk id
/// itself is kept in the payload.
pub fn point_id(id: &ChunkId) -> u64 {
    let h = blake3::hash(id.as_str().as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_backends() {
        assert_eq!(Backend::parse("edge").unwrap(), Backend::Edge);
        assert_eq!(
            Backend::parse("qdrant://localhost:6334/books").unwrap(),
            Backend::Server { url: "http://localhost:6334".into(), collection: "books".into() }
        );
        assert!(Backend::parse("qdrant://localhost:6334").is_err());
        assert!(Backend::parse("http://x/y").is_err());
    }
}
