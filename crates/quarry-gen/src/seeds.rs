//! Seed selection that covers the corpus.
//!
//! Eligible chunks (long enough, prose: not a table of contents, an index, a table or
//! licence text) are laid out in corpus order, documents one after another and each in
//! text order, and cut into N equal strata, one per record slot. Slot `s` draws its seed
//! from stratum `s mod N`, so a 200-chunk book gets questions from all of it in proportion
//! to its size, never only from its first chapters. Draws are deterministic for a seed.

use serde::Serialize;

/// What seed selection needs of a chunk.
#[derive(Clone, Debug, Default)]
pub struct ChunkInfo {
    pub chunk_id: String,
    pub doc_id: String,
    pub title: String,
    pub heading_path: Vec<String>,
    pub token_count: u32,
    /// The chunk's text while it is judged; empty once planned (read it from the index).
    pub text: String,
    /// The topic-tree node this chunk grounds, when seeds come from a tree.
    pub topic_path: Vec<String>,
    /// Its document's language (ISO 639-1; "" when unknown).
    pub language: String,
}

/// Why a chunk is not used as a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    TooShort,
    NotProse,
    Contents,
    Licence,
}

/// Minimum tokens of a seed chunk.
pub const MIN_SEED_TOKENS: u32 = 40;

/// Whether `c` can seed a question; `None` when it can.
pub fn ineligible(c: &ChunkInfo) -> Option<Ineligible> {
    if c.token_count < MIN_SEED_TOKENS {
        return Some(Ineligible::TooShort);
    }
    let heading = c.heading_path.last().map(|h| h.to_lowercase()).unwrap_or_default();
    if ["contents", "index", "table of contents", "list of illustrations"].iter().any(|h| heading.trim() == *h) {
        return Some(Ineligible::Contents);
    }
    let lower = c.text.to_lowercase();
    if (lower.contains("licen") && (lower.contains("copyright") || lower.contains("warrant")))
        || lower.contains("project gutenberg")
    {
        return Some(Ineligible::Licence);
    }
    let non_space: Vec<char> = c.text.chars().filter(|ch| !ch.is_whitespace()).collect();
    if non_space.is_empty() {
        return Some(Ineligible::TooShort);
    }
    // Letters of every script: the viramas and nuktas of Indic words and the marks of Thai
    // are part of their words.
    let letter = |ch: &&char| {
        ch.is_alphabetic() || quarry_core::script::indic_joiner(**ch) || quarry_core::script::combining(**ch)
    };
    let letters = non_space.iter().filter(letter).count() as f32 / non_space.len() as f32;
    let digits = non_space.iter().filter(|ch| ch.is_ascii_digit()).count() as f32 / non_space.len() as f32;
    if letters < 0.7 || digits > 0.15 {
        return Some(Ineligible::NotProse);
    }
    let lines: Vec<&str> = c.text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mean_line = lines.iter().map(|l| l.len()).sum::<usize>() as f32 / lines.len().max(1) as f32;
    // Sentence ends: a full stop before a space, a line break or the end, and the marks of
    // scripts without case wherever they stand (a danda, an ideographic full stop…).
    let chars: Vec<char> = c.text.chars().collect();
    let sentence_ends = chars
        .iter()
        .enumerate()
        .filter(|&(i, ch)| match ch {
            '.' => chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\n'),
            '।' | '॥' | '。' | '！' | '？' | '؟' | '۔' => true,
            _ => false,
        })
        .count();
    if (lines.len() >= 6 && mean_line < 40.0) || sentence_ends < 2 {
        return Some(Ineligible::NotProse);
    }
    None
}

/// A sentence of a seed chunk worth asking about, for sentence-first planning: a statement
/// of 8 to 45 words that carries a fact — a number or date, a name, a definition ("is a",
/// "called", "known as"), a cause ("because", "causes") — not a question, an exclamation or
/// a line of dialogue. Sentences that lean on the one before ("It", "This", "They") rank
/// lower, since their question is hard to make standalone. The sentence is the chunk's exact
/// text (one of its quotable sentences), so it can be cited as it stands.
pub fn fact_sentence(text: &str, draw: u64) -> Option<String> {
    let mut ranked: Vec<(i32, usize, String)> = Vec::new();
    for (i, s) in crate::engine::schema::quotable(text).into_iter().enumerate() {
        let score = fact_score(&s);
        if score > 0 {
            ranked.push((score, i, s));
        }
    }
    // The best three, drawn from in proportion to their score: a second slot on the same
    // chunk asks about another fact.
    ranked.sort_by_key(|(score, i, _)| (std::cmp::Reverse(*score), *i));
    ranked.truncate(3);
    let total: i32 = ranked.iter().map(|(s, _, _)| *s).sum();
    let mut r = (draw % total.max(1) as u64) as i32;
    for (score, _, s) in ranked {
        if r < score {
            return Some(s);
        }
        r -= score;
    }
    None
}

