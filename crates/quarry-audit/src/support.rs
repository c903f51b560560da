//! Whether an answer is supported by its evidence: per answer sentence, a lexical score
//! (question-aware for short answers) and optionally a semantic one.

use std::collections::HashSet;

use quarry_core::{SentenceSupport, Verdict};

use crate::text::{ContentWord, Lang, content_tokens_in, is_stopword, split_sentences, stem};

/// An embedding function: one vector per input text, in order.
pub type Embed<'a> = &'a dyn Fn(&[&str]) -> Vec<Vec<f32>>;

/// Thresholds and weights of the support scorer.
#[derive(Clone, Debug, PartialEq)]
pub struct SupportConfig {
    /// A sentence is supported when its combined score is at least this.
    pub threshold: f32,
    /// A one-sentence answer with at most this many content words is a phrase ("Denver
    /// Broncos", "1887"): it is judged together with the question.
    pub phrase_max_words: usize,
    /// Question words at most this many content words away from the answer in the evidence
    /// count fully; farther ones count `near_distance / distance`.
    pub near_distance: f32,
    /// Extra distance (in content words) between words of two adjacent evidence sentences.
    pub sentence_gap: f32,
    /// For a one-sentence, full-sentence answer: the share of its score that does not depend on
    /// the question's words being in the evidence (the rest scales with their share).
    pub sentence_question_floor: f32,
    /// Factor applied to a phrase answer whose type does not fit the question (a "how many",
    /// "what year" or "what percentage" question answered without a number, a "when" question
    /// without a year, date or time word, a "who", "where" or "what NOUN" question answered with
    /// only a date or number).
    pub type_mismatch_factor: f32,
    /// The raw phrase score (answer coverage × weighted, proximity-discounted question coverage)
    /// that is mapped to 0.5; the map is piecewise linear and monotonic, so `threshold` 0.5
    /// means this raw score. Tuned on SQuAD (best F1).
    pub phrase_calibration: f32,
    /// The same for full sentences (share of content words found, scaled for the question).
    pub sentence_calibration: f32,
    /// Weight of the lexical score when a semantic score is computed too (the semantic score
    /// gets the rest).
    pub lexical_weight: f32,
    /// At most this many evidence sentences are named as a claim's support.
    pub max_support_sentences: usize,
    /// Whether the semantic score (when an embedder is given) takes part in the verdict, or is
    /// only recorded beside the lexical one.
    pub semantic_in_verdict: bool,
    /// A phrase answer's score is scaled by (question coverage of its window / the best question
    /// coverage of any window) to this power: the answer to a question sits where the question's
    /// words are, so an answer found only in a window that holds less of the question than
    /// another is likely the answer to something else.
    pub rival_exponent: f32,
    /// How much a question word counts that is not in the answer's evidence window but in its
    /// context, the document's title and heading path ("It was founded in 1852" in the article
    /// "Victoria and Albert Museum"): the question may name what the cited sentence calls "it".
    /// It counts only when the window itself holds one of the question's words. 0 ignores the
    /// context.
    pub context_credit: f32,
    /// The highest score a claim gets when the cited passages (and their titles and headings)
    /// never name a name or number the question gives; below `threshold`, so such a claim fails.
    pub missing_term_cap: f32,
    /// The language rules of the texts (stop words, stemming, English question patterns); see
    /// [`Lang`].
    pub language: Lang,
}

impl Default for SupportConfig {
    fn default() -> Self {
        SupportConfig {
            threshold: 0.5,
            phrase_max_words: 8,
            near_distance: 3.0,
            sentence_gap: 32.0,
            sentence_question_floor: 0.3,
            type_mismatch_factor: 0.15,
            phrase_calibration: 0.225,
            sentence_calibration: 0.7,
            lexical_weight: 0.6,
            max_support_sentences: 3,
            semantic_in_verdict: false,
            rival_exponent: 1.0,
            context_credit: 1.0,
            missing_term_cap: 0.45,
            language: Lang::English,
        }
    }
}

/// The support of an answer.
#[derive(Clone, Debug, PartialEq)]
pub struct SupportResult {
    /// Supported when every sentence is, Partial when some are, Unsupported otherwise.
    pub verdict: Verdict,
    /// The mean of the sentences' combined scores (0..1).
    pub support: f32,
    /// Per answer sentence.
    pub sentences: Vec<SentenceSupport>,
    /// Why sentences are not supported, in words.
    pub reasons: Vec<String>,
}

/// One evidence sentence: which evidence text it is from and its content words.
struct EvSentence {
    group: usize,
    index: usize,
    text: String,
    words: Vec<ContentWord>,
}

/// One or two adjacent evidence sentences with their content words at positions (two
/// sentences are `sentence_gap` apart).
struct Window {
    sentences: Vec<usize>,
    words: Vec<(String, f32)>,
}

