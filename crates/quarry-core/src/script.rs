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
