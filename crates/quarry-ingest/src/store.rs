//! The on-disk store of documents and chunks that `quarry ingest` writes and
//! every later stage reads.
//!
//! Layout of a store directory:
//!
//! ```text
//! manifest.json          format version, chunker settings, sources, segments
//! segments/000001.jsonl  {"type":"document",...} then that document's {"type":"chunk",...} rows
//! ```
//!
//! Chunk rows hold spans, not text: a chunk's text is `document.text[span]`,
//! so it is stored once. Segments are append-only and written whole
//! (temporary file, fsync, rename) before the manifest that names them is
//! replaced the same way; a reader sees only segments the manifest names, and
//! only the documents of a source that the manifest gives that segment for.
//! So a crash at any moment leaves the last committed store intact, and a
//! half-written segment is never read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use quarry_core::{Chunk, ChunkId, DocId, Document, STORE_FORMAT_VERSION, Span};
use serde::{Deserialize, Serialize};

use crate::chunker::ChunkerSettings;
use crate::error::IngestError;

/// The name written in `manifest.json`'s `format` field.
pub const STORE_FORMAT: &str = "quarry-store";
const MANIFEST: &str = "manifest.json";
const SEGMENTS: &str = "segments";

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub chunker: ChunkerSettings,
    /// Segment numbers in write order.
    pub segments: Vec<SegmentInfo>,
    /// Every ingested source by key.
    pub sources: BTreeMap<String, SourceState>,
    pub counts: Counts,
}

/// One segment file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub number: u32,
    pub bytes: u64,
}

/// What the store holds of one source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// `blake3:<hex>` of the file's bytes.
    pub fingerprint: String,
    pub format: String,
    /// Segments holding this source's live documents.
    pub segments: Vec<u32>,
    pub documents: u64,
    pub chunks: u64,
    /// Bytes of normalised text in this source's documents.
    pub text_bytes: u64,
    /// Units (pages, lines, files) of the source consumed so far, skipped ones
    /// included: where a resumed run starts.
    pub units_done: u64,
    /// Whether the whole source was read.
    pub complete: bool,
    /// Live documents per language (`metadata.language`; "" for unknown).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, u64>,
}

/// Totals over live documents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub documents: u64,
    pub chunks: u64,
    pub text_bytes: u64,
}

/// A chunk as stored: no text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRow {
    pub id: ChunkId,
    pub doc_id: DocId,
    pub heading_path: Vec<String>,
    pub span: Span,
    pub token_count: u32,
}

/// One line of a segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Row {
    Document(Document),
    Chunk(ChunkRow),
}

impl ChunkRow {
    /// The chunk with its text taken from its document.
    pub fn resolve(&self, doc: &Document) -> Result<Chunk, String> {
        let text = self.span.slice(&doc.text).map_err(|e| format!("chunk {}: {e} in document {}", self.id, doc.id))?;
        Ok(Chunk {
            id: self.id.clone(),
            doc_id: self.doc_id.clone(),
            heading_path: self.heading_path.clone(),
            span: self.span,
            token_count: self.token_count,
            text: text.to_owned(),
        })
    }
}

impl From<&Chunk> for ChunkRow {
    fn from(c: &Chunk) -> ChunkRow {
        ChunkRow {
            id: c.id.clone(),
            doc_id: c.doc_id.clone(),
            heading_path: c.heading_path.clone(),
            span: c.span,
            token_count: c.token_count,
        }
    }
}

fn segment_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(SEGMENTS).join(format!("{number:06}.jsonl"))
}

/// Writes `bytes` to `path` atomically and durably (quarry-fs: temporary file, fsync,
/// rename, fsync of the directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IngestError> {
    quarry_fs::write_bytes_atomic(path, bytes).map_err(|e| IngestError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), IngestError> {
    quarry_fs::sync_dir(dir).map_err(|e| IngestError::io(dir, e))
}

/// A chunk as [`Store::chunks`] yields it: the chunk and its document's title.
#[derive(Clone, Debug)]
pub struct StoredChunk {
    pub title: String,
    /// The document's language (`metadata.language`; "" when unknown).
    pub language: String,
    pub chunk: Chunk,
}

/// A store directory open for reading.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
}

