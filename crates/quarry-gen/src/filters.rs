//! Question filters: a question must stand on its own, have a sensible length, and not be
//! a copy of a sentence of its passage. A filtered question is recorded with the reason.

use std::sync::OnceLock;

use regex::Regex;

/// Whether the English rules (question words, pronouns, references to the source, generic
/// words) apply to text in `language` (ISO 639-1): English, or a language not known.
fn english(language: &str) -> bool {
    language.is_empty() || language == "en"
}

/// Words of a text: whitespace-separated tokens, a run of a script written without spaces
/// counting one word per two characters.
fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .map(|t| {
            let unspaced = t.chars().filter(|c| quarry_core::script::unspaced(*c)).count();
            if unspaced > 0 { unspaced.div_ceil(2).max(1) } else { 1 }
        })
        .sum()
}

/// Why a text is not in the language it should be written in (`language`, ISO 639-1; "" for
/// unknown, which is never checked): reason `wrong_language`. Code-mixed text passes (see
/// [`quarry_ingest::language::mismatch`]).
pub fn check_language(text: &str, language: &str) -> Result<(), (&'static str, String)> {
    match quarry_ingest::language::mismatch(text, language) {
        Some(why) => Err(("wrong_language", why)),
        None => Ok(()),
    }
}

/// Why a question was filtered out: (reason code, detail). The question is to be written in
/// `language` (the seed document's, ISO 639-1; "" when unknown); rules that hold for one
/// language only are applied to questions in that language.
pub fn check_question(question: &str, passages: &[&str], language: &str) -> Result<(), (&'static str, String)> {
    let q = question.trim();
    let words = word_count(q);
    if words < 4 {
        return Err(("too_short", format!("{words} words; at least 4 are needed")));
    }
    if words > 45 {
        return Err(("too_long", format!("{words} words; at most 45")));
    }
    if !q.ends_with(['?', '？', '؟']) {
        return Err(("not_a_question", "does not end with a question mark".into()));
    }
    if let Some(m) = prompt_echo(q) {
        return Err(("prompt_echo", format!("copies the prompt's layout (\"{m}\") instead of asking")));
    }
    check_language(q, language)?;
    if let Some(m) = source_reference(q, language) {
        return Err(("not_standalone", format!("refers to its source (\"{m}\")")));
    }
    if english(language) {
        vague(q)?;
    }
    copies_passage(q, passages)?;
    if english(language)
        && let Some(m) = meta_question(q)
    {
        return Err(("vague", format!("asks about asking, not about a fact (\"{m}\")")));
    }
    if !asks(q, language) {
        return Err((
            "no_question_word",
            "a statement with a question mark: no question word (what, which, who, how…) and no opening verb (is, does, can…)"
                .into(),
        ));
    }
    if english(language)
        && let Some(m) = unresolved_reference(q)
    {
        return Err(("not_standalone", format!("\"{m}\" refers to something the question never names")));
    }
    Ok(())
}

/// A question made only of generic words ("What is the answer?").
fn vague(q: &str) -> Result<(), (&'static str, String)> {
    static GENERIC_STEMS: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    let generic = GENERIC_STEMS.get_or_init(|| GENERIC.iter().map(|g| quarry_audit::stem(g)).collect());
    let content: Vec<String> = quarry_audit::content_words(q);
    if content.iter().all(|w| generic.contains(w)) {
        let said =
            if content.is_empty() { "no content word".to_owned() } else { format!("only \"{}\"", content.join(" ")) };
        return Err(("vague", format!("the question names nothing to ask about ({said})")));
    }
    Ok(())
}

/// A question that is a sentence of its passage.
fn copies_passage(q: &str, passages: &[&str]) -> Result<(), (&'static str, String)> {
    // A question that copies a sentence of its passage, whole or nearly (Jaccard ≥ 0.9 over
    // words), or one of whose own sentences does ("The model is linear. Note that…?").
    // Sentences are split at their ends only, so a hard line break inside one does not hide it.
    let qn = normalise(q.trim_end_matches('?'));
    let mut parts: Vec<String> = vec![qn.clone()];
    if q.contains(". ") {
        parts.extend(q.split(". ").map(normalise).filter(|p| p.split(' ').count() >= 6));
    }
    for p in passages {
        if qn.len() >= 20 && normalise(p).contains(&qn) {
            return Err(("copies_passage", "the question is a sentence of the passage".into()));
        }
        for sentence in p.split(['.', '!', '?', '।', '。', '？', '！']) {
            let sn = normalise(sentence);
            let sw: std::collections::HashSet<&str> = sn.split(' ').filter(|w| !w.is_empty()).collect();
            if sw.len() < 6 {
                continue;
            }
            for part in &parts {
                let qw: std::collections::HashSet<&str> = part.split(' ').collect();
                let inter = qw.intersection(&sw).count() as f32;
                let jaccard = inter / (qw.len() + sw.len()) as f32 * 2.0;
                if jaccard >= 0.9 {
                    return Err(("copies_passage", "the question repeats a sentence of the passage".into()));
                }
            }
        }
    }
    Ok(())
}

