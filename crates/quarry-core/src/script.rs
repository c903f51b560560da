//! Facts about writing systems that search and verification share.

/// Whether `c` belongs to a script written without spaces between words (Han, Hiragana,
/// Katakana, Thai, Lao, Khmer, Myanmar): its runs are read as overlapping character bigrams.
pub fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x19E0..=0x19FF    // Khmer symbols
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x2FA1F  // CJK extensions B and on
    )
}

/// Whether `c` is a mark that combines with the character before it in an unspaced script
/// (Thai and Lao vowel signs and tone marks, Khmer and Myanmar signs), so that it stays in
/// that character's bigrams.
pub fn combining(c: char) -> bool {
    matches!(c as u32,
        0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E      // Thai
        | 0x0EB1 | 0x0EB4..=0x0EBC | 0x0EC8..=0x0ECD    // Lao
        | 0x102B..=0x103E | 0x1056..=0x1059             // Myanmar
        | 0x17B4..=0x17D3 | 0x17DD                      // Khmer
        | 0x3099..=0x309A                               // Kana voicing marks
    )
}

/// The words of `text` as byte ranges, in order: runs of letters and digits, and overlapping
/// character bigrams over runs of unspaced scripts (a run of one character is itself; a
/// combining mark stays with its character). Search and verification both read text this way,
/// so a verified answer's words are the words its passage was found by.
pub fn words(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut word: Option<usize> = None;
    // The current unspaced run: each character's byte range.
    let mut run: Vec<(usize, usize)> = Vec::new();
    let flush_run = |run: &mut Vec<(usize, usize)>, out: &mut Vec<std::ops::Range<usize>>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].0..run[0].1),
            _ => out.extend(run.windows(2).map(|w| w[0].0..w[1].1)),
        }
        run.clear();
    };
    for (i, c) in text.char_indices() {
        if unspaced(c) {
            if let Some(f) = word.take() {
                out.push(f..i);
            }
            match run.last_mut() {
                Some(last) if combining(c) => last.1 = i + c.len_utf8(),
                _ => run.push((i, i + c.len_utf8())),
            }
        } else if c.is_alphanumeric() {
            flush_run(&mut run, &mut out);
            word.get_or_insert(i);
        } else {
            flush_run(&mut run, &mut out);
            if let Some(f) = word.take() {
                out.push(f..i);
            }
        }
    }
    flush_run(&mut run, &mut out);
    if let Some(f) = word {
        out.push(f..text.len());
    }
    out
}

/// A mark that joins the letters of an Indic word (a virama, a nukta: Devanagari to
/// Malayalam), which `char::is_alphanumeric` does not count as a letter.
pub fn indic_joiner(c: char) -> bool {
    let o = c as u32;
    (0x0900..=0x0DFF).contains(&o) && matches!(o & 0x7F, 0x3C | 0x4D)
}

/// The Snowball stemmer (frostem) of a language (ISO 639-1) other than English, where one
/// exists: Hindi, Nepali, Arabic, French, German, Russian… Search and verification stem a
/// language's words with it; English has its own analysis in each.
pub fn snowball(code: &str) -> Option<frostem::Algorithm> {
    use frostem::Algorithm as A;
    Some(match code {
        "hi" => A::Hindi,
        "ne" => A::Nepali,
        "ar" => A::Arabic,
        "hy" => A::Armenian,
        "eu" => A::Basque,
        "ca" => A::Catalan,
        "cs" => A::Czech,
        "da" => A::Danish,
        "nl" => A::Dutch,
        "eo" => A::Esperanto,
        "et" => A::Estonian,
        "fi" => A::Finnish,
        "fr" => A::French,
        "de" => A::German,
        "el" => A::Greek,
        "hu" => A::Hungarian,
        "id" | "ms" => A::Indonesian,
        "ga" => A::Irish,
        "it" => A::Italian,
        "lt" => A::Lithuanian,
        "nb" | "nn" | "no" => A::Norwegian,
        "fa" => A::Persian,
        "pl" => A::Polish,
        "pt" => A::Portuguese,
        "ro" => A::Romanian,
        "ru" => A::Russian,
        "sr" => A::Serbian,
        "es" => A::Spanish,
        "sv" => A::Swedish,
        "ta" => A::Tamil,
        "tr" => A::Turkish,
        "yi" => A::Yiddish,
        _ => return None,
    })
}

