//! The JSON schemas a task asks the model to fill, and reading the replies: citations of the
//! shown passages (each quote one of the passage's own sentences), answers, questions, and
//! the sentences an extractive answer may be.

use std::collections::HashSet;

use quarry_audit::RawCitation;
use serde_json::{Value, json};

/// Quotes longer than this many characters are split at clause ends (never cut mid-clause).
const MAX_QUOTE: usize = 400;

/// The quotable sentences of a passage: each an exact substring of it. A sentence longer than
/// [`MAX_QUOTE`] characters is offered as its clauses (split after `;`, `:` or `,`), each as long as
/// fits, so a quote always ends where the text pauses and is found again as it stands.
pub(crate) fn quotable(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim();
        if s.len() >= 20 && !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    };
    for r in quarry_audit::split_sentences(text) {
        clauses(text[r].trim(), &mut push);
    }
    if out.is_empty() {
        clauses(text.trim(), &mut |s: &str| {
            if !s.trim().is_empty() {
                out.push(s.trim().to_owned())
            }
        });
    }
    out
}

/// Calls `f` with `s` whole, or (longer than [`MAX_QUOTE`]) with its runs of clauses, each the
/// longest that fits; a clause longer than that on its own is given whole.
fn clauses(s: &str, f: &mut impl FnMut(&str)) {
    // Lengths in characters, so a sentence in a script of multi-byte letters (Devanagari: three
    // bytes each) is as long a quote as an English one.
    let len = |t: &str| t.chars().count();
    if len(s) <= MAX_QUOTE {
        return f(s);
    }
    let breaks: Vec<usize> = s
        .char_indices()
        .filter(|&(i, c)| matches!(c, ';' | ':' | ',') && s[i + 1..].starts_with(char::is_whitespace))
        .map(|(i, _)| i + 1)
        .chain(std::iter::once(s.len()))
        .collect();
    let mut start = 0;
    while start < s.len() {
        let fits = breaks.iter().copied().rfind(|&b| b > start && len(&s[start..b]) <= MAX_QUOTE);
        let end = fits.or_else(|| breaks.iter().copied().find(|&b| b > start)).unwrap_or(s.len());
        f(&s[start..end]);
        start = end;
    }
}

/// The schema of a list of citations of the shown passages. Each is one of the passages with
/// a quote drawn from that passage's own sentences (an enum): with a grammar-constrained
/// backend the model cannot invent a quote. The verifier checks every citation all the same.
pub(crate) fn citations_schema(passages: &[&str], max: usize) -> Value {
    let quotes: Vec<Vec<String>> = passages.iter().map(|t| quotable(t)).collect();
    citations_schema_of(&quotes, max)
}

/// [`citations_schema`] over given quotes per passage (passage `i + 1` may be quoted with
/// `quotes[i]`); a passage without quotes cannot be cited.
pub(crate) fn citations_schema_of(quotes: &[Vec<String>], max: usize) -> Value {
    let choices: Vec<Value> = quotes
        .iter()
        .enumerate()
        .filter(|(_, q)| !q.is_empty())
        .map(|(i, q)| {
            json!({
                "type": "object",
                "properties": {
                    "passage": {"const": i + 1},
                    "quote": {"enum": q}
                },
                "required": ["passage", "quote"],
                "additionalProperties": false
            })
        })
        .collect();
    json!({"type": "array", "minItems": 1, "maxItems": max, "items": {"anyOf": choices}})
}

/// The quotable sentences of the shown passages that a question's answer may be, for an
/// extractive answer: the `max` sentences that share the most content words with the question
/// (at least one), per passage in passage order. With `max` 0, or when no sentence shares a
/// word, every quotable sentence. This is sentence-level retrieval: the model still picks the
/// sentence, and the verifier still checks that it answers.
pub(crate) fn answer_candidates(question: &str, passages: &[&str], max: usize) -> Vec<Vec<String>> {
    let all: Vec<Vec<String>> = passages.iter().map(|t| quotable(t)).collect();
    if max == 0 {
        return all;
    }
    let q: HashSet<String> = quarry_audit::content_words(question).into_iter().collect();
    let mut ranked: Vec<(usize, usize, usize)> = Vec::new();
    for (p, sents) in all.iter().enumerate() {
        for (i, s) in sents.iter().enumerate() {
            let words: HashSet<String> = quarry_audit::content_words(s).into_iter().collect();
            let shared = words.intersection(&q).count();
            if shared > 0 {
                ranked.push((shared, p, i));
            }
        }
    }
    if ranked.is_empty() {
        return all;
    }
    // Most shared words first; ties in passage (retrieval) order, then sentence order.
    ranked.sort_by_key(|&(n, p, i)| (std::cmp::Reverse(n), p, i));
    ranked.truncate(max);
    ranked.sort_by_key(|&(_, p, i)| (p, i));
    let mut out: Vec<Vec<String>> = vec![Vec::new(); all.len()];
    for (_, p, i) in ranked {
        out[p].push(all[p][i].clone());
    }
    out
}

/// The answer's schema: citations of the shown passages first, then the answer.
pub(crate) fn answer_schema(passages: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": {
            "citations": citations_schema(passages, 2),
            "answer": {"type": "string", "minLength": 1, "maxLength": 400}
        },
        // Backends that generate in schema order follow `required`: evidence first.
        "required": ["citations", "answer"],
        "additionalProperties": false
    })
}

