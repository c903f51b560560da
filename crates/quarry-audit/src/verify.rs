//! Verifying a generated answer: its citations against the passages shown to the model, and
//! its support by the cited text.

use quarry_core::{Citation, SentenceSupport, Span, Verdict};
use serde::{Deserialize, Serialize};

use crate::locate::{DEFAULT_MIN_FUZZY, locate_quote};
use crate::support::{Embed, SupportConfig, support_in_context};
use crate::text::split_sentences;

/// Reason code: a citation names a passage number that was not shown.
pub const CITATION_UNKNOWN_PASSAGE: &str = "citation_unknown_passage";
/// Reason code: a citation's quote is not in its passage.
pub const QUOTE_NOT_FOUND: &str = "quote_not_found";
/// Reason code: no citation survived.
pub const NO_VALID_CITATION: &str = "no_valid_citation";
/// Reason code: no answer sentence is supported by the cited text.
pub const UNSUPPORTED: &str = "unsupported";
/// Reason code: some answer sentences are not supported by the cited text.
pub const PARTIAL_SUPPORT: &str = "partial_support";
/// Reason code: the cited sentence is not where its passage answers the question (other
/// sentences of the passage are closer to the question).
pub const ANSWER_ELSEWHERE: &str = "answer_elsewhere";

/// A citation as the model wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RawCitation {
    /// The passage number shown in the prompt (1-based).
    pub passage: u32,
    /// The model's quote from that passage.
    pub quote: String,
}

/// A passage as shown to the model: a chunk and where it lies in its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassageView {
    pub chunk_id: String,
    pub doc_id: String,
    pub doc_title: String,
    pub heading_path: Vec<String>,
    /// Byte offset of the chunk in its document's text.
    pub chunk_start: usize,
    /// The chunk's text.
    pub text: String,
}

/// Settings of [`verify`].
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyConfig {
    /// Lowest fuzzy alignment score at which a quote counts as found.
    pub min_fuzzy: f32,
    /// The support scorer's settings.
    pub support: SupportConfig,
    /// With an embedder, a one-sentence answer's cited sentence must be among this many
    /// sentences of its passage closest to the question (by embedding similarity), else it
    /// answers another question ([`ANSWER_ELSEWHERE`]); 0 turns the check off. Passages of
    /// fewer than `rival_rank + 1` sentences are not checked. Measured on the judged set's
    /// tuning part (`cargo bench -p quarry-gen --bench judged -- --sweep`): 2.
    pub rival_rank: usize,
    /// The rival-rank check applies to answers whose lexical support is below this (above it,
    /// the cited text answers the question's own words too closely to be another's answer).
    /// Tuned on the judged set's tuning part: 0.7 keeps every correct answer the lexical rule
    /// keeps there.
    pub rival_support: f32,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            min_fuzzy: DEFAULT_MIN_FUZZY,
            support: SupportConfig::default(),
            rival_rank: 2,
            rival_support: 0.7,
        }
    }
}

/// The verifier's judgement of one answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Verification {
    /// The located citations, deduplicated, in the model's order; spans are document bytes.
    pub citations: Vec<Citation>,
    /// Citations that were dropped, with their reason code ([`CITATION_UNKNOWN_PASSAGE`],
    /// [`QUOTE_NOT_FOUND`]).
    pub dropped: Vec<(RawCitation, String)>,
    pub verdict: Verdict,
    /// Mean support of the answer sentences (0..1).
    pub support: f32,
    pub sentences: Vec<SentenceSupport>,
    /// Lowest match score among the citations; 0 when there are none.
    pub quote_match: f32,
    /// Everything that is wrong, in words.
    pub reasons: Vec<String>,
    /// `None` when the answer is supported; otherwise [`NO_VALID_CITATION`], [`UNSUPPORTED`] or
    /// [`PARTIAL_SUPPORT`].
    pub reason_code: Option<String>,
}

