//! HTML and EPUB: readable text, with `h1`–`h6` as headings.

use std::collections::BTreeMap;
use std::io::Cursor;

use scraper::{ElementRef, Html, Node};

use crate::sections::DocBuilder;
use quarry_core::Section;

/// Elements whose content is never readable text.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "nav", "head", "iframe", "object", "button", "form",
    "select",
];
/// Elements that end a paragraph.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "figure",
    "figcaption",
    "header",
    "footer",
    "aside",
    "hr",
    "address",
    "body",
    "html",
    "caption",
];

struct Walker<'b> {
    b: &'b mut DocBuilder,
    para: String,
    /// The document's `<h1>` when there is no `<title>`.
    first_h1: Option<String>,
}

impl Walker<'_> {
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.para);
        let lines: Vec<String> = text.lines().map(crate::text::squash_whitespace).filter(|l| !l.is_empty()).collect();
        self.b.block(&lines.join("\n"));
    }

    fn walk(&mut self, el: ElementRef<'_>) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.para.push_str(t),
                Node::Element(e) => {
                    let name = e.name();
                    if SKIP.contains(&name) {
                        continue;
                    }
                    let Some(child_el) = ElementRef::wrap(child) else {
                        continue;
                    };
                    if let Some(level) = heading_level(name) {
                        self.flush();
                        let title = crate::text::squash_whitespace(&child_el.text().collect::<String>());
                        if level == 1 && self.first_h1.is_none() {
                            self.first_h1 = Some(title.clone());
                        }
                        self.b.heading(level, &title);
                    } else if name == "br" {
                        self.para.push('\n');
                    } else if name == "pre" {
                        self.flush();
                        self.b.block(&child_el.text().collect::<String>());
                    } else if BLOCK.contains(&name) {
                        self.flush();
                        self.walk(child_el);
                        self.flush();
                    } else {
                        if matches!(name, "td" | "th") {
                            self.para.push(' ');
                        }
                        self.walk(child_el);
                    }
                }
                _ => {}
            }
        }
    }
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Readable text of an HTML page, appended to `b`. Returns the page's title
/// (`<title>`, else its first `<h1>`).
pub fn html_into(html: &str, b: &mut DocBuilder) -> Option<String> {
    let doc = Html::parse_document(html);
    let title = doc
        .select(&scraper::Selector::parse("title").expect("valid selector"))
        .next()
        .map(|t| crate::text::squash_whitespace(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let mut w = Walker { b, para: String::new(), first_h1: None };
    w.walk(doc.root_element());
    w.flush();
    title.or(w.first_h1)
}

/// An HTML file as a document: (title, text, sections).
pub fn load_html(html: &str, fallback_title: &str) -> (String, String, Vec<Section>) {
    // The title is only known after parsing; the root of the heading paths is
    // fixed after the fact.
    let mut b = DocBuilder::new(fallback_title);
    let title = html_into(html, &mut b).unwrap_or_else(|| fallback_title.to_owned());
    let (text, mut sections) = b.finish();
    for s in &mut sections {
        s.heading_path[0] = title.clone();
    }
    (title, text, sections)
}

/// A book read from an EPUB file.
#[derive(Debug)]
pub struct Book {
    pub title: String,
    pub text: String,
    pub sections: Vec<Section>,
    pub metadata: BTreeMap<String, String>,
}

/// An EPUB book as one document, chapters in spine order, each under its
/// table-of-contents title.
pub fn load_epub(bytes: Vec<u8>, fallback_title: &str) -> Result<Book, String> {
    let mut book =
        epub::doc::EpubDoc::from_reader(Cursor::new(bytes)).map_err(|e| format!("not a readable EPUB: {e}"))?;
    let title = book.get_title().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| fallback_title.to_owned());
    let mut metadata = BTreeMap::new();
    for key in ["creator", "language", "publisher", "date"] {
        if let Some(item) = book.mdata(key) {
            metadata.insert(if key == "creator" { "author".to_owned() } else { key.to_owned() }, item.value.clone());
        }
    }
    // Table-of-contents titles by content path (without fragment).
    let mut toc_titles: BTreeMap<String, String> = BTreeMap::new();
    fn collect(points: &[epub::doc::NavPoint], out: &mut BTreeMap<String, String>) {
        for p in points {
            let path = p.content.to_string_lossy();
            let path = path.split('#').next().unwrap_or_default().to_owned();
            out.entry(path).or_insert_with(|| crate::text::squash_whitespace(&p.label));
            collect(&p.children, out);
        }
    }
    collect(&book.toc, &mut toc_titles);
    let mut b = DocBuilder::new(&title);
    let spine: Vec<String> = book.spine.iter().map(|s| s.idref.clone()).collect();
    for idref in spine {
        let Some((path, mime)) = book.resources.get(&idref).map(|r| (r.path.clone(), r.mime.clone())) else {
            continue;
        };
        if !mime.contains("html") {
            continue;
        }
        let Some((content, _)) = book.get_resource_str(&idref) else {
            return Err(format!("chapter {} cannot be read", path.display()));
        };
        let key = path.to_string_lossy().into_owned();
        let chapter_title =
            toc_titles.iter().find(|(k, _)| key.ends_with(k.as_str()) || k.ends_with(&key)).map(|(_, v)| v.clone());
        if let Some(t) = &chapter_title {
            b.heading(1, t);
        }
        let mut inner = DocBuilder::new("");
        html_into(&content, &mut inner);
        let (chapter_text, _) = inner.finish();
        // Headings inside a chapter are kept as text under the chapter title;
        // a chapter's own <h1> usually repeats its table-of-contents title.
        let body = match &chapter_title {
            Some(t) => chapter_text.strip_prefix(t.as_str()).unwrap_or(&chapter_text).to_owned(),
            None => chapter_text,
        };
        b.block(&body);
    }
    let (text, sections) = b.finish();
    Ok(Book { title, text, sections, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_headings_and_readable_text() {
        let html = "<html><head><title>Candles</title><style>p{}</style></head><body><nav>menu</nav>\
                    <h1>Candles</h1><p>Wax   burns.</p><h2>Flame</h2><p>Hot<br>bright &amp; <b>yellow</b>.</p>\
                    <script>evil()</script><ul><li>one</li><li>two</li></ul></body></html>";
        let (title, text, sections) = load_html(html, "fallback");
        assert_eq!(title, "Candles");
        assert!(!text.contains("evil") && !text.contains("menu") && !text.contains("p{}"), "{text}");
        let paths: Vec<(String, &str)> =
            sections.iter().map(|s| (s.heading_path.join("/"), s.span.slice(&text).unwrap())).collect();
        assert_eq!(
            paths,
            vec![
                ("Candles/Candles".into(), "Wax burns."),
                ("Candles/Candles/Flame".into(), "Hot\nbright & yellow.\n\none\n\ntwo")
            ]
        );
    }
}
