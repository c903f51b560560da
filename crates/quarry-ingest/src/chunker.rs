//! Chunking with `text-splitter`, sized in tokens of the embedding model's
//! tokenizer.
//!
//! Sizing is where chunking spends its time: text-splitter asks for the size of
//! many overlapping candidate pieces, and tokenizing each one again made the
//! whole run cost a multiple of tokenizing the text once. Here every section is
//! tokenized exactly once; [`OffsetSizer`] then answers each size question by
//! binary search over the token start offsets of the piece's byte range, which
//! it recovers from the piece's position inside the section string.

use std::path::{Path, PathBuf};

use quarry_core::{Chunk, Document, Span};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig, ChunkSizer, TextSplitter};
use tokenizers::Tokenizer;

use crate::error::IngestError;

/// Sections longer than this are split into blocks at blank lines before
/// chunking, which keeps text-splitter's scans short.
const BLOCK_BYTES: usize = 32 * 1024;

/// Chunker settings, recorded in every store so that a later run with other
/// settings is refused instead of mixed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerSettings {
    /// Tokenizer name (the model directory's name).
    pub tokenizer: String,
    /// BLAKE3 of the tokenizer.json bytes.
    pub tokenizer_blake3: String,
    /// Preferred chunk size in tokens.
    pub target_tokens: usize,
    /// Largest chunk in tokens.
    pub max_tokens: usize,
    /// Tokens shared by neighbouring chunks.
    pub overlap_tokens: usize,
}

/// Splits documents into chunks.
pub struct Chunker {
    tokenizer: Tokenizer,
    settings: ChunkerSettings,
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunker").field("settings", &self.settings).finish()
    }
}

/// Counts a piece's tokens from token offsets computed once for the whole
/// section: the piece is a subslice of the section, so its byte range is its
/// address minus the section's.
struct OffsetSizer<'a> {
    base: usize,
    len: usize,
    starts: &'a [usize],
}

impl ChunkSizer for OffsetSizer<'_> {
    fn size(&self, chunk: &str) -> usize {
        let start = (chunk.as_ptr() as usize).wrapping_sub(self.base);
        if start > self.len {
            // Not a piece of this section (text-splitter only hands out
            // subslices, so this is defensive): count by whitespace words.
            return chunk.split_whitespace().count();
        }
        let end = start + chunk.len();
        self.starts.partition_point(|&s| s < end) - self.starts.partition_point(|&s| s < start)
    }
}