/// Verifies `answer` to `question` against its citations `raw` of the `passages` shown (passage
/// `n` is `passages[n - 1]`).
///
/// Each citation must name a shown passage and its quote must be found in that chunk (see
/// [`locate_quote`]); it then becomes a [`Citation`] whose span is in document bytes and whose
/// `quote` is the chunk's own text there. The evidence for [`support`] is, per cited chunk, the
/// runs of its sentences that overlap the located quotes (models often quote fragments).
pub fn verify(
    question: &str,
    answer: &str,
    raw: &[RawCitation],
    passages: &[PassageView],
    embed: Option<Embed<'_>>,
    cfg: &VerifyConfig,
) -> Verification {
    let mut citations: Vec<Citation> = Vec::new();
    let mut dropped = Vec::new();
    let mut reasons = Vec::new();
    // Per cited passage index: the located local spans.
    let mut located: Vec<(usize, usize, usize)> = Vec::new();
    for rc in raw {
        let Some(p) = (rc.passage as usize).checked_sub(1).and_then(|i| passages.get(i).map(|p| (i, p))) else {
            reasons.push(format!("citation of passage {} names no passage shown (1..={})", rc.passage, passages.len()));
            dropped.push((rc.clone(), CITATION_UNKNOWN_PASSAGE.to_owned()));
            continue;
        };
        let (pi, pv) = p;
        let Some(loc) = locate_quote(&pv.text, &rc.quote, cfg.min_fuzzy) else {
            reasons.push(format!("quote not found in passage {}: \"{}\"", rc.passage, shorten(&rc.quote, 80)));
            dropped.push((rc.clone(), QUOTE_NOT_FOUND.to_owned()));
            continue;
        };
        let span = Span::new(pv.chunk_start + loc.start, pv.chunk_start + loc.end).expect("start < end");
        if citations.iter().any(|c| c.chunk_id == pv.chunk_id && c.span == span) {
            continue;
        }
        located.push((pi, loc.start, loc.end));
        citations.push(Citation {
            passage: rc.passage,
            chunk_id: pv.chunk_id.clone(),
            doc_id: pv.doc_id.clone(),
            doc_title: pv.doc_title.clone(),
            heading_path: pv.heading_path.clone(),
            quote: pv.text[loc.start..loc.end].to_owned(),
            model_quote: rc.quote.clone(),
            span,
            match_kind: loc.kind,
            match_score: loc.score,
        });
    }
    if citations.is_empty() {
        reasons.push("no citation could be verified".to_owned());
        return Verification {
            citations,
            dropped,
            verdict: Verdict::Unsupported,
            support: 0.0,
            sentences: Vec::new(),
            quote_match: 0.0,
            reasons,
            reason_code: Some(NO_VALID_CITATION.to_owned()),
        };
    }
    // The passages cited, each once, in passage order.
    let mut cited: Vec<usize> = located.iter().map(|l| l.0).collect();
    cited.sort_unstable();
    cited.dedup();
    let evidence = evidence_runs(passages, &cited, &located);
    let ev_refs: Vec<&str> = evidence.iter().map(String::as_str).collect();
    let context = evidence_context(passages, &cited, &located);
    let ctx_refs: Vec<&str> = context.iter().map(String::as_str).collect();
    let scope: Vec<&str> = cited.iter().map(|&pi| passages[pi].text.as_str()).collect();
    let mut sup = support_in_context(question, answer, &ev_refs, &ctx_refs, &scope, embed, &cfg.support);
    reasons.append(&mut sup.reasons);
    let mut elsewhere = false;
    if let Some(embed) = embed
        && cfg.rival_rank > 0
        && sup.verdict != Verdict::Unsupported
        && sup.support < cfg.rival_support
        && split_sentences(answer).len() <= 1
        && let Some(why) = answered_elsewhere(question, passages, &located, embed, cfg.rival_rank)
    {
        reasons.push(why);
        sup.verdict = Verdict::Unsupported;
        elsewhere = true;
    }
    let quote_match = citations.iter().map(|c| c.match_score).fold(f32::INFINITY, f32::min);
    let reason_code = match sup.verdict {
        _ if elsewhere => Some(ANSWER_ELSEWHERE.to_owned()),
        Verdict::Supported => None,
        Verdict::Partial => Some(PARTIAL_SUPPORT.to_owned()),
        Verdict::Unsupported => Some(UNSUPPORTED.to_owned()),
    };
    Verification {
        citations,
        dropped,
        verdict: sup.verdict,
        support: sup.support,
        sentences: sup.sentences,
        quote_match,
        reasons,
        reason_code,
    }
}

/// Per cited passage (in passage order), the runs of consecutive sentences that overlap a located
/// quote, each as one text.
/// What the cited text stands in: each cited passage's document title and heading path (what
/// an "it" at the start of a cited sentence usually is), and the names in the sentence just
/// before each quote ("The Saxon Garden was a royal garden. There are over 100 species of
/// trees."). The rest of the sentences around the quote is not context: one of them may hold
/// the question's words and its own answer.
fn evidence_context(passages: &[PassageView], cited: &[usize], located: &[(usize, usize, usize)]) -> Vec<String> {
    let mut out = Vec::new();
    for &pi in cited {
        out.push(passages[pi].doc_title.clone());
        out.extend(passages[pi].heading_path.iter().cloned());
        let text = &passages[pi].text;
        let sents = split_sentences(text);
        for &(_, start, _) in located.iter().filter(|l| l.0 == pi) {
            let Some(i) = sents.iter().position(|r| r.start <= start && start < r.end.max(r.start + 1)) else {
                continue;
            };
            let Some(prev) = i.checked_sub(1).map(|j| &text[sents[j].clone()]) else { continue };
            let names: Vec<&str> = prev
                .split_whitespace()
                .skip(1)
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
                .collect();
            out.push(names.join(" "));
        }
    }
    out
}

