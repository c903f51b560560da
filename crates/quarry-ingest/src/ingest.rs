//! The ingest run: inputs → documents → chunks → store, streamed in batches,
//! converted and chunked in parallel, written in input order.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use quarry_core::{Chunk, DocId, Document};
use rayon::prelude::*;
use serde::Serialize;

use crate::chunker::Chunker;
use crate::error::{IngestError, Skip, SkipReason};
use crate::sources::{Compression, Filters, Format, Input, discover};
use crate::store::StoreWriter;
use crate::{gutenberg, html, plain, sections, text, wiki};

/// Commit a segment once this much has been written to it, by default.
pub const SEGMENT_BYTES: u64 = 64 << 20;
/// Convert this much input in one parallel batch.
const BATCH_BYTES: usize = 1 << 20;
const BATCH_ITEMS: usize = 256;

/// What to ingest and how.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    pub paths: Vec<PathBuf>,
    pub out: PathBuf,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Remove sources that are in the store but not among the inputs.
    pub prune: bool,
    /// Commit the open segment once this many bytes are written to it
    /// ([`SEGMENT_BYTES`] when 0).
    pub commit_bytes: u64,
    /// Every document's language (a code such as `hi`), instead of the one its source states
    /// or its text shows (see [`crate::language`]).
    pub language: Option<String>,
}

/// Reports progress; the CLI draws it, tests ignore it.
pub trait Progress: Sync {
    /// The run will read about this many input bytes.
    fn start(&self, _total_bytes: u64) {}
    /// Input bytes read so far.
    fn set_position(&self, _bytes: u64) {}
    /// A skip or warning as it happens.
    fn notice(&self, _line: &str) {}
    fn finish(&self) {}
}

/// A progress reporter that does nothing.
#[derive(Debug)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub out: String,
    /// Documents and chunks written in this run.
    pub documents: u64,
    pub chunks: u64,
    /// Totals in the store after the run.
    pub store_documents: u64,
    pub store_chunks: u64,
    pub sources_ingested: u64,
    pub sources_unchanged: u64,
    pub sources_resumed: u64,
    pub sources_pruned: u64,
    pub input_bytes: u64,
    pub text_bytes: u64,
    pub seconds: f64,
    pub mb_per_s: f64,
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Skips a person should look at (expected ones, like redirects, are only counted).
    pub problems: Vec<Skip>,
    pub warnings: Vec<String>,
}

/// A unit of conversion work: one file, one dump page, one JSONL line.
enum Work {
    File { input: Arc<Input>, bytes: Vec<u8> },
    Page { input: Arc<Input>, page: wiki::Page },
    Json { input: Arc<Input>, line_no: u64, line: String },
}

/// What converting a unit gave.
enum Outcome {
    Doc(Box<Document>, Vec<Chunk>, Vec<String>),
    Skipped(Skip),
}

struct Run<'a> {
    chunker: &'a Chunker,
    writer: StoreWriter,
    progress: &'a dyn Progress,
    summary: Summary,
    seen_ids: HashSet<DocId>,
    batch: Vec<Work>,
    batch_bytes: usize,
    /// One-unit sources whose work is in `batch`: complete once it is written.
    batch_complete: Vec<String>,
    /// Progress of sources touched since the last commit: key → (fingerprint, format, units, complete).
    open_sources: BTreeMap<String, (String, String, u64, bool)>,
    bytes_done: Arc<AtomicU64>,
    commit_bytes: u64,
    language: Option<String>,
}

