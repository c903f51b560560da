//! Words for BM25 in every script. Runs of scripts written without spaces between words (Han,
//! Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) become overlapping character bigrams, which
//! retrieve such text well without a dictionary segmenter; tantivy's simple tokenizer made
//! each such run one token. Other text is cut into runs of letters and digits, as before.
//! Keeping Devanagari words whole (their vowel signs and viramas inside, by Unicode word
//! boundaries) was measured and retrieved worse on XQuAD Hindi (bm25 nDCG@10 0.928 against
//! 0.939 for runs cut at the marks) without a Hindi stemmer, so that waits for per-language
//! analysis. Tokens are then lower-cased and English-stemmed (the stemmer leaves words of
//! other scripts as they are).
//!
//! Indexes built before this analyzer keep tantivy's `en_stem`: their schema names it, and a
//! query is always analysed by its field's own analyzer.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// The analyzer's name in the index schema.
pub const NAME: &str = "quarry_words";

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
}
