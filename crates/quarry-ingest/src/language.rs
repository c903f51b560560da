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
}
