//! What the report's test files share.

/// `html` without the marks of question terms (`<span class="qt">word</span>` → `word`).
pub fn unmark(html: &str) -> String {
    let (open, close) = ("<span class=\"qt\">", "</span>");
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        let after = &rest[i + open.len()..];
        let j = after.find(close).expect("a closed mark");
        out.push_str(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out.push_str(rest);
    out
}
