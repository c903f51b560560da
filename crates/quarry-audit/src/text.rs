//! Text helpers shared by the quote locator and the support scorer: sentence splitting,
//! word tokenising and content words (lower-cased, stopwords dropped, lightly stemmed).

use std::ops::Range;

/// Words that carry no content of their own: function words, auxiliaries and question words.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "either",
    "else",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "least",
    "let",
    "like",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "neither",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "quite",
    "rather",
    "same",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "thus",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "whatever",
    "when",
    "where",
    "whereas",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yes",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "s",
    "t",
    "d",
    "ll",
    "re",
    "ve",
    "m",
    "according",
    "called",
    "name",
    "named",
    "kind",
    "type",
    "many",
];

/// Cardinal number words and the digits they become.
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("thirteen", "13"),
    ("fourteen", "14"),
    ("fifteen", "15"),
    ("sixteen", "16"),
    ("seventeen", "17"),
    ("eighteen", "18"),
    ("nineteen", "19"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
];

/// Abbreviations whose final period does not end a sentence (lower case, without the period).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "cf", "al", "fig", "no",
    "vol", "pp", "p", "ed", "eds", "approx", "ca", "c", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "gen", "col", "capt", "lt", "sgt", "rev", "hon", "gov", "sen",
    "rep", "u.s", "u.k", "a.m", "p.m", "op", "cit", "ibid",
];

/// Whether `w` (lower case) is a stopword.
pub fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// A word of a text: its byte range and its lower-cased form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// Byte range in the text.
    pub range: Range<usize>,
    /// The word, lower-cased; digit groups lose their thousands separators (`2,000` → `2000`).
    pub lower: String,
}

/// Splits `text` into words: runs of letters and digits. A number keeps its decimal point and
/// thousands separators (`3.5`, `2,000`); apostrophes and hyphens split words; an Indic word
/// keeps its viramas and nuktas (search cuts it there only in languages without a stemmer).
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some((start, c)) = it.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        let mut lower = String::new();
        lower.extend(c.to_lowercase());
        let mut last_digit = c.is_ascii_digit();
        while let Some(&(i, d)) = it.peek() {
            // A virama or nukta belongs to the Indic word it is in ("स्थान", "डिफ़ेंस").
            if d.is_alphanumeric() || quarry_core::script::indic_joiner(d) {
                lower.extend(d.to_lowercase());
                last_digit = d.is_ascii_digit();
                end = i + d.len_utf8();
                it.next();
            } else if (d == '.' || d == ',') && last_digit {
                // A separator inside a number: keep going only when a digit follows.
                let next = text[i + 1..].chars().next();
                if next.is_some_and(|n| n.is_ascii_digit()) {
                    if d == '.' {
                        lower.push('.');
                    }
                    it.next();
                } else {
                    break;
                }
            } else if (d == '\'' || d == '\u{2019}') && !last_digit {
                // A possessive "'s" is dropped: "Levi's" is the word "levi".
                let mut rest = text[i + d.len_utf8()..].chars();
                if matches!(rest.next(), Some('s' | 'S')) && !rest.next().is_some_and(char::is_alphanumeric) {
                    it.next();
                    it.next();
                }
                break;
            } else {
                break;
            }
        }
        if text[start..end].chars().any(quarry_core::script::unspaced) {
            split_unspaced(text, start..end, &mut out);
        } else {
            out.push(Word { range: start..end, lower });
        }
    }
    out
}

/// The words of a run of letters that holds a script written without spaces (Chinese, Thai),
/// as search reads them ([`quarry_core::script::words`]): overlapping character bigrams of its
/// unspaced stretches, and the letters of other scripts between them ("DNA的结构" → dna, 的结,
/// 结构).
fn split_unspaced(text: &str, range: Range<usize>, out: &mut Vec<Word>) {
    for r in quarry_core::script::words(&text[range.clone()]) {
        let r = range.start + r.start..range.start + r.end;
        out.push(Word { lower: text[r.clone()].to_lowercase(), range: r });
    }
}