/// Ingests `opts.paths` into the store at `opts.out`.
pub fn ingest(opts: &IngestOptions, chunker: &Chunker, progress: &dyn Progress) -> Result<Summary, IngestError> {
    let started = Instant::now();
    let filters = Filters::new(&opts.include, &opts.exclude)?;
    let (inputs, skips) = discover(&opts.paths, &filters)?;
    let writer = StoreWriter::open(&opts.out, chunker.settings())?;
    let mut run = Run {
        chunker,
        writer,
        progress,
        summary: Summary { out: opts.out.display().to_string(), ..Summary::default() },
        seen_ids: HashSet::new(),
        batch: Vec::new(),
        batch_bytes: 0,
        batch_complete: Vec::new(),
        open_sources: BTreeMap::new(),
        bytes_done: Arc::new(AtomicU64::new(0)),
        commit_bytes: if opts.commit_bytes == 0 { SEGMENT_BYTES } else { opts.commit_bytes },
        language: opts.language.clone(),
    };
    for s in skips {
        run.skip(s);
    }
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    progress.start(total);
    let mut base = 0u64;
    for input in inputs {
        let size = input.size;
        run.source(Arc::new(input), base)?;
        base += size;
        run.bytes_done.store(base, Ordering::Relaxed);
        progress.set_position(base);
    }
    run.flush_batch()?;
    run.commit()?;
    if opts.prune {
        let given: HashSet<String> = discover(&opts.paths, &filters)?.0.into_iter().map(|i| i.key).collect();
        let gone: Vec<String> = run.writer.manifest().sources.keys().filter(|k| !given.contains(*k)).cloned().collect();
        run.summary.sources_pruned = gone.len() as u64;
        run.writer.remove_sources(&gone)?;
    }
    progress.finish();
    let m = run.writer.manifest();
    let mut summary = run.summary;
    summary.store_documents = m.counts.documents;
    summary.store_chunks = m.counts.chunks;
    summary.input_bytes = total;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.mb_per_s = if summary.seconds > 0.0 { total as f64 / 1e6 / summary.seconds } else { 0.0 };
    Ok(summary)
}

fn fingerprint(input: &Input) -> Result<String, std::io::Error> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(&input.path)?)?;
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

/// Counts bytes read from the raw file, for the progress bar.
struct Counting<R> {
    inner: R,
    base: u64,
    read: u64,
    shared: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.shared.store(self.base + self.read, Ordering::Relaxed);
        Ok(n)
    }
}