fn windows(ev: &[EvSentence], gap: f32) -> Vec<Window> {
    let mut out = Vec::with_capacity(ev.len() * 2);
    for (i, s) in ev.iter().enumerate() {
        let one: Vec<(String, f32)> = s.words.iter().enumerate().map(|(p, w)| (w.stem.clone(), p as f32)).collect();
        if let Some(next) = ev.get(i + 1).filter(|n| n.group == s.group) {
            let base = s.words.len() as f32 + gap;
            let mut two = one.clone();
            two.extend(next.words.iter().enumerate().map(|(p, w)| (w.stem.clone(), base + p as f32)));
            out.push(Window { sentences: vec![i, i + 1], words: two });
        }
        out.push(Window { sentences: vec![i], words: one });
    }
    out
}

/// A claim's words: the new ones (not in the question) and the question's.
struct Claim<'a> {
    /// Unique stems of the claim, with a surface form for messages.
    words: Vec<(String, &'a str)>,
    /// Judged with the question (a short phrase answer).
    phrase: bool,
    /// Whether the phrase fits the answer type the question asks for.
    fits: bool,
}

struct QuestionWords<'a> {
    words: Vec<(String, &'a str)>,
    /// Per word: its weight, higher for words found in fewer evidence sentences.
    weights: Vec<f32>,
    expects: Expect,
    /// The question offers a choice ("X or Y?"): an answer may repeat one of its words.
    choice: bool,
    /// The highest [`QuestionWords::coverage`] of any evidence window.
    best_coverage: f32,
    /// Stems of the context (title, headings).
    context: HashSet<String>,
    /// The question's first word, which is capitalised without being a name.
    first: &'a str,
    /// Stems of the whole text of the cited passages.
    scope: HashSet<String>,
    /// Acronyms the cited passages and their titles spell with the initials of their names
    /// ("un" and "unfccc" for "United Nations Framework Convention on Climate Change").
    acronyms: HashSet<String>,
}

impl<'a> QuestionWords<'a> {
    fn new(
        question: &'a str,
        toks: &[ContentWord],
        ev: &[EvSentence],
        wins: &[Window],
        lang: Lang,
    ) -> QuestionWords<'a> {
        let framing: Vec<ContentWord> =
            toks.iter().filter(|t| !QUESTION_FRAMING.iter().any(|w| stem(w) == t.stem)).cloned().collect();
        let words = unique(question, &framing);
        let n = ev.len().max(1) as f32;
        let weights = words
            .iter()
            .map(|(s, _)| {
                let df = ev.iter().filter(|e| e.words.iter().any(|w| &w.stem == s)).count().max(1) as f32;
                (1.0 + n / df).ln()
            })
            .collect();
        let choice = question.to_lowercase().split_whitespace().any(|w| w == "or");
        let context = HashSet::new();
        let mut q = QuestionWords {
            words,
            weights,
            // What a question asks for is read from its own language's question words.
            expects: if lang.is_english() { expected_answer(question) } else { expected_answer_in(question, lang) },
            choice,
            best_coverage: 0.0,
            context,
            first: question.split_whitespace().next().unwrap_or(""),
            scope: HashSet::new(),
            acronyms: HashSet::new(),
        };
        q.best_coverage = wins.iter().map(|w| q.coverage(w)).fold(0.0, f32::max);
        q
    }

    /// The weighted share of the question's words found in a window.
    fn coverage(&self, w: &Window) -> f32 {
        let total: f32 = self.weights.iter().sum();
        if total <= 0.0 {
            return 0.0;
        }
        let found: f32 = self
            .words
            .iter()
            .zip(&self.weights)
            .filter(|((s, _), _)| w.words.iter().any(|(ws, _)| ws == s))
            .map(|(_, &weight)| weight)
            .sum();
        found / total
    }
}

/// Stems of words that frame a question rather than say what it is about ("what is one example
/// of ...", "specifically").
const QUESTION_FRAMING: &[&str] =
    &["one", "thing", "something", "example", "specifically", "particular", "regarding", "sort", "term"];

/// What kind of answer a question asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Number,
    Time,
    Person,
    Place,
    /// "What country", "which river": a thing named by the noun, so not a bare number or date.
    Thing,
    /// "Which city", "what team": a thing with a proper name, so the answer names one.
    Named,
    Any,
    /// A question in a language whose question words are not known: any answer fits.
    Open,
}

/// Number words of Hindi and Marathi ("दो", "दोन", "सौ", "लाख"), which answer "how many"
/// (कितने, किती).
const INDIC_NUMBER_WORDS: &[&str] = &[
    "एक",
    "दो",
    "तीन",
    "चार",
    "पांच",
    "पाँच",
    "छह",
    "छः",
    "सात",
    "आठ",
    "नौ",
    "दस",
    "ग्यारह",
    "बारह",
    "तेरह",
    "चौदह",
    "पंद्रह",
    "सोलह",
    "सत्रह",
    "अठारह",
    "उन्नीस",
    "बीस",
    "तीस",
    "चालीस",
    "पचास",
    "साठ",
    "सत्तर",
    "अस्सी",
    "नब्बे",
    "सौ",
    "हज़ार",
    "हजार",
    "लाख",
    "करोड़",
    "आधा",
    "आधी",
    "दोनों",
    "तिहाई",
    "चौथाई",
    "दोन",
    "पाच",
    "सहा",
    "नऊ",
    "दहा",
    "शंभर",
    "कोटी",
    "पहला",
    "पहली",
    "दूसरा",
    "दूसरी",
    "तीसरा",
    "तीसरी",
    "चौथा",
    "चौथी",
];

