//! Duplicate questions: exact (normalised text), near (word-shingle MinHash with LSH
//! banding, confirmed by the exact Jaccard of the shingle sets) and semantic (embedding
//! cosine). A generate run checks every accepted record against those before it, in slot
//! order, so a resumed run makes the same decisions; a duplicate becomes a reject naming
//! the record it duplicates.

use std::collections::{HashMap, HashSet};

pub use crate::filters::normalise;

const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

/// Thresholds.
#[derive(Clone, Copy, Debug)]
pub struct DedupConfig {
    /// Word-bigram Jaccard at or above which two questions are near-duplicates (besides
    /// reworded copies: words dropped, added or reordered, none swapped).
    pub near: f32,
    /// Embedding cosine at or above which two questions are semantic duplicates.
    pub semantic: f32,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig { near: 0.8, semantic: 0.95 }
    }
}

/// What a text duplicates: the id of the earlier text (a [`quarry_core::RecordId`] in a
/// run, anything that names a text elsewhere).
#[derive(Clone, Debug, PartialEq)]
pub enum Duplicate<I = quarry_core::RecordId> {
    Exact { of: I },
    Near { of: I, jaccard: f32 },
    Semantic { of: I, cosine: f32 },
}

impl<I: std::fmt::Display> Duplicate<I> {
    /// The earlier text this one duplicates.
    pub fn of(&self) -> &I {
        match self {
            Duplicate::Exact { of } | Duplicate::Near { of, .. } | Duplicate::Semantic { of, .. } => of,
        }
    }

    /// The reason in words, naming the record duplicated.
    pub fn detail(&self) -> String {
        match self {
            Duplicate::Exact { of } => format!("the same question as {of}"),
            Duplicate::Near { of, jaccard } => format!("a near-duplicate of {of} (shingle Jaccard {jaccard:.2})"),
            Duplicate::Semantic { of, cosine } => format!("a paraphrase of {of} (embedding cosine {cosine:.3})"),
        }
    }
}

struct Entry<I> {
    id: I,
    shingles: HashSet<u64>,
    words: HashSet<String>,
    embedding: Vec<f32>,
}

/// The questions seen so far, each known by an id of type `I`.
pub struct Deduper<I = quarry_core::RecordId> {
    cfg: DedupConfig,
    exact: HashMap<String, I>,
    bands: HashMap<(usize, u64), Vec<usize>>,
    entries: Vec<Entry<I>>,
}

impl<I> std::fmt::Debug for Deduper<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduper").field("entries", &self.entries.len()).finish()
    }
}