impl Store {
    /// Opens `dir`, checking its format and version.
    pub fn open(dir: &Path) -> Result<Store, IngestError> {
        let path = dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                IngestError::store(dir, "not a quarry store (no manifest.json); create one with `quarry ingest`")
            } else {
                IngestError::io(&path, e)
            }
        })?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| IngestError::store(&path, format!("unreadable manifest: {e}")))?;
        if manifest.format != STORE_FORMAT || manifest.version != STORE_FORMAT_VERSION {
            return Err(IngestError::store(
                &path,
                format!(
                    "store format {} version {} is not supported (this quarry reads {STORE_FORMAT} version {STORE_FORMAT_VERSION})",
                    manifest.format, manifest.version
                ),
            ));
        }
        Ok(Store { dir: dir.to_owned(), manifest })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every live document with its chunks, in store order.
    pub fn documents(&self) -> impl Iterator<Item = Result<(Document, Vec<Chunk>), IngestError>> + '_ {
        let live: BTreeMap<&str, BTreeSet<u32>> =
            self.manifest.sources.iter().map(|(k, s)| (k.as_str(), s.segments.iter().copied().collect())).collect();
        let segments: Vec<u32> = self.manifest.segments.iter().map(|s| s.number).collect();
        DocIter {
            dir: self.dir.clone(),
            live_owned: owned(live),
            segments,
            seg_idx: 0,
            reader: None,
            pending: None,
            line_no: 0,
        }
    }

    /// Every chunk of every live document, in store order, with its document's title.
    pub fn chunks(&self) -> impl Iterator<Item = Result<StoredChunk, IngestError>> + '_ {
        self.documents().flat_map(|item| -> Vec<Result<StoredChunk, IngestError>> {
            match item {
                Ok((doc, chunks)) => {
                    let language = doc.metadata.get("language").cloned().unwrap_or_default();
                    chunks
                        .into_iter()
                        .map(|chunk| Ok(StoredChunk { title: doc.title.clone(), language: language.clone(), chunk }))
                        .collect()
                }
                Err(e) => vec![Err(e)],
            }
        })
    }

    /// Finds one chunk and its document.
    pub fn find_chunk(&self, id: &ChunkId) -> Result<Option<(Document, Vec<Chunk>, usize)>, IngestError> {
        let doc_id = id.doc_id();
        for item in self.documents() {
            let (doc, chunks) = item?;
            if doc.id == doc_id {
                let pos = chunks.iter().position(|c| &c.id == id);
                return Ok(pos.map(|p| (doc, chunks, p)));
            }
        }
        Ok(None)
    }
}

fn owned(live: BTreeMap<&str, BTreeSet<u32>>) -> BTreeMap<String, BTreeSet<u32>> {
    live.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

struct DocIter {
    dir: PathBuf,
    live_owned: BTreeMap<String, BTreeSet<u32>>,
    segments: Vec<u32>,
    seg_idx: usize,
    reader: Option<(u32, std::io::Lines<BufReader<File>>)>,
    pending: Option<Document>,
    line_no: usize,
}

impl DocIter {
    fn corrupt(&self, number: u32, msg: String) -> IngestError {
        IngestError::store(segment_path(&self.dir, number), format!("line {}: {msg}", self.line_no))
    }
}

impl Iterator for DocIter {
    type Item = Result<(Document, Vec<Chunk>), IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut chunks: Vec<Chunk> = Vec::new();
        loop {
            if self.reader.is_none() {
                if self.seg_idx >= self.segments.len() {
                    return self.pending.take().map(|d| Ok((d, chunks)));
                }
                let number = self.segments[self.seg_idx];
                self.seg_idx += 1;
                let path = segment_path(&self.dir, number);
                match File::open(&path) {
                    Ok(f) => self.reader = Some((number, BufReader::with_capacity(1 << 20, f).lines())),
                    Err(e) => return Some(Err(IngestError::io(path, e))),
                }
                self.line_no = 0;
            }
            let (number, lines) = self.reader.as_mut().expect("just opened");
            let number = *number;
            let Some(line) = lines.next() else {
                self.reader = None;
                continue;
            };
            self.line_no += 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(IngestError::io(segment_path(&self.dir, number), e))),
            };
            let row: Row = match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(e) => return Some(Err(self.corrupt(number, e.to_string()))),
            };
            match row {
                Row::Document(doc) => {
                    let is_live = self.live_owned.get(&doc.source).is_some_and(|s| s.contains(&number));
                    let next = if is_live { Some(doc) } else { None };
                    let done = self.pending.take();
                    self.pending = next;
                    if let Some(d) = done {
                        return Some(Ok((d, chunks)));
                    }
                    chunks.clear();
                }
                Row::Chunk(c) => {
                    if let Some(doc) = &self.pending {
                        if c.doc_id != doc.id {
                            return Some(Err(
                                self.corrupt(number, format!("chunk {} follows document {}", c.id, doc.id))
                            ));
                        }
                        match c.resolve(doc) {
                            Ok(chunk) => chunks.push(chunk),
                            Err(msg) => return Some(Err(self.corrupt(number, msg))),
                        }
                    }
                }
            }
        }
    }
}

