//! Corpus chunks as pre-training text: a quality filter and an export with its dataset card.
//!
//! [`text_quality`] is a pure function over one text, in the spirit of the Gopher rules
//! (Rae et al., 2021) scaled down to chunks: it refuses text that is too short or too long,
//! mostly symbols (tables, rules, markup debris) or repetitive (repeated lines, boilerplate).
//! [`export_corpus_text`] runs it over chunks and writes the ones that pass.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::escape::markdown_inline;
use crate::export::{CardInfo, FrontMatter, count_table, name_and_license};
use crate::{ReportError, fsutil};

/// Thresholds of [`text_quality`]. Every check is off when its limit cannot be reached
/// (`0` for a minimum, `usize::MAX` / `1.0` or more for a maximum).
#[derive(Clone, Debug, PartialEq)]
pub struct TextQuality {
    /// Fewest characters, surrounding whitespace not counted. Default 100.
    pub min_chars: usize,
    /// Most characters. Default 100,000.
    pub max_chars: usize,
    /// Fewest words (runs of non-whitespace). Default 20.
    pub min_words: usize,
    /// Most words. Default 20,000.
    pub max_words: usize,
    /// Largest share of the non-whitespace characters that are neither letters nor digits
    /// (punctuation, table rules, markup, emoji). Prose has about 0.03–0.08. Default 0.25.
    pub max_symbol_share: f64,
    /// Largest share of the non-empty lines that repeat an earlier line (compared after
    /// trimming). Default 0.3 (Gopher's limit).
    pub max_duplicate_line_share: f64,
    /// Largest share of the word 3-grams (words lower-cased, punctuation around them
    /// removed) that repeat the most frequent 3-gram, its first occurrence not counted.
    /// Prose stays near 0.01–0.04. Default 0.1.
    pub max_top_trigram_share: f64,
    /// Largest share of the word 5-grams that repeat an earlier 5-gram (any of them): catches
    /// a passage repeated within a line, whose 3-grams are each repeated only once per
    /// passage. Prose stays near 0–0.03. Default 0.15 (Gopher's limit for 5-grams).
    pub max_duplicate_5gram_share: f64,
}

impl Default for TextQuality {
    fn default() -> TextQuality {
        TextQuality {
            min_chars: 100,
            max_chars: 100_000,
            min_words: 20,
            max_words: 20_000,
            max_symbol_share: 0.25,
            max_duplicate_line_share: 0.3,
            max_top_trigram_share: 0.1,
            max_duplicate_5gram_share: 0.15,
        }
    }
}

/// Why [`text_quality`] refused a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextReject {
    /// Fewer characters or words than the minimum.
    TooShort,
    /// More characters or words than the maximum.
    TooLong,
    /// Too large a share of symbols.
    Symbols,
    /// Too many repeated lines, one word 3-gram repeated too often, or too many repeated
    /// word 5-grams.
    Repetition,
}

impl TextReject {
    pub const ALL: [TextReject; 4] =
        [TextReject::TooShort, TextReject::TooLong, TextReject::Symbols, TextReject::Repetition];

    /// The reason's name: `too_short`, `too_long`, `symbols` or `repetition`.
    pub fn as_str(self) -> &'static str {
        match self {
            TextReject::TooShort => "too_short",
            TextReject::TooLong => "too_long",
            TextReject::Symbols => "symbols",
            TextReject::Repetition => "repetition",
        }
    }
}

impl fmt::Display for TextReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `text` is fit to train on as running text. Checks in order, returning the first
/// that fails: length (characters, then words: [`TextReject::TooShort`] /
/// [`TextReject::TooLong`]), the share of symbols ([`TextReject::Symbols`]), and repetition
/// (duplicate lines, the most repeated word 3-gram, repeated word 5-grams:
/// [`TextReject::Repetition`]).
/// Pure and deterministic; linear in the text's length.
pub fn text_quality(text: &str, cfg: &TextQuality) -> Result<(), TextReject> {
    let trimmed = text.trim();
    let chars = trimmed.chars().count();
    if chars < cfg.min_chars {
        return Err(TextReject::TooShort);
    }
    if chars > cfg.max_chars {
        return Err(TextReject::TooLong);
    }
    let words = trimmed.split_whitespace().count();
    if words < cfg.min_words {
        return Err(TextReject::TooShort);
    }
    if words > cfg.max_words {
        return Err(TextReject::TooLong);
    }
    if symbol_share(trimmed) > cfg.max_symbol_share {
        return Err(TextReject::Symbols);
    }
    if duplicate_line_share(trimmed) > cfg.max_duplicate_line_share {
        return Err(TextReject::Repetition);
    }
    let tokens = ngram_words(trimmed);
    if top_ngram_repeats(&tokens, 3) > cfg.max_top_trigram_share
        || duplicate_ngram_share(&tokens, 5) > cfg.max_duplicate_5gram_share
    {
        return Err(TextReject::Repetition);
    }
    Ok(())
}