/// Nouns whose instances have proper names ("which city" is answered by a name).
const NAMED_NOUNS: &[&str] = &[
    "city",
    "country",
    "state",
    "town",
    "river",
    "county",
    "team",
    "company",
    "university",
    "college",
    "nation",
    "continent",
    "empire",
    "kingdom",
    "king",
    "queen",
    "president",
    "emperor",
    "island",
    "ocean",
    "sea",
    "mountain",
    "province",
    "dynasty",
    "newspaper",
    "network",
    "airport",
    "stadium",
    "village",
    "capital",
    "language",
];

const MONTHS_AND_DAYS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const TIME_WORDS: &[&str] = &[
    "century",
    "centuries",
    "decade",
    "decades",
    "year",
    "years",
    "era",
    "age",
    "period",
    "season",
    "spring",
    "summer",
    "autumn",
    "fall",
    "winter",
    "morning",
    "afternoon",
    "evening",
    "night",
    "dawn",
    "dusk",
    "ago",
    "later",
    "earlier",
    "after",
    "before",
    "during",
    "since",
    "until",
    "when",
    "while",
    "once",
    "today",
    "yesterday",
    "now",
    "then",
    "bc",
    "ad",
    "bce",
    "ce",
];
/// Whether `word` is one of `nouns` (compared by stem).
fn is_noun_of(nouns: &[&str], word: &str) -> bool {
    !word.is_empty() && {
        let s = stem(word);
        nouns.iter().any(|n| stem(n) == s)
    }
}

/// Nouns whose value is a time ("what date", "which decade").
const TIME_NOUNS: &[&str] = &["date", "day", "month", "time", "period", "era", "season", "decade", "century"];

/// Nouns whose value is a number ("what year", "what was the final score").
const NUMBER_NOUNS: &[&str] = &[
    "year",
    "size",
    "mass",
    "diameter",
    "duration",
    "proportion",
    "degree",
    "percentage",
    "percent",
    "decade",
    "century",
    "number",
    "amount",
    "population",
    "score",
    "temperature",
    "cost",
    "price",
    "distance",
    "speed",
    "length",
    "height",
    "weight",
    "age",
    "rate",
    "total",
    "ratio",
    "depth",
    "width",
    "budget",
    "salary",
];

const MAGNITUDES: &[&str] = &[
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "trillion",
    "dozen",
    "dozens",
    "half",
    "quarter",
    "twice",
    "once",
    "several",
    "few",
    "no",
    "none",
    "all",
    "both",
];

impl Expect {
    fn describe(self) -> &'static str {
        match self {
            Expect::Number => "a number",
            Expect::Time => "a time or date",
            Expect::Person => "someone, not a date or number",
            Expect::Place => "a place, not a date or number",
            Expect::Thing => "a thing, not a date or number",
            Expect::Named => "a name",
            Expect::Any | Expect::Open => "something else",
        }
    }
}

/// The answer type a question asks for, from its question word.
/// What a question in another language asks for. Hindi: "how many" (कितने) a number, "when"
/// (कब, "किस वर्ष") a time, any other question word a thing, not a bare date or number.
/// Marathi: किती a number, कधी a time. Any other question, and every other language, is open.
fn expected_answer_in(question: &str, lang: Lang) -> Expect {
    let words: Vec<&str> = question.split(|c: char| c.is_whitespace() || c == '?' || c == ',').collect();
    let has = |ws: &[&str]| words.iter().any(|w| ws.contains(w));
    let after_kis = words.windows(2).any(|p| matches!(p[0], "किस" | "कौन") && INDIC_TIME_WORDS.contains(&p[1]));
    match lang.code() {
        "hi" if has(&["कितना", "कितने", "कितनी", "कितनों"]) => Expect::Number,
        "hi" if has(&["कब"]) || after_kis => Expect::Time,
        "hi" if has(&["क्या", "कौन", "किस", "किसने", "किसे", "किसको", "किसका", "किसकी", "किसके", "कहाँ", "कहां", "किन"]) => {
            Expect::Any
        }
        "mr" if has(&["किती", "कितवा", "कितवी", "कितव्या"]) => Expect::Number,
        "mr" if has(&["कधी"]) => Expect::Time,
        _ => Expect::Open,
    }
}

/// Time words of Hindi and Marathi: units, months, eras ("1990 के दशक", "सन 1685").
const INDIC_TIME_WORDS: &[&str] = &[
    "दशक",
    "सदी",
    "शताब्दी",
    "वर्ष",
    "साल",
    "सन",
    "ईसवी",
    "ई",
    "तारीख",
    "तिथि",
    "दिन",
    "महीने",
    "महीना",
    "समय",
    "जनवरी",
    "फरवरी",
    "मार्च",
    "अप्रैल",
    "मई",
    "जून",
    "जुलाई",
    "अगस्त",
    "सितंबर",
    "अक्टूबर",
    "नवंबर",
    "दिसंबर",
    "शतक",
    "वर्षी",
    "साली",
];

