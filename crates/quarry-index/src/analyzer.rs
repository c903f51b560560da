//! Words for BM25 in every script and language.
//!
//! Runs of scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao,
//! Khmer, Myanmar) become overlapping character bigrams, which retrieve such text well without
//! a dictionary segmenter; tantivy's simple tokenizer made each such run one token. Other text
//! is cut into runs of letters and digits.
//!
//! Indexes built now analyse each document in its own language ([`terms`], schema name
//! [`NAME_LANG`]): lower-cased words, stemmed by the Snowball stemmer of that language where one
//! exists (frostem: English, Hindi, Nepali, French, German, Spanish, Russian, Arabic… see
//! [`stemmer`]), unstemmed otherwise; words of an Indic script are kept whole (vowel signs,
//! viramas and nuktas inside) where the language has a stemmer, and cut at the viramas
//! otherwise. A document of unknown language is analysed as English. The chunk index stores
//! each chunk's language, and a query is analysed once per language of the index, each
//! analysis matched against the documents of its language, so a query always meets a document
//! in that document's analysis. Measured on XQuAD Hindi (bm25 nDCG@10): runs cut at the marks
//! 0.939, whole words 0.928, whole words with the Hindi stemmer above both (README).
//!
//! Older indexes keep the analyzer their schema names: [`NAME`] (one analysis for every
//! document, English-stemmed) or tantivy's `en_stem`; a query is analysed by its field's own
//! analyzer there.

use quarry_core::script::indic_joiner;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// The analyzer's name in the schema of indexes with one analysis for every document.
pub const NAME: &str = "quarry_words";

/// The name in the schema of indexes that analyse each document in its language ([`terms`]).
/// Registered as the analysis of a document of unknown language.
pub const NAME_LANG: &str = "quarry_lang";

/// The Snowball stemmer of a language (ISO 639-1), if frostem has one; "" (unknown) is
/// English.
pub fn stemmer(language: &str) -> Option<frostem::Algorithm> {
    match language {
        "" | "en" => Some(frostem::Algorithm::English),
        other => quarry_core::script::snowball(other),
    }
}

/// The BM25 terms of `text` in `language` (ISO 639-1; "" for unknown), with byte offsets and
/// positions: words ([`quarry_core::script::words`]; Indic words whole where the language has a
/// stemmer), longer than 40 bytes dropped, lower-cased, stemmed by the language's stemmer.
pub fn terms(text: &str, language: &str) -> Vec<Token> {
    let algorithm = stemmer(language);
    let mut ranges = quarry_core::script::words(text);
    if algorithm.is_some() {
        // Join the pieces of an Indic word that a virama or a nukta split.
        let mut joined: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match joined.last_mut() {
                Some(last)
                    if last.end < r.start
                        && text[last.end..r.start].chars().all(indic_joiner)
                        && text[last.start..last.end].chars().next().is_some_and(|c| !c.is_ascii()) =>
                {
                    last.end = r.end;
                }
                _ => joined.push(r),
            }
        }
        // A word that ends in a virama keeps it.
        for r in &mut joined {
            while let Some(c) = text[r.end..].chars().next().filter(|c| indic_joiner(*c)) {
                r.end += c.len_utf8();
            }
        }
        ranges = joined;
    }
    let stem = algorithm.map(frostem::Stemmer::new);
    ranges
        .into_iter()
        .filter(|r| r.len() <= 40)
        .enumerate()
        .map(|(position, r)| {
            let lower = text[r.clone()].to_lowercase();
            let text = match &stem {
                Some(s) => s.stem(&lower).into_owned(),
                None => lower,
            };
            Token { offset_from: r.start, offset_to: r.end, position, text, position_length: 1 }
        })
        .collect()
}

/// The analyzer registered as [`NAME_LANG`]: [`terms`] of a document of unknown language.
pub fn lang_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(Terms).build()
}

/// The tokenizer of [`lang_analyzer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Terms;

impl Tokenizer for Terms {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        WordStream { tokens: terms(text, ""), next: 0 }
    }
}

/// The analyzer registered as [`NAME`].
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(Words)
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The tokenizer: runs of letters and digits, and bigrams over unspaced scripts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Words;

/// The tokens of one text.
pub struct WordStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for Words {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        WordStream { tokens: words(text), next: 0 }
    }
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// The word tokens of `text` ([`quarry_core::script::words`]), with byte offsets and positions.
pub fn words(text: &str) -> Vec<Token> {
    quarry_core::script::words(text)
        .into_iter()
        .enumerate()
        .map(|(position, r)| Token {
            offset_from: r.start,
            offset_to: r.end,
            position,
            text: text[r].to_owned(),
            position_length: 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        let mut a = analyzer();
        let mut stream = a.token_stream(s);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn every_script_splits_into_words() {
        // English: words, lower-cased and stemmed.
        assert_eq!(texts("The Candles burned brightly."), ["the", "candl", "burn", "bright"]);
        // Devanagari: runs of letters (vowel signs are letters, a virama is not), as tantivy's
        // simple tokenizer cut them.
        assert_eq!(texts("मोमबत्ती की लौ"), ["मोमबत", "ती", "की", "लौ"]);
        // Arabic: words between spaces.
        assert_eq!(texts("شمعة مضيئة"), ["شمعة", "مضيئة"]);
        // Chinese: overlapping bigrams; another script inside the run is its own word.
        assert_eq!(texts("蜡烛火焰"), ["蜡烛", "烛火", "火焰"]);
        assert_eq!(texts("DNA的结构"), ["dna", "的结", "结构"]);
        // A lone ideograph is a word.
        assert_eq!(texts("水"), ["水"]);
        // Thai: bigrams of characters, combining marks kept with theirs.
        let thai = texts("เปลวเทียน");
        assert!(thai.len() >= 3 && thai.iter().all(|t| t.chars().count() >= 2), "{thai:?}");
        // Offsets point into the text.
        for t in words("蜡烛 and मोमबत्ती") {
            assert_eq!(&"蜡烛 and मोमबत्ती"[t.offset_from..t.offset_to], t.text);
        }
    }

    fn lang(s: &str, l: &str) -> Vec<String> {
        terms(s, l).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn each_language_is_analysed_by_its_own_rules() {
        // English (and unknown): as the one-analysis index did.
        assert_eq!(lang("The Candles burned brightly.", "en"), texts("The Candles burned brightly."));
        assert_eq!(lang("The Candles burned brightly.", ""), ["the", "candl", "burn", "bright"]);
        // Hindi: whole words (virama inside), Hindi-stemmed: "लड़कियों" and "लड़कियाँ" meet.
        assert_eq!(lang("मोमबत्ती", "hi"), ["मोमबत्त"]);
        assert_eq!(lang("लड़कियों", "hi"), lang("लड़कियाँ", "hi"));
        // Marathi has no stemmer: words are cut at the viramas, as before.
        assert_eq!(lang("मोमबत्ती", "mr"), ["मोमबत", "ती"]);
        // French is French-stemmed, not English-stemmed.
        assert_eq!(lang("les bougies", "fr"), ["le", "boug"]);
        // Chinese: bigrams in every language.
        assert_eq!(lang("蜡烛火焰", "zh"), ["蜡烛", "烛火", "火焰"]);
        for t in terms("मोमबत्ती की लौ", "hi") {
            assert!("मोमबत्ती की लौ".get(t.offset_from..t.offset_to).is_some());
        }
    }
}
