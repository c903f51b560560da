//! BM25 over chunks with tantivy: text, title and heading-path fields analysed into words of
//! every script ([`crate::analyzer`]); chunk id, document id and span stored.

use std::path::{Path, PathBuf};

use quarry_core::{Chunk, ChunkId, DocId, Document, Span};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::PreTokenizedString;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

use crate::error::{IndexError, Result};

/// Memory the writer may use before it flushes a segment.
const WRITER_BUDGET: usize = 100 << 20;

/// The fields of the chunk index.
#[derive(Clone, Copy, Debug)]
struct Fields {
    chunk_id: Field,
    doc_id: Field,
    ordinal: Field,
    title: Field,
    headings: Field,
    text: Field,
    span_start: Field,
    span_end: Field,
    /// The chunk's document's language, in indexes that analyse each in its own
    /// ([`crate::analyzer::NAME_LANG`]); `None` in older ones.
    language: Option<Field>,
}

impl Fields {
    fn of(schema: &Schema) -> Fields {
        let f = |name: &str| schema.get_field(name).expect("a quarry BM25 schema");
        Fields {
            chunk_id: f("chunk_id"),
            doc_id: f("doc_id"),
            ordinal: f("ordinal"),
            title: f("title"),
            headings: f("headings"),
            text: f("text"),
            span_start: f("span_start"),
            span_end: f("span_end"),
            language: schema.get_field("language").ok(),
        }
    }
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    let stemmed = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(crate::analyzer::NAME_LANG)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    b.add_text_field("chunk_id", STRING | STORED);
    b.add_text_field("doc_id", STRING | STORED);
    b.add_u64_field("ordinal", INDEXED | STORED);
    b.add_text_field("title", stemmed.clone());
    b.add_text_field("headings", stemmed.clone());
    b.add_text_field("text", stemmed);
    b.add_u64_field("span_start", STORED);
    b.add_u64_field("span_end", STORED);
    b.add_text_field("language", STRING | STORED);
    b.build()
}

/// A chunk as the index stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredChunk {
    pub chunk_id: ChunkId,
    pub doc_id: DocId,
    pub title: String,
    pub heading_path: Vec<String>,
    pub span: Span,
    pub text: String,
}

/// The BM25 index in `<index>/bm25/`.
pub struct Bm25 {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// The languages of the indexed chunks as of the last (re)load: see [`Bm25::languages`].
    languages: std::sync::RwLock<Vec<String>>,
}

impl std::fmt::Debug for Bm25 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25").field("path", &self.path).finish()
    }
}

/// A separator that cannot occur in headings, for the stored heading path.
const PATH_SEP: &str = "\u{1f}";

/// Okapi BM25 parameters used to rescore tantivy's candidates (tantivy fixes
/// k1 = 1.2, b = 0.75 and scores fields through quantised norms). Chosen on
/// the first 3,000 SQuAD dev questions and the HotpotQA sample against a grid
/// of k1 in 0.9..2.0, b in 0.4..1.0 and the field boosts below: nDCG@10
/// 0.826 / 0.851, against 0.809 / 0.809 for the passage-retrieval habit
/// k1 0.9, b 0.4. Chunks are short and of similar length, so stronger length
/// normalisation helps.
const K1: f32 = 1.0;
const B: f32 = 0.9;
/// Candidates taken from tantivy for rescoring, at least.
const RESCORE_DEPTH: usize = 100;

/// A field's boost, average length and query terms with their IDF.
type FieldTerms = (Field, f32, f32, Vec<(String, f32)>);

/// Field weights: body text counts fully, title and heading path half.
const TITLE_BOOST: f32 = 0.5;
const HEADINGS_BOOST: f32 = 0.5;

