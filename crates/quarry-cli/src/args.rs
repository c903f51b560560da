//! Command-line arguments. Each subcommand's doc comment is its `--help`,
//! ending in an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "Exit status: 0 success; 1 nothing to work with (no input could be ingested, \
the chunk id is not in the store); 2 error (bad arguments, unreadable or unwritable files).";

/// Turn a corpus into grounded synthetic training data.
///
/// quarry reads books, Wikipedia dumps and document folders, splits them into
/// chunks with exact byte spans, and (in later stages) generates question and
/// answer records whose every citation points at a verified span.
#[derive(Debug, Parser)]
#[command(name = "quarry", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug); QUARRY_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bar and no summary; errors are still printed.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Ingest(IngestArgs),
    Show(ShowArgs),
    Inspect(InspectArgs),
}

/// Read files and directories into normalised documents and chunks.
///
/// Reads plain text and Markdown, Project Gutenberg books (header, licence and
/// footer removed), Wikipedia XML dumps (.xml, .xml.bz2, multistream), HTML,
/// EPUB and JSONL (one {"id","title","text"} object per line; BEIR's
/// corpus.jsonl as is). Directories are walked recursively. Each document is
/// split into chunks of about --target-tokens tokens of the embedding model's
/// tokenizer; a chunk never crosses a section boundary.
///
/// The output directory is a store: manifest.json plus append-only segments.
/// Running again on the same directory skips unchanged sources, re-reads
/// changed ones, and resumes a source that an interrupted run left half done.
/// Inputs that cannot be read are skipped, named and counted in the summary.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry ingest corpora/ --out indexes/sample\n  quarry ingest books/ wiki.xml.bz2 --out store --exclude '*.md' --json"
)]
pub struct IngestArgs {
    /// Files or directories to read.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The store directory to write (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    /// tokenizer.json of the embedding model that sizes chunks
    /// [default: $QUARRY_CACHE/models/all-MiniLM-L6-v2/tokenizer.json, made by scripts/setup.sh].
    #[arg(long, env = "QUARRY_TOKENIZER")]
    pub tokenizer: Option<PathBuf>,
    /// Preferred chunk size in tokens.
    #[arg(long, default_value_t = 200)]
    pub target_tokens: usize,
    /// Largest chunk size in tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Tokens that neighbouring chunks share.
    #[arg(long, default_value_t = 0)]
    pub overlap: usize,
    /// Only read files whose path or name matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files whose path or name matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Remove sources that are in the store but not among the inputs.
    #[arg(long)]
    pub prune: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Commit a segment once this many bytes are written to it (tuning and tests).
    #[arg(long, hide = true, default_value_t = 64 << 20)]
    pub commit_bytes: u64,
}

/// Print a chunk with its heading path and the text around it.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry show 3f9c0e1a2b4d5e6f-12 --in indexes/sample")]
pub struct ShowArgs {
    /// The chunk id (<document id>-<number>), as in `quarry inspect` or a record's citation.
    pub chunk_id: String,
    /// The store, index or run directory to look in.
    #[arg(long = "in", env = "QUARRY_STORE", value_name = "DIR")]
    pub dir: PathBuf,
    /// Characters of surrounding text to show on each side.
    #[arg(long, default_value_t = 300)]
    pub context: usize,
    /// Print the chunk as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Describe a store, or stream every document and chunk as JSON lines.
///
/// With --jsonl, prints one {"type":"document", id, source, title, text, ...}
/// line per document followed by one {"type":"chunk", id, doc_id,
/// heading_path, span: [start, end], token_count, text} line per chunk, where
/// text == document.text[span] (byte offsets).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry inspect indexes/sample\n  quarry inspect indexes/sample --jsonl | jq -c 'select(.type == \"chunk\") | .heading_path'"
)]
pub struct InspectArgs {
    /// The store, index or run directory.
    pub dir: PathBuf,
    /// Stream documents and chunks as JSON lines on stdout.
    #[arg(long)]
    pub jsonl: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
