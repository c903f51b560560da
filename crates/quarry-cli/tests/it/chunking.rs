//! The chunker on random documents, with the real MiniLM tokenizer: spans are
//! exact, ordered, inside their section and within the token budget.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use proptest::prelude::*;
use quarry_core::{DocId, Document};
use quarry_ingest::Chunker;
use quarry_ingest::sections::{DocBuilder, build_sections};

static CHUNKER: LazyLock<Chunker> = LazyLock::new(|| {
    let path = quarry_ingest::chunker::default_tokenizer_path();
    Chunker::from_file(&path, 40, 50, 0).unwrap_or_else(|e| panic!("{e}: run scripts/setup.sh --tests first"))
});

fn doc(text: String, sections: Vec<quarry_core::Section>) -> Document {
    Document {
        id: DocId::from_source("prop"),
        source: "prop".into(),
        locator: String::new(),
        title: "T".into(),
        format: "text".into(),
        text,
        sections,
        metadata: BTreeMap::new(),
    }
}

fn check(d: &Document) -> Result<(), TestCaseError> {
    let chunks = CHUNKER.chunk(d);
    let mut last = 0;
    for (i, c) in chunks.iter().enumerate() {
        prop_assert!(d.check_chunk(c), "chunk {i} text != document text at its span");
        prop_assert!(c.span.start() >= last, "chunk {i} overlaps the previous one");
        prop_assert!(!c.text.trim().is_empty());
        prop_assert!(c.token_count as usize <= 50 + 2, "chunk {i} has {} tokens", c.token_count);
        prop_assert!(d.sections.iter().any(|s| s.span.contains(c.span) && s.heading_path == c.heading_path));
        prop_assert_eq!(c.id.ordinal() as usize, i);
        last = c.span.end();
    }
    // Nothing but whitespace is left out (a word longer than a chunk may be cut).
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let covered: String = chunks.iter().map(|c| squash(&c.text)).collect();
    let all: String = d.sections.iter().map(|s| squash(s.span.slice(&d.text).unwrap())).collect();
    prop_assert_eq!(covered, all);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_sections_chunk_exactly(blocks in prop::collection::vec((0u8..4, "[a-zA-Zé ,.;'\n]{0,400}"), 1..12)) {
        let mut b = DocBuilder::new("T");
        for (level, body) in &blocks {
            if *level == 0 { b.block(body) } else { b.heading(*level, &body.chars().take(20).collect::<String>()) }
        }
        let (text, sections) = b.finish();
        check(&doc(text, sections))?;
    }

    #[test]
    fn unicode_text_chunks_on_char_boundaries(text in "\\PC{0,1500}") {
        let sections = build_sections(&text, "T", &[]);
        check(&doc(text, sections))?;
    }
}

#[test]
fn long_books_are_chunked_near_the_target() {
    let text = std::fs::read_to_string(crate::util::repo("corpora/faraday-chemical-history-of-a-candle.txt")).unwrap();
    let sections = build_sections(&text, "T", &[]);
    let d = doc(text, sections);
    let chunks = CHUNKER.chunk(&d);
    let avg = chunks.iter().map(|c| c.token_count as f64).sum::<f64>() / chunks.len() as f64;
    assert!((30.0..=50.0).contains(&avg), "average chunk is {avg} tokens");
    assert!(chunks.iter().all(|c| c.token_count <= 50));
}
