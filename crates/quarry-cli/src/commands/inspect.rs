//! `quarry inspect`.

use std::io::{BufWriter, Write};

use anyhow::{Context, Result};

use crate::args::InspectArgs;
use crate::exit;

pub fn run(a: InspectArgs) -> Result<u8> {
    let store = super::open_store(&a.dir)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if !a.jsonl {
        let m = store.manifest();
        writeln!(out, "store     {}", a.dir.display())?;
        writeln!(out, "format    {} v{}", m.format, m.version)?;
        writeln!(
            out,
            "chunker   {} ({}..{} tokens, overlap {})",
            m.chunker.tokenizer, m.chunker.target_tokens, m.chunker.max_tokens, m.chunker.overlap_tokens
        )?;
        writeln!(out, "documents {}", m.counts.documents)?;
        writeln!(out, "chunks    {}", m.counts.chunks)?;
        writeln!(out, "text      {:.2} MB", m.counts.text_bytes as f64 / 1e6)?;
        // Documents per language, over every source (stores written before languages were
        // counted show none).
        let mut languages: std::collections::BTreeMap<&str, u64> = Default::default();
        for s in m.sources.values() {
            for (l, n) in &s.languages {
                *languages.entry(if l.is_empty() { "unknown" } else { l }).or_default() += n;
            }
        }
        if !languages.is_empty() {
            let mut by_count: Vec<(&str, u64)> = languages.into_iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = by_count.iter().map(|(l, n)| format!("{l} {n}")).collect();
            writeln!(out, "languages {} (documents)", shown.join(", "))?;
        }
        writeln!(out, "sources   {}", m.sources.len())?;
        for (key, s) in &m.sources {
            let state = if s.complete { "" } else { " (incomplete: run ingest again to resume)" };
            let langs: Vec<&str> =
                s.languages.keys().map(|l| if l.is_empty() { "unknown" } else { l.as_str() }).collect();
            let langs = if langs.is_empty() { String::new() } else { format!(", {}", langs.join("+")) };
            writeln!(out, "  {key}  {} docs, {} chunks, {}{langs}{state}", s.documents, s.chunks, s.format)?;
        }
        out.flush()?;
        return Ok(exit::OK);
    }
    for item in store.documents() {
        let (doc, chunks) = item.with_context(|| format!("read {}", a.dir.display()))?;
        let mut row = serde_json::to_value(&doc)?;
        row.as_object_mut().expect("object").insert("type".into(), "document".into());
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n")?;
        for c in &chunks {
            let mut row = serde_json::to_value(c)?;
            row.as_object_mut().expect("object").insert("type".into(), "chunk".into());
            serde_json::to_writer(&mut out, &row)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}
