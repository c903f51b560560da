//! Wikipedia XML dumps (`.xml`, or compressed with bzip2, gzip, xz or zstd; multistream
//! included), read page by page in constant memory, and wikitext turned into clean prose.
//!
//! Wikitext is parsed with the `wikrs` crate (a linear-time block parser that
//! marks what it cannot structure instead of guessing); this module walks its
//! tree, keeps prose, lists and link text, and drops templates, tables, refs,
//! files, categories and interwiki links. Pages are bounded in size before
//! they reach the parser, so one pathological page cannot stall a dump.

use std::io::BufRead;
use std::sync::{Arc, LazyLock};

use quick_xml::Reader;
use quick_xml::events::Event;
use regex::Regex;
use wikrs::ast::Node;

use crate::sections::DocBuilder;
use quarry_core::Section;

/// Largest page (wikitext bytes) converted; the largest real articles are
/// about 1.5 MB.
pub const MAX_PAGE_BYTES: usize = 8 << 20;

/// One `<page>` of a dump.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub id: u64,
    pub title: String,
    pub ns: i64,
    pub redirect: bool,
    pub text: String,
    /// The page's text was longer than [`MAX_PAGE_BYTES`] and was cut off.
    pub too_large: bool,
    /// What the dump's `<siteinfo>` says (shared by every page of the dump).
    pub site: Arc<SiteInfo>,
}

/// What a dump's `<siteinfo>` says: the wiki's language and the names of its namespaces, in
/// its own language (`वर्ग` is the Marathi Wikipedia's Category, `चित्र` its File).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteInfo {
    /// The `xml:lang` of `<mediawiki>` ("mr"); empty when the dump does not say.
    pub lang: String,
    /// Every namespace but the articles' (key 0): key and name, as the dump spells them.
    pub namespaces: Vec<(i64, String)>,
}

impl SiteInfo {
    /// Whether `prefix` (a link target's text before its first ':') names one of the dump's
    /// namespaces other than the articles', in any letter case.
    pub fn is_namespace(&self, prefix: &str) -> bool {
        let p = prefix.trim().trim_start_matches(':').trim().to_lowercase();
        !p.is_empty() && self.namespaces.iter().any(|(_, n)| n.to_lowercase() == p)
    }

    /// Whether `prefix` names the dump's file namespace (6) or media namespace (-2).
    fn is_file(&self, prefix: &str) -> bool {
        let p = prefix.trim().to_lowercase();
        self.namespaces.iter().any(|(k, n)| (*k == 6 || *k == -2) && n.to_lowercase() == p)
    }
}

/// Where a dump could not be read further.
#[derive(Debug)]
pub struct DumpError {
    /// `after page 12 "Title"` or `before the first page`.
    pub locator: String,
    pub message: String,
    pub truncated: bool,
}

/// Streams pages out of dump XML.
pub struct Pages<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    last: Option<(u64, String)>,
    done: bool,
    site: Arc<SiteInfo>,
    /// The namespace being read in `<siteinfo>`: its key and name so far.
    namespace: Option<(i64, String)>,
}

impl<R: BufRead> Pages<R> {
    pub fn new(read: R) -> Self {
        let mut reader = Reader::from_reader(read);
        reader.config_mut().trim_text(false);
        Pages {
            reader,
            buf: Vec::with_capacity(1 << 16),
            last: None,
            done: false,
            site: Arc::default(),
            namespace: None,
        }
    }

    /// What the dump's `<siteinfo>` said (complete once the first page has been read).
    pub fn site(&self) -> &SiteInfo {
        &self.site
    }