fn expected_answer(question: &str) -> Expect {
    let q = question.to_lowercase();
    let ws: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for (i, w) in ws.iter().enumerate() {
        let next = ws.get(i + 1).copied().unwrap_or("");
        match *w {
            "how"
                if matches!(
                    next,
                    "many"
                        | "much"
                        | "long"
                        | "old"
                        | "far"
                        | "large"
                        | "big"
                        | "tall"
                        | "high"
                        | "wide"
                        | "deep"
                        | "often"
                        | "fast"
                ) =>
            {
                return Expect::Number;
            }
            "what" | "which" if is_noun_of(TIME_NOUNS, next) => return Expect::Time,
            "what" | "which" if is_noun_of(NAMED_NOUNS, next) => return Expect::Named,
            "what" | "which" if is_noun_of(NUMBER_NOUNS, next) => return Expect::Number,
            // "What was the final score", "what is the population": the noun after a copula.
            "what" | "which"
                if matches!(next, "is" | "was" | "are" | "were")
                    && ws.get(i + 2) == Some(&"the")
                    && ws.iter().skip(i + 3).take(2).any(|n| is_noun_of(NUMBER_NOUNS, n)) =>
            {
                return Expect::Number;
            }
            "what" | "which" if !next.is_empty() && !is_stopword(next) && !next.bytes().all(|b| b.is_ascii_digit()) => {
                return Expect::Thing;
            }
            "when" => return Expect::Time,
            "who" | "whom" => return Expect::Person,
            "where" => return Expect::Place,
            "what" | "which" | "why" | "how" | "whose" => return Expect::Any,
            _ => {}
        }
    }
    Expect::Any
}

/// Whether a phrase answer fits the answer type its question asks for.
fn fits(expects: Expect, answer: &str, lang: Lang) -> bool {
    let lower = answer.to_lowercase();
    let ws: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let number = |w: &str| {
        w.bytes().next().is_some_and(|b| b.is_ascii_digit())
            || stem(w).bytes().all(|b| b.is_ascii_digit())
            || MAGNITUDES.contains(&w)
    };
    // Digits of any script (०-९ too) and the number words of Hindi and Marathi count.
    let has_number = ws.iter().any(|w| number(w))
        || answer.chars().any(|c| c.is_numeric() && !c.is_ascii())
        || ws.iter().any(|w| INDIC_NUMBER_WORDS.contains(w));
    let timeish = |w: &str| MONTHS_AND_DAYS.contains(&w) || TIME_WORDS.contains(&w) || INDIC_TIME_WORDS.contains(&w);
    // "1888", "1920s", "2001st", or an ordinal such as "19th" (century).
    let yearish = |w: &str| {
        let d = stem(w);
        w.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && d.bytes().all(|b| b.is_ascii_digit())
            && ((3..=4).contains(&d.len()) || w.ends_with("th"))
    };
    let content: Vec<&str> = ws.iter().copied().filter(|w| !lang.is_stopword(w)).collect();
    let only_date = !content.is_empty() && content.iter().all(|w| number(w) || timeish(w)) && has_number;
    // A capitalised word other than a stop word ("The"): a name.
    let named = answer
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.chars().next().is_some_and(char::is_uppercase) && !is_stopword(&w.to_lowercase()));
    match expects {
        Expect::Number => has_number,
        // A time is a year ("1888", "1920s", "200 BC"), a date or a time word; a bare count
        // ("Section 30", "6 feet") is not.
        Expect::Time => ws.iter().any(|w| timeish(w) || yearish(w)),
        // Someone is not an amount ("nearly $12"): a number without a name is no one.
        Expect::Person => !only_date && (!has_number || named),
        Expect::Place | Expect::Thing => !only_date,
        Expect::Named => named,
        // Only a number or a date is no answer to a question that asks for neither.
        Expect::Any => !only_date,
        Expect::Open => true,
    }
}

fn unique<'a>(text: &'a str, toks: &[ContentWord]) -> Vec<(String, &'a str)> {
    let mut seen = HashSet::new();
    toks.iter().filter(|t| seen.insert(t.stem.clone())).map(|t| (t.stem.clone(), &text[t.range.clone()])).collect()
}

/// The lexical score of a claim against a window, and the words that kept it from 1.
struct WindowScore {
    score: f32,
    missing_claim: Vec<String>,
    missing_question: Vec<String>,
    /// Names and numbers of the question found neither in the window nor in its context.
    missing_terms: Vec<String>,
}