impl Bm25 {
    /// Opens the index at `path`, creating it when missing.
    pub fn open(path: &Path) -> Result<Bm25> {
        let err = |e: tantivy::TantivyError| IndexError::Bm25 { path: path.to_owned(), message: e.to_string() };
        std::fs::create_dir_all(path).map_err(|e| IndexError::io(path, e))?;
        let index = if path.join("meta.json").exists() {
            Index::open_in_dir(path).map_err(err)?
        } else {
            Index::create_in_dir(path, schema()).map_err(err)?
        };
        // An index's own schema says which analysis it was built with.
        let fields = Fields::of(&index.schema());
        index.tokenizers().register(crate::analyzer::NAME, crate::analyzer::analyzer());
        index.tokenizers().register(crate::analyzer::NAME_LANG, crate::analyzer::lang_analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(err)?;
        let bm25 = Bm25 { path: path.to_owned(), index, reader, fields, languages: Default::default() };
        bm25.read_languages()?;
        Ok(bm25)
    }

    /// The languages of the indexed chunks ("" for unknown); `[""]` for an index with one
    /// analysis for every document.
    fn languages(&self) -> Vec<String> {
        self.languages.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the languages of the indexed chunks from the language field's terms (once per
    /// load, not per query).
    fn read_languages(&self) -> Result<()> {
        let found = self.indexed_languages()?;
        *self.languages.write().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(())
    }

    fn indexed_languages(&self) -> Result<Vec<String>> {
        let Some(field) = self.fields.language else { return Ok(vec![String::new()]) };
        let mut out = std::collections::BTreeSet::new();
        for seg in self.reader.searcher().segment_readers() {
            let inverted = seg.inverted_index(field).map_err(|e| self.err(e))?;
            let mut stream = inverted.terms().stream().map_err(|e| self.err(e))?;
            while stream.advance() {
                out.insert(String::from_utf8_lossy(stream.key()).into_owned());
            }
        }
        if out.is_empty() {
            out.insert(String::new());
        }
        Ok(out.into_iter().collect())
    }

    /// The terms of `text` in `field` for a chunk in `language`: the language's analysis in an
    /// index that stores languages, the field's own analyzer in an older one.
    fn analyze(&self, field: Field, text: &str, language: &str) -> Result<Vec<String>> {
        if self.fields.language.is_some() {
            return Ok(crate::analyzer::terms(text, language).into_iter().map(|t| t.text).collect());
        }
        let mut analyzer = self.index.tokenizer_for_field(field).map_err(|e| self.err(e))?;
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        Ok(out)
    }

    fn err(&self, e: impl ToString) -> IndexError {
        IndexError::Bm25 { path: self.path.clone(), message: e.to_string() }
    }

    /// A writer; only one may be open at a time.
    pub fn writer(&self) -> Result<Bm25Writer<'_>> {
        let writer = self.index.writer(WRITER_BUDGET).map_err(|e| self.err(e))?;
        Ok(Bm25Writer { bm25: self, writer })
    }

    /// Makes the last commit visible to searches.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(|e| self.err(e))?;
        self.read_languages()
    }