/// The prompt's own layout copied into a question ("Candle › Flame", "… | Question: …").
fn prompt_echo(q: &str) -> Option<String> {
    static ECHO: OnceLock<Regex> = OnceLock::new();
    let re = ECHO.get_or_init(|| Regex::new(r"(?i)\||\b(question|answer|passage)\s*:|<<<|>>>").expect("valid regex"));
    re.find(q).map(|m| m.as_str().to_owned())
}

/// A question about questions ("What question would you like to ask about …?", "What
/// question answering evidence …?"), which asks for no fact.
fn meta_question(q: &str) -> Option<String> {
    static META: OnceLock<Regex> = OnceLock::new();
    let re = META.get_or_init(|| {
        Regex::new(r"(?i)\b(what|which) questions?\b|\bwould you like to (ask|know)\b|\bcan you (tell|explain)\b")
            .expect("valid regex")
    });
    re.find(q).map(|m| m.as_str().to_owned())
}

/// Whether a question asks, in its language: English questions hold a question word ("The
/// Normans fought which people?") or open with a verb ("Is the flame hotter…?"); Hindi and
/// Marathi ones hold a question word; in other languages any question does.
fn asks(q: &str, language: &str) -> bool {
    let wh: &[&str] = match language {
        l if english(l) => return asks_english(q),
        l => match quarry_core::script::question_words(l) {
            [] => return true,
            words => words,
        },
    };
    q.split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && !is_mark(c)))
        .any(|t| wh.contains(&t))
}

/// A combining mark (a vowel sign, a virama), which belongs to its word.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963)
}

fn asks_english(q: &str) -> bool {
    const WH: &[&str] = &["what", "which", "who", "whom", "whose", "when", "where", "why", "how", "whether", "what's"];
    const OPENERS: &[&str] = &[
        "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should", "shall", "has",
        "have", "had", "may", "might", "must", "isn't", "aren't", "wasn't", "doesn't", "don't", "didn't", "name",
        "list", "give", "in", "on", "at", "by", "for", "from", "to", "during", "after", "before", "with",
    ];
    let words: Vec<String> = q
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let opens = words.first().is_some_and(|w| OPENERS.contains(&w.as_str()));
    // "In which year…" opens with a preposition but asks with its question word.
    (opens
        && !["in", "on", "at", "by", "for", "from", "to", "during", "after", "before", "with"]
            .contains(&words[0].as_str()))
        || words.iter().any(|w| WH.contains(&w.as_str()))
}

/// A pronoun standing for something the question never names: "When did it retract…?",
/// "Why did he leave?", "How many objects are located there?". Only a pronoun before any
/// word that could be its antecedent counts ("How does a flame stay lit when it is moved?"
/// names the flame first), and "it" as a dummy subject ("How long did it take…", "Is it
/// true…") does not.
fn unresolved_reference(q: &str) -> Option<String> {
    const PRONOUNS: &[&str] = &["it", "he", "she", "they", "him", "her", "them", "his", "its", "their"];
    const ASKING: &[&str] = &[
        "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were", "do",
        "does", "did", "can", "could", "will", "would", "should", "has", "have", "had", "many", "much", "long",
        "often", "far", "old", "in", "on", "at", "to", "of", "for", "from", "by", "with", "the", "a", "an", "year",
        "date",
    ];
    let words: Vec<String> = q
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if let Some(i) = words.iter().position(|w| PRONOUNS.contains(&w.as_str())) {
        let dummy = words[i] == "it"
            && (words
                .get(i + 1)
                .is_some_and(|n| ["take", "takes", "took", "true", "possible", "mean", "means"].contains(&n.as_str()))
                || words.get(i + 2).is_some_and(|n| ["take", "true", "possible"].contains(&n.as_str())));
        if !dummy && words[..i].iter().all(|w| ASKING.contains(&w.as_str())) {
            return Some(words[i].clone());
        }
    }
    // "…located there?", "…born there?": a place never named.
    let t = q.trim_end_matches(['?', ' ']).to_lowercase();
    if t.ends_with(" there") && !t.contains(" is there") && !t.contains(" are there") {
        return Some("there".into());
    }
    None
}

