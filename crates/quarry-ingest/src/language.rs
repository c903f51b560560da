//! Each document's language, as an ISO 639-1 code where one exists ("en", "hi", "mr", "zh"):
//! the one the user gives (`--language`), else the one its source states (a Wikipedia dump's
//! `xml:lang`, a Gutenberg book's "Language:" line), else the one detected from its text
//! (whatlang, on its first few kilobytes). Empty when none can be told.

use quarry_core::Document;

/// ISO 639-3 codes (whatlang's) and their ISO 639-1 equivalents.
const ISO_639_1: &[(&str, &str)] = &[
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("arb", "ar"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("zho", "zh"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kan", "kn"),
    ("kat", "ka"),
    ("khm", "km"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mal", "ml"),
    ("mar", "mr"),
    ("mkd", "mk"),
    ("mya", "my"),
    ("nep", "ne"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("ori", "or"),
    ("pan", "pa"),
    ("pes", "fa"),
    ("fas", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("sin", "si"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("sna", "sn"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tam", "ta"),
    ("tel", "te"),
    ("tgl", "tl"),
    ("tha", "th"),
    ("tuk", "tk"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("urd", "ur"),
    ("uzb", "uz"),
    ("vie", "vi"),
    ("yid", "yi"),
    ("zul", "zu"),
    ("lao", "lo"),
];

/// The language of `doc`: `given` if any, else its source's, else the detected one ("" when
/// none can be told).
pub fn of(doc: &Document, given: Option<&str>) -> String {
    if let Some(g) = given.map(str::trim).filter(|g| !g.is_empty()) {
        return normalise(g).unwrap_or_else(|| g.to_lowercase());
    }
    if let Some(l) = doc.metadata.get("language").and_then(|l| normalise(l)) {
        return l;
    }
    detect(&doc.text).unwrap_or_default()
}

/// A language code or English name as a code: "mr", "MAR", "Marathi" → "mr".
pub fn normalise(s: &str) -> Option<String> {
    let l = s.trim().to_lowercase();
    let l = l.split(['-', '_']).next().unwrap_or_default();
    if l.len() == 2 && l.chars().all(|c| c.is_ascii_lowercase()) {
        return Some(l.to_owned());
    }
    if let Some((_, two)) = ISO_639_1.iter().find(|(three, _)| *three == l) {
        return Some((*two).to_owned());
    }
    whatlang::Lang::all().iter().find(|lang| lang.eng_name().eq_ignore_ascii_case(l)).map(|lang| code(*lang))
}

/// The language of a text from its first 4 KB, if whatlang can tell.
pub fn detect(text: &str) -> Option<String> {
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let info = whatlang::detect(&text[..end])?;
    Some(code(info.lang()))
}

fn code(lang: whatlang::Lang) -> String {
    let three = lang.code();
    ISO_639_1.iter().find(|(t, _)| *t == three).map_or(three, |(_, two)| two).to_owned()
}

/// A language's name in English for a prompt ("Hindi" for "hi"); `None` for a code whatlang
/// does not know.
pub fn name(code: &str) -> Option<&'static str> {
    if code == "zh" {
        return Some("Chinese");
    }
    let three = ISO_639_1.iter().find(|(_, two)| *two == code).map_or(code, |(three, _)| three);
    whatlang::Lang::from_code(three).map(|l| l.eng_name())
}

fn named(code: &str) -> String {
    name(code).map_or_else(|| format!("\"{code}\""), str::to_owned)
}

/// The commonest English function words, by which a text in Latin letters reads as English.
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "of", "to", "in", "on", "at", "by", "for", "from", "with", "as", "and", "or", "but", "is", "are",
    "was", "were", "be", "been", "has", "have", "had", "it", "its", "this", "that", "these", "those", "what", "which",
    "who", "how", "why", "when", "where", "did", "does", "do", "not", "there", "their", "they", "he", "she",
];

/// Why `text` is not written in the language `expected` (ISO 639-1), when that is clear: most
/// of its letters are in a script the language is not written in, or whatlang reliably reads
/// another language of the same script. Code-mixed text is not rejected: a Hindi text with
/// English words in Latin letters has enough Devanagari, and romanised Hindi (Hinglish) is
/// rejected only when it reads as plain English. Short texts (names, numbers: fewer than 12
/// letters) and languages of unknown script are never rejected.
pub fn mismatch(text: &str, expected: &str) -> Option<String> {
    use quarry_core::script::{Script, script_counts, scripts_of_language};
    let home = scripts_of_language(expected);
    let counts = script_counts(text);
    let letters: usize = counts.iter().map(|(_, n)| n).sum();
    if home.is_empty() || letters < 12 {
        return None;
    }
    let own: usize = counts.iter().filter(|(s, _)| home.contains(s)).map(|(_, n)| n).sum();
    // whatlang's reading, when it is sure of it.
    let reading =
        || whatlang::detect(text).filter(|i| i.is_reliable() && i.confidence() >= 0.9).map(|i| code(i.lang()));
    if own * 4 >= letters {
        // In its own script (or mixed with another): another language of the same script is
        // only told on a longer text.
        if letters >= 40
            && let Some(got) = reading()
            && got != expected
            && scripts_of_language(&got) == home
        {
            return Some(format!("written in {}, not {}", named(&got), named(expected)));
        }
        return None;
    }
    let main = counts[0].0;
    if main == Script::Latin {
        // Romanised text is code-mixed unless it reads as English: whatlang is sure, or
        // English function words make up a third of it (romanised Hindi has few: "ki", "ne",
        // "hai" are not English).
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let function = words.iter().filter(|w| ENGLISH_FUNCTION_WORDS.contains(&w.as_str())).count();
        if reading().as_deref() == Some("en") || (function >= 3 && function * 3 >= words.len()) {
            return Some(format!("written in English, not {}", named(expected)));
        }
        return None;
    }
    Some(format!("written in {} script, not in {}", main.name(), named(expected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_detected_named_and_given() {
        assert_eq!(
            detect("The candle flame is hottest in its outer part, where the wax vapour meets the air.").as_deref(),
            Some("en")
        );
        assert_eq!(
            detect("मेणबत्तीची ज्योत तिच्या बाहेरच्या भागात सर्वात जास्त गरम असते, कारण तिथे हवा मिळते आणि मेण जळते.").as_deref(),
            Some("mr")
        );
        assert_eq!(
            detect("मोमबत्ती की लौ अपने बाहरी हिस्से में सबसे गर्म होती है, जहाँ मोम की भाप हवा से मिलती है।").as_deref(),
            Some("hi")
        );
        assert_eq!(detect("蜡烛火焰的外层温度最高，因为那里的蜡蒸气与空气中的氧气相遇并燃烧。").as_deref(), Some("zh"));
        assert_eq!(detect("เปลวเทียนร้อนที่สุดที่ส่วนนอก ซึ่งไอของขี้ผึ้งพบกับออกซิเจนในอากาศ").as_deref(), Some("th"));
        assert_eq!(normalise("Marathi").as_deref(), Some("mr"));
        assert_eq!(normalise("EN-gb").as_deref(), Some("en"));
        assert_eq!(normalise("hin").as_deref(), Some("hi"));
        let mut doc = Document {
            id: quarry_core::DocId::from_source("x"),
            source: "x".into(),
            locator: String::new(),
            title: "x".into(),
            format: "text".into(),
            text: "The candle flame is hottest in its outer part, where the wax vapour meets the air.".into(),
            sections: Vec::new(),
            metadata: Default::default(),
        };
        assert_eq!(of(&doc, None), "en");
        assert_eq!(of(&doc, Some("hi")), "hi");
        doc.metadata.insert("language".into(), "English".into());
        assert_eq!(of(&doc, None), "en");
    }

    #[test]
    fn a_text_in_another_language_is_told_and_code_mixing_is_not() {
        assert_eq!(name("hi"), Some("Hindi"));
        assert_eq!(name("mr"), Some("Marathi"));
        assert_eq!(name("zh"), Some("Chinese"));
        assert_eq!(name("xx"), None);
        let hi = "पैंथर्स की डिफ़ेन्स ने लीग में केवल 308 अंक दिए और छठे स्थान पर रहे।";
        assert_eq!(mismatch(hi, "hi"), None);
        assert_eq!(
            mismatch("The Panthers' defense gave up only 308 points and ranked sixth in the league.", "hi").as_deref(),
            Some("written in English, not Hindi")
        );
        assert_eq!(mismatch(hi, "en").as_deref(), Some("written in Devanagari script, not in English"));
        assert_eq!(
            mismatch("蜡烛火焰的外层温度最高，因为那里的蜡蒸气与空气相遇。", "hi").unwrap(),
            "written in Han (Chinese characters) script, not in Hindi"
        );
        // Code-mixed: Hindi with English words, and romanised Hindi (Hinglish).
        assert_eq!(mismatch("पैंथर्स की defense ने league में केवल 308 points दिए।", "hi"), None);
        assert_eq!(mismatch("Panthers ki defense ne league mein sirf 308 points diye the, yaar.", "hi"), None);
        assert_eq!(mismatch("Mujhe batao ki photosynthesis kaise kaam karta hai?", "hi"), None);
        // English that whatlang is not sure of is still English.
        assert_eq!(
            mismatch("The answer to this question is 308, as the passage says.", "hi").as_deref(),
            Some("written in English, not Hindi")
        );
        // Short answers and unknown languages are never judged.
        assert_eq!(mismatch("Denver Broncos", "hi"), None);
        assert_eq!(mismatch("The Panthers' defense gave up only 308 points.", "xx"), None);
        // Another language of the same script, on a longer text.
        assert_eq!(
            mismatch(
                "La défense des Panthers n'a accordé que 308 points et a terminé sixième de la ligue cette saison.",
                "en"
            )
            .as_deref(),
            Some("written in French, not English")
        );
        assert_eq!(
            mismatch("The defense of the Panthers gave up only 308 points and finished sixth in the league.", "en"),
            None
        );
    }
}
