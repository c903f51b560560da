//! An index directory: BM25 and vectors over a store's chunks, its manifest,
//! incremental updates, and retrieval (bm25, dense, hybrid with reciprocal
//! rank fusion, document filters, MMR, neighbouring chunks).
//!
//! Layout of `indexes/<name>/`:
//!
//! ```text
//! manifest.json   format, embedder, vector backend, chunker and sources, counts, build times
//! indexed.json    fingerprint of every indexed document (what makes updates incremental)
//! store/          the documents and chunks (a quarry store, see quarry-ingest)
//! bm25/           the tantivy index
//! vectors/        the embedded Qdrant shard (absent with a Qdrant server)
//! ```
//!
//! An update indexes changed documents in batches; each batch is committed to
//! BM25 and flushed to the vector store before `indexed.json` records it, and
//! re-indexing a document first deletes what was there. So a kill at any
//! moment leaves the last recorded state searchable, and the next run redoes
//! at most one batch.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Chunk, ChunkId, DocId, Document, Shard};
use serde::{Deserialize, Serialize};

use crate::bm25::{Bm25, StoredChunk};
use crate::embed::{Embedder, EmbedderInfo};
use crate::error::{IndexError, Result};
use crate::vectors::{Backend, EdgeStore, Point, ServerStore, VectorStore};

/// The name in `manifest.json`'s `format` field.
pub const INDEX_FORMAT: &str = "quarry-index";
/// The index format version this code reads and writes.
pub const INDEX_VERSION: u32 = 1;
/// Chunks embedded and committed together.
const BATCH_CHUNKS: usize = 512;

/// `manifest.json` of an index.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexManifest {
    pub format: String,
    pub version: u32,
    pub embedder: EmbedderInfo,
    pub vectors: Backend,
    /// The store the index reads: `store` (inside the index) or the path of
    /// an ingest output directory it was built from.
    pub store: String,
    /// The store's chunker settings and sources, copied at each build.
    pub corpus: serde_json::Value,
    pub counts: IndexCounts,
    pub builds: Vec<BuildRecord>,
    /// The shard of a corpus this index holds (`quarry index --shard I/N`): only the
    /// documents [`Shard::owns_doc`] gives it. `quarry merge` joins every shard into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// Totals after the last build.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IndexCounts {
    pub documents: u64,
    pub chunks: u64,
    pub vectors: u64,
}

/// One `quarry index` run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Seconds since the Unix epoch when the build finished.
    pub finished_at: u64,
    pub seconds: f64,
    pub documents_indexed: u64,
    pub documents_unchanged: u64,
    pub documents_removed: u64,
    pub chunks_embedded: u64,
}

/// What an update did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UpdateStats {
    pub documents_indexed: u64,
    pub documents_unchanged: u64,
    pub documents_removed: u64,
    pub chunks_embedded: u64,
    pub seconds: f64,
    pub embed_seconds: f64,
}

/// Retrieval mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Bm25,
    Dense,
    Hybrid,
}

impl std::str::FromStr for Mode {
    type Err = IndexError;
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "bm25" => Ok(Mode::Bm25),
            "dense" => Ok(Mode::Dense),
            "hybrid" => Ok(Mode::Hybrid),
            _ => Err(IndexError::Usage(format!("mode {s:?}: expected bm25, dense or hybrid"))),
        }
    }
}

/// How hybrid mode combines its two rankings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Reciprocal rank fusion: `sum(weight / (rrf_k + rank))`.
    Rrf,
    /// A weighted sum of each ranking's scores, z-normalised over its
    /// candidates. Measured better than RRF on SQuAD and HotpotQA (see the
    /// index benchmark), so it is the default.
    Zscore,
}

impl std::str::FromStr for Fusion {
    type Err = IndexError;
    fn from_str(s: &str) -> Result<Fusion> {
        match s {
            "rrf" => Ok(Fusion::Rrf),
            "zscore" => Ok(Fusion::Zscore),
            _ => Err(IndexError::Usage(format!("fusion {s:?}: expected rrf or zscore"))),
        }
    }
}