/// Words that name no subject of their own: a question made only of them is vague ("What is
/// the answer?", "Which subject is this?").
const GENERIC: &[&str] = &[
    "answer",
    "subject",
    "thing",
    "story",
    "response",
    "topic",
    "passage",
    "text",
    "information",
    "idea",
    "question",
    "part",
    "way",
    "case",
    "fact",
    "point",
    "matter",
    "example",
    "one",
    "really",
    "actually",
    "exactly",
    "still",
    "just",
];

/// The words by which a question refers to its source instead of standing on its own ("the
/// passage", "this text", "mentioned above", "the author"), if any. Ordinary phrases are not
/// such references: "within the context of reduction", "the following year", "the author of
/// Hamlet", "the text of the treaty".
fn source_reference(q: &str, language: &str) -> Option<String> {
    if matches!(language, "hi" | "mr") {
        // "इस गद्यांश में", "उपरोक्त अनुच्छेद", "लेखक के अनुसार"; Marathi "या उताऱ्यात", "वरील परिच्छेद".
        static SOURCE_HI: OnceLock<Regex> = OnceLock::new();
        let re = SOURCE_HI.get_or_init(|| {
            Regex::new(r"(इस|उपरोक्त|ऊपर दिए गए|नीचे दिए गए|दिए गए|या|वरील|खालील|दिलेल्या) (गद्यांश|अनुच्छेद|पाठ|परिच्छेद|उताऱ्या|उतारा|लेख)|लेखक के अनुसार|गद्यांश (में|के)|लेखकाच्या मते")
                .expect("valid regex")
        });
        return re.find(q).map(|m| m.as_str().to_owned());
    }
    if !english(language) {
        return None;
    }
    static SOURCE: OnceLock<Regex> = OnceLock::new();
    let re = SOURCE.get_or_init(|| {
        Regex::new(
            r"(?i)\b(according to (the|this) (passage|text|excerpt|article|author|book|chapter)|the (passages?|excerpts?|given text|above text|text above|paragraph)|the (author|writer|subject)( of)?|the (sentences?|questions?)\b|the (texts?|documents?|context)(\s+(above|below|provided|given|shown|here)\b|\s+about\b|\s*\?)|(this|these|the following|above) (passages?|texts?|excerpts?|articles?|chapters?|sections?|paragraphs?|documents?|questions?|sentences?|answers?|responses?|quotes?|statements?)\b|passage [ab12]\b|(mentioned|described|answered|given|shown|stated|listed|discussed) (above|below)|the (responses?|answers?|texts?|passages?|excerpts?|statements?|lists?|tables?|examples?|sentences?|paragraphs?|questions?) (above|below)\b)",
        )
        .expect("valid regex")
    });
    // A heading path copied from the prompt ("Algorithm › History › After 1950").
    if q.contains('›') {
        return Some("›".into());
    }
    // "The author of Hamlet" names an author; "the author" alone means the source's.
    re.find_iter(q).map(|m| m.as_str().trim().to_owned()).find(|m| !m.to_lowercase().ends_with(" of"))
}

/// Why an answer is not worth verifying: (reason code, detail). Catches degenerate output
/// (a run of one token, a number that never ends, a wall of digits), not wrong answers,
/// which are the verifier's job.
pub fn check_answer(answer: &str) -> Result<(), (&'static str, String)> {
    // A short answer is an answer: a number, a date, a name, one word ("1850.", "Budapest.").
    check_text(answer, 1, 90)?;
    // An answer that only asks ("How is it that ...?", a question quoted from the passage).
    let a = answer.trim().trim_end_matches(['"', '\'', '”', '’', ')']);
    if a.ends_with('?') && !a.contains(". ") {
        return Err(("not_an_answer", "the answer is a question".into()));
    }
    Ok(())
}

/// [`check_answer`] for a turn that may ask (a learner's turn in a dialogue).
pub fn check_turn(text: &str) -> Result<(), (&'static str, String)> {
    check_text(text, 2, 90)
}

/// [`check_answer`] for a paragraph of a textbook passage (up to 150 words).
pub fn check_paragraph(text: &str) -> Result<(), (&'static str, String)> {
    check_text(text, 2, 150)
}