/// How much of a fact a sentence states (0 or less: not worth a question); see
/// [`fact_sentence`].
fn fact_score(s: &str) -> i32 {
    let words: Vec<&str> = s.split_whitespace().collect();
    if !(8..=45).contains(&words.len()) || s.contains('?') || s.contains('!') {
        return 0;
    }
    if s.matches(['"', '“', '”']).count() >= 2 || !s.ends_with(['.', ';', ':', ')', '"', '”']) {
        return 0;
    }
    let lower = format!(" {} ", s.to_lowercase());
    let has = |list: &[&str]| list.iter().any(|w| lower.contains(w));
    let mut score = 2;
    if s.chars().any(|c| c.is_ascii_digit()) {
        score += 3;
    }
    // A capitalised word past the first: a name.
    if words[1..].iter().any(|w| w.chars().next().is_some_and(char::is_uppercase) && w.len() > 1) {
        score += 2;
    }
    if has(&[
        " is a ",
        " is an ",
        " is the ",
        " are the ",
        " was a ",
        " was the ",
        " called ",
        " known as ",
        " means ",
        " consists of ",
        " defined as ",
        " refers to ",
        " named ",
    ]) {
        score += 3;
    }
    if has(&[
        " because ",
        " causes ",
        " caused by ",
        " due to ",
        " therefore ",
        " produces ",
        " results in ",
        " leads to ",
    ]) {
        score += 2;
    }
    let first = words[0].trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    if ["it", "this", "these", "they", "he", "she", "that", "those", "such", "but", "and", "so", "there", "here"]
        .contains(&first.as_str())
    {
        score -= 2;
    }
    if has(&[" i ", " you ", " we ", " my ", " our ", " your ", " me ", " us "]) {
        score -= 2;
    }
    score
}

/// A deterministic 64-bit mix of the run seed and some values (SplitMix64 over BLAKE3).
pub fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    for p in parts {
        h.update(&p.to_le_bytes());
    }
    u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Builds a plan one chunk at a time, keeping no chunk's text: a plan over a large corpus
/// holds ids and headings, and a slot reads its seed's text from the index.
#[derive(Debug, Default)]
pub struct PlanBuilder {
    eligible: Vec<ChunkInfo>,
    excluded: Vec<(Ineligible, usize)>,
}

impl PlanBuilder {
    /// Adds the next chunk in corpus order.
    pub fn add(&mut self, mut c: ChunkInfo) {
        match ineligible(&c) {
            None => {
                c.text = String::new();
                self.eligible.push(c);
            }
            Some(r) => match self.excluded.iter_mut().find(|(k, _)| *k == r) {
                Some((_, n)) => *n += 1,
                None => self.excluded.push((r, 1)),
            },
        }
    }

    pub fn finish(self, n: usize, seed: u64) -> Plan {
        Plan { eligible: self.eligible, excluded: self.excluded, strata: n.max(1), seed }
    }
}

/// The seed plan of a run.
#[derive(Debug)]
pub struct Plan {
    /// Eligible chunks in corpus order (without their text; see [`PlanBuilder`]).
    pub eligible: Vec<ChunkInfo>,
    /// Chunks left out, by reason.
    pub excluded: Vec<(Ineligible, usize)>,
    strata: usize,
    seed: u64,
}

impl Plan {
    /// Plans `n` slots over `chunks` (in corpus order).
    pub fn new(chunks: Vec<ChunkInfo>, n: usize, seed: u64) -> Plan {
        let mut b = PlanBuilder::default();
        for c in chunks {
            b.add(c);
        }
        b.finish(n, seed)
    }

    /// Plans `n` slots over chosen seeds (a topic tree's grounded nodes), taken as they are.
    pub fn from_seeds(seeds: Vec<ChunkInfo>, n: usize, seed: u64) -> Plan {
        let eligible = seeds.into_iter().map(|c| ChunkInfo { text: String::new(), ..c }).collect();
        Plan { eligible, excluded: Vec::new(), strata: n.max(1), seed }
    }

    /// The plan's part of run.json.
    pub fn json(&self) -> serde_json::Value {
        let excluded: std::collections::BTreeMap<String, usize> =
            self.excluded.iter().map(|(r, n)| (format!("{r:?}"), *n)).collect();
        serde_json::json!({"seed_chunks": {"eligible": self.eligible.len(), "excluded": excluded}})
    }