/// Writes a store: segments, then the manifest that commits them.
#[derive(Debug)]
pub struct StoreWriter {
    dir: PathBuf,
    manifest: Manifest,
    current: Option<OpenSegment>,
    /// Sources replaced in this run: their old segments are dropped at the
    /// first commit that includes new documents of theirs.
    replaced: BTreeSet<String>,
}

#[derive(Debug)]
struct OpenSegment {
    number: u32,
    tmp: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
    /// Per source: documents, chunks, text bytes added to this segment, and documents per
    /// language.
    touched: BTreeMap<String, (u64, u64, u64, BTreeMap<String, u64>)>,
}

impl StoreWriter {
    /// Opens `dir` for writing, creating it when needed. An existing store
    /// must have been written with the same chunker settings. Leftovers of an
    /// interrupted run (segments the manifest does not name) are removed.
    pub fn open(dir: &Path, chunker: &ChunkerSettings) -> Result<StoreWriter, IngestError> {
        fs::create_dir_all(dir.join(SEGMENTS)).map_err(|e| IngestError::io(dir, e))?;
        let manifest = if dir.join(MANIFEST).exists() {
            let store = Store::open(dir)?;
            let m = store.manifest;
            if &m.chunker != chunker {
                return Err(IngestError::store(
                    dir,
                    format!(
                        "was written with other chunker settings ({}, {}..{} tokens, overlap {}); use a new --out directory",
                        m.chunker.tokenizer, m.chunker.target_tokens, m.chunker.max_tokens, m.chunker.overlap_tokens
                    ),
                ));
            }
            m
        } else {
            let entries = fs::read_dir(dir).map_err(|e| IngestError::io(dir, e))?;
            let foreign = entries.flatten().any(|e| e.file_name() != SEGMENTS);
            if foreign {
                return Err(IngestError::store(
                    dir,
                    "exists and is not a quarry store; choose an empty or new --out directory",
                ));
            }
            Manifest {
                format: STORE_FORMAT.to_owned(),
                version: STORE_FORMAT_VERSION,
                chunker: chunker.clone(),
                segments: Vec::new(),
                sources: BTreeMap::new(),
                counts: Counts::default(),
            }
        };
        let named: BTreeSet<String> = manifest.segments.iter().map(|s| format!("{:06}.jsonl", s.number)).collect();
        for entry in fs::read_dir(dir.join(SEGMENTS)).map_err(|e| IngestError::io(dir, e))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !named.contains(&name) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(StoreWriter { dir: dir.to_owned(), manifest, current: None, replaced: BTreeSet::new() })
    }

    /// The manifest as last committed (plus sources marked in this run).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Marks `key` as re-ingested from scratch: its old documents stop being
    /// live at the next commit.
    pub fn replace_source(&mut self, key: &str) {
        self.replaced.insert(key.to_owned());
    }

    fn segment(&mut self) -> Result<&mut OpenSegment, IngestError> {
        if self.current.is_none() {
            let number = self.manifest.segments.iter().map(|s| s.number).max().unwrap_or(0) + 1;
            let path = segment_path(&self.dir, number);
            let tmp = path.with_extension("jsonl.tmp");
            let f = File::create(&tmp).map_err(|e| IngestError::io(&tmp, e))?;
            self.current = Some(OpenSegment {
                number,
                tmp,
                out: BufWriter::with_capacity(1 << 20, f),
                bytes: 0,
                touched: BTreeMap::new(),
            });
        }
        Ok(self.current.as_mut().expect("just opened"))
    }