/// Irregular past forms of common verbs, and their base form ("ran" → "run"), so a question
/// in the present ("How long did Apollo run?") meets the past of its evidence.
const IRREGULAR: &[(&str, &str)] = &[
    ("ran", "run"),
    ("won", "win"),
    ("began", "begin"),
    ("begun", "begin"),
    ("led", "lead"),
    ("built", "build"),
    ("wrote", "write"),
    ("written", "write"),
    ("took", "take"),
    ("taken", "take"),
    ("gave", "give"),
    ("given", "give"),
    ("found", "find"),
    ("held", "hold"),
    ("fought", "fight"),
    ("bought", "buy"),
    ("sold", "sell"),
    ("told", "tell"),
    ("became", "become"),
    ("grew", "grow"),
    ("grown", "grow"),
    ("knew", "know"),
    ("known", "know"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("chose", "choose"),
    ("chosen", "choose"),
    ("fell", "fall"),
    ("fallen", "fall"),
    ("rose", "rise"),
    ("risen", "rise"),
    ("drove", "drive"),
    ("driven", "drive"),
    ("flew", "fly"),
    ("flown", "fly"),
    ("sang", "sing"),
    ("sung", "sing"),
    ("threw", "throw"),
    ("thrown", "throw"),
    ("brought", "bring"),
    ("thought", "think"),
    ("taught", "teach"),
    ("caught", "catch"),
    ("sent", "send"),
    ("spent", "spend"),
    ("lost", "lose"),
    ("left", "leave"),
    ("met", "meet"),
    ("paid", "pay"),
    ("said", "say"),
    ("made", "make"),
    ("struck", "strike"),
    ("stood", "stand"),
    ("wore", "wear"),
    ("worn", "wear"),
    ("froze", "freeze"),
    ("frozen", "freeze"),
    ("broke", "break"),
    ("broken", "break"),
    ("shook", "shake"),
];

/// A light, rule-based stemmer: strips plural `-s`/`-es`/`-ies`, `-ing`, `-ed` and `-ly`, and
/// maps number words and ordinals (`three`, `3rd`) to digits. The same word always gets the same
/// stem, which is all the support scorer needs.
pub fn stem(w: &str) -> String {
    if let Some(&(_, d)) = NUMBER_WORDS.iter().find(|(n, _)| *n == w) {
        return d.to_owned();
    }
    let bytes = w.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_digit) {
        // 50th, 3rd, 1990s → the number.
        for suf in ["th", "st", "nd", "rd", "s"] {
            if let Some(n) = w.strip_suffix(suf)
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                return n.to_owned();
            }
        }
        return w.to_owned();
    }
    if let Some(&(_, base)) = IRREGULAR.iter().find(|(past, _)| *past == w) {
        return stem(base);
    }
    let n = w.chars().count();
    let mut s: &str = w;
    // "died", "tied", "lied" → "die".
    if n == 4 && s.ends_with("ied") {
        s = &s[..3];
    }
    if n > 4 && s.ends_with("ies") {
        return format!("{}y", &s[..s.len() - 3]);
    }
    if n > 4 && (s.ends_with("sses") || s.ends_with("shes") || s.ends_with("ches") || s.ends_with("xes")) {
        s = &s[..s.len() - 2];
    } else if n > 3 && s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") {
        s = &s[..s.len() - 1];
    } else if n > 5 && s.ends_with("ing") {
        s = &s[..s.len() - 3];
    } else if (n > 4 && s.ends_with("ed") && !s.ends_with("eed")) || (n > 5 && s.ends_with("ly")) {
        s = &s[..s.len() - 2];
    }
    // "stopped" → "stopp" → "stop"; "running" → "runn" → "run".
    let b = s.as_bytes();
    if s.len() != w.len() && b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] && !b"lsz".contains(&b[b.len() - 1]) {
        s = &s[..s.len() - 1];
    }
    // "located" → "locat", "location" stays; "made" vs "make" are left alone.
    let t = s.trim_end_matches('e');
    if t.len() >= 2 { t.to_owned() } else { s.to_owned() }
}