impl Run<'_> {
    fn skip(&mut self, s: Skip) {
        *self.summary.skipped.entry(s.reason).or_default() += 1;
        // Files of no known type met in a directory walk are only counted; an archive or a
        // compressed file quarry does not read is named (it was likely meant as input).
        let named = s.reason == SkipReason::UnsupportedFormat && s.message.contains("unpack it first");
        if !s.reason.is_expected() && (s.reason != SkipReason::UnsupportedFormat || named) {
            self.progress.notice(&format!("skipped {s}"));
            self.summary.problems.push(s);
        }
    }

    fn warn(&mut self, w: String) {
        self.progress.notice(&format!("warning: {w}"));
        self.summary.warnings.push(w);
    }

    fn source(&mut self, input: Arc<Input>, base: u64) -> Result<(), IngestError> {
        let shown = input.path.display().to_string();
        let fp = match fingerprint(&input) {
            Ok(f) => f,
            Err(e) => {
                self.skip(Skip::new(shown, SkipReason::Unreadable, e.to_string()));
                return Ok(());
            }
        };
        let mut resume_from = 0;
        match self.writer.manifest().sources.get(&input.key) {
            Some(state) if state.fingerprint == fp && state.complete => {
                self.summary.sources_unchanged += 1;
                return Ok(());
            }
            Some(state) if state.fingerprint == fp => {
                resume_from = state.units_done;
                self.summary.sources_resumed += 1;
            }
            Some(_) => self.writer.replace_source(&input.key),
            None => {}
        }
        self.summary.sources_ingested += 1;
        let format = input.format.name().to_owned();
        self.open_sources.insert(input.key.clone(), (fp.clone(), format, resume_from, false));
        match input.format {
            Format::WikiDump { compression } => {
                self.stream_dump(&input, compression, base, resume_from)?;
                self.mark_complete(&input.key, None);
            }
            Format::Jsonl => {
                self.stream_jsonl(&input, base, resume_from)?;
                self.mark_complete(&input.key, None);
            }
            _ => {
                match std::fs::read(&input.path) {
                    Ok(bytes) => {
                        self.batch_bytes += bytes.len();
                        self.batch.push(Work::File { input: input.clone(), bytes });
                    }
                    Err(e) => self.skip(Skip::new(shown, SkipReason::Unreadable, e.to_string())),
                }
                // Complete once the batch holding it is written.
                self.batch_complete.push(input.key.clone());
                if self.batch.len() >= BATCH_ITEMS || self.batch_bytes >= BATCH_BYTES {
                    self.flush_batch()?;
                }
            }
        }
        self.maybe_commit()
    }

    /// Records that a source was read to its end (`units` for one-unit
    /// sources). Only call once its last batch is written.
    fn mark_complete(&mut self, key: &str, units: Option<u64>) {
        if let Some(s) = self.open_sources.get_mut(key) {
            s.3 = true;
            if let Some(u) = units {
                s.2 = u;
            }
        }
    }

    /// Commits when the open segment is big enough; the batch is written
    /// first, so a commit never records progress past what is on disk.
    fn maybe_commit(&mut self) -> Result<(), IngestError> {
        if self.writer.pending_bytes() + self.batch_bytes as u64 >= self.commit_bytes {
            self.flush_batch()?;
            if self.writer.pending_bytes() >= self.commit_bytes {
                self.commit()?;
            }
        }
        Ok(())
    }

    fn stream_dump(
        &mut self,
        input: &Arc<Input>,
        compression: Compression,
        base: u64,
        resume_from: u64,
    ) -> Result<(), IngestError> {
        let file = File::open(&input.path).map_err(|e| IngestError::io(&input.path, e))?;
        let counting = Counting { inner: file, base, read: 0, shared: self.bytes_done.clone() };
        // Multi-member streams (multistream bzip2, concatenated gzip or xz) are read whole.
        let decoded: Box<dyn std::io::Read> = match compression {
            Compression::None => Box::new(counting),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(counting)),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counting)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(counting)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(counting).map_err(|e| IngestError::io(&input.path, e))?)
            }
        };
        let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 20, decoded));
        let mut unit = 0u64;
        for page in wiki::Pages::new(reader) {
            match page {
                Ok(page) => {
                    unit += 1;
                    if unit <= resume_from {
                        continue;
                    }
                    self.batch_bytes += page.text.len();
                    self.batch.push(Work::Page { input: input.clone(), page });
                    if self.writer.pending_bytes() + self.batch_bytes as u64 >= self.commit_bytes {
                        self.flush_batch()?;
                        self.set_units(&input.key, unit);
                        self.maybe_commit()?;
                    }
                }
                Err(e) => {
                    let reason = if e.truncated { SkipReason::Truncated } else { SkipReason::Malformed };
                    self.flush_batch()?;
                    self.skip(
                        Skip::new(
                            input.path.display().to_string(),
                            reason,
                            format!("{}; the pages before it were kept", e.message),
                        )
                        .at(e.locator),
                    );
                    break;
                }
            }
            if self.batch.len() >= BATCH_ITEMS || self.batch_bytes >= BATCH_BYTES {
                self.flush_batch()?;
                self.set_units(&input.key, unit);
                self.progress.set_position(self.bytes_done.load(Ordering::Relaxed));
                self.maybe_commit()?;
            }
        }
        self.flush_batch()?;
        self.set_units(&input.key, unit);
        Ok(())
    }

    fn stream_jsonl(&mut self, input: &Arc<Input>, base: u64, resume_from: u64) -> Result<(), IngestError> {
        let file = File::open(&input.path).map_err(|e| IngestError::io(&input.path, e))?;
        let counting = Counting { inner: file, base, read: 0, shared: self.bytes_done.clone() };
        let mut reader = BufReader::with_capacity(1 << 20, counting);
        let mut unit = 0u64;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    self.skip(
                        Skip::new(input.path.display().to_string(), SkipReason::Unreadable, e.to_string())
                            .at(format!("line {}", unit + 1)),
                    );
                    break;
                }
            }
            unit += 1;
            if unit <= resume_from || buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match String::from_utf8(std::mem::take(&mut buf)) {
                Ok(line) => {
                    self.batch_bytes += line.len();
                    self.batch.push(Work::Json { input: input.clone(), line_no: unit, line });
                    if self.writer.pending_bytes() + self.batch_bytes as u64 >= self.commit_bytes {
                        self.flush_batch()?;
                        self.set_units(&input.key, unit);
                        self.maybe_commit()?;
                    }
                }
                Err(_) => self.skip(
                    Skip::new(input.path.display().to_string(), SkipReason::Encoding, "line is not valid UTF-8")
                        .at(format!("line {unit}")),
                ),
            }
            if self.batch.len() >= BATCH_ITEMS || self.batch_bytes >= BATCH_BYTES {
                self.flush_batch()?;
                self.set_units(&input.key, unit);
                self.progress.set_position(self.bytes_done.load(Ordering::Relaxed));
                self.maybe_commit()?;
            }
        }
        self.flush_batch()?;
        self.set_units(&input.key, unit);
        Ok(())
    }

    fn set_units(&mut self, key: &str, units: u64) {
        if let Some(s) = self.open_sources.get_mut(key) {
            s.2 = units;
        }
    }

    fn flush_batch(&mut self) -> Result<(), IngestError> {
        if self.batch.is_empty() {
            for key in std::mem::take(&mut self.batch_complete) {
                self.mark_complete(&key, Some(1));
            }
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let chunker = self.chunker;
        let outcomes: Vec<Outcome> = batch.into_par_iter().map(|w| convert(w, chunker)).collect();
        for outcome in outcomes {
            match outcome {
                Outcome::Doc(doc, chunks, warnings) => {
                    for w in warnings {
                        self.warn(w);
                    }
                    if !self.seen_ids.insert(doc.id.clone()) {
                        let where_ = if doc.locator.is_empty() {
                            doc.source.clone()
                        } else {
                            format!("{} {}", doc.source, doc.locator)
                        };
                        self.skip(Skip::new(
                            doc.source.clone(),
                            SkipReason::Malformed,
                            format!("duplicate document id {} ({where_}); the first one was kept", doc.id),
                        ));
                        continue;
                    }
                    let mut doc = doc;
                    let language = crate::language::of(&doc, self.language.as_deref());
                    doc.metadata.insert("language".into(), language);
                    self.writer.add(&doc, &chunks)?;
                    self.summary.documents += 1;
                    self.summary.chunks += chunks.len() as u64;
                    self.summary.text_bytes += doc.text.len() as u64;
                }
                Outcome::Skipped(s) => self.skip(s),
            }
        }
        for key in std::mem::take(&mut self.batch_complete) {
            self.mark_complete(&key, Some(1));
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), IngestError> {
        let progress: Vec<(String, String, String, u64, bool)> = self
            .open_sources
            .iter()
            .map(|(k, (fp, fmt, units, complete))| (k.clone(), fp.clone(), fmt.clone(), *units, *complete))
            .collect();
        self.writer.commit(&progress)?;
        self.open_sources.retain(|_, s| !s.3);
        Ok(())
    }
}

fn file_stem(input: &Input) -> String {
    let name = input.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.split('.').next().unwrap_or(&name).to_owned()
}

/// Converts and chunks one unit. Runs on the thread pool.
fn convert(work: Work, chunker: &Chunker) -> Outcome {
    let result = match work {
        Work::File { input, bytes } => convert_file(&input, bytes),
        Work::Page { input, page } => convert_page(&input, page),
        Work::Json { input, line_no, line } => convert_json(&input, line_no, &line),
    };
    match result {
        Ok((doc, warnings)) => {
            let chunks = chunker.chunk(&doc);
            if chunks.is_empty() {
                let s = Skip::new(doc.source.clone(), SkipReason::Empty, "no text left after normalising")
                    .at(doc.locator.clone());
                return Outcome::Skipped(s);
            }
            Outcome::Doc(Box::new(doc), chunks, warnings)
        }
        Err(s) => Outcome::Skipped(s),
    }
}

fn new_doc(
    input: &Input,
    locator: String,
    title: String,
    format: &str,
    text: String,
    sections: Vec<quarry_core::Section>,
) -> Document {
    let id_source = if locator.is_empty() { input.key.clone() } else { format!("{}#{}", input.key, locator) };
    Document {
        id: DocId::from_source(&id_source),
        source: input.key.clone(),
        locator,
        title,
        format: format.to_owned(),
        text,
        sections,
        metadata: BTreeMap::new(),
    }
}

fn convert_file(input: &Input, bytes: Vec<u8>) -> Result<(Document, Vec<String>), Skip> {
    let shown = input.path.display().to_string();
    let stem = file_stem(input);
    let mut warnings = Vec::new();
    if input.format == Format::Epub {
        let book = html::load_epub(bytes, &stem).map_err(|m| Skip::new(shown.clone(), SkipReason::Malformed, m))?;
        let mut doc = new_doc(input, String::new(), book.title, "epub", book.text, book.sections);
        doc.metadata = book.metadata;
        return Ok((doc, warnings));
    }
    let decoded = text::decode(&bytes).map_err(|(reason, msg)| Skip::new(shown.clone(), reason, msg))?;
    if decoded.encoding == text::Encoding::Windows1252 {
        warnings.push(format!("{shown}: not valid UTF-8; decoded as Windows-1252"));
    }
    let raw = decoded.text;
    let doc = match input.format {
        Format::Html => {
            let (title, text, sections) = html::load_html(&raw, &stem);
            new_doc(input, String::new(), title, "html", text, sections)
        }
        Format::Markdown => {
            let marks = plain::markdown_headings(&raw);
            let title = plain::markdown_title(&marks).unwrap_or(stem);
            let sections = sections::build_sections(&raw, &title, &marks);
            new_doc(input, String::new(), title, "markdown", raw, sections)
        }
        _ if gutenberg::is_gutenberg(&raw) => match gutenberg::find_body(&raw) {
            Some(body) => {
                let text = raw[body.start..body.end].to_owned();
                if text.len() * 2 < raw.len() {
                    warnings.push(format!(
                        "{shown}: only {} of {} bytes remain after removing the Project Gutenberg header and licence; check the result",
                        text.len(),
                        raw.len()
                    ));
                }
                let title = body.title.clone().unwrap_or(stem);
                let marks = plain::plain_headings(&text);
                let sections = sections::build_sections(&text, &title, &marks);
                let mut doc = new_doc(input, String::new(), title, "gutenberg", text, sections);
                if let Some(a) = body.author {
                    doc.metadata.insert("author".into(), a);
                }
                if let Some(l) = body.language {
                    doc.metadata.insert("language".into(), l);
                }
                doc
            }
            None => {
                warnings.push(format!("{shown}: mentions Project Gutenberg but has no start marker; kept whole"));
                plain_doc(input, raw, stem)
            }
        },
        _ => plain_doc(input, raw, stem),
    };
    if doc.text.trim().is_empty() {
        return Err(Skip::new(shown, SkipReason::Empty, "empty document"));
    }
    Ok((doc, warnings))
}

fn plain_doc(input: &Input, raw: String, title: String) -> Document {
    let marks = plain::plain_headings(&raw);
    let sections = sections::build_sections(&raw, &title, &marks);
    new_doc(input, String::new(), title, "text", raw, sections)
}

fn convert_page(input: &Input, page: wiki::Page) -> Result<(Document, Vec<String>), Skip> {
    let shown = input.path.display().to_string();
    let locator = format!("page {}", page.id);
    let at = format!("page {} {:?}", page.id, page.title);
    if page.redirect {
        return Err(Skip::new(shown, SkipReason::Redirect, "redirect").at(at));
    }
    if page.ns != 0 {
        return Err(Skip::new(shown, SkipReason::NotArticle, "not in the article namespace").at(at));
    }
    if page.too_large {
        return Err(Skip::new(
            shown,
            SkipReason::TooLarge,
            format!("page text is over {} bytes", wiki::MAX_PAGE_BYTES),
        )
        .at(at));
    }
    if wiki::is_disambiguation(&page) {
        return Err(Skip::new(shown, SkipReason::Disambiguation, "disambiguation page").at(at));
    }
    let (text, sections) = wiki::render_in(&page.title, &page.text, &page.site);
    if text.trim().is_empty() {
        return Err(Skip::new(shown, SkipReason::Empty, "no prose left after removing markup").at(at));
    }
    let mut doc = new_doc(input, locator, page.title.clone(), "wikipedia", text, sections);
    doc.metadata.insert("page_id".into(), page.id.to_string());
    if !page.site.lang.is_empty() {
        doc.metadata.insert("language".into(), page.site.lang.clone());
    }
    Ok((doc, Vec::new()))
}

#[derive(serde::Deserialize)]
struct JsonDoc {
    #[serde(alias = "_id")]
    id: Option<serde_json::Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(alias = "contents", alias = "content", alias = "body")]
    text: Option<String>,
}

fn convert_json(input: &Input, line_no: u64, line: &str) -> Result<(Document, Vec<String>), Skip> {
    let shown = input.path.display().to_string();
    let at = format!("line {line_no}");
    let parsed: JsonDoc = serde_json::from_str(line).map_err(|e| {
        Skip::new(shown.clone(), SkipReason::Malformed, format!("not a JSON object with id/title/text: {e}"))
            .at(at.clone())
    })?;
    let Some(body) = parsed.text.filter(|t| !t.trim().is_empty()) else {
        return Err(Skip::new(shown, SkipReason::Empty, "no \"text\" field, or it is empty").at(at));
    };
    let id = match parsed.id {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => format!("line{line_no}"),
    };
    let title = parsed.title.unwrap_or_default();
    let text = text::normalize_newlines(&body);
    let root = if title.is_empty() { id.clone() } else { title.clone() };
    let sections = sections::build_sections(&text, &root, &[]);
    let mut doc = new_doc(input, format!("id {id}"), title, "jsonl", text, sections);
    doc.metadata.insert("source_id".into(), id);
    Ok((doc, Vec::new()))
}