/// Question words of Hindi ("क्या", "कौन", "कब"…) and the imperatives that ask ("बताइए").
const WH_HI: &[&str] = &[
    "क्या",
    "कौन",
    "कौनसा",
    "कौनसी",
    "कौनसे",
    "कौन-सा",
    "कौन-सी",
    "कौन-से",
    "कौन-कौन",
    "किस",
    "किसे",
    "किसको",
    "किसने",
    "किसका",
    "किसकी",
    "किसके",
    "किससे",
    "किसमें",
    "किसपर",
    "किसलिए",
    "किन",
    "किनका",
    "किनकी",
    "किनके",
    "किनको",
    "किनसे",
    "किन्हें",
    "किन्होंने",
    "कब",
    "कहाँ",
    "कहां",
    "कैसे",
    "कैसा",
    "कैसी",
    "क्यों",
    "कितना",
    "कितने",
    "कितनी",
    "कितनों",
    "बताइए",
    "बताइये",
    "बताएं",
    "बताएँ",
    "बताओ",
];

/// Question words of Marathi ("काय", "कोण", "कधी"…).
const WH_MR: &[&str] = &[
    "काय",
    "कोण",
    "कोणता",
    "कोणती",
    "कोणते",
    "कोणत्या",
    "कोणाला",
    "कोणी",
    "कोणाचा",
    "कोणाची",
    "कोणाचे",
    "कोणाच्या",
    "कधी",
    "कुठे",
    "कोठे",
    "कुठल्या",
    "कुठला",
    "कुठली",
    "कसे",
    "कसा",
    "कशी",
    "कशा",
    "कशामुळे",
    "कशाला",
    "कसली",
    "का",
    "किती",
    "कितवा",
    "कितवी",
    "कितव्या",
    "सांगा",
];

/// The question words of a language (ISO 639-1) that quarry has a list for: Hindi and
/// Marathi. A question in that language holds one; the verifier does not look for them in the
/// evidence. Empty for every other language.
pub fn question_words(code: &str) -> &'static [&'static str] {
    match code {
        "hi" => WH_HI,
        "mr" => WH_MR,
        _ => &[],
    }
}

/// A writing system, as far as telling languages apart needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    Devanagari,
    Bengali,
    Gurmukhi,
    Gujarati,
    Oriya,
    Tamil,
    Telugu,
    Kannada,
    Malayalam,
    Sinhala,
    Thai,
    Lao,
    Tibetan,
    Myanmar,
    Georgian,
    Hangul,
    Ethiopic,
    Khmer,
    Kana,
    Han,
}

impl Script {
    /// The script's name in English.
    pub fn name(self) -> &'static str {
        match self {
            Script::Han => "Han (Chinese characters)",
            Script::Kana => "Japanese kana",
            other => SCRIPT_NAMES.iter().find(|(s, _)| *s == other).map_or("another", |(_, n)| n),
        }
    }
}

const SCRIPT_NAMES: &[(Script, &str)] = &[
    (Script::Latin, "Latin"),
    (Script::Greek, "Greek"),
    (Script::Cyrillic, "Cyrillic"),
    (Script::Armenian, "Armenian"),
    (Script::Hebrew, "Hebrew"),
    (Script::Arabic, "Arabic"),
    (Script::Devanagari, "Devanagari"),
    (Script::Bengali, "Bengali"),
    (Script::Gurmukhi, "Gurmukhi"),
    (Script::Gujarati, "Gujarati"),
    (Script::Oriya, "Oriya"),
    (Script::Tamil, "Tamil"),
    (Script::Telugu, "Telugu"),
    (Script::Kannada, "Kannada"),
    (Script::Malayalam, "Malayalam"),
    (Script::Sinhala, "Sinhala"),
    (Script::Thai, "Thai"),
    (Script::Lao, "Lao"),
    (Script::Tibetan, "Tibetan"),
    (Script::Myanmar, "Myanmar"),
    (Script::Georgian, "Georgian"),
    (Script::Hangul, "Hangul"),
    (Script::Ethiopic, "Ethiopic"),
    (Script::Khmer, "Khmer"),
];

