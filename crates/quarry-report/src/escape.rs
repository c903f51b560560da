//! Escaping for the contexts this crate writes into: HTML text and attributes, terminals,
//! YAML scalars and Markdown prose.

use std::fmt::Write as _;

/// Appends `s` to `out` with `& < > " '` escaped; safe in HTML text and in quoted
/// attribute values.
pub(crate) fn push_html(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// `s` escaped for HTML text or a quoted attribute value.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_html(&mut out, s);
    out
}

/// Whether a character would move the cursor, change colours or otherwise act on a
/// terminal instead of printing (C0 controls other than newline and tab, DEL, C1
/// controls, bidi overrides and isolates).
fn is_terminal_control(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with terminal control characters shown as `\u{..}` so that corpus or model text
/// cannot drive the terminal.
pub(crate) fn terminal(s: &str) -> String {
    if !s.chars().any(is_terminal_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_terminal_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` as a YAML double-quoted scalar, readable by YAML 1.1 and 1.2 parsers alike
/// (line separators and non-printable characters escaped).
pub(crate) fn yaml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as one line of Markdown prose: HTML-escaped, line breaks folded to spaces and
/// Markdown punctuation that could start links, emphasis or code escaped.
pub(crate) fn markdown_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_all_five() {
        assert_eq!(html(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        assert_eq!(html("naïve — ü"), "naïve — ü");
    }

    #[test]
    fn terminal_neutralises_escapes() {
        assert_eq!(terminal("a\x1b[31mb\nc\td"), "a\\u{1b}[31mb\nc\td");
        assert_eq!(terminal("\u{202e}x"), "\\u{202e}x");
    }

    #[test]
    fn yaml_strings_are_quoted() {
        assert_eq!(yaml_str("a \"b\" \\ c\u{2028}"), "\"a \\\"b\\\" \\\\ c\\u2028\"");
        assert_eq!(yaml_str("naïve"), "\"naïve\"");
    }

    #[test]
    fn markdown_inline_escapes() {
        assert_eq!(markdown_inline("<b>[x](y)</b>\n*z*"), "&lt;b&gt;\\[x\\](y)&lt;/b&gt; \\*z\\*");
    }
}