/// How to search.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    pub mode: Mode,
    pub fusion: Fusion,
    pub k: usize,
    /// Only chunks of these documents (all when empty).
    pub docs: Vec<DocId>,
    /// Reciprocal rank fusion constant.
    pub rrf_k: f32,
    pub bm25_weight: f32,
    pub dense_weight: f32,
    /// Candidates taken from each retriever before fusion (and MMR).
    pub candidates: usize,
    /// MMR trade-off between relevance (1.0) and diversity (0.0), if set.
    pub mmr: Option<f32>,
    /// Neighbouring chunks to attach on each side of every hit.
    pub expand: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: Mode::Hybrid,
            fusion: Fusion::Zscore,
            k: 10,
            docs: Vec::new(),
            rrf_k: 60.0,
            bm25_weight: 1.0,
            dense_weight: 1.0,
            candidates: 100,
            mmr: None,
            expand: 0,
        }
    }
}

/// One result.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub rank: usize,
    pub score: f32,
    pub bm25: Option<RankScore>,
    pub dense: Option<RankScore>,
    pub chunk_id: ChunkId,
    pub doc_id: DocId,
    pub title: String,
    pub heading_path: Vec<String>,
    pub span: [usize; 2],
    pub text: String,
    /// Neighbouring chunks, in text order, when expansion was asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<Neighbour>,
}

/// A hit's rank (from 1) and score in one retriever.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RankScore {
    pub rank: usize,
    pub score: f32,
}

/// A chunk next to a hit.
#[derive(Clone, Debug, Serialize)]
pub struct Neighbour {
    pub chunk_id: ChunkId,
    /// Negative before the hit, positive after.
    pub offset: i64,
    pub span: [usize; 2],
    pub text: String,
}

/// Mean and standard deviation (1 when flat) of scores.
fn mean_sd(scores: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let n = scores.clone().count().max(1) as f32;
    let mean = scores.clone().sum::<f32>() / n;
    let var = scores.map(|s| (s - mean).powi(2)).sum::<f32>() / n;
    let sd = var.sqrt();
    (mean, if sd > 1e-6 { sd } else { 1.0 })
}

/// An open index.
pub struct Index {
    dir: PathBuf,
    manifest: IndexManifest,
    bm25: Bm25,
    vectors: Box<dyn VectorStore>,
    embedder: Arc<Embedder>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("dir", &self.dir).finish()
    }
}

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("manifest.json")
}

/// Whether `dir` holds an index (rather than a bare store).
pub fn is_index(dir: &Path) -> bool {
    std::fs::read(manifest_path(dir))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["format"] == INDEX_FORMAT)
}

/// The store an index directory reads (its own `store/` unless it was built
/// from an ingest output directory elsewhere).
pub fn store_dir(index_dir: &Path) -> PathBuf {
    let recorded = Index::read_manifest(index_dir).map(|m| m.store).unwrap_or_else(|_| "store".into());
    index_dir.join(recorded)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    quarry_fs::write_bytes_atomic(path, bytes).map_err(|e| IndexError::io(path, e))
}

/// The fingerprint of a document as indexed: its text, title and chunking.
pub fn fingerprint(doc: &Document, chunks: &[Chunk]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(doc.id.as_str().as_bytes());
    h.update(doc.title.as_bytes());
    h.update(&(doc.text.len() as u64).to_le_bytes());
    h.update(doc.text.as_bytes());
    for c in chunks {
        h.update(&(c.span.start() as u64).to_le_bytes());
        h.update(&(c.span.end() as u64).to_le_bytes());
        h.update(c.heading_path.join("\u{1f}").as_bytes());
    }
    h.finalize().to_hex()[..16].to_owned()
}

/// The text a chunk is embedded as: its heading path (title first), then its text.
pub fn embedding_text(chunk: &Chunk) -> String {
    if chunk.heading_path.is_empty() {
        chunk.text.clone()
    } else {
        format!("{}\n{}", chunk.heading_path.join(" › "), chunk.text)
    }
}

fn open_vectors(dir: &Path, backend: &Backend, dim: usize) -> Result<Box<dyn VectorStore>> {
    Ok(match backend {
        Backend::Edge => Box::new(EdgeStore::open(&dir.join("vectors"), dim)?),
        Backend::Server { url, collection } => Box::new(ServerStore::open(url, collection, dim, None)?),
    })
}