    /// The stratum `[start, end)` of eligible chunks for slot `slot`.
    pub fn stratum(&self, slot: u64) -> (usize, usize) {
        let e = self.eligible.len();
        let k = (slot % self.strata as u64) as usize;
        let start = k * e / self.strata;
        let end = ((k + 1) * e / self.strata).max(start + 1).min(e);
        (start.min(e.saturating_sub(1)), end)
    }

    /// The seed chunk of `slot` (`None` when nothing is eligible).
    pub fn seed_chunk(&self, slot: u64) -> Option<&ChunkInfo> {
        if self.eligible.is_empty() {
            return None;
        }
        let (start, end) = self.stratum(slot);
        // Later rounds over the same stratum (slot >= N) draw again, so a slot that failed
        // gets another chunk of the same part of the corpus.
        let pick = start + (mix(self.seed, &[slot, 1]) % (end - start).max(1) as u64) as usize;
        self.eligible.get(pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(doc: &str, i: usize, text: &str) -> ChunkInfo {
        ChunkInfo {
            chunk_id: format!("{doc}-{i}"),
            doc_id: doc.into(),
            title: doc.into(),
            heading_path: vec![],
            token_count: 120,
            text: text.into(),
            topic_path: vec![],
            language: String::new(),
        }
    }

    const PROSE: &str = "The flame of a candle is bright. It rises because hot air is lighter than cold air. \
        Faraday showed this with a simple glass chimney and a little smoke.";

    #[test]
    fn filters_contents_licence_and_tables() {
        assert_eq!(ineligible(&chunk("a", 0, PROSE)), None);
        let toc = "Chapter I. The candle 1\nChapter II. The flame 9\nChapter III. Air 17\nChapter IV. Water 25\nChapter V. Oxygen 33\nChapter VI. Breath 41";
        assert_eq!(ineligible(&chunk("a", 0, toc)), Some(Ineligible::NotProse));
        let lic = "This eBook is for the use of anyone anywhere. It is under the Project Gutenberg License. Copyright laws apply.";
        assert_eq!(ineligible(&chunk("a", 0, lic)), Some(Ineligible::Licence));
        let table = "1820 1.5 2.3 4.5. 1821 1.7 2.9 4.1. 1822 1.9 3.3 4.0. 1823 2.0 3.4 4.4.";
        assert_eq!(ineligible(&chunk("a", 0, table)), Some(Ineligible::NotProse));
    }

    #[test]
    fn fact_sentences_carry_facts() {
        let text = "I shall now show you something. It goes up. The candle was invented in 1820 by a \
            chemist named Smith, who worked in London. We must look at it closely, you and I, in a moment.";
        let s = fact_sentence(text, 0).unwrap();
        assert!(s.starts_with("The candle was invented in 1820"), "{s}");
        // Every draw picks a sentence of the text, exactly as it stands.
        for d in 0..10 {
            assert!(text.contains(&fact_sentence(text, d).unwrap()));
        }
        assert_eq!(fact_sentence("Where is it? Go there now! Yes.", 3), None);
    }

    #[test]
    fn strata_cover_the_whole_corpus_in_proportion() {
        // A 200-chunk book and a 20-chunk article; 22 slots.
        let mut chunks: Vec<ChunkInfo> = (0..200).map(|i| chunk("book", i, PROSE)).collect();
        chunks.extend((0..20).map(|i| chunk("article", i, PROSE)));
        let plan = Plan::new(chunks, 22, 7);
        let seeds: Vec<&ChunkInfo> = (0..22).map(|s| plan.seed_chunk(s).unwrap()).collect();
        let book: Vec<usize> = seeds
            .iter()
            .filter(|c| c.doc_id == "book")
            .map(|c| c.chunk_id.rsplit('-').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(book.len(), 20);
        assert_eq!(seeds.len() - book.len(), 2);
        // Every tenth of the book is drawn from.
        for decile in 0..10 {
            assert!(book.iter().any(|i| i / 20 == decile), "decile {decile} missing: {book:?}");
        }
        // Deterministic.
        let again = Plan::new((0..220).map(|i| chunk("x", i, PROSE)).collect(), 22, 7);
        let again2 = Plan::new((0..220).map(|i| chunk("x", i, PROSE)).collect(), 22, 7);
        assert_eq!(again.seed_chunk(5).unwrap().chunk_id, again2.seed_chunk(5).unwrap().chunk_id);
        // A second round draws from the same stratum.
        assert_eq!(plan.stratum(3), plan.stratum(3 + 22));
    }
}