/// Why a one-sentence answer's citations answer another question: in no cited passage (of at
/// least `rank + 1` sentences) is a cited sentence among the `rank` closest to the question by
/// embedding similarity. `None` when one is, or when no cited passage is long enough to tell.
fn answered_elsewhere(
    question: &str,
    passages: &[PassageView],
    located: &[(usize, usize, usize)],
    embed: Embed<'_>,
    rank: usize,
) -> Option<String> {
    if question.trim().is_empty() {
        return None;
    }
    let mut worst: Option<(usize, usize, usize)> = None;
    let mut cited: Vec<usize> = located.iter().map(|l| l.0).collect();
    cited.sort_unstable();
    cited.dedup();
    for pi in cited {
        let text = &passages[pi].text;
        let sents = split_sentences(text);
        if sents.len() <= rank {
            return None;
        }
        let hit: Vec<usize> = (0..sents.len())
            .filter(|&i| located.iter().any(|&(p, s, e)| p == pi && s < sents[i].end && sents[i].start < e))
            .collect();
        if hit.is_empty() {
            return None;
        }
        let mut texts: Vec<&str> = vec![question];
        texts.extend(sents.iter().map(|r| &text[r.clone()]));
        let v = embed(&texts);
        if v.len() != texts.len() {
            return None;
        }
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let sims: Vec<f32> = v[1..].iter().map(|s| cos(&v[0], s)).collect();
        let best_cited = hit.iter().map(|&i| sims.iter().filter(|&&x| x > sims[i]).count() + 1).min()?;
        if best_cited <= rank {
            return None;
        }
        worst = Some((pi + 1, best_cited, sents.len()));
    }
    worst.map(|(p, r, n)| {
        format!(
            "the cited sentence of passage {p} is not where it answers the question: {} of its {n} sentences are closer to the question",
            r - 1
        )
    })
}

fn evidence_runs(passages: &[PassageView], cited: &[usize], located: &[(usize, usize, usize)]) -> Vec<String> {
    let mut out = Vec::new();
    for &pi in cited {
        let text = &passages[pi].text;
        let sents = split_sentences(text);
        let hit: Vec<bool> =
            sents.iter().map(|r| located.iter().any(|&(p, s, e)| p == pi && s < r.end && r.start < e)).collect();
        let mut i = 0;
        while i < sents.len() {
            if !hit[i] {
                i += 1;
                continue;
            }
            let start = sents[i].start;
            while i + 1 < sents.len() && hit[i + 1] {
                i += 1;
            }
            out.push(text[start..sents[i].end].to_owned());
            i += 1;
        }
        // A quote in the whitespace between sentences overlaps none: fall back to the quotes.
        if !hit.iter().any(|&h| h) {
            out.extend(located.iter().filter(|l| l.0 == pi).map(|&(_, s, e)| text[s..e].to_owned()));
        }
    }
    out
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy embedder: one dimension per word of a small vocabulary, normalised.
    fn toy(texts: &[&str]) -> Vec<Vec<f32>> {
        const VOCAB: &[&str] = &["tower", "built", "1889", "paint", "rust", "lift", "visitors", "height"];
        texts
            .iter()
            .map(|t| {
                let t = t.to_lowercase();
                let mut v: Vec<f32> = VOCAB.iter().map(|w| if t.contains(w) { 1.0 } else { 0.0 }).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter_mut().for_each(|x| *x /= n);
                v
            })
            .collect()
    }

    #[test]
    fn a_cited_sentence_far_from_the_question_answers_another_question() {
        let text = "The tower was built in 1889. Its paint keeps rust away. A lift takes visitors up. \
                    Its height is 330 metres.";
        let p = PassageView {
            chunk_id: "d-0".into(),
            doc_id: "d".into(),
            doc_title: "Tower".into(),
            heading_path: vec![],
            chunk_start: 0,
            text: text.into(),
        };
        let q = "When was the tower built?";
        let at = |s: &str| {
            let i = text.find(s).unwrap();
            vec![(0, i, i + s.len())]
        };
        let embed: Embed<'_> = &toy;
        assert_eq!(
            answered_elsewhere(q, std::slice::from_ref(&p), &at("The tower was built in 1889."), embed, 1),
            None
        );
        let why = answered_elsewhere(q, std::slice::from_ref(&p), &at("A lift takes visitors up."), embed, 1).unwrap();
        assert!(why.contains("1 of its 4 sentences are closer"), "{why}");
        // A passage too short to rank is not judged.
        let short = PassageView { text: "A lift takes visitors up.".into(), ..p };
        assert_eq!(answered_elsewhere(q, &[short], &[(0, 0, 10)], embed, 1), None);
    }
}