/// Share of the non-whitespace characters that are neither letters nor digits (0 for text
/// without any).
fn symbol_share(text: &str) -> f64 {
    let (mut visible, mut symbols) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        visible += 1;
        if !c.is_alphanumeric() {
            symbols += 1;
        }
    }
    if visible == 0 { 0.0 } else { symbols as f64 / visible as f64 }
}

/// Share of the non-empty lines (trimmed) that equal an earlier one.
fn duplicate_line_share(text: &str) -> f64 {
    let mut seen = HashSet::new();
    let (mut lines, mut duplicates) = (0usize, 0usize);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        lines += 1;
        if !seen.insert(line) {
            duplicates += 1;
        }
    }
    if lines == 0 { 0.0 } else { duplicates as f64 / lines as f64 }
}

/// The words as n-gram counting sees them: lower-cased, punctuation around them removed,
/// empty ones dropped.
fn ngram_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// How often each word `n`-gram occurs, and how many `n`-grams there are.
fn ngram_counts(words: &[String], n: usize) -> (HashMap<&[String], usize>, usize) {
    let mut counts: HashMap<&[String], usize> = HashMap::new();
    for g in words.windows(n) {
        *counts.entry(g).or_default() += 1;
    }
    (counts, words.len().saturating_sub(n - 1))
}

/// Share of the word `n`-grams that repeat the most frequent one (its occurrences after
/// the first, over all `n`-grams); 0 for fewer than `n` words.
fn top_ngram_repeats(words: &[String], n: usize) -> f64 {
    let (counts, total) = ngram_counts(words, n);
    let top = counts.values().copied().max().unwrap_or(0);
    if total == 0 { 0.0 } else { top.saturating_sub(1) as f64 / total as f64 }
}

/// Share of the word `n`-grams that repeat an earlier one; 0 for fewer than `n` words.
fn duplicate_ngram_share(words: &[String], n: usize) -> f64 {
    let (counts, total) = ngram_counts(words, n);
    let repeats: usize = counts.values().map(|c| c - 1).sum();
    if total == 0 { 0.0 } else { repeats as f64 / total as f64 }
}

/// One corpus chunk to export as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorpusChunk {
    pub chunk_id: String,
    pub doc_id: String,
    /// The document's title.
    pub title: String,
    /// The section the chunk lies in, outermost heading first.
    pub heading_path: Vec<String>,
    pub text: String,
}

/// What [`export_corpus_text`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusTextSummary {
    /// Chunks that passed [`text_quality`]: the rows of `data/train.jsonl`.
    pub kept: usize,
    /// Chunks left out, by reason (every reason listed, zero counts included).
    pub skipped: BTreeMap<TextReject, usize>,
    /// Documents the kept chunks come from.
    pub documents: usize,
    /// `<out>/data/train.jsonl`.
    pub path: PathBuf,
    /// `<out>/README.md`.
    pub card_path: PathBuf,
}

impl CorpusTextSummary {
    /// Chunks left out, all reasons together.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

#[derive(Serialize)]
struct CorpusRow<'a> {
    text: &'a str,
    chunk_id: &'a str,
    doc_id: &'a str,
    title: &'a str,
    heading_path: &'a [String],
}

/// Writes the chunks that pass [`text_quality`] to `<out>/data/train.jsonl`, one row
/// `{"text", "chunk_id", "doc_id", "title", "heading_path"}` each, in the order given, and a
/// dataset card `<out>/README.md` (task `text-generation`; its sources are `card.sources`,
/// else the titles of the kept chunks' documents). Both files are written atomically.
/// Returns how many chunks were kept and how many were skipped, by reason.
pub fn export_corpus_text(
    chunks: impl Iterator<Item = CorpusChunk>,
    cfg: &TextQuality,
    out: &Path,
    card: &CardInfo,
) -> Result<CorpusTextSummary, ReportError> {
    let data_dir = out.join("data");
    fsutil::create_dir_all(&data_dir)?;
    let path = data_dir.join("train.jsonl");
    let mut kept = 0usize;
    let mut skipped: BTreeMap<TextReject, usize> = TextReject::ALL.into_iter().map(|r| (r, 0)).collect();
    let mut titles = BTreeSet::new();
    let mut docs = BTreeSet::new();
    fsutil::write_atomic(&path, |w| {
        for ch in chunks {
            if let Err(why) = text_quality(&ch.text, cfg) {
                *skipped.entry(why).or_default() += 1;
                continue;
            }
            let row = CorpusRow {
                text: &ch.text,
                chunk_id: &ch.chunk_id,
                doc_id: &ch.doc_id,
                title: &ch.title,
                heading_path: &ch.heading_path,
            };
            let line =
                serde_json::to_string(&row).map_err(|source| ReportError::Json { id: ch.chunk_id.clone(), source })?;
            w.write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(|source| ReportError::Io { path: path.clone(), source })?;
            kept += 1;
            if docs.insert(ch.doc_id.clone()) {
                titles.insert(if ch.title.is_empty() { ch.doc_id } else { ch.title });
            }
        }
        Ok(())
    })?;
    let summary = CorpusTextSummary { kept, skipped, documents: docs.len(), path, card_path: out.join("README.md") };
    let mut card = card.clone();
    if card.sources.is_empty() {
        card.sources = titles.into_iter().collect();
    }
    fsutil::write_bytes_atomic(&summary.card_path, render_corpus_card(&summary, cfg, &card).as_bytes())?;
    Ok(summary)
}