fn score_window(claim: &Claim, q: &QuestionWords, only_sentence: bool, w: &Window, cfg: &SupportConfig) -> WindowScore {
    let has = |stem: &str| w.words.iter().any(|(s, _)| s == stem);
    // The context (title, headings) ties the question to the window only when the window
    // itself holds one of the question's words.
    let own = q.words.iter().any(|(s, _)| has(s));
    let in_context = |stem: &str| own && q.context.contains(stem);
    // A name or number the question gives must be named by the cited passages or their titles:
    // an answer from text that never names it answers another question (or a false premise).
    let missing_terms: Vec<String> = if claim.phrase || only_sentence {
        q.words
            .iter()
            .filter(|(s, o)| {
                is_term(q.first, o)
                    && !has(s)
                    && !q.context.contains(s)
                    && !q.scope.contains(s)
                    && !q.context.iter().chain(&q.scope).any(|t| near_term(s, o, t))
                    && !q.acronyms.contains(&o.to_lowercase())
            })
            .map(|(_, o)| o.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let qset: HashSet<&str> = q.words.iter().map(|(s, _)| s.as_str()).collect();
    if claim.phrase {
        // The answer's new words must be in the window, near the question's words.
        let new: Vec<&(String, &str)> = claim.words.iter().filter(|(s, _)| !qset.contains(s.as_str())).collect();
        if new.is_empty() && !claim.words.is_empty() && !q.choice {
            // The answer only repeats the question.
            return WindowScore {
                score: 0.0,
                missing_claim: Vec::new(),
                missing_question: Vec::new(),
                missing_terms: Vec::new(),
            };
        }
        let missing_claim: Vec<String> = new.iter().filter(|(s, _)| !has(s)).map(|(_, o)| o.to_string()).collect();
        let a = if new.is_empty() { 1.0 } else { 1.0 - missing_claim.len() as f32 / new.len() as f32 };
        let anchors: Vec<f32> =
            w.words.iter().filter(|(s, _)| new.iter().any(|(n, _)| n == s)).map(|&(_, p)| p).collect();
        let mut qsum = 0.0;
        let mut missing_question = Vec::new();
        for ((stem, orig), &weight) in q.words.iter().zip(&q.weights) {
            let d = w
                .words
                .iter()
                .filter(|(s, _)| s == stem)
                .map(|&(_, p)| anchors.iter().map(|&x| (x - p).abs()).fold(f32::INFINITY, f32::min))
                .fold(f32::INFINITY, f32::min);
            let found = w.words.iter().any(|(s, _)| s == stem);
            if !found {
                if in_context(stem) {
                    qsum += weight * cfg.context_credit;
                } else {
                    missing_question.push(orig.to_string());
                }
                continue;
            }
            qsum += weight * if anchors.is_empty() || d <= cfg.near_distance { 1.0 } else { cfg.near_distance / d };
        }
        let total: f32 = q.weights.iter().sum();
        let qs = if q.words.is_empty() || total <= 0.0 { 1.0 } else { qsum / total };
        let fit = if claim.fits { 1.0 } else { cfg.type_mismatch_factor };
        // Another window that holds more of the question is where its answer is likely to be.
        let here = q.coverage(w);
        let best = q.best_coverage;
        let rival = if best > 0.0 { (here / best).clamp(0.0, 1.0).powf(cfg.rival_exponent) } else { 1.0 };
        let mut score = calibrate(a * qs * fit * rival, cfg.phrase_calibration);
        if !missing_terms.is_empty() {
            score = score.min(cfg.missing_term_cap);
        }
        return WindowScore { score, missing_claim, missing_question, missing_terms };
    }
    let missing_claim: Vec<String> = claim.words.iter().filter(|(s, _)| !has(s)).map(|(_, o)| o.to_string()).collect();
    // A sentence without a content word ("{", "Yes.") claims nothing the evidence could support.
    let c = if claim.words.is_empty() { 0.0 } else { 1.0 - missing_claim.len() as f32 / claim.words.len() as f32 };
    let mut missing_question = Vec::new();
    let mut score = c;
    if only_sentence && !q.words.is_empty() {
        missing_question =
            q.words.iter().filter(|(s, _)| !has(s) && !in_context(s)).map(|(_, o)| o.to_string()).collect();
        let from_context = q.words.iter().filter(|(s, _)| !has(s) && in_context(s)).count() as f32;
        let missing = missing_question.len() as f32 + from_context * (1.0 - cfg.context_credit);
        let qcov = 1.0 - missing / q.words.len() as f32;
        score = c * (cfg.sentence_question_floor + (1.0 - cfg.sentence_question_floor) * qcov);
    }
    // A number or a name the evidence does not have is a different fact, not a paraphrase:
    // the sentence cannot be supported ("introduced in 1822" against "introduced in 1820").
    // Words the question gives are exempt.
    let hard = claim.words.iter().enumerate().any(|(i, (s, o))| {
        !has(s)
            && !q.words.iter().any(|(qs, _)| qs == s)
            && (s.bytes().next().is_some_and(|b| b.is_ascii_digit())
                || (i > 0 && o.chars().next().is_some_and(char::is_uppercase)))
    });
    if hard {
        score = score.min(cfg.sentence_calibration * 0.5);
    }
    if !claim.fits {
        score *= cfg.type_mismatch_factor;
    }
    let mut score = calibrate(score, cfg.sentence_calibration);
    if !missing_terms.is_empty() {
        score = score.min(cfg.missing_term_cap);
    }
    WindowScore { score, missing_claim, missing_question, missing_terms }
}

/// The acronyms a text's names spell: for every run of capitalised words (joined by "of",
/// "and", "on", "for", "the"), the initials of each stretch of two or more of them, lower-cased.
fn acronyms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut flush = |run: &mut Vec<char>| {
        for i in 0..run.len() {
            for j in i + 2..=run.len() {
                out.push(run[i..j].iter().collect::<String>().to_lowercase());
            }
        }
        run.clear();
    };
    for w in text.split(|c: char| c.is_whitespace() || c == '-') {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        match w.chars().next() {
            Some(c) if c.is_uppercase() => run.push(c),
            _ if ["of", "and", "on", "for", "the"].contains(&w) && !run.is_empty() => {}
            _ => flush(&mut run),
        }
    }
    flush(&mut run);
    out
}

/// Whether the evidence stem `t` names the question's term (stem `s`, written `orig`) in
/// another form: "French" for France, "European" for Europe (one stem starts the other, at
/// least 4 letters), a near spelling of a long word (at most two edits, same first letter),
/// an acronym with two letters swapped ("GPS" for GSP), or a decade for a year in it
/// ("1880s" for 1884). A false premise names what the evidence never does; a different form
/// of a word it does name is not one.
fn near_term(s: &str, orig: &str, t: &str) -> bool {
    if s.is_empty() || t.is_empty() || s.chars().next() != t.chars().next() {
        return false;
    }
    if let Some(decade) = orig.strip_suffix("0s").or_else(|| orig.strip_suffix("0's"))
        && decade.len() == 3
        && decade.bytes().all(|b| b.is_ascii_digit())
    {
        return t.len() == 4 && t.starts_with(decade) && t.bytes().all(|b| b.is_ascii_digit());
    }
    if s.bytes().any(|b| b.is_ascii_digit()) || t.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let (short, long) = if s.len() <= t.len() { (s, t) } else { (t, s) };
    if short.len() >= 4 && long.starts_with(short) {
        return true;
    }
    if orig.len() >= 3 && orig.chars().all(|c| c.is_uppercase()) {
        let o = orig.to_lowercase();
        return o.len() == t.len() && strsim::damerau_levenshtein(&o, t) <= 1;
    }
    short.len() >= 5 && strsim::levenshtein(s, t) <= 2
}

/// Whether a question word (as written) is a name or a number: capitalised other than as the
/// question's first word, or holding a digit.
fn is_term(first: &str, word: &str) -> bool {
    let first = first.trim_matches(|c: char| !c.is_alphanumeric());
    word.chars().any(|c| c.is_ascii_digit()) || (word != first && word.chars().next().is_some_and(char::is_uppercase))
}

/// Maps `raw` in 0..1 to 0..1, piecewise linearly, with `mid` going to 0.5.
fn calibrate(raw: f32, mid: f32) -> f32 {
    let mid = mid.clamp(1e-3, 1.0 - 1e-3);
    let raw = raw.clamp(0.0, 1.0);
    if raw <= mid { 0.5 * raw / mid } else { 0.5 + 0.5 * (raw - mid) / (1.0 - mid) }
}

fn best_window(
    claim: &Claim,
    q: &QuestionWords,
    only_sentence: bool,
    wins: &[Window],
    cfg: &SupportConfig,
) -> Option<(usize, WindowScore)> {
    let mut best: Option<(usize, WindowScore)> = None;
    for (i, w) in wins.iter().enumerate() {
        let s = score_window(claim, q, only_sentence, w, cfg);
        // Prefer the single sentence on ties (it comes after its pair).
        if best.as_ref().is_none_or(|(_, b)| s.score >= b.score) {
            best = Some((i, s));
        }
    }
    best
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na.sqrt() * nb.sqrt()) }
}