    fn error(&self, message: String, truncated: bool) -> DumpError {
        let locator = match &self.last {
            Some((id, title)) => format!("after page {id} {title:?}"),
            None => "before the first page".to_owned(),
        };
        let pos = self.reader.buffer_position();
        DumpError { locator, message: format!("{message} (at XML byte {pos})"), truncated }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    Title,
    Ns,
    Id,
    Text,
}

fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

impl<R: BufRead> Iterator for Pages<R> {
    type Item = Result<Page, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut page: Option<Page> = None;
        let mut field = Field::None;
        let mut depth_in_page = 0usize;
        let mut id_text = String::new();
        let mut ns_text = String::new();
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => {
                    self.done = true;
                    let truncated = matches!(&e, quick_xml::Error::Io(io) if io.kind() != std::io::ErrorKind::InvalidData)
                        || e.to_string().to_lowercase().contains("eof");
                    let msg = if truncated {
                        format!("archive is truncated or corrupt: {e}")
                    } else {
                        format!("malformed XML: {e}")
                    };
                    return Some(Err(self.error(msg, truncated)));
                }
            };
            match event {
                Event::Start(e) => {
                    let name = e.name();
                    if page.is_none() {
                        match name.as_ref() {
                            b"mediawiki" => {
                                if let Some(a) = e.try_get_attribute("xml:lang").ok().flatten() {
                                    Arc::make_mut(&mut self.site).lang =
                                        String::from_utf8_lossy(&a.value).trim().to_owned();
                                }
                            }
                            b"namespace" => {
                                let key = e
                                    .try_get_attribute("key")
                                    .ok()
                                    .flatten()
                                    .and_then(|a| String::from_utf8_lossy(&a.value).trim().parse().ok());
                                self.namespace = key.map(|k| (k, String::new()));
                            }
                            _ => {}
                        }
                    }
                    if name.as_ref() == b"page" {
                        page = Some(Page { site: self.site.clone(), ..Page::default() });
                        depth_in_page = 0;
                        id_text.clear();
                        ns_text.clear();
                        continue;
                    }
                    if page.is_some() {
                        depth_in_page += 1;
                        field = match (name.as_ref(), depth_in_page) {
                            (b"title", 1) => Field::Title,
                            (b"ns", 1) => Field::Ns,
                            (b"id", 1) => Field::Id,
                            (b"text", _) => Field::Text,
                            (b"redirect", 1) => {
                                if let Some(p) = page.as_mut() {
                                    p.redirect = true;
                                }
                                Field::None
                            }
                            _ => Field::None,
                        };
                    }
                }
                Event::Empty(e) => {
                    if e.name().as_ref() == b"redirect"
                        && let Some(p) = page.as_mut()
                    {
                        p.redirect = true;
                    }
                }
                Event::End(e) => {
                    if e.name().as_ref() == b"namespace" {
                        if let Some((key, name)) = self.namespace.take()
                            && key != 0
                            && !name.trim().is_empty()
                        {
                            Arc::make_mut(&mut self.site).namespaces.push((key, name.trim().to_owned()));
                        }
                        continue;
                    }
                    if e.name().as_ref() == b"page" {
                        if let Some(mut p) = page.take() {
                            p.id = id_text.trim().parse().unwrap_or(0);
                            p.ns = ns_text.trim().parse().unwrap_or(0);
                            self.last = Some((p.id, p.title.clone()));
                            return Some(Ok(p));
                        }
                    } else if page.is_some() {
                        depth_in_page = depth_in_page.saturating_sub(1);
                        field = Field::None;
                    }
                }
                Event::Text(t) => {
                    if let Some((_, name)) = self.namespace.as_mut() {
                        name.push_str(&t.decode().unwrap_or_default());
                        continue;
                    }
                    if let Some(p) = page.as_mut() {
                        let s = match t.decode() {
                            Ok(s) => s,
                            Err(e) => {
                                self.done = true;
                                return Some(Err(self.error(format!("bad text encoding: {e}"), false)));
                            }
                        };
                        push_field(p, field, &s, &mut id_text, &mut ns_text);
                    }
                }
                Event::CData(t) => {
                    if let Some(p) = page.as_mut() {
                        let s = String::from_utf8_lossy(&t).into_owned();
                        push_field(p, field, &s, &mut id_text, &mut ns_text);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(p) = page.as_mut() {
                        let name = String::from_utf8_lossy(&r).into_owned();
                        let Some(c) = resolve_entity(&name) else {
                            self.done = true;
                            return Some(Err(self.error(format!("malformed XML: unknown entity &{name};"), false)));
                        };
                        push_field(p, field, c.encode_utf8(&mut [0; 4]), &mut id_text, &mut ns_text);
                    }
                }
                Event::Eof => {
                    self.done = true;
                    if page.is_some() {
                        return Some(Err(self.error("archive is truncated: the file ends inside a page".into(), true)));
                    }
                    return None;
                }
                _ => {}
            }
        }
    }
}

fn push_field(p: &mut Page, field: Field, s: &str, id: &mut String, ns: &mut String) {
    match field {
        Field::Title => p.title.push_str(s),
        Field::Ns => ns.push_str(s),
        Field::Id => id.push_str(s),
        Field::Text => {
            if p.text.len() + s.len() > MAX_PAGE_BYTES {
                p.too_large = true;
            } else {
                p.text.push_str(s);
            }
        }
        Field::None => {}
    }
}

static DISAMBIGUATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\{\{\s*(disambiguation|disambig|dab|hndis|geodis|numberdis|set index article|surname|given name)\s*[|}]",
    )
    .expect("valid regex")
});

/// Whether a page is a disambiguation page.
pub fn is_disambiguation(page: &Page) -> bool {
    page.title.ends_with("(disambiguation)") || DISAMBIGUATION.is_match(&page.text)
}

/// Link targets that are not prose: files, categories, other namespaces and
/// other-language wikis.
static NON_PROSE_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*:?\s*(file|image|media|category|wikipedia|wp|template|help|portal|draft|module|special|w|wikt|wiktionary|commons|s|q|n|b|v|voy|species|[a-z]{2,3}(-[a-z]+)?)\s*:")
        .expect("valid regex")
});

/// Turns a page's wikitext into text and sections (links of the English namespaces removed;
/// see [`render_in`] for a dump's own).
pub fn render(title: &str, wikitext: &str) -> (String, Vec<Section>) {
    render_in(title, wikitext, &SiteInfo::default())
}

/// [`render`] for a page of a dump whose `<siteinfo>` is `site`: links and gallery lines of
/// any of its namespaces, in its language, are removed too.
pub fn render_in(title: &str, wikitext: &str, site: &SiteInfo) -> (String, Vec<Section>) {
    let wikitext = &remove_galleries(wikitext);
    let wikitext = &remove_non_prose_links(wikitext, site);
    let parsed = wikrs::parser::parse(wikitext);
    let mut b = DocBuilder::new(title);
    for node in &parsed.nodes {
        match node {
            Node::Heading { level, content } => {
                let mut t = String::new();
                inline(content, &mut t);
                b.heading(*level, &clean(&t));
            }
            Node::Paragraph(children) => {
                let mut t = String::new();
                inline(children, &mut t);
                b.block(&clean(&t));
            }
            Node::List { items, .. } => {
                let mut t = String::new();
                list(items, &mut t);
                b.block(&clean(&t));
            }
            Node::Preformatted(lines) => {
                let mut t = String::new();
                for line in lines {
                    inline(line, &mut t);
                    t.push('\n');
                }
                b.block(&clean(&t));
            }
            Node::Table { .. } => {}
            Node::Unsupported(src) => {
                let s = src.trim_start();
                if s.starts_with("{|") || s.starts_with("{{") && s.trim_end().ends_with("}}") {
                    continue;
                }
                b.block(&clean(&strip_unsupported(src)));
            }
            other => {
                let mut t = String::new();
                inline(std::slice::from_ref(other), &mut t);
                b.block(&clean(&t));
            }
        }
    }
    b.finish()
}

fn inline(nodes: &[Node<'_>], out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(s) => out.push_str(s),
            Node::Bold(c) | Node::Italic(c) => inline(c, out),
            Node::Link { target, label } => {
                if !NON_PROSE_LINK.is_match(target) {
                    inline(label, out);
                }
            }
            Node::Heading { content, .. } => inline(content, out),
            Node::Paragraph(c) => {
                inline(c, out);
                out.push('\n');
            }
            Node::List { items, .. } => list(items, out),
            Node::Preformatted(lines) => {
                for l in lines {
                    inline(l, out);
                    out.push('\n');
                }
            }
            Node::Table { .. } => {}
            Node::Unsupported(s) => {
                if !s.trim_start().starts_with("{|") {
                    out.push_str(&strip_unsupported(s));
                }
            }
        }
    }
}

fn list(items: &[Vec<Node<'_>>], out: &mut String) {
    for item in items {
        let mut line = String::new();
        for node in item {
            if !matches!(node, Node::List { .. }) {
                inline(std::slice::from_ref(node), &mut line);
            }
        }
        let line = line.trim();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
        for node in item {
            if let Node::List { items, .. } = node {
                list(items, out);
            }
        }
    }
}

/// A block the parser could not structure: tables and non-prose links go
/// first (the stripper would keep their text), then the lossy stripper.
fn strip_unsupported(src: &str) -> String {
    let no_tables = remove_balanced(src, "{|", "|}");
    wikrs::extract::strip(&remove_non_prose_links(&no_tables, &SiteInfo::default()))
}

static GALLERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(gallery|imagemap)\b[^>]*>.*?(</(gallery|imagemap)\s*>|$)").expect("valid regex")
});

/// Removes `<gallery>` and `<imagemap>` blocks: lines of file names and captions, not prose.
fn remove_galleries(s: &str) -> String {
    if !s.contains('<') { s.to_owned() } else { GALLERY.replace_all(s, "").into_owned() }
}

