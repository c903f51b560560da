//! Stable, deterministic identifiers.
//!
//! A document id is derived from its source key (a relative path, or a dump file
//! plus page id), never from time or randomness, so re-ingesting the same input
//! on any machine gives the same ids.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Number of hex digits in a [`DocId`] (64 bits of a BLAKE3 hash).
const DOC_ID_HEX: usize = 16;

/// The id of a document: 16 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

/// The id of a chunk: its document id, a dash, and its ordinal in the document.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChunkId(String);

/// An id string that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Not 16 lowercase hex digits.
    BadDocId(String),
    /// Not `<doc-id>-<ordinal>`.
    BadChunkId(String),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::BadDocId(s) => write!(f, "{s:?} is not a document id (16 hex digits)"),
            IdError::BadChunkId(s) => {
                write!(f, "{s:?} is not a chunk id (<16 hex digits>-<number>)")
            }
        }
    }
}

impl std::error::Error for IdError {}

impl DocId {
    /// The id for a document with this source key.
    pub fn from_source(source_key: &str) -> DocId {
        let hash = blake3::hash(source_key.as_bytes());
        let mut s = String::with_capacity(DOC_ID_HEX);
        for b in &hash.as_bytes()[..DOC_ID_HEX / 2] {
            s.push_str(&format!("{b:02x}"));
        }
        DocId(s)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of this document's chunk number `ordinal`.
    pub fn chunk(&self, ordinal: u32) -> ChunkId {
        ChunkId(format!("{}-{ordinal}", self.0))
    }
}

impl ChunkId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document this chunk belongs to.
    pub fn doc_id(&self) -> DocId {
        DocId(self.0[..DOC_ID_HEX].to_owned())
    }

    /// The chunk's position within its document, from 0.
    pub fn ordinal(&self) -> u32 {
        self.0[DOC_ID_HEX + 1..].parse().expect("checked at construction")
    }
}

fn is_doc_id(s: &str) -> bool {
    s.len() == DOC_ID_HEX && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl TryFrom<String> for DocId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        if is_doc_id(&s) { Ok(DocId(s)) } else { Err(IdError::BadDocId(s)) }
    }
}

impl TryFrom<String> for ChunkId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        let ok = s.len() > DOC_ID_HEX + 1
            && is_doc_id(&s[..DOC_ID_HEX])
            && s.as_bytes()[DOC_ID_HEX] == b'-'
            && s[DOC_ID_HEX + 1..].parse::<u32>().is_ok()
            && !(s[DOC_ID_HEX + 1..].starts_with('0') && s.len() > DOC_ID_HEX + 2);
        if ok { Ok(ChunkId(s)) } else { Err(IdError::BadChunkId(s)) }
    }
}

impl std::str::FromStr for DocId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        DocId::try_from(s.to_owned())
    }
}

impl std::str::FromStr for ChunkId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        ChunkId::try_from(s.to_owned())
    }
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.0
    }
}

impl From<ChunkId> for String {
    fn from(id: ChunkId) -> String {
        id.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_are_deterministic_and_distinct() {
        let a = DocId::from_source("books/1228.txt");
        assert_eq!(a, DocId::from_source("books/1228.txt"));
        assert_ne!(a, DocId::from_source("books/1229.txt"));
        assert_eq!(a.as_str().len(), 16);
    }

    #[test]
    fn chunk_ids_round_trip() {
        let d = DocId::from_source("x");
        let c = d.chunk(42);
        assert_eq!(c.doc_id(), d);
        assert_eq!(c.ordinal(), 42);
        let parsed: ChunkId = c.as_str().parse().unwrap();
        assert_eq!(parsed, c);
        assert!("nothex-1".parse::<ChunkId>().is_err());
        assert!(format!("{d}-01").parse::<ChunkId>().is_err());
        assert!(format!("{d}-").parse::<ChunkId>().is_err());
    }
}