/// Degenerate text: empty, fewer than `min_words` words (runs of letters or digits), more
/// than `max_words`, one overlong token, mostly bare numbers, or a few words repeated.
fn check_text(answer: &str, min_words: usize, max_words: usize) -> Result<(), (&'static str, String)> {
    let a = answer.trim();
    let tokens: Vec<&str> = a.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(("empty_answer", "the answer is empty".into()));
    }
    let words = a.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count();
    if words < min_words {
        let detail = if min_words == 1 { "no word or number".into() } else { format!("fewer than {min_words} words") };
        return Err(("empty_answer", detail));
    }
    let n = word_count(a);
    if n > max_words {
        return Err(("answer_too_long", format!("{n} words; at most {max_words}")));
    }
    // A run of a script written without spaces is long by nature.
    if let Some(t) = tokens.iter().find(|t| t.chars().count() > 40 && !t.chars().any(quarry_core::script::unspaced)) {
        let shown: String = t.chars().take(30).collect();
        return Err(("degenerate_answer", format!("a {}-character token (\"{shown}…\")", t.chars().count())));
    }
    let numeric = tokens.iter().filter(|t| t.chars().all(|c| c.is_ascii_digit() || c.is_ascii_punctuation())).count();
    if tokens.len() >= 6 && numeric * 2 > tokens.len() {
        return Err(("degenerate_answer", "mostly bare numbers".into()));
    }
    let lower: Vec<String> = tokens.iter().map(|t| t.to_lowercase()).collect();
    let unique: std::collections::HashSet<&String> = lower.iter().collect();
    if tokens.len() >= 12 && (unique.len() as f32) < 0.4 * tokens.len() as f32 {
        return Err(("degenerate_answer", format!("{} distinct words in {}", unique.len(), tokens.len())));
    }
    Ok(())
}