/// The script of a letter (`None` for anything else: digits, punctuation, marks of no script
/// listed here).
pub fn script_of(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    Some(match c as u32 {
        0x41..=0x24F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xFF21..=0xFF5A => Script::Latin,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x530..=0x58F => Script::Armenian,
        0x590..=0x5FF | 0xFB1D..=0xFB4F => Script::Hebrew,
        0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x900..=0x97F | 0xA8E0..=0xA8FF => Script::Devanagari,
        0x980..=0x9FF => Script::Bengali,
        0xA00..=0xA7F => Script::Gurmukhi,
        0xA80..=0xAFF => Script::Gujarati,
        0xB00..=0xB7F => Script::Oriya,
        0xB80..=0xBFF => Script::Tamil,
        0xC00..=0xC7F => Script::Telugu,
        0xC80..=0xCFF => Script::Kannada,
        0xD00..=0xD7F => Script::Malayalam,
        0xD80..=0xDFF => Script::Sinhala,
        0xE00..=0xE7F => Script::Thai,
        0xE80..=0xEFF => Script::Lao,
        0xF00..=0xFFF => Script::Tibetan,
        0x1000..=0x109F => Script::Myanmar,
        0x10A0..=0x10FF | 0x2D00..=0x2D2F => Script::Georgian,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x1200..=0x139F | 0x2D80..=0x2DDF => Script::Ethiopic,
        0x1780..=0x17FF | 0x19E0..=0x19FF => Script::Khmer,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F => Script::Han,
        _ => return None,
    })
}

/// The scripts a language (ISO 639-1 code) is written in; empty for a code not listed, and
/// Latin for the languages of Europe, Africa and South-East Asia written in it.
pub fn scripts_of_language(code: &str) -> &'static [Script] {
    match code {
        "hi" | "mr" | "ne" | "sa" | "mai" | "bho" | "kok" => &[Script::Devanagari],
        "bn" | "as" => &[Script::Bengali],
        "pa" => &[Script::Gurmukhi],
        "gu" => &[Script::Gujarati],
        "or" => &[Script::Oriya],
        "ta" => &[Script::Tamil],
        "te" => &[Script::Telugu],
        "kn" => &[Script::Kannada],
        "ml" => &[Script::Malayalam],
        "si" => &[Script::Sinhala],
        "th" => &[Script::Thai],
        "lo" => &[Script::Lao],
        "bo" | "dz" => &[Script::Tibetan],
        "my" => &[Script::Myanmar],
        "km" => &[Script::Khmer],
        "ka" => &[Script::Georgian],
        "hy" => &[Script::Armenian],
        "am" | "ti" => &[Script::Ethiopic],
        "he" | "yi" => &[Script::Hebrew],
        "ar" | "fa" | "ur" | "ps" | "sd" | "ug" | "ku" => &[Script::Arabic],
        "el" => &[Script::Greek],
        "ru" | "uk" | "be" | "bg" | "sr" | "mk" | "kk" | "ky" | "tg" | "mn" | "ba" | "tt" => &[Script::Cyrillic],
        "zh" => &[Script::Han],
        "ja" => &[Script::Kana, Script::Han],
        "ko" => &[Script::Hangul, Script::Han],
        "en" | "fr" | "de" | "es" | "pt" | "it" | "nl" | "sv" | "da" | "nb" | "no" | "nn" | "fi" | "et" | "lv"
        | "lt" | "pl" | "cs" | "sk" | "sl" | "hr" | "bs" | "hu" | "ro" | "tr" | "az" | "uz" | "tk" | "sq" | "ca"
        | "gl" | "eu" | "ga" | "cy" | "br" | "is" | "fo" | "mt" | "la" | "eo" | "af" | "sw" | "zu" | "xh" | "yo"
        | "ha" | "ig" | "so" | "sn" | "st" | "rw" | "id" | "ms" | "jv" | "su" | "tl" | "vi" | "mg" | "ak" | "lb" => {
            &[Script::Latin]
        }
        _ => &[],
    }
}

/// Letters of `text` per script, most frequent first (ties by script order).
pub fn script_counts(text: &str) -> Vec<(Script, usize)> {
    let mut counts: Vec<(Script, usize)> = Vec::new();
    for s in text.chars().filter_map(script_of) {
        match counts.iter_mut().find(|(k, _)| *k == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_every_script() {
        let of = |t: &str| words(t).into_iter().map(|r| t[r].to_owned()).collect::<Vec<_>>();
        assert_eq!(of("Candles, burned!"), ["Candles", "burned"]);
        assert_eq!(of("蜡烛火焰"), ["蜡烛", "烛火", "火焰"]);
        assert_eq!(of("DNA的结构"), ["DNA", "的结", "结构"]);
        assert_eq!(of("水"), ["水"]);
        // A Thai vowel sign stays with its consonant: no bigram starts or ends inside a pair.
        let thai = of("เปลวเทียน");
        assert!(thai.iter().all(|t| t.chars().count() >= 2 && !combining(t.chars().next().unwrap())), "{thai:?}");
    }
}