impl Chunker {
    /// Loads `tokenizer.json` from `path`; truncation and padding are switched
    /// off (MiniLM's file turns both on at 128 tokens, which would make every
    /// text look short).
    pub fn from_file(
        path: &Path,
        target_tokens: usize,
        max_tokens: usize,
        overlap_tokens: usize,
    ) -> Result<Chunker, IngestError> {
        let bytes = std::fs::read(path).map_err(|e| IngestError::Tokenizer {
            path: path.to_owned(),
            message: format!("{e} (run scripts/setup.sh, or pass --tokenizer <tokenizer.json>)"),
        })?;
        let mut tokenizer = Tokenizer::from_bytes(&bytes)
            .map_err(|e| IngestError::Tokenizer { path: path.to_owned(), message: e.to_string() })?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| IngestError::Tokenizer { path: path.to_owned(), message: e.to_string() })?;
        tokenizer.with_padding(None);
        if target_tokens == 0 || target_tokens > max_tokens || overlap_tokens >= target_tokens {
            return Err(IngestError::ChunkerConfig(format!(
                "need 0 < target ({target_tokens}) <= max ({max_tokens}) and overlap ({overlap_tokens}) < target"
            )));
        }
        let name = path
            .parent()
            .and_then(|p| p.file_name())
            .map_or_else(|| "tokenizer".to_owned(), |n| n.to_string_lossy().into_owned());
        let settings = ChunkerSettings {
            tokenizer: name,
            tokenizer_blake3: blake3::hash(&bytes).to_hex().to_string(),
            target_tokens,
            max_tokens,
            overlap_tokens,
        };
        Ok(Chunker { tokenizer, settings })
    }

    /// The settings this chunker runs with.
    pub fn settings(&self) -> &ChunkerSettings {
        &self.settings
    }

    /// Token start offsets (bytes) of `text`, without special tokens.
    pub fn token_starts(&self, text: &str) -> Vec<usize> {
        match self.tokenizer.encode(text, false) {
            Ok(enc) => enc.get_offsets().iter().map(|&(s, _)| s).collect(),
            Err(_) => text.split_whitespace().map(|w| w.as_ptr() as usize - text.as_ptr() as usize).collect(),
        }
    }

    /// Chunks of one document, section by section, in text order.
    ///
    /// Every chunk satisfies `chunk.text == doc.text[chunk.span]`.
    pub fn chunk(&self, doc: &Document) -> Vec<Chunk> {
        // Blocks of all sections, chunked in parallel (a long book is one
        // document), then numbered in text order.
        let mut work = Vec::new();
        for section in &doc.sections {
            let Ok(section_text) = section.span.slice(&doc.text) else {
                continue;
            };
            for (block_off, block) in blocks(section_text, BLOCK_BYTES) {
                work.push((section, section.span.start() + block_off, block));
            }
        }
        let pieces: Vec<Vec<(usize, usize, u32)>> =
            work.par_iter().map(|&(_, start, block)| self.chunk_block(block, start)).collect();
        let mut out = Vec::new();
        for ((section, _, _), pieces) in work.iter().zip(pieces) {
            for (start, end, tokens) in pieces {
                let ordinal = out.len() as u32;
                out.push(Chunk {
                    id: doc.id.chunk(ordinal),
                    doc_id: doc.id.clone(),
                    heading_path: section.heading_path.clone(),
                    span: Span::new(start, end).expect("ordered"),
                    token_count: tokens,
                    text: doc.text[start..end].to_owned(),
                });
            }
        }
        out
    }

    /// Chunks of one block as (start, end, tokens), offsets shifted by `offset`.
    fn chunk_block(&self, block: &str, offset: usize) -> Vec<(usize, usize, u32)> {
        let starts = self.token_starts(block);
        let sizer = OffsetSizer { base: block.as_ptr() as usize, len: block.len(), starts: &starts };
        let config = ChunkConfig::new(self.settings.target_tokens..=self.settings.max_tokens)
            .with_overlap(self.settings.overlap_tokens)
            .expect("overlap checked in from_file")
            .with_sizer(&sizer);
        TextSplitter::new(config)
            .chunk_indices(block)
            .filter(|(_, piece)| !piece.trim().is_empty())
            .map(|(off, piece)| (offset + off, offset + off + piece.len(), sizer.size(piece) as u32))
            .collect()
    }
}

/// Splits `text` into blocks of about `max` bytes at blank lines (or, failing
/// that, at line ends), as (offset, block). Blocks cover the text exactly.
pub fn blocks(text: &str, max: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    while text.len() - start > max {
        let window = &text[start..floor_boundary(text, start + max)];
        let cut = window
            .rfind("\n\n")
            .map(|i| i + 2)
            .or_else(|| window.rfind('\n').map(|i| i + 1))
            .or_else(|| window.rfind(' ').map(|i| i + 1))
            .filter(|&i| i > 0)
            .unwrap_or(window.len());
        if cut == 0 {
            break;
        }
        out.push((start, &text[start..start + cut]));
        start += cut;
    }
    out.push((start, &text[start..]));
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where the default tokenizer lives after `scripts/setup.sh`:
/// `$QUARRY_CACHE/models/all-MiniLM-L6-v2/tokenizer.json`, with `QUARRY_CACHE`
/// defaulting to `~/.cache/quarry`.
pub fn default_tokenizer_path() -> PathBuf {
    crate::cache_dir().join("models/all-MiniLM-L6-v2/tokenizer.json")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn blocks_cover_the_text(text in "(\\PC{0,30}\n{0,2}){0,40}", max in 1usize..60) {
            let bs = blocks(&text, max);
            let mut pos = 0;
            for (off, b) in &bs {
                prop_assert_eq!(*off, pos);
                prop_assert_eq!(&text[*off..*off + b.len()], *b);
                pos += b.len();
            }
            prop_assert_eq!(pos, text.len());
        }
    }
}