    /// Number of chunks indexed.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best `k` chunks for `query`, optionally only from `docs`.
    /// tantivy finds the candidates; they are then rescored with Okapi BM25
    /// at [`K1`] and [`B`] over the same fields and boosts.
    pub fn search(&self, query_text: &str, k: usize, docs: &[DocId]) -> Result<Vec<(ChunkId, f32)>> {
        // The query's terms per language of the index (one analysis, "", in older indexes).
        let languages = self.languages();
        let fields =
            [(self.fields.text, 1.0), (self.fields.title, TITLE_BOOST), (self.fields.headings, HEADINGS_BOOST)];
        // Every word of the query in any field (a word that analyses into several tokens, such
        // as a run of Chinese bigrams, is not required as a phrase); scores come from the
        // rescoring below.
        let mut any_term: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen: std::collections::HashSet<Term> = std::collections::HashSet::new();
        for lang in &languages {
            for (field, _) in fields {
                for t in self.analyze(field, query_text, lang)? {
                    let t = Term::from_field_text(field, &t);
                    if seen.insert(t.clone()) {
                        any_term.push((Occur::Should, Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))));
                    }
                }
            }
        }
        let parsed: Box<dyn Query> = Box::new(BooleanQuery::new(any_term));
        let query: Box<dyn Query> = if docs.is_empty() {
            parsed
        } else {
            let any_doc: Vec<(Occur, Box<dyn Query>)> = docs
                .iter()
                .map(|d| {
                    let t = Term::from_field_text(self.fields.doc_id, d.as_str());
                    (Occur::Should, Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>)
                })
                .collect();
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, parsed),
                (Occur::Must, Box::new(BooleanQuery::new(any_doc))),
            ]))
        };
        let searcher = self.reader.searcher();
        let depth = k.max(RESCORE_DEPTH);
        // The candidates are every chunk scoring above the depth-th, and every one tied with
        // it: tantivy breaks ties by segment and address, which differ between two builds
        // of the same chunks (a one-machine build and merged shards), so a cut inside a tie
        // would make their rankings differ.
        let mut limit = depth + 16;
        let hits = loop {
            let hits =
                searcher.search(&query, &TopDocs::with_limit(limit).order_by_score()).map_err(|e| self.err(e))?;
            if hits.len() <= depth {
                break hits;
            }
            let boundary = hits[depth - 1].0;
            if hits.len() < limit || hits.last().is_some_and(|h| h.0 < boundary) {
                break hits.into_iter().take_while(|h| h.0 >= boundary).collect::<Vec<_>>();
            }
            limit *= 2;
        };
        // Per language, the query terms per field with their IDF, and each field's average
        // length.
        let n = searcher.num_docs().max(1) as f32;
        let mut avg_len = Vec::new();
        for (field, _) in fields {
            let mut tokens = 0u64;
            for seg in searcher.segment_readers() {
                tokens += seg.inverted_index(field).map_err(|e| self.err(e))?.total_num_tokens();
            }
            avg_len.push((tokens as f32 / n).max(1.0));
        }
        let mut by_language: std::collections::HashMap<&str, Vec<FieldTerms>> = Default::default();
        for lang in &languages {
            let mut field_terms: Vec<FieldTerms> = Vec::new();
            for (i, (field, boost)) in fields.into_iter().enumerate() {
                let mut terms: Vec<String> = Vec::new();
                for t in self.analyze(field, query_text, lang)? {
                    if !terms.contains(&t) {
                        terms.push(t);
                    }
                }
                let mut with_idf = Vec::with_capacity(terms.len());
                for t in terms {
                    let df = searcher.doc_freq(&Term::from_field_text(field, &t)).map_err(|e| self.err(e))? as f32;
                    if df > 0.0 {
                        with_idf.push((t, (1.0 + (n - df + 0.5) / (df + 0.5)).ln()));
                    }
                }
                field_terms.push((field, boost, avg_len[i], with_idf));
            }
            by_language.insert(lang.as_str(), field_terms);
        }
        let mut scored = Vec::with_capacity(hits.len());
        for (_, addr) in hits {
            let d: TantivyDocument = searcher.doc(addr).map_err(|e| self.err(e))?;
            let lang = self.fields.language.and_then(|f| d.get_first(f).and_then(|v| v.as_str())).unwrap_or_default();
            let Some(field_terms) = by_language.get(lang) else { continue };
            let mut score = 0.0f32;
            for (field, boost, avg_len, terms) in field_terms {
                if terms.is_empty() {
                    continue;
                }
                // A chunk analysed at indexing keeps its terms; an older index's is analysed again.
                let tokens = match d.get_first(*field) {
                    Some(v) => match v.as_pre_tokenized_text() {
                        Some(p) => p.tokens.into_iter().map(|t| t.text).collect(),
                        None => self.analyze(*field, v.as_str().unwrap_or_default(), lang)?,
                    },
                    None => Vec::new(),
                };
                let mut len = 0f32;
                let mut tf = vec![0f32; terms.len()];
                for tok in tokens {
                    len += 1.0;
                    if let Some(i) = terms.iter().position(|(t, _)| *t == tok) {
                        tf[i] += 1.0;
                    }
                }
                let norm = K1 * (1.0 - B + B * len / avg_len);
                for ((_, idf), f) in terms.iter().zip(&tf) {
                    if *f > 0.0 {
                        score += boost * idf * f * (K1 + 1.0) / (f + norm);
                    }
                }
            }
            let id = d.get_first(self.fields.chunk_id).and_then(|v| v.as_str()).unwrap_or_default();
            let id: ChunkId = id.parse().map_err(|e| self.err(e))?;
            scored.push((id, score));
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        scored.truncate(k);
        Ok(scored)
    }

    /// The stored chunk with this id.
    pub fn get(&self, id: &ChunkId) -> Result<Option<StoredChunk>> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(Term::from_field_text(self.fields.chunk_id, id.as_str()), IndexRecordOption::Basic);
        let hits = searcher.search(&q, &TopDocs::with_limit(1).order_by_score()).map_err(|e| self.err(e))?;
        let Some((_, addr)) = hits.first() else {
            return Ok(None);
        };
        let d: TantivyDocument = searcher.doc(*addr).map_err(|e| self.err(e))?;
        let s = |f: Field| stored_text(&d, f);
        let n = |f: Field| d.get_first(f).and_then(|v| v.as_u64()).unwrap_or_default() as usize;
        let headings = s(self.fields.headings);
        Ok(Some(StoredChunk {
            chunk_id: id.clone(),
            doc_id: id.doc_id(),
            title: s(self.fields.title),
            heading_path: headings.split(PATH_SEP).map(str::to_owned).collect(),
            span: Span::new(n(self.fields.span_start), n(self.fields.span_end)).map_err(|e| self.err(e))?,
            text: s(self.fields.text),
        }))
    }
}

