//! `quarry show`.

use anyhow::{Context, Result};
use quarry_core::{ChunkId, heading_path_display};

use crate::args::ShowArgs;
use crate::exit;

pub fn run(a: ShowArgs) -> Result<u8> {
    let id: ChunkId = a.chunk_id.parse()?;
    let store = super::open_store(&a.dir)?;
    let Some((doc, chunks, pos)) = store.find_chunk(&id).with_context(|| format!("read {}", a.dir.display()))? else {
        eprintln!("error: chunk {id} is not in {}", a.dir.display());
        return Ok(exit::NOTHING);
    };
    let chunk = &chunks[pos];
    if a.json {
        println!(
            "{}",
            serde_json::to_string(
                &serde_json::json!({"type": "chunk", "data": chunk, "title": doc.title, "source": doc.source})
            )?
        );
        return Ok(exit::OK);
    }
    let text = &doc.text;
    let start = floor(text, chunk.span.start().saturating_sub(a.context));
    let end = floor(text, (chunk.span.end() + a.context).min(text.len()));
    println!("chunk    {}", chunk.id);
    println!(
        "document {} ({}{})",
        doc.id,
        doc.source,
        if doc.locator.is_empty() { String::new() } else { format!(", {}", doc.locator) }
    );
    println!("title    {}", doc.title);
    println!("heading  {}", heading_path_display(&chunk.heading_path));
    println!("span     {} ({} tokens)", chunk.span, chunk.token_count);
    println!("---");
    println!("{}", text[start..chunk.span.start()].trim_start());
    println!(">>>>>>>> chunk starts");
    println!("{}", chunk.text);
    println!("<<<<<<<< chunk ends");
    println!("{}", text[chunk.span.end()..end].trim_end());
    Ok(exit::OK)
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