fn quoted(words: &[String]) -> String {
    words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(", ")
}

fn evidence_sentences(evidence: &[&str], lang: Lang) -> Vec<EvSentence> {
    let mut ev = Vec::new();
    for (g, text) in evidence.iter().enumerate() {
        for (i, r) in split_sentences(text).into_iter().enumerate() {
            let t = &text[r];
            ev.push(EvSentence { group: g, index: i, text: t.to_owned(), words: content_tokens_in(t, lang) });
        }
    }
    ev
}

/// The answer's claims: its sentences, each with its unique content words; a short one-sentence
/// answer is one phrase claim.
fn claims<'a>(answer: &'a str, expects: Expect, cfg: &SupportConfig) -> Vec<(&'a str, Claim<'a>)> {
    let sents = split_sentences(answer);
    let n = sents.len();
    sents
        .into_iter()
        .map(|r| {
            let s = &answer[r];
            let toks = content_tokens_in(s, cfg.language);
            let words = unique(s, &toks);
            let terminal = s.ends_with(['.', '!', '?']);
            let phrase = n == 1
                && (words.len() <= cfg.phrase_max_words.min(2) || (!terminal && words.len() <= cfg.phrase_max_words));
            // A one-sentence answer to a question that asks for a number or a time must give one
            // ("What is the size of the orang?" is not answered by where it lives).
            let typed = phrase || (n == 1 && matches!(expects, Expect::Number | Expect::Time));
            (s, Claim { words, phrase, fits: !typed || fits(expects, s, cfg.language) })
        })
        .collect()
}