    /// Appends a document and its chunks to the open segment.
    pub fn add(&mut self, doc: &Document, chunks: &[Chunk]) -> Result<(), IngestError> {
        let seg = self.segment()?;
        let mut buf = serde_json::to_vec(&Row::Document(doc.clone())).expect("serialisable");
        buf.push(b'\n');
        for c in chunks {
            serde_json::to_writer(&mut buf, &Row::Chunk(ChunkRow::from(c))).expect("serialisable");
            buf.push(b'\n');
        }
        seg.out.write_all(&buf).map_err(|e| IngestError::io(&seg.tmp, e))?;
        seg.bytes += buf.len() as u64;
        let t = seg.touched.entry(doc.source.clone()).or_default();
        t.0 += 1;
        t.1 += chunks.len() as u64;
        t.2 += doc.text.len() as u64;
        *t.3.entry(doc.metadata.get("language").cloned().unwrap_or_default()).or_default() += 1;
        Ok(())
    }

    /// Bytes written to the open segment so far.
    pub fn pending_bytes(&self) -> u64 {
        self.current.as_ref().map_or(0, |s| s.bytes)
    }

    /// Makes everything added so far durable and visible, and records the
    /// progress of the given sources: `(key, fingerprint, format, units_done, complete)`.
    pub fn commit(&mut self, progress: &[(String, String, String, u64, bool)]) -> Result<(), IngestError> {
        let mut touched = BTreeMap::new();
        if let Some(mut seg) = self.current.take() {
            seg.out.flush().map_err(|e| IngestError::io(&seg.tmp, e))?;
            let f = seg.out.into_inner().map_err(|e| IngestError::io(&seg.tmp, e.into_error()))?;
            f.sync_all().map_err(|e| IngestError::io(&seg.tmp, e))?;
            drop(f);
            let path = segment_path(&self.dir, seg.number);
            fs::rename(&seg.tmp, &path).map_err(|e| IngestError::io(&path, e))?;
            sync_dir(&self.dir.join(SEGMENTS))?;
            self.manifest.segments.push(SegmentInfo { number: seg.number, bytes: seg.bytes });
            touched = seg.touched.into_iter().map(|(k, v)| (k, (seg.number, v))).collect();
        }
        for (key, fingerprint, format, units_done, complete) in progress {
            let fresh = self.replaced.remove(key);
            let state = self.manifest.sources.entry(key.clone()).or_insert_with(|| SourceState {
                fingerprint: fingerprint.clone(),
                format: format.clone(),
                segments: Vec::new(),
                documents: 0,
                chunks: 0,
                text_bytes: 0,
                units_done: 0,
                complete: false,
                languages: BTreeMap::new(),
            });
            if fresh {
                *state = SourceState {
                    fingerprint: fingerprint.clone(),
                    format: format.clone(),
                    segments: Vec::new(),
                    documents: 0,
                    chunks: 0,
                    text_bytes: 0,
                    units_done: 0,
                    complete: false,
                    languages: BTreeMap::new(),
                };
            }
            if let Some((number, (docs, chunks, bytes, languages))) = touched.get(key) {
                state.segments.push(*number);
                state.documents += docs;
                state.chunks += chunks;
                state.text_bytes += bytes;
                for (l, n) in languages {
                    *state.languages.entry(l.clone()).or_default() += n;
                }
            }
            state.units_done = *units_done;
            state.complete = *complete;
        }
        self.recount();
        self.write_manifest()
    }

    fn recount(&mut self) {
        let m = &mut self.manifest;
        m.counts.documents = m.sources.values().map(|s| s.documents).sum();
        m.counts.chunks = m.sources.values().map(|s| s.chunks).sum();
        m.counts.text_bytes = m.sources.values().map(|s| s.text_bytes).sum();
        let live: BTreeSet<u32> = m.sources.values().flat_map(|s| s.segments.iter().copied()).collect();
        m.segments.retain(|s| live.contains(&s.number));
    }

    /// Drops sources from the store (for `--prune`).
    pub fn remove_sources(&mut self, keys: &[String]) -> Result<(), IngestError> {
        for k in keys {
            self.manifest.sources.remove(k);
        }
        self.recount();
        self.write_manifest()
    }

    fn write_manifest(&mut self) -> Result<(), IngestError> {
        let mut bytes = serde_json::to_vec_pretty(&self.manifest).expect("serialisable");
        bytes.push(b'\n');
        write_atomic(&self.dir.join(MANIFEST), &bytes)?;
        // Segments no source uses any more can go.
        let live: BTreeSet<String> = self.manifest.segments.iter().map(|s| format!("{:06}.jsonl", s.number)).collect();
        if let Ok(entries) = fs::read_dir(self.dir.join(SEGMENTS)) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".jsonl") && !live.contains(&name) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }
}