/// Lower-case words of letters and digits, single-spaced.
pub fn normalise(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_en(q: &str, passages: &[&str]) -> Result<(), (&'static str, String)> {
        check_question(q, passages, "en")
    }

    const P: &str = "The candle flame is hollow. Hot air rises from the flame and draws fresh air in below.";

    #[test]
    fn filters() {
        const ANOVA: &str =
            "The analysis of variance uses a linear model that relates the response\nto the treatments.";
        assert_eq!(
            check_en(
                "The analysis of variance uses a linear model that relates the response to the treatments?",
                &[ANOVA]
            )
            .unwrap_err()
            .0,
            "copies_passage"
        );
        let two = "The analysis of variance uses a linear model that relates the response to the treatments. \
                   Which model is linear in parameters?";
        assert_eq!(check_en(two, &[ANOVA]).unwrap_err().0, "copies_passage");
        assert!(check_en("Why does hot air rise above a candle flame?", &[P]).is_ok());
        assert_eq!(check_en("What does the passage say about flames?", &[P]).unwrap_err().0, "not_standalone");
        assert_eq!(check_en("According to the author, why?", &[P]).unwrap_err().0, "not_standalone");
        assert_eq!(check_en("Flames?", &[P]).unwrap_err().0, "too_short");
        assert_eq!(
            check_en("Hot air rises from the flame and draws fresh air in below?", &[P]).unwrap_err().0,
            "copies_passage"
        );
        assert_eq!(check_en("Hot air rises from a flame", &[P]).unwrap_err().0, "not_a_question");
        assert_eq!(check_en("What is the text about?", &[P]).unwrap_err().0, "not_standalone");
        assert_eq!(check_en("What is the subject of passage A and B?", &[P]).unwrap_err().0, "not_standalone");
        assert_eq!(check_en("What is the topic of this question?", &[P]).unwrap_err().0, "not_standalone");
        assert!(check_en("What is the subject of The Chemical History of a Candle?", &[P]).is_ok());
        // Ordinary phrases are not references to the source.
        for ok in [
            "What kind of reduction is used within the context of reduction proofs?",
            "What happened to the Normans the following year?",
            "Who was the author of the Declaration of Independence?",
            "What does the text of the Treaty of Rome say about trade?",
            "The Normans were in conflict with which other people?",
            "What is the element polonium?",
            "How does a candle flame stay lit when it is moved?",
            "How long did it take to build the Panama Canal?",
            "In which year did Tesla move to New York?",
            "Is the outer part of a flame hotter than its centre?",
            "Did Faraday burn the candle in oxygen?",
            "Sedimentary rock can be turned into which of the three types of rock?",
            "How many species of trees are there in the Saxon Garden?",
        ] {
            assert!(check_en(ok, &[P]).is_ok(), "{ok}: {:?}", check_en(ok, &[P]));
        }
        for (bad, why) in [
            ("What does the author think about flames?", "not_standalone"),
            ("Which idea is described below in detail?", "not_standalone"),
            ("What is the response below?", "not_standalone"),
            ("Which subject is this about here?", "vague"),
            ("How can that really be?", "vague"),
            ("What is the answer to it?", "vague"),
            ("What is the sentence describing the topic in detail?", "not_standalone"),
            ("What is the purpose of Algorithm › Classification › Optimization?", "not_standalone"),
            ("The Chemical History: The CYLINDER | Question: Why is the wick pulled?", "prompt_echo"),
            ("Question: what is a wick made of?", "prompt_echo"),
            ("The model is linear in parameters but may be nonlinear across factor sets?", "no_question_word"),
            ("When did it retract to a mostly inland formation?", "not_standalone"),
            ("Why did he nail the theses to the church door?", "not_standalone"),
            ("How many permanent objects are located there?", "not_standalone"),
            ("What question would you like to ask about Man's Place in Nature?", "vague"),
            ("what does this answer have to do with Alkali metal?", "not_standalone"),
        ] {
            assert_eq!(check_en(bad, &[P]).map_err(|e| e.0), Err(why), "{bad}");
        }
    }

    #[test]
    fn degenerate_answers() {
        assert!(check_answer("Hot air rises because it is lighter than the cold air around it.").is_ok());
        assert_eq!(check_answer(&format!("The effect, 1{}", "0".repeat(80))).unwrap_err().0, "degenerate_answer");
        assert_eq!(check_answer("2. 2. 3. 4. 5. 6. 7. 8.").unwrap_err().0, "degenerate_answer");
        // Short answers are answers.
        for short in ["1850.", "Budapest.", "June 4, 2014.", "six"] {
            assert!(check_answer(short).is_ok(), "{short}");
        }
        assert_eq!(check_turn("Yes.").unwrap_err().0, "empty_answer");
        assert_eq!(check_answer("The values are 2 3 4 5 6 7 8 9").unwrap_err().0, "degenerate_answer");
        assert_eq!(check_answer(&"wax ".repeat(20)).unwrap_err().0, "degenerate_answer");
        assert_eq!(check_answer("  ").unwrap_err().0, "empty_answer");
        assert_eq!(check_answer("{").unwrap_err().0, "empty_answer");
        assert_eq!(
            check_answer("But how is it that the air and the oxygen do not equally well burn the candle?\"")
                .unwrap_err()
                .0,
            "not_an_answer"
        );
        assert!(check_answer("It burns. Why? Because the wax vapour meets the air.").is_ok());
        assert!(check_turn("Why does the candle burn brightest at the top?").is_ok());
        assert_eq!(check_en("What is the actual meaning of the sentence?", &[P]).unwrap_err().0, "not_standalone");
    }

    #[test]
    fn questions_in_other_languages_get_their_own_rules() {
        let p = "पैंथर्स की डिफ़ेन्स ने लीग में केवल 308 अंक दिए और छठे स्थान पर रहे।";
        assert!(check_question("पैंथर्स डिफ़ेंस ने कितने अंक दिए?", &[p], "hi").is_ok());
        assert!(check_question("टोयोटा के एक लक्जरी डिवीजन का नाम बताइए?", &[p], "hi").is_ok());
        assert_eq!(check_question("पैंथर्स डिफ़ेंस ने 308 अंक दिए थे?", &[p], "hi").unwrap_err().0, "no_question_word");
        assert_eq!(check_question("इस गद्यांश में पैंथर्स ने कितने अंक दिए?", &[p], "hi").unwrap_err().0, "not_standalone");
        assert_eq!(
            check_question("How many points did the Panthers' defense give up in the league?", &[p], "hi").unwrap_err(),
            ("wrong_language", "written in English, not Hindi".into())
        );
        // Marathi.
        assert!(check_question("मेणबत्तीची ज्योत कोणत्या भागात सर्वात गरम असते?", &[p], "mr").is_ok());
        // A language with no rule set: only the shape is checked (Chinese words are counted
        // two characters to a word).
        assert!(check_question("蜡烛火焰的哪一部分温度最高？", &[p], "zh").is_ok());
        assert_eq!(check_question("蜡烛？", &[p], "zh").unwrap_err().0, "too_short");
        assert!(check_question("Quelle partie de la flamme est la plus chaude ?", &[p], "fr").is_ok());
        // English rules never reach another language: "it" is not a pronoun in French.
        assert!(check_question("Pourquoi la flamme est-elle creuse au milieu ?", &[p], "fr").is_ok());
    }
}
