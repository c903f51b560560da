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

/// The byte ranges of the bigrams of an unspaced run, given as each character's range (a
/// combining mark already joined to its character); a run of one character is itself.
pub fn bigrams(run: &[(usize, usize)]) -> Vec<(usize, usize)> {
    match run.len() {
        0 => Vec::new(),
        1 => vec![run[0]],
        _ => run.windows(2).map(|w| (w[0].0, w[1].1)).collect(),
    }
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