/// An extractive answer's schema: only the citation, one of `candidates`.
pub(crate) fn extractive_schema(candidates: &[Vec<String>]) -> Value {
    json!({
        "type": "object",
        "properties": {"citations": citations_schema_of(candidates, 1)},
        "required": ["citations"],
        "additionalProperties": false
    })
}

/// A closed-book answer's schema: the answer alone.
pub(crate) fn bare_answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"answer": {"type": "string", "minLength": 1, "maxLength": 400}},
        "required": ["answer"],
        "additionalProperties": false
    })
}

pub(crate) fn question_schema() -> Value {
    json!({
        "type": "object",
        // A question of any wording: one line that ends with its only question mark (spaces
        // after it are trimmed). Human questions need not start with a question word: "The
        // Normans were in conflict with which other people?" No quote or backslash inside: a
        // grammar-constrained backend writes the pattern's characters raw into the JSON string,
        // and a raw quote would end it.
        "properties": {"question": {"type": "string", "pattern": "^[^ ?\"\\\\\\n][^?\"\\\\\\n]{8,250}[?] *$"}},
        "required": ["question"],
        "additionalProperties": false
    })
}

/// The citations of a reply object (`{"passage": n, "quote": "..."}` items).
pub(crate) fn raw_citations(v: &Value) -> Vec<RawCitation> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    Some(RawCitation { passage: c["passage"].as_u64()? as u32, quote: c["quote"].as_str()?.to_owned() })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The answer as clean prose, without the JSON debris small models leave at its end
/// (`"...less.},  {"`).
pub(crate) fn clean_answer(a: &str) -> String {
    let a = a.trim();
    let kept = a.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '{' | '}' | '[' | ']' | ','));
    prose(if kept.len() < a.len() && a[kept.len()..].contains(['{', '}']) { kept } else { a })
}

/// Text as prose to train on: the hard line wraps of the source joined ("full of\nair" becomes
/// "full of air"), paragraph breaks (blank lines) kept. Citations keep the document's exact
/// text; records and exports carry this.
pub(crate) fn prose(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.split("\n\n")
        .map(|p| p.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractive_candidates_are_the_sentences_sharing_most_question_words() {
        let a = "The wick draws melted wax up to the flame. Candles were once made of tallow from sheep.";
        let b = "A candle flame is bright because carbon particles glow in it. The room was quiet that evening.";
        let q = "Why is a candle flame bright?";
        let c = answer_candidates(q, &[a, b], 2);
        // The two sentences with most of "candle", "flame", "bright", in passage order.
        assert_eq!(c[0], vec!["The wick draws melted wax up to the flame.".to_owned()]);
        assert_eq!(c[1], vec!["A candle flame is bright because carbon particles glow in it.".to_owned()]);
        // The schema offers only those; a passage without one cannot be cited.
        let schema = citations_schema_of(&c, 1);
        let choices = schema["items"]["anyOf"].as_array().unwrap();
        assert_eq!(choices.len(), 2);
        let one = answer_candidates(q, &[a, b], 1);
        assert!(one[0].is_empty());
        assert_eq!(citations_schema_of(&one, 1)["items"]["anyOf"].as_array().unwrap().len(), 1);
        assert_eq!(citations_schema_of(&one, 1)["items"]["anyOf"][0]["properties"]["passage"]["const"], 2);
        // 0, or a question sharing no word, offers every sentence.
        assert_eq!(answer_candidates(q, &[a, b], 0), vec![quotable(a), quotable(b)]);
        assert_eq!(answer_candidates("Who wrote Hamlet?", &[a, b], 2), vec![quotable(a), quotable(b)]);
    }

    #[test]
    fn answer_debris_is_trimmed() {
        assert_eq!(clean_answer(" It burns.},  { "), "It burns.");
        assert_eq!(clean_answer("Values are [1, 2]"), "Values are [1, 2]");
    }

    #[test]
    fn long_sentences_are_quoted_as_whole_clauses_never_cut() {
        let c = "flame of the candle draws the melted wax up the wick by capillary attraction";
        let long = format!("The {c}; the {c}, the {c}: the {c}, the {c}; the {c}, the {c}.");
        let text = format!("A short first sentence about candles. {long} A last sentence about candles.");
        let quotes = quotable(&text);
        let pieces: Vec<&String> = quotes.iter().filter(|q| long.contains(q.as_str())).collect();
        assert!(pieces.len() >= 2, "{quotes:#?}");
        for q in &pieces {
            assert!(q.len() <= MAX_QUOTE, "{q}");
            assert!(q.ends_with([';', ',', ':', '.']), "cut mid-clause: {q}");
        }
        // Together they are the whole sentence.
        let joined: String = pieces.iter().map(|q| q.as_str()).collect::<Vec<_>>().join(" ");
        assert_eq!(joined, long);
    }

    #[test]
    fn hard_wraps_are_joined_and_paragraphs_kept() {
        let wrapped = "The jar is full of\nair, partly changed, partly not changed; but it does not contain\r\nsufficient of the fresh air.";
        assert_eq!(
            prose(wrapped),
            "The jar is full of air, partly changed, partly not changed; but it does not contain sufficient of the fresh air."
        );
        assert_eq!(prose("One.\n\n  Two\nlines.\n"), "One.\n\nTwo lines.");
        assert_eq!(clean_answer("It burns\nbrightly.}"), "It burns brightly.");
    }
}
