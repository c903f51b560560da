//! Question filters: a question must stand on its own, have a sensible length, and not be
//! a copy of a sentence of its passage. A filtered question is recorded with the reason.

use std::sync::OnceLock;

use regex::Regex;

/// Why a question was filtered out: (reason code, detail).
pub fn check_question(question: &str, passages: &[&str]) -> Result<(), (&'static str, String)> {
    let q = question.trim();
    let words = q.split_whitespace().count();
    if words < 4 {
        return Err(("too_short", format!("{words} words; at least 4 are needed")));
    }
    if words > 45 {
        return Err(("too_long", format!("{words} words; at most 45")));
    }
    if !q.ends_with('?') {
        return Err(("not_a_question", "does not end with a question mark".into()));
    }
    static NOT_STANDALONE: OnceLock<Regex> = OnceLock::new();
    let re = NOT_STANDALONE.get_or_init(|| {
        Regex::new(
            r"(?i)\b(according to (the|this) (passage|text|excerpt|article|author|book|chapter)|the (passage|excerpt|given text|above text|text above|author|writer)|(this|the following|above) (passage|text|excerpt|article|chapter|section)|in the text|mentioned above|described above)\b",
        )
        .expect("valid regex")
    });
    if let Some(m) = re.find(q) {
        return Err(("not_standalone", format!("refers to its source (\"{}\")", m.as_str())));
    }
    let qn = normalise(q.trim_end_matches('?'));
    for p in passages {
        if qn.len() >= 20 && normalise(p).contains(&qn) {
            return Err(("copies_passage", "the question is a sentence of the passage".into()));
        }
        let qw: std::collections::HashSet<&str> = qn.split(' ').collect();
        for sentence in p.split(['.', '!', '?', '\n']) {
            let sn = normalise(sentence);
            let sw: std::collections::HashSet<&str> = sn.split(' ').filter(|w| !w.is_empty()).collect();
            if sw.len() >= 6 {
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

fn normalise(s: &str) -> String {
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

    const P: &str = "The candle flame is hollow. Hot air rises from the flame and draws fresh air in below.";

    #[test]
    fn filters() {
        assert!(check_question("Why does hot air rise above a candle flame?", &[P]).is_ok());
        assert_eq!(check_question("What does the passage say about flames?", &[P]).unwrap_err().0, "not_standalone");
        assert_eq!(check_question("According to the author, why?", &[P]).unwrap_err().0, "not_standalone");
        assert_eq!(check_question("Flames?", &[P]).unwrap_err().0, "too_short");
        assert_eq!(
            check_question("Hot air rises from the flame and draws fresh air in below?", &[P]).unwrap_err().0,
            "copies_passage"
        );
        assert_eq!(check_question("Hot air rises from a flame", &[P]).unwrap_err().0, "not_a_question");
    }
}
