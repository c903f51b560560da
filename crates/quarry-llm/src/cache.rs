//! The persistent, content-addressed response cache.
//!
//! redb (a pure-Rust, ACID, copy-on-write embedded store) holds one table from
//! the BLAKE3 hash of (backend, model, request) to the response as JSON. A
//! write is visible only once its transaction commits (fsync'd), so a crash
//! mid-write leaves the previous state; nothing half-written is ever read.
//! Failures are never cached. The API key is not part of the request and
//! never reaches the cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableTableMetadata, TableDefinition};
use serde::Serialize;

use crate::chat::{ChatModel, ChatRequest, ChatResponse};
use crate::error::LlmError;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("responses");

/// The response cache file.
#[derive(Clone)]
pub struct Cache {
    db: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("path", &self.path).finish()
    }
}

/// What the cache holds.
#[derive(Clone, Debug, Serialize)]
pub struct CacheStats {
    pub path: String,
    pub entries: u64,
    pub bytes: u64,
}

impl Cache {
    /// Opens (or creates) the cache at `path`.
    pub fn open(path: &Path) -> Result<Cache, LlmError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err(path, e))?;
        }
        let db = Database::create(path).map_err(|e| err(path, e))?;
        Ok(Cache { db: Arc::new(db), path: path.to_owned() })
    }

    /// The key of a request to a backend and model.
    pub fn key(backend: &str, model: &str, request: &ChatRequest) -> [u8; 32] {
        let body = serde_json::to_vec(&(backend, model, request)).expect("serialisable");
        *blake3::hash(&body).as_bytes()
    }

    /// A stored response.
    pub fn get(&self, key: &[u8; 32]) -> Result<Option<ChatResponse>, LlmError> {
        let tx = self.db.begin_read().map_err(|e| err(&self.path, e))?;
        let table = match tx.open_table(TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(&self.path, e)),
        };
        let Some(v) = table.get(key.as_slice()).map_err(|e| err(&self.path, e))? else { return Ok(None) };
        Ok(serde_json::from_slice(v.value()).ok())
    }

    /// Stores a response (successful ones only; callers never pass failures).
    pub fn put(&self, key: &[u8; 32], response: &ChatResponse) -> Result<(), LlmError> {
        let bytes = serde_json::to_vec(response).expect("serialisable");
        let tx = self.db.begin_write().map_err(|e| err(&self.path, e))?;
        {
            let mut table = tx.open_table(TABLE).map_err(|e| err(&self.path, e))?;
            table.insert(key.as_slice(), bytes.as_slice()).map_err(|e| err(&self.path, e))?;
        }
        tx.commit().map_err(|e| err(&self.path, e))
    }

    /// Entries and file size.
    pub fn stats(&self) -> Result<CacheStats, LlmError> {
        let tx = self.db.begin_read().map_err(|e| err(&self.path, e))?;
        let entries = match tx.open_table(TABLE) {
            Ok(t) => t.len().map_err(|e| err(&self.path, e))?,
            Err(redb::TableError::TableDoesNotExist(_)) => 0,
            Err(e) => return Err(err(&self.path, e)),
        };
        let bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        Ok(CacheStats { path: self.path.display().to_string(), entries, bytes })
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<u64, LlmError> {
        let n = self.stats()?.entries;
        let tx = self.db.begin_write().map_err(|e| err(&self.path, e))?;
        tx.delete_table(TABLE).map_err(|e| err(&self.path, e))?;
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(n)
    }
}

fn err(path: &Path, e: impl std::fmt::Display) -> LlmError {
    LlmError::Cache { path: path.display().to_string(), message: e.to_string() }
}

/// A model behind the cache: a hit skips the model.
pub struct Cached<M> {
    inner: M,
    cache: Cache,
}

impl<M> Cached<M> {
    pub fn new(inner: M, cache: Cache) -> Cached<M> {
        Cached { inner, cache }
    }

    pub fn inner(&self) -> &M {
        &self.inner
    }
}

#[async_trait::async_trait]
impl<M: ChatModel> ChatModel for Cached<M> {
    fn backend(&self) -> String {
        self.inner.backend()
    }

    fn model(&self) -> String {
        self.inner.model()
    }

    fn load(&self) -> Option<crate::LoadReport> {
        self.inner.load()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let key = Cache::key(&self.inner.backend(), &self.inner.model(), request);
        if let Some(mut hit) = self.cache.get(&key)? {
            hit.cached = true;
            hit.timings.attempts = 0;
            return Ok(hit);
        }
        let response = self.inner.chat(request).await?;
        self.cache.put(&key, &response)?;
        Ok(response)
    }
}