/// How well `evidence` supports `answer` as an answer to `question`.
///
/// The answer is split into sentences, each a claim. A short one-sentence answer (a phrase such
/// as "Denver Broncos") is judged with the question: its words that are not in the question must
/// be in one or two adjacent evidence sentences, and the question's words must be there too, near
/// them, so that the right answer to another question about the same text scores low. A full
/// sentence scores the share of its content words found in the best window of one or two adjacent
/// evidence sentences; when it is the whole answer, that share is scaled down by the share of the
/// question's words missing from the window (see [`SupportConfig::sentence_question_floor`]).
/// With `embed`, each claim's lexical score is mixed with its cosine similarity to the closest
/// evidence sentence.
pub fn support(
    question: &str,
    answer: &str,
    evidence: &[&str],
    embed: Option<Embed<'_>>,
    cfg: &SupportConfig,
) -> SupportResult {
    support_in_context(question, answer, evidence, &[], evidence, embed, cfg)
}

/// [`support`] with the evidence's context: texts (the document's title and heading path) whose
/// words tie the answer to the question too, counted with [`SupportConfig::context_credit`];
/// and its scope, the whole text of the cited passages, which must name every name and number
/// of the question ([`SupportConfig::missing_term_cap`]).
pub fn support_in_context(
    question: &str,
    answer: &str,
    evidence: &[&str],
    context: &[&str],
    scope: &[&str],
    embed: Option<Embed<'_>>,
    cfg: &SupportConfig,
) -> SupportResult {
    let lang = cfg.language;
    let ev = evidence_sentences(evidence, lang);
    let wins = windows(&ev, cfg.sentence_gap);
    let qtoks = content_tokens_in(question, lang);
    let mut q = QuestionWords::new(question, &qtoks, &ev, &wins, lang);
    q.context = context.iter().flat_map(|c| content_tokens_in(c, lang)).map(|t| t.stem).collect();
    q.scope = scope.iter().flat_map(|c| content_tokens_in(c, lang)).map(|t| t.stem).collect();
    // Spelled out only for a question that gives an acronym (most give none).
    if q.words.iter().any(|(_, o)| o.len() >= 2 && o.chars().all(|c| c.is_uppercase())) {
        q.acronyms = scope.iter().chain(context).flat_map(|t| acronyms(t)).collect();
    }
    let claims = claims(answer, q.expects, cfg);
    let only = claims.len() == 1;

    let semantic: Vec<f32> = match embed {
        Some(f) if !ev.is_empty() && !claims.is_empty() => {
            let mut texts: Vec<String> = claims
                .iter()
                .map(|(s, c)| if c.phrase { format!("{question} {s}") } else { (*s).to_owned() })
                .collect();
            texts.extend(ev.iter().map(|e| e.text.clone()));
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let v = f(&refs);
            let (cv, ev_v) = v.split_at(claims.len().min(v.len()));
            cv.iter().map(|c| ev_v.iter().map(|e| cosine(c, e)).fold(0.0f32, f32::max).clamp(0.0, 1.0)).collect()
        }
        _ => Vec::new(),
    };

    let mut sentences = Vec::with_capacity(claims.len());
    let mut reasons = Vec::new();
    let mut total = 0.0;
    for (i, (text, claim)) in claims.iter().enumerate() {
        let best = best_window(claim, &q, only, &wins, cfg);
        // A sentence without a content word ("{", "Yes.") claims nothing evidence could support.
        let empty = claim.words.is_empty();
        let lexical = if empty { 0.0 } else { best.as_ref().map_or(0.0, |(_, s)| s.score) };
        let sem = semantic.get(i).copied();
        let combined = match sem {
            _ if empty => 0.0,
            Some(s) if cfg.semantic_in_verdict => cfg.lexical_weight * lexical + (1.0 - cfg.lexical_weight) * s,
            _ => lexical,
        };
        let supported = combined >= cfg.threshold;
        if !supported {
            let n = i + 1;
            match &best {
                _ if empty => reasons.push(format!("sentence {n} has no support: it has no content word")),
                None => reasons.push(format!("sentence {n} has no support: the cited text is empty")),
                Some(_) if !claim.fits => {
                    reasons.push(format!("sentence {n} has no support: the question asks for {}", q.expects.describe()))
                }
                Some((_, s)) if s.score == 0.0 && s.missing_claim.is_empty() && s.missing_question.is_empty() => {
                    reasons.push(format!("sentence {n} has no support: it only repeats the question"));
                }
                Some((_, s)) if !s.missing_claim.is_empty() => reasons.push(format!(
                    "sentence {n} has no support: {} {} not in the cited text",
                    if s.missing_claim.len() == 1 { "word" } else { "words" },
                    quoted(&s.missing_claim)
                )),
                Some((_, s)) if !s.missing_terms.is_empty() => reasons.push(format!(
                    "sentence {n} has no support: the cited text never names {} of the question",
                    quoted(&s.missing_terms)
                )),
                Some((_, s)) if !s.missing_question.is_empty() => reasons.push(format!(
                    "sentence {n} has no support: the cited text does not tie it to the question \
                     (question words {} are not there)",
                    quoted(&s.missing_question)
                )),
                Some(_) => reasons.push(format!(
                    "sentence {n} has no support: the question's words are too far from it in the cited text"
                )),
            }
        }
        total += combined;
        sentences.push(SentenceSupport {
            sentence: (*text).to_owned(),
            lexical,
            semantic: sem.unwrap_or(-1.0),
            supported,
        });
    }
    let n_sup = sentences.iter().filter(|s| s.supported).count();
    let verdict = if sentences.is_empty() || n_sup == 0 {
        Verdict::Unsupported
    } else if n_sup == sentences.len() {
        Verdict::Supported
    } else {
        Verdict::Partial
    };
    if sentences.is_empty() {
        reasons.push("the answer has no sentences".to_owned());
    }
    let support = if sentences.is_empty() { 0.0 } else { total / sentences.len() as f32 };
    SupportResult { verdict, support: support.clamp(0.0, 1.0), sentences, reasons }
}