/// Shard indexes a merge copies vectors from, with what each has indexed.
type Shards<'a> = (&'a [Index], &'a [BTreeMap<DocId, String>]);

/// The vectors of a batch's chunks, each from the shard that owns its document, which must
/// have indexed that document as it is now (`todo` holds the fingerprints).
fn copy_vectors(
    batch: &[(Document, Vec<Chunk>)],
    todo: &HashMap<DocId, String>,
    (shards, indexed): Shards,
) -> Result<Vec<Vec<f32>>> {
    let mut wanted: Vec<Vec<ChunkId>> = vec![Vec::new(); shards.len()];
    for (doc, chunks) in batch {
        let owner = shards
            .iter()
            .position(|s| s.manifest.shard.is_some_and(|sh| sh.owns_doc(&doc.id)))
            .ok_or_else(|| IndexError::Usage(format!("no shard holds document {} ({})", doc.id, doc.title)))?;
        let shard = &shards[owner];
        if indexed[owner].get(&doc.id) != todo.get(&doc.id) {
            return Err(IndexError::Index {
                path: shard.dir.clone(),
                message: format!(
                    "shard {} has not indexed document {} ({}) as the store holds it: the shard is unfinished or was built from another corpus; run its `quarry index … --shard` again",
                    shard.manifest.shard.map_or_else(String::new, |s| s.to_string()),
                    doc.id,
                    doc.title
                ),
            });
        }
        wanted[owner].extend(chunks.iter().map(|c| c.id.clone()));
    }
    let mut found: HashMap<ChunkId, Vec<f32>> = HashMap::new();
    for (shard, ids) in shards.iter().zip(&wanted) {
        if !ids.is_empty() {
            found.extend(shard.vectors.vectors(ids)?);
        }
    }
    batch
        .iter()
        .flat_map(|(_, cs)| cs.iter())
        .map(|c| {
            found.remove(&c.id).ok_or_else(|| IndexError::Usage(format!("no shard has a vector for chunk {}", c.id)))
        })
        .collect()
}

impl Index {
    /// Opens the index at `dir`, or creates it when `dir` has none. An existing
    /// index must have been built with the same embedder and backend.
    pub fn open_or_create(dir: &Path, embedder: Arc<Embedder>, backend: Option<Backend>, store: &str) -> Result<Index> {
        if manifest_path(dir).exists() {
            return Index::open(dir, embedder, backend.as_ref());
        }
        std::fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
        let backend = backend.unwrap_or(Backend::Edge);
        let manifest = IndexManifest {
            format: INDEX_FORMAT.into(),
            version: INDEX_VERSION,
            embedder: embedder.info().clone(),
            vectors: backend.clone(),
            store: store.to_owned(),
            corpus: serde_json::Value::Null,
            counts: IndexCounts::default(),
            builds: Vec::new(),
            shard: None,
        };
        let bm25 = Bm25::open(&dir.join("bm25"))?;
        let vectors = open_vectors(dir, &backend, embedder.info().dim)?;
        let index = Index { dir: dir.to_owned(), manifest, bm25, vectors, embedder };
        index.write_manifest()?;
        Ok(index)
    }