/// Whether a line is a bare file entry ("चित्र:Chakali01.JPG|चकली", "File:X.jpg|thumb"), as
/// galleries and some templates leave them.
fn is_file_line(line: &str, site: &SiteInfo) -> bool {
    let Some((prefix, rest)) = line.trim().split_once(':') else { return false };
    let p = prefix.trim().to_lowercase();
    (matches!(p.as_str(), "file" | "image" | "media") || site.is_file(&p))
        && FILE_NAME.is_match(rest.split('|').next().unwrap_or_default())
}

static FILE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\.(jpe?g|png|gif|svg|tiff?|webp|ogg|ogv|oga|webm|pdf|djvu|mp3|wav|flac)\s*$").expect("valid regex")
});

/// Removes `[[File:…]]`, `[[Category:…]]`, `[[de:…]]` and the like, nested
/// links in captions included.
fn remove_non_prose_links(s: &str, site: &SiteInfo) -> String {
    let s = if site.namespaces.is_empty() && !s.contains(':') {
        s.to_owned()
    } else {
        s.lines().filter(|l| !is_file_line(l, site)).collect::<Vec<_>>().join("\n")
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("[[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let target_end = after.find(['|', ']']).unwrap_or(after.len());
        let target = &after[..target_end];
        // "[[:वर्ग:…]]" links to a category page: as little prose as "[[वर्ग:…]]".
        let own =
            target.trim_start().trim_start_matches(':').split_once(':').is_some_and(|(p, _)| site.is_namespace(p));
        if own || NON_PROSE_LINK.is_match(target) {
            let mut depth = 1usize;
            let mut j = 0;
            while j < after.len() && depth > 0 {
                if after[j..].starts_with("[[") {
                    depth += 1;
                    j += 2;
                } else if after[j..].starts_with("]]") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += after[j..].chars().next().map_or(1, char::len_utf8);
                }
            }
            rest = &after[j..];
        } else {
            out.push_str("[[");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<ref[^>]*/>|<ref[^>]*>.*?</ref>|<!--.*?(-->|$)|</?[a-z][a-z0-9]*(\s[^<>]*)?/?>")
        .expect("valid regex")
});
static ENTITY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&(#x?[0-9a-fA-F]+|[a-zA-Z]+);").expect("valid regex"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[ \t\u{a0}]{2,}").expect("valid regex"));
static EMPTY_PARENS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\(\s*[,;]?\s*\)").expect("valid regex"));

/// The last safety pass over rendered text: anything the parser left that is
/// still markup goes, entities become characters, spacing is tidied.
fn clean(s: &str) -> String {
    let s = TAG.replace_all(s, "");
    let s = remove_balanced(&s, "{{", "}}");
    let s = remove_balanced(&s, "{|", "|}");
    let s = s.replace("[[", "").replace("]]", "").replace("'''", "").replace("''", "");
    let s = ENTITY
        .replace_all(&s, |c: &regex::Captures<'_>| decode_entity(&c[1]).map_or_else(|| c[0].to_owned(), String::from));
    let s = EMPTY_PARENS.replace_all(&s, "");
    let s = SPACES.replace_all(&s, " ");
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let line = line.trim_end();
        out.push_str(line);
        out.push('\n');
    }
    out.replace(" ,", ",").replace(" .", ".").trim().to_owned()
}

fn decode_entity(name: &str) -> Option<char> {
    resolve_entity(name).or(match name {
        "nbsp" => Some(' '),
        "ndash" => Some('–'),
        "mdash" => Some('—'),
        "minus" => Some('−'),
        "times" => Some('×'),
        "deg" => Some('°'),
        "hellip" => Some('…'),
        "lsquo" => Some('‘'),
        "rsquo" => Some('’'),
        "ldquo" => Some('“'),
        "rdquo" => Some('”'),
        "middot" => Some('·'),
        "thinsp" | "ensp" | "emsp" => Some(' '),
        _ => None,
    })
}

/// Removes every `open … close` run, nesting included; an unclosed opener
/// removes the rest of the text (that is what MediaWiki would show as markup).
fn remove_balanced(s: &str, open: &str, close: &str) -> String {
    if !s.contains(open) && !s.contains(close) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if s[i..].starts_with(open) {
            depth += 1;
            i += open.len();
        } else if depth > 0 && s[i..].starts_with(close) {
            depth -= 1;
            i += close.len();
        } else if depth == 0 && s[i..].starts_with(close) {
            i += close.len();
        } else {
            let ch = s[i..].chars().next().expect("in bounds");
            if depth == 0 {
                out.push(ch);
            }
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"<mediawiki><siteinfo><sitename>W</sitename></siteinfo>
<page><title>Albedo</title><ns>0</ns><id>39</id><revision><id>7</id><text xml:space="preserve">{{Infobox thing|a=b}}
'''Albedo''' is the [[diffuse reflection|reflectivity]] of a surface.&lt;ref&gt;Smith 2001&lt;/ref&gt; [[File:X.png|thumb|A picture]]

== Terrestrial albedo ==
Snow has a high albedo.
{| class="wikitable"
|-
| a || b
|}
=== Trees ===
* Forests are dark.
* Deserts are bright &amp; hot.
[[Category:Physics]]
[[de:Albedo]]
</text></revision></page>
<page><title>AccessibleComputing</title><ns>0</ns><id>10</id><redirect title="Computer accessibility" /><revision><text>#REDIRECT [[Computer accessibility]]</text></revision></page>
</mediawiki>"#;

    /// A Marathi dump's own namespace names (वर्ग for Category, चित्र for File) come from its
    /// `<siteinfo>`, and no link, category or gallery line of any namespace is left.
    #[test]
    fn namespaces_come_from_the_dumps_siteinfo() {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
        let path = std::path::Path::new(&dir).join("../../tests/fixtures/wiki/mrwiki-sample.xml");
        let xml = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut pages = Pages::new(&xml[..]);
        let all: Vec<Page> = pages.by_ref().map(|p| p.unwrap()).collect();
        assert_eq!(all.len(), 7);
        let site = pages.site();
        assert_eq!(site.lang, "mr");
        assert!(site.namespaces.contains(&(14, "वर्ग".to_owned())), "{site:?}");
        assert!(site.namespaces.contains(&(6, "चित्र".to_owned())), "{site:?}");
        assert!(site.is_namespace("वर्ग") && site.is_namespace(":वर्ग") && !site.is_namespace("वेद"));
        let mut prose = 0;
        for p in &all {
            assert_eq!(*p.site, *site);
            assert!(p.text.contains("[[वर्ग:"), "{}: the fixture should hold category links", p.title);
            let (text, _) = render_in(&p.title, &p.text, &p.site);
            for bad in ["वर्ग:", "चित्र:", "File:", "[[", "]]", "thumb", ".jpg", ".JPG"] {
                assert!(!text.contains(bad), "{}: {bad:?} left in\n{text}", p.title);
            }
            prose += text.chars().filter(|c| c.is_alphabetic()).count();
        }
        assert!(prose > 2000, "the prose itself is kept ({prose} letters)");
    }

    #[test]
    fn reads_pages_and_renders_prose() {
        let pages: Vec<Page> = Pages::new(DUMP.as_bytes()).map(|p| p.unwrap()).collect();
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[0].id, pages[0].title.as_str(), pages[0].redirect), (39, "Albedo", false));
        assert!(pages[1].redirect);
        let (text, sections) = render(&pages[0].title, &pages[0].text);
        for bad in ["{{", "}}", "[[", "]]", "{|", "|}", "<ref", "Category", "thumb", "de:"] {
            assert!(!text.contains(bad), "{bad:?} left in {text:?}");
        }
        assert!(text.starts_with("Albedo is the reflectivity of a surface."), "{text}");
        assert!(text.contains("Deserts are bright & hot."), "{text}");
        let paths: Vec<String> = sections.iter().map(|s| s.heading_path.join(" › ")).collect();
        assert_eq!(paths, ["Albedo", "Albedo › Terrestrial albedo", "Albedo › Terrestrial albedo › Trees"]);
    }

    #[test]
    fn truncated_and_malformed_dumps_are_errors() {
        let cut = &DUMP[..DUMP.find("== Terrestrial").unwrap()];
        let results: Vec<_> = Pages::new(cut.as_bytes()).collect();
        let err = results.last().unwrap().as_ref().unwrap_err();
        assert!(err.truncated, "{}", err.message);
        let bad = DUMP.replace("</title><ns>0</ns><id>10", "</titl><ns>0</ns><id>10");
        let results: Vec<_> = Pages::new(bad.as_bytes()).collect();
        assert!(results[0].is_ok());
        let err = results[1].as_ref().unwrap_err();
        assert!(err.locator.contains("39"), "{}", err.locator);
    }

    #[test]
    fn pathological_markup_finishes() {
        let nasty = format!("{}{}", "{{a|".repeat(20_000), "[[b|".repeat(20_000));
        let (text, _) = render("X", &nasty);
        assert!(!text.contains("{{"));
    }
}