/// A content word of a text: its stem and the byte range of the word it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentWord {
    /// The stem (see [`stem`]).
    pub stem: String,
    /// Byte range of the word in the text.
    pub range: Range<usize>,
}

/// The language rules the verifier applies to a text: which words carry no content, and whether
/// words are stemmed. English has its own stop words, stemmer and number words; any other
/// language gets its stop words from stopwords-iso (the `stop-words` crate; none where it has no
/// list) and its Snowball stemmer where one exists, so no English rule is applied to text in
/// another language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English, and text whose language is not known (the rules quarry always had).
    #[default]
    English,
    /// Another language: its ISO 639-1 code, stop words and Snowball stemmer (if any).
    Other(&'static str, &'static [&'static str], Option<frostem::Algorithm>),
}

impl Lang {
    /// The rules for an ISO 639-1 code ("en", "hi"); "" (unknown) is English.
    pub fn of(code: &str) -> Lang {
        match code.trim() {
            "" | "en" => Lang::English,
            c => {
                let words = stop_words::lookup(c).unwrap_or(&[]);
                // The code as a 'static str: stopwords-iso's own, or none.
                let code = stop_words::available_languages().iter().find(|l| **l == c).copied().unwrap_or("");
                Lang::Other(code, words, quarry_core::script::snowball(c))
            }
        }
    }

    /// The ISO 639-1 code ("en" for English).
    pub fn code(self) -> &'static str {
        match self {
            Lang::English => "en",
            Lang::Other(code, ..) => code,
        }
    }

    /// Whether English rules (stop words, stemmer, question patterns) apply.
    pub fn is_english(self) -> bool {
        self == Lang::English
    }

    /// Whether `w` (lower case) carries no content in this language.
    pub fn is_stopword(self, w: &str) -> bool {
        match self {
            Lang::English => is_stopword(w),
            Lang::Other(code, words, _) => {
                words.contains(&w)
                    || quarry_core::script::question_words(code).contains(&w)
                    || extra_stopwords(code).contains(&w)
            }
        }
    }

    /// `w`'s stem in this language: English's light stemmer, another language's Snowball
    /// stemmer (the one search uses), or `w` itself where the language has none. Numbers are
    /// kept as they are.
    pub fn stem(self, w: &str) -> String {
        match self {
            Lang::English => stem(w),
            Lang::Other(_, _, Some(a)) if !w.starts_with(|c: char| c.is_ascii_digit()) => {
                frostem::Stemmer::new(a).stem(w).into_owned()
            }
            Lang::Other(..) => w.to_owned(),
        }
    }
}

/// Function words stopwords-iso leaves out of a language's list, besides its question words
/// ([`quarry_core::script::question_words`]): Hindi's relative pronouns and auxiliaries, which a
/// question and its evidence need not share.
fn extra_stopwords(code: &str) -> &'static [&'static str] {
    match code {
        "hi" => &[
            "सा",
            "सी",
            "ऐसा",
            "ऐसी",
            "ऐसे",
            "जिसमें",
            "जिसके",
            "जिसका",
            "जिसकी",
            "जिससे",
            "जिसे",
            "जिन्होंने",
            "गया",
            "गई",
            "गए",
            "गयी",
            "हुआ",
            "हुई",
            "हुए",
            "थी",
            "रखा",
            "दिया",
            "नाम",
        ],
        "mr" => &["झाले", "होते", "होता", "होती"],
        _ => &[],
    }
}

/// The content words of `text` with their positions: lower-cased, stopwords and single letters
/// dropped, stemmed; numbers are kept (number words become digits). English rules; see
/// [`content_tokens_in`].
pub fn content_tokens(text: &str) -> Vec<ContentWord> {
    content_tokens_in(text, Lang::English)
}

/// [`content_tokens`] with the stop words and stemmer of `lang`.
pub fn content_tokens_in(text: &str, lang: Lang) -> Vec<ContentWord> {
    words(text)
        .into_iter()
        .filter(|w| {
            let digit = w.lower.bytes().next().is_some_and(|b| b.is_ascii_digit());
            digit || (w.lower.chars().count() > 1 && !lang.is_stopword(&w.lower))
        })
        .map(|w| ContentWord { stem: lang.stem(&w.lower), range: w.range })
        .collect()
}