    /// Opens an existing index; `embedder` must be the one it was built with.
    pub fn open(dir: &Path, embedder: Arc<Embedder>, backend: Option<&Backend>) -> Result<Index> {
        let path = manifest_path(dir);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                IndexError::Index {
                    path: dir.to_owned(),
                    message: "not an index (no manifest.json); build one with `quarry index`".into(),
                }
            } else {
                IndexError::io(&path, e)
            }
        })?;
        let manifest: IndexManifest = serde_json::from_slice(&bytes)
            .map_err(|e| IndexError::Index { path: path.clone(), message: format!("unreadable manifest: {e}") })?;
        if manifest.format != INDEX_FORMAT || manifest.version != INDEX_VERSION {
            return Err(IndexError::Index {
                path,
                message: format!(
                    "format {} version {} is not supported (this quarry reads {INDEX_FORMAT} {INDEX_VERSION})",
                    manifest.format, manifest.version
                ),
            });
        }
        let asked = embedder.info();
        let built = &manifest.embedder;
        if asked.model != built.model
            || asked.dim != built.dim
            || asked.checksum != built.checksum
            || asked.precision != built.precision
        {
            return Err(IndexError::EmbedderMismatch {
                path: dir.to_owned(),
                built: built.describe(),
                asked: asked.describe(),
            });
        }
        if let Some(b) = backend
            && b != &manifest.vectors
        {
            return Err(IndexError::Usage(format!(
                "{} keeps its vectors in {}, not {}",
                dir.display(),
                manifest.vectors.describe(),
                b.describe()
            )));
        }
        let bm25 = Bm25::open(&dir.join("bm25"))?;
        let vectors = open_vectors(dir, &manifest.vectors, built.dim)?;
        Ok(Index { dir: dir.to_owned(), manifest, bm25, vectors, embedder })
    }

    /// Reads the embedder record of the index at `dir` without opening it.
    pub fn read_manifest(dir: &Path) -> Result<IndexManifest> {
        let path = manifest_path(dir);
        let bytes = std::fs::read(&path).map_err(|e| IndexError::io(&path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| IndexError::Index { path, message: format!("unreadable manifest: {e}") })
    }

    /// Opens the shard indexes in `dirs` (`quarry index --shard I/N`) for a merge: every
    /// shard of one corpus once, built with one embedder from one store. Refuses a set that
    /// is not, saying why.
    pub fn open_shards(dirs: &[PathBuf], embedder: Arc<Embedder>) -> Result<Vec<Index>> {
        // The manifests first: a shard given twice cannot be opened twice.
        let mut manifests = Vec::new();
        for d in dirs {
            let m = Index::read_manifest(d)?;
            let Some(shard) = m.shard else {
                return Err(IndexError::Usage(format!(
                    "{} is not a shard: it was not built with `quarry index … --shard I/N`",
                    d.display()
                )));
            };
            manifests.push((d, shard, m));
        }
        let Some((first_dir, first_shard, first)) = manifests.first() else {
            return Err(IndexError::Usage("name the shard indexes to merge".into()));
        };
        let count = first_shard.count;
        for (d, shard, m) in &manifests {
            if shard.count != count || m.corpus != first.corpus || m.store != first.store {
                return Err(IndexError::Usage(format!(
                    "{} and {} are not shards of one build: their shard count, store or corpus (chunker, sources) differ",
                    first_dir.display(),
                    d.display()
                )));
            }
        }
        for i in 0..count {
            let n = manifests.iter().filter(|(_, s, _)| s.index == i).count();
            if n != 1 {
                return Err(IndexError::Usage(format!(
                    "shard {i}/{count} is {}: merge every shard of the corpus once",
                    if n == 0 { "missing" } else { "given more than once" }
                )));
            }
        }
        dirs.iter().map(|d| Index::open(d, embedder.clone(), None)).collect()
    }

    pub fn manifest(&self) -> &IndexManifest {
        &self.manifest
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// The BM25 index (stored chunks can be read from it).
    pub fn bm25(&self) -> &Bm25 {
        &self.bm25
    }

    /// Makes this index hold `shard` of its corpus (`None`: all of it). A new index takes
    /// it; an index built already must have been built for the same one.
    pub fn claim_shard(&mut self, shard: Option<Shard>) -> Result<()> {
        if self.manifest.shard == shard {
            return Ok(());
        }
        if !self.manifest.builds.is_empty() {
            let say = |s: Option<Shard>| s.map_or("the whole corpus".to_owned(), |s| format!("shard {s}"));
            return Err(IndexError::Usage(format!(
                "{} holds {}, not {}; use a new --out directory",
                self.dir.display(),
                say(self.manifest.shard),
                say(shard)
            )));
        }
        self.manifest.shard = shard;
        self.write_manifest()
    }

    fn write_manifest(&self) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.manifest).expect("serialisable");
        bytes.push(b'\n');
        write_atomic(&manifest_path(&self.dir), &bytes)
    }

    fn read_indexed(&self) -> Result<BTreeMap<DocId, String>> {
        let path = self.dir.join("indexed.json");
        match std::fs::read(&path) {
            Ok(b) => {
                serde_json::from_slice(&b).map_err(|e| IndexError::Index { path, message: format!("unreadable: {e}") })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(IndexError::io(path, e)),
        }
    }

    fn write_indexed(&self, indexed: &BTreeMap<DocId, String>) -> Result<()> {
        let bytes = serde_json::to_vec(indexed).expect("serialisable");
        write_atomic(&self.dir.join("indexed.json"), &bytes)
    }

    /// Brings the index in line with `docs` (every document of the store):
    /// new and changed documents are embedded and indexed, unchanged ones are
    /// skipped without any embedding work, and documents no longer in the
    /// store are removed. `docs` is called twice: once to find what changed,
    /// once to index it. `progress(done, total)` counts chunks to embed.
    pub fn update<I>(
        &mut self,
        docs: &dyn Fn() -> I,
        corpus: serde_json::Value,
        progress: &dyn Fn(u64, u64),
    ) -> Result<UpdateStats>
    where
        I: Iterator<Item = Result<(Document, Vec<Chunk>)>>,
    {
        self.update_from(docs, corpus, progress, &[])
    }

    /// [`Index::update`], with the vectors copied from `shards` (every shard of the corpus,
    /// see [`Index::open_shards`]) instead of embedded: how `quarry merge` joins shard
    /// indexes. BM25 is built here as one build would. Without shards, chunks are embedded.
    pub fn update_from<I>(
        &mut self,
        docs: &dyn Fn() -> I,
        corpus: serde_json::Value,
        progress: &dyn Fn(u64, u64),
        shards: &[Index],
    ) -> Result<UpdateStats>
    where
        I: Iterator<Item = Result<(Document, Vec<Chunk>)>>,
    {
        let started = Instant::now();
        let mut indexed = self.read_indexed()?;
        let shard_indexed = shards.iter().map(Index::read_indexed).collect::<Result<Vec<_>>>()?;
        let from = (shards, shard_indexed.as_slice());
        let mut stats = UpdateStats::default();
        // Pass 1: what changed.
        let mut todo: HashMap<DocId, String> = HashMap::new();
        let mut seen: HashSet<DocId> = HashSet::new();
        let mut total_chunks = 0u64;
        for item in docs() {
            let (doc, chunks) = item?;
            let fp = fingerprint(&doc, &chunks);
            seen.insert(doc.id.clone());
            if indexed.get(&doc.id) == Some(&fp) {
                stats.documents_unchanged += 1;
            } else {
                total_chunks += chunks.len() as u64;
                todo.insert(doc.id.clone(), fp);
            }
        }
        let removed: Vec<DocId> = indexed.keys().filter(|d| !seen.contains(*d)).cloned().collect();
        if !removed.is_empty() {
            let mut w = self.bm25.writer()?;
            for d in &removed {
                w.delete_doc(d);
            }
            w.commit()?;
            self.vectors.delete_docs(&removed)?;
            self.vectors.flush()?;
            for d in &removed {
                indexed.remove(d);
            }
            self.write_indexed(&indexed)?;
            stats.documents_removed = removed.len() as u64;
        }
        // Pass 2: index what changed, batch by batch.
        if !todo.is_empty() {
            let mut batch: Vec<(Document, Vec<Chunk>)> = Vec::new();
            let mut batch_chunks = 0usize;
            let mut done = 0u64;
            progress(0, total_chunks);
            for item in docs() {
                let (doc, chunks) = item?;
                if !todo.contains_key(&doc.id) {
                    continue;
                }
                batch_chunks += chunks.len();
                batch.push((doc, chunks));
                if batch_chunks >= BATCH_CHUNKS {
                    done += self.index_batch(std::mem::take(&mut batch), &todo, &mut indexed, &mut stats, from)?;
                    batch_chunks = 0;
                    progress(done, total_chunks);
                }
            }
            done += self.index_batch(batch, &todo, &mut indexed, &mut stats, from)?;
            progress(done, total_chunks);
            self.vectors.optimize()?;
        }
        self.bm25.reload()?;
        stats.seconds = started.elapsed().as_secs_f64();
        self.manifest.corpus = corpus;
        self.manifest.counts =
            IndexCounts { documents: indexed.len() as u64, chunks: self.bm25.len(), vectors: self.vectors.count()? };
        let finished_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.manifest.builds.push(BuildRecord {
            finished_at,
            seconds: stats.seconds,
            documents_indexed: stats.documents_indexed,
            documents_unchanged: stats.documents_unchanged,
            documents_removed: stats.documents_removed,
            chunks_embedded: stats.chunks_embedded,
        });
        self.write_manifest()?;
        Ok(stats)
    }

    fn index_batch(
        &mut self,
        batch: Vec<(Document, Vec<Chunk>)>,
        todo: &HashMap<DocId, String>,
        indexed: &mut BTreeMap<DocId, String>,
        stats: &mut UpdateStats,
        from: Shards,
    ) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let vectors = if from.0.is_empty() {
            let texts: Vec<String> = batch.iter().flat_map(|(_, cs)| cs.iter().map(embedding_text)).collect();
            let t = Instant::now();
            let v = self.embedder.embed_passages(&texts)?;
            stats.embed_seconds += t.elapsed().as_secs_f64();
            v
        } else {
            copy_vectors(&batch, todo, from)?
        };
        let doc_ids: Vec<DocId> = batch.iter().map(|(d, _)| d.id.clone()).collect();
        let mut w = self.bm25.writer()?;
        for (doc, chunks) in &batch {
            w.delete_doc(&doc.id);
            w.add(doc, chunks)?;
        }
        // Vectors first, then the BM25 commit, then the record: a crash before
        // the record makes the next run redo this batch (deletes included).
        self.vectors.delete_docs(&doc_ids)?;
        let points: Vec<Point> = batch
            .iter()
            .flat_map(|(_, cs)| cs.iter().map(|c| c.id.clone()))
            .zip(vectors)
            .map(|(chunk_id, vector)| Point { chunk_id, vector })
            .collect();
        let n = points.len() as u64;
        self.vectors.upsert(points)?;
        self.vectors.flush()?;
        w.commit()?;
        drop(w);
        for (doc, _) in &batch {
            indexed.insert(doc.id.clone(), todo[&doc.id].clone());
        }
        self.write_indexed(indexed)?;
        stats.documents_indexed += batch.len() as u64;
        if from.0.is_empty() {
            stats.chunks_embedded += n;
        }
        Ok(n)
    }

    /// The stored chunk with this id.
    pub fn chunk(&self, id: &ChunkId) -> Result<Option<StoredChunk>> {
        self.bm25.get(id)
    }

    /// Ranked chunks for `query`.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        let depth = opts.candidates.max(opts.k);
        let bm25 = if opts.mode != Mode::Dense { self.bm25.search(query, depth, &opts.docs)? } else { Vec::new() };
        let query_vec =
            if opts.mode != Mode::Bm25 || opts.mmr.is_some() { Some(self.embedder.embed_query(query)?) } else { None };
        // Hybrid fuses the vectors only where the embedder reads the query's script: an
        // English-only model's vector of a Hindi query is noise (XQuAD Hindi with MiniLM:
        // dense nDCG@10 0.06), and fusing it would rank below BM25 alone.
        let fuse_dense = opts.mode == Mode::Dense || self.embedder.info().reads(query);
        let dense = match (&query_vec, opts.mode) {
            (Some(v), Mode::Dense | Mode::Hybrid) if fuse_dense => self.vectors.search(v, depth, &opts.docs)?,
            _ => Vec::new(),
        };
        let mut fused: HashMap<ChunkId, (f32, Option<RankScore>, Option<RankScore>)> = HashMap::new();
        for (list, weight, is_bm25) in [(&bm25, opts.bm25_weight, true), (&dense, opts.dense_weight, false)] {
            let (mean, sd) = mean_sd(list.iter().map(|(_, s)| *s));
            for (i, (id, score)) in list.iter().enumerate() {
                let e = fused.entry(id.clone()).or_insert((0.0, None, None));
                let rs = RankScore { rank: i + 1, score: *score };
                if is_bm25 {
                    e.1 = Some(rs);
                } else {
                    e.2 = Some(rs);
                }
                e.0 += match (opts.mode, opts.fusion) {
                    (Mode::Hybrid, Fusion::Rrf) => weight / (opts.rrf_k + (i + 1) as f32),
                    (Mode::Hybrid, Fusion::Zscore) => weight * (score - mean) / sd,
                    _ => *score,
                };
            }
        }
        if opts.mode == Mode::Hybrid && opts.fusion == Fusion::Zscore {
            // A chunk missing from one ranking scores as that ranking's worst.
            let floor = |list: &[(ChunkId, f32)], w: f32| {
                let (mean, sd) = mean_sd(list.iter().map(|(_, s)| *s));
                list.last().map_or(0.0, |(_, s)| w * (s - mean) / sd)
            };
            let (fb, fd) = (floor(&bm25, opts.bm25_weight), floor(&dense, opts.dense_weight));
            for e in fused.values_mut() {
                if e.1.is_none() {
                    e.0 += fb;
                }
                if e.2.is_none() {
                    e.0 += fd;
                }
            }
        }
        let mut ranked: Vec<(ChunkId, f32, Option<RankScore>, Option<RankScore>)> =
            fused.into_iter().map(|(id, (s, b, d))| (id, s, b, d)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let (Some(lambda), Some(qv)) = (opts.mmr, &query_vec) {
            ranked = self.mmr(ranked, qv, lambda, opts.k)?;
        }
        ranked.truncate(opts.k);
        let mut hits = Vec::with_capacity(ranked.len());
        for (i, (id, score, b, d)) in ranked.into_iter().enumerate() {
            let Some(c) = self.bm25.get(&id)? else {
                continue;
            };
            let neighbours = if opts.expand > 0 { self.neighbours(&id, opts.expand)? } else { Vec::new() };
            hits.push(Hit {
                rank: i + 1,
                score,
                bm25: b,
                dense: d,
                chunk_id: id,
                doc_id: c.doc_id,
                title: c.title,
                heading_path: c.heading_path,
                span: [c.span.start(), c.span.end()],
                text: c.text,
                neighbours,
            });
        }
        Ok(hits)
    }

    /// Maximal marginal relevance over the ranked candidates.
    #[allow(clippy::type_complexity)]
    fn mmr(
        &self,
        ranked: Vec<(ChunkId, f32, Option<RankScore>, Option<RankScore>)>,
        query: &[f32],
        lambda: f32,
        k: usize,
    ) -> Result<Vec<(ChunkId, f32, Option<RankScore>, Option<RankScore>)>> {
        let ids: Vec<ChunkId> = ranked.iter().map(|r| r.0.clone()).collect();
        let vecs: HashMap<ChunkId, Vec<f32>> = self.vectors.vectors(&ids)?.into_iter().collect();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let mut pool = ranked;
        let mut chosen: Vec<(ChunkId, f32, Option<RankScore>, Option<RankScore>)> = Vec::new();
        while !pool.is_empty() && chosen.len() < k {
            let mut best = 0;
            let mut best_score = f32::NEG_INFINITY;
            for (i, cand) in pool.iter().enumerate() {
                let Some(v) = vecs.get(&cand.0) else { continue };
                let rel = dot(query, v);
                let red =
                    chosen.iter().filter_map(|c| vecs.get(&c.0)).map(|u| dot(u, v)).fold(f32::NEG_INFINITY, f32::max);
                let red = if red.is_finite() { red } else { 0.0 };
                let s = lambda * rel - (1.0 - lambda) * red;
                if s > best_score {
                    best_score = s;
                    best = i;
                }
            }
            chosen.push(pool.remove(best));
        }
        Ok(chosen)
    }

    fn neighbours(&self, id: &ChunkId, n: usize) -> Result<Vec<Neighbour>> {
        let doc = id.doc_id();
        let ord = id.ordinal() as i64;
        let mut out = Vec::new();
        for off in -(n as i64)..=(n as i64) {
            if off == 0 || ord + off < 0 {
                continue;
            }
            let nid = doc.chunk((ord + off) as u32);
            if let Some(c) = self.bm25.get(&nid)? {
                out.push(Neighbour { chunk_id: nid, offset: off, span: [c.span.start(), c.span.end()], text: c.text });
            }
        }
        Ok(out)
    }
}