/// A stored text field's text, whether it was stored as text or pre-tokenized.
fn stored_text(d: &TantivyDocument, field: Field) -> String {
    match d.get_first(field) {
        Some(v) => {
            v.as_str().map(str::to_owned).or_else(|| v.as_pre_tokenized_text().map(|p| p.text)).unwrap_or_default()
        }
        None => String::new(),
    }
}

/// Adds and deletes chunks; nothing is visible until [`Bm25Writer::commit`].
pub struct Bm25Writer<'a> {
    bm25: &'a Bm25,
    writer: IndexWriter,
}

impl Bm25Writer<'_> {
    /// Removes every chunk of `doc`.
    pub fn delete_doc(&mut self, doc: &DocId) {
        self.writer.delete_term(Term::from_field_text(self.bm25.fields.doc_id, doc.as_str()));
    }

    /// Adds a document's chunks.
    pub fn add(&mut self, doc: &Document, chunks: &[Chunk]) -> Result<()> {
        let f = self.bm25.fields;
        let language = doc.metadata.get("language").map(String::as_str).unwrap_or_default();
        for c in chunks {
            let headings = c.heading_path.join(PATH_SEP);
            let mut d = doc!(
                f.chunk_id => c.id.as_str(),
                f.doc_id => doc.id.as_str(),
                f.ordinal => c.id.ordinal() as u64,
                f.span_start => c.span.start() as u64,
                f.span_end => c.span.end() as u64,
            );
            match f.language {
                // Analysed here, in the document's language.
                Some(lang) => {
                    d.add_text(lang, language);
                    for (field, text) in [(f.title, doc.title.as_str()), (f.headings, &headings), (f.text, &c.text)] {
                        let tokens = crate::analyzer::terms(text, language);
                        d.add_pre_tokenized_text(field, PreTokenizedString { text: text.to_owned(), tokens });
                    }
                }
                None => {
                    d.add_text(f.title, doc.title.as_str());
                    d.add_text(f.headings, &headings);
                    d.add_text(f.text, c.text.as_str());
                }
            }
            self.writer.add_document(d).map_err(|e| self.bm25.err(e))?;
        }
        Ok(())
    }

    /// Makes the changes durable (tantivy commits atomically).
    pub fn commit(&mut self) -> Result<()> {
        self.writer.commit().map_err(|e| self.bm25.err(e))?;
        Ok(())
    }
}