/// The content words of `text`, in order (see [`content_tokens`]).
///
/// ```
/// assert_eq!(quarry_audit::content_words("The three Broncos played in 2,000 games."), ["3", "bronco", "play", "2000", "gam"]);
/// ```
pub fn content_words(text: &str) -> Vec<String> {
    content_tokens(text).into_iter().map(|c| c.stem).collect()
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '}' | '»' | '”' | '’')
}

fn is_opener(c: char) -> bool {
    matches!(c, '"' | '\'' | '(' | '[' | '«' | '“' | '‘')
}

/// Splits `text` into sentences, returned as byte ranges with surrounding whitespace trimmed.
///
/// A sentence ends at `.`, `!` or `?` (plus closing quotes or brackets) followed by whitespace and
/// an upper-case letter, a letter of a script without case, a digit or an opening quote; at a
/// danda (`।`), an ideographic full stop (`。`) or another caseless script's mark whatever
/// follows; and at blank lines. A period does not end a
/// sentence after a known abbreviation (`e.g.`, `Mr.`, `U.S.`), an initial (`J. K. Rowling`) or
/// inside a number (`3.5`).
pub fn split_sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        // Paragraph break.
        if c == '\n' {
            let mut j = i + 1;
            let mut newlines = 1;
            while j < chars.len() && chars[j].1.is_whitespace() {
                newlines += usize::from(chars[j].1 == '\n');
                j += 1;
            }
            if newlines >= 2 {
                push_trimmed(text, start..pos, &mut out);
                start = chars.get(j).map_or(text.len(), |x| x.0);
                i = j;
                continue;
            }
        }
        // A full stop of a script without case (Devanagari's danda, CJK's and Arabic's marks)
        // ends a sentence whatever follows, with or without a space.
        if matches!(c, '।' | '॥' | '。' | '！' | '？' | '؟' | '۔') {
            let mut j = i + 1;
            while j < chars.len()
                && (matches!(chars[j].1, '।' | '॥' | '。' | '！' | '？' | '؟' | '۔') || is_closer(chars[j].1))
            {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |x| x.0);
            let mut k = j;
            while k < chars.len() && chars[k].1.is_whitespace() {
                k += 1;
            }
            if k >= chars.len() {
                break;
            }
            push_trimmed(text, start..end, &mut out);
            start = chars[k].0;
            i = k;
            continue;
        }
        if matches!(c, '.' | '!' | '?' | '…') {
            let mut j = i + 1;
            while j < chars.len() && (matches!(chars[j].1, '.' | '!' | '?') || is_closer(chars[j].1)) {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |x| x.0);
            if j >= chars.len() {
                break;
            }
            if !chars[j].1.is_whitespace() {
                i = j;
                continue;
            }
            let mut k = j;
            while k < chars.len() && chars[k].1.is_whitespace() {
                k += 1;
            }
            let Some(&(_, next)) = chars.get(k) else { break };
            // A letter of a script without case (Devanagari, Arabic, Han…) may start one too.
            let caseless = next.is_alphabetic() && !next.is_lowercase() && !next.is_uppercase();
            let starts_sentence = next.is_uppercase() || caseless || next.is_ascii_digit() || is_opener(next);
            if starts_sentence && !(c == '.' && is_abbreviation(text, pos)) {
                push_trimmed(text, start..end, &mut out);
                start = chars[k].0;
            }
            i = k;
            continue;
        }
        i += 1;
    }
    push_trimmed(text, start..text.len(), &mut out);
    out
}