fn hash(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(blake3::hash(bytes).as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Word bigrams, hashed (the near-duplicate similarity).
fn bigrams(norm: &str) -> HashSet<u64> {
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    let mut out: HashSet<u64> = words.windows(2).map(|w| hash(format!("{} {}", w[0], w[1]).as_bytes())).collect();
    if words.len() < 2 {
        out.extend(words.iter().map(|w| hash(w.as_bytes())));
    }
    out
}

/// Words and bigrams, hashed: what MinHash signs, so a reordered or shortened copy still
/// collides with its original in some band.
fn shingles(norm: &str) -> HashSet<u64> {
    let mut out = bigrams(norm);
    out.extend(norm.split(' ').filter(|w| !w.is_empty()).map(|w| hash(format!("1 {w}").as_bytes())));
    out
}

/// The words that carry meaning (articles, auxiliaries and prepositions dropped), so that
/// "a candle" and "the candle" do not count as different words.
fn word_set(norm: &str) -> HashSet<String> {
    const FUNCTION: &[&str] = &[
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "from", "is", "are", "was", "were", "be",
        "do", "does", "did", "and", "or", "it", "its", "this", "that",
    ];
    norm.split(' ').filter(|w| !w.is_empty() && !FUNCTION.contains(w)).map(str::to_owned).collect()
}

/// A reworded copy only drops, adds (at most two) or reorders words; a distinct question
/// about the same thing swaps one word for another ("what city" / "what stadium"), which
/// leaves words on both sides.
fn reworded_copy(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    let only_a = a.difference(b).count();
    let only_b = b.difference(a).count();
    let shared = a.intersection(b).count();
    (only_a == 0 || only_b == 0) && only_a + only_b <= 2 && shared >= 3
}

fn signature(sh: &HashSet<u64>) -> [u64; HASHES] {
    let mut sig = [u64::MAX; HASHES];
    for &s in sh {
        for (i, slot) in sig.iter_mut().enumerate() {
            // A cheap family of permutations: multiply-xorshift of the shingle hash with a
            // per-function odd constant.
            let mut x = s ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1));
            x = (x ^ (x >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 29;
            *slot = (*slot).min(x);
        }
    }
    sig
}

/// The bigram set an entry keeps (its `shingles` field holds bigrams only).
fn bigrams_of<I>(e: &Entry<I>) -> &HashSet<u64> {
    &e.shingles
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    a.intersection(b).count() as f32 / a.union(b).count() as f32
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

impl<I: Clone> Deduper<I> {
    pub fn new(cfg: DedupConfig) -> Deduper<I> {
        Deduper { cfg, exact: HashMap::new(), bands: HashMap::new(), entries: Vec::new() }
    }

    /// What `text` (with its embedding, possibly empty) duplicates, if anything.
    pub fn check(&self, text: &str, embedding: &[f32]) -> Option<Duplicate<I>> {
        let norm = normalise(text);
        if let Some(of) = self.exact.get(&norm) {
            return Some(Duplicate::Exact { of: of.clone() });
        }
        let sh = shingles(&norm);
        let bi = bigrams(&norm);
        let words = word_set(&norm);
        let sig = signature(&sh);
        let mut seen = HashSet::new();
        let mut best: Option<(usize, f32)> = None;
        for b in 0..BANDS {
            let key = (b, hash(bytes_of(&sig[b * ROWS..(b + 1) * ROWS]).as_slice()));
            for &i in self.bands.get(&key).into_iter().flatten() {
                if seen.insert(i) {
                    let e = &self.entries[i];
                    let j = jaccard(&bi, bigrams_of(e));
                    let near = j >= self.cfg.near || reworded_copy(&words, &e.words);
                    if near && best.is_none_or(|(_, bj)| j > bj) {
                        best = Some((i, j));
                    }
                }
            }
        }
        if let Some((i, j)) = best {
            return Some(Duplicate::Near { of: self.entries[i].id.clone(), jaccard: j });
        }
        if !embedding.is_empty() {
            let (mut bi, mut bc) = (usize::MAX, 0.0f32);
            for (i, e) in self.entries.iter().enumerate() {
                let c = cosine(embedding, &e.embedding);
                if c > bc {
                    (bi, bc) = (i, c);
                }
            }
            if bi != usize::MAX && bc >= self.cfg.semantic {
                return Some(Duplicate::Semantic { of: self.entries[bi].id.clone(), cosine: bc });
            }
        }
        None
    }

    /// Remembers an accepted text.
    pub fn add(&mut self, id: I, text: &str, embedding: Vec<f32>) {
        let norm = normalise(text);
        let sh = shingles(&norm);
        let sig = signature(&sh);
        let i = self.entries.len();
        for b in 0..BANDS {
            let key = (b, hash(bytes_of(&sig[b * ROWS..(b + 1) * ROWS]).as_slice()));
            self.bands.entry(key).or_default().push(i);
        }
        self.exact.entry(norm.clone()).or_insert_with(|| id.clone());
        let bi = bigrams(&norm);
        self.entries.push(Entry { id, shingles: bi, words: word_set(&norm), embedding });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn bytes_of(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catches_copies_and_rewordings_not_distinct_questions() {
        let mut d = Deduper::new(DedupConfig::default());
        d.add("r1", "Why does a candle flame burn brightest in its outer part?", vec![]);
        d.add("r2", "What is the albedo of fresh snow?", vec![]);
        assert_eq!(
            d.check("why does a candle flame burn brightest in its outer part", &[]),
            Some(Duplicate::Exact { of: "r1" })
        );
        match d.check("Why does the candle flame burn brightest in its outer part?", &[]) {
            Some(Duplicate::Near { of, .. }) => assert_eq!(of, "r1"),
            other => panic!("{other:?}"),
        }
        // A shortened, reordered copy.
        assert!(matches!(
            d.check("Why does a candle flame burn in its outer part brightest?", &[]),
            Some(Duplicate::Near { .. })
        ));
        // Distinct questions about the same paragraph are kept, even one word apart.
        d.add("r4", "What city did Super Bowl 50 take place in?", vec![]);
        assert_eq!(d.check("What stadium did Super Bowl 50 take place in?", &[]), None);
        assert_eq!(d.check("What melts the wax near the wick of a candle?", &[]), None);
        assert_eq!(d.check("Why is the albedo of forests low?", &[]), None);
        // Semantic: a paraphrase with a near-identical embedding.
        let mut s = Deduper::new(DedupConfig::default());
        s.add("r3", "How hot is the outer part of a flame?", vec![1.0, 0.0, 0.1]);
        assert!(matches!(
            s.check("What temperature does a flame reach at its edge?", &[1.0, 0.0, 0.12]),
            Some(Duplicate::Semantic { .. })
        ));
        assert_eq!(s.check("What temperature does a flame reach at its edge?", &[0.0, 1.0, 0.0]), None);
    }
}