/// The dataset card of a corpus-text export: YAML front matter for the Hub, the row format,
/// the filter's thresholds and what it kept and skipped, and the sources.
pub fn render_corpus_card(summary: &CorpusTextSummary, cfg: &TextQuality, card: &CardInfo) -> String {
    let documents = summary.documents;
    let (name, license) = name_and_license(card, "quarry corpus text");
    let n = summary.kept;
    let mut s = String::new();
    FrontMatter {
        name,
        license,
        language: &card.language,
        task_categories: &["text-generation"],
        tags: &["pretraining", "corpus", "quarry"],
        rows: n,
        machine_generated: false,
    }
    .write(&mut s);
    let _ = writeln!(s, "# {}\n", markdown_inline(name));
    let _ = writeln!(
        s,
        "Text of a corpus for (continued) pre-training: {n} chunks from {documents} document{}, as quarry \
         split them, that passed a quality filter. The text is the corpus's own (normalised), not \
         generated.\n",
        if documents == 1 { "" } else { "s" }
    );
    s.push_str("## Format\n\n");
    let _ = writeln!(
        s,
        "`data/train.jsonl`, one JSON object per line, {n} rows: `text` is the chunk's text, `chunk_id` and \
         `doc_id` name it and its document, `title` is the document's title and `heading_path` the section \
         it lies in (outermost heading first).\n"
    );
    s.push_str("```python\nfrom datasets import load_dataset\n\n");
    s.push_str("ds = load_dataset(\"json\", data_files=\"data/train.jsonl\", split=\"train\")\n```\n\n");

    s.push_str("## Quality filter\n\n");
    let limit = |n: usize| if n == usize::MAX { "none".to_owned() } else { n.to_string() };
    let _ = writeln!(
        s,
        "A chunk was kept when it has {}–{} characters and {}–{} words, at most {:.0}% of its visible \
         characters are symbols (neither letters nor digits), at most {:.0}% of its lines repeat an earlier \
         line, at most {:.0}% of its word 3-grams repeat its most frequent one and at most {:.0}% of its word \
         5-grams repeat an earlier one.\n",
        cfg.min_chars,
        limit(cfg.max_chars),
        cfg.min_words,
        limit(cfg.max_words),
        100.0 * cfg.max_symbol_share,
        100.0 * cfg.max_duplicate_line_share,
        100.0 * cfg.max_top_trigram_share,
        100.0 * cfg.max_duplicate_5gram_share,
    );
    let _ = writeln!(s, "{n} chunks kept, {} skipped.\n", summary.skipped_total());
    let skipped: BTreeMap<&str, usize> = summary.skipped.iter().map(|(r, k)| (r.as_str(), *k)).collect();
    count_table(&mut s, "skipped because", "chunks", &skipped);

    s.push_str("## Sources\n\n");
    if card.sources.is_empty() {
        s.push_str("Not listed.\n");
    }
    for src in &card.sources {
        let _ = writeln!(s, "- {}", markdown_inline(src));
    }
    s.push_str(
        "\n## Limitations\n\nThe filter is a set of simple heuristics: it keeps well-formed text that is \
         wrong or off-topic, and can drop legitimate text such as tables, formulas, verse or very short \
         sections. The license of the text is the license of its sources.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares() {
        assert_eq!(symbol_share(""), 0.0);
        assert!((symbol_share("ab, cd.") - 2.0 / 6.0).abs() < 1e-9);
        assert_eq!(symbol_share("naïve über ünïcödé 東京"), 0.0);
        assert_eq!(duplicate_line_share("a\n\nb\n a \na"), 0.5);
        assert_eq!(top_ngram_repeats(&ngram_words("one two"), 3), 0.0);
        // "a b c" three times among seven 3-grams: two repeats.
        let w = ngram_words("a b c a b c a, B c!");
        assert_eq!(w, ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
        assert!((top_ngram_repeats(&w, 3) - 2.0 / 7.0).abs() < 1e-9);
        // Five 5-grams, "a b c a b" and "b c a b c" each repeated once.
        assert!((duplicate_ngram_share(&w, 5) - 2.0 / 5.0).abs() < 1e-9);
        assert_eq!(duplicate_ngram_share(&w[..4], 5), 0.0);
    }

    #[test]
    fn off_checks_pass_everything() {
        let off = TextQuality {
            min_chars: 0,
            max_chars: usize::MAX,
            min_words: 0,
            max_words: usize::MAX,
            max_symbol_share: 1.0,
            max_duplicate_line_share: 1.0,
            max_top_trigram_share: 1.0,
            max_duplicate_5gram_share: 1.0,
        };
        for t in ["", "|||", "x\nx\nx\nx", "a b c a b c a b c"] {
            assert_eq!(text_quality(t, &off), Ok(()), "{t:?}");
        }
    }
}