/// Whether the period at byte `dot` closes an abbreviation or an initial.
fn is_abbreviation(text: &str, dot: usize) -> bool {
    let before = &text[..dot];
    let word_start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace() || is_opener(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[word_start..];
    if word.is_empty() {
        return false;
    }
    let mut chars = word.chars();
    let first = chars.next().unwrap_or(' ');
    // A single capital: an initial.
    if first.is_uppercase() && chars.next().is_none() {
        return true;
    }
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
        // Dotted forms such as "Ph.D" or "U.S.A".
        || (word.contains('.') && word.split('.').all(|p| p.chars().count() <= 2 && !p.is_empty()))
}

fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[range.clone()];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if !trimmed.is_empty() {
        let start = range.start + lead;
        out.push(start..start + trimmed.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(t: &str) -> Vec<&str> {
        split_sentences(t).into_iter().map(|r| &t[r]).collect()
    }

    #[test]
    fn splits_sentences_around_abbreviations_and_numbers() {
        assert_eq!(
            sents("He said \u{201C}St. Paul.\u{201D} Then \u{201C}x.\u{201D} Ok"),
            ["He said \u{201C}St. Paul.\u{201D}", "Then \u{201C}x.\u{201D}", "Ok"]
        );
        let t = "Mr. Smith paid $3.5 million, e.g. for land. J. K. Rowling wrote it! Did she? \"Yes.\" Then (in the U.S. Army) he left.\n\nNew paragraph";
        assert_eq!(
            sents(t),
            [
                "Mr. Smith paid $3.5 million, e.g. for land.",
                "J. K. Rowling wrote it!",
                "Did she?",
                "\"Yes.\"",
                "Then (in the U.S. Army) he left.",
                "New paragraph"
            ]
        );
        assert_eq!(sents("  "), Vec::<&str>::new());
        assert_eq!(sents("one. two. Three"), ["one. two.", "Three"]);
    }

    #[test]
    fn content_words_stem_and_drop_stopwords() {
        assert_eq!(content_words("Which teams were playing at Levi's Stadium?"), ["team", "play", "levi", "stadium"]);
        assert_eq!(
            content_words("It cost 24,000 dollars in the 1990s, three times more"),
            ["cost", "24000", "dollar", "1990", "3", "tim"]
        );
        assert_eq!(stem("stopped"), stem("stops"));
        assert_eq!(stem("located"), stem("locate"));
        assert_eq!(stem("cities"), "city");
        assert_eq!(content_words("3.5 km"), ["3.5", "km"]);
    }

    #[test]
    fn sentences_end_at_the_marks_of_every_script() {
        assert_eq!(
            sents("पैंथर्स ने 308 अंक दिए। कावन शॉर्ट ने नेतृत्व किया॥ अंत"),
            ["पैंथर्स ने 308 अंक दिए।", "कावन शॉर्ट ने नेतृत्व किया॥", "अंत"]
        );
        assert_eq!(sents("蜡烛在燃烧。火焰很热！为什么？"), ["蜡烛在燃烧。", "火焰很热！", "为什么？"]);
        // Marathi writes a full stop; the next sentence starts with a caseless letter.
        assert_eq!(sents("ही मेणबत्ती आहे. ती जळते."), ["ही मेणबत्ती आहे.", "ती जळते."]);
    }

    #[test]
    fn english_rules_apply_to_english_only() {
        let hi = Lang::of("hi");
        assert!(!hi.is_english());
        let words: Vec<String> =
            content_tokens_in("पैंथर्स डिफ़ेंस ने कितने अंक दिए?", hi).into_iter().map(|c| c.stem).collect();
        // "ने" and "कितने" are Hindi stop words (the first from stopwords-iso, the second
        // from quarry's own additions); words keep viramas and nuktas and are Hindi-stemmed,
        // so inflected forms meet ("उपनगरों", "उपनगर").
        assert_eq!(words.len(), 4, "{words:?}");
        assert_eq!(hi.stem("उपनगरों"), hi.stem("उपनगर"));
        // A French text is French-stemmed, and French stop words are dropped.
        let fr: Vec<String> =
            content_tokens_in("Les villes sont grandes", Lang::of("fr")).into_iter().map(|c| c.stem).collect();
        assert_eq!(fr, ["vill", "grand"]);
        // A language with no stop-word list keeps every word.
        assert_eq!(content_tokens_in("x yy zz", Lang::of("qq")).len(), 2);
        assert_eq!(Lang::of(""), Lang::English);
    }
}