/// The evidence sentences that support `claim` as an answer to `question`, as (passage index,
/// sentence index) pairs into `passages` (each passage given as its sentences).
///
/// The best window of one or two adjacent sentences for the claim comes first (its sentences that
/// share words with the claim or the question); then, greedily, the sentences that cover most of
/// the question's and claim's words still uncovered (at least two, or one number or name), the
/// bridges of a multi-hop question; at most [`SupportConfig::max_support_sentences`] in all.
pub fn supporting_sentences(
    question: &str,
    claim: &str,
    passages: &[Vec<&str>],
    cfg: &SupportConfig,
) -> Vec<(usize, usize)> {
    let mut ev = Vec::new();
    for (g, p) in passages.iter().enumerate() {
        for (i, s) in p.iter().enumerate() {
            ev.push(EvSentence {
                group: g,
                index: i,
                text: (*s).to_owned(),
                words: content_tokens_in(s, cfg.language),
            });
        }
    }
    let wins = windows(&ev, cfg.sentence_gap);
    let qtoks = content_tokens_in(question, cfg.language);
    let mut q = QuestionWords::new(question, &qtoks, &ev, &wins, cfg.language);
    // The question's names and numbers may be anywhere in the passages (a bridge of a multi-hop
    // question is in another one).
    q.scope = ev.iter().flat_map(|e| e.words.iter().map(|w| w.stem.clone())).collect();
    let ctoks = content_tokens_in(claim, cfg.language);
    let words = unique(claim, &ctoks);
    let phrase = words.len() <= cfg.phrase_max_words;
    let c = Claim { phrase, fits: !phrase || fits(q.expects, claim, cfg.language), words };
    let Some((wi, best)) = best_window(&c, &q, true, &wins, cfg) else { return Vec::new() };
    if best.score <= 0.0 {
        return Vec::new();
    }
    let mut wanted: HashSet<&str> = q.words.iter().chain(&c.words).map(|(s, _)| s.as_str()).collect();
    let mut chosen: Vec<usize> = Vec::new();
    for &si in &wins[wi].sentences {
        if ev[si].words.iter().any(|w| wanted.contains(w.stem.as_str())) {
            chosen.push(si);
        }
    }
    for &si in &chosen {
        for w in &ev[si].words {
            wanted.remove(w.stem.as_str());
        }
    }
    while chosen.len() < cfg.max_support_sentences && !wanted.is_empty() {
        let pick = ev
            .iter()
            .enumerate()
            .filter(|(i, _)| !chosen.contains(i))
            .map(|(i, s)| {
                let hits: HashSet<&str> =
                    s.words.iter().map(|w| w.stem.as_str()).filter(|w| wanted.contains(w)).collect();
                let strong = hits.iter().any(|w| w.bytes().next().is_some_and(|b| b.is_ascii_digit()))
                    || s.words.iter().any(|w| {
                        wanted.contains(w.stem.as_str())
                            && s.text[w.range.clone()].chars().next().is_some_and(char::is_uppercase)
                    });
                (i, hits.len(), strong)
            })
            .filter(|&(_, n, strong)| n >= 2 || (n == 1 && strong))
            .max_by_key(|&(i, n, _)| (n, std::cmp::Reverse(i)));
        let Some((si, _, _)) = pick else { break };
        for w in &ev[si].words {
            wanted.remove(w.stem.as_str());
        }
        chosen.push(si);
    }
    let mut out: Vec<(usize, usize)> = chosen.iter().map(|&i| (ev[i].group, ev[i].index)).collect();
    out.sort_unstable();
    out
}
