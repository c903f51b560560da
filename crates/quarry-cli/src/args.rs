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
    Index(IndexArgs),
    Search(SearchArgs),
    Show(ShowArgs),
    Inspect(InspectArgs),
    #[command(subcommand)]
    Eval(EvalCommand),
}

/// Ingest settings shared by `ingest` and `index`.
#[derive(Debug, Args, Clone)]
pub struct ChunkArgs {
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
}

/// How hybrid search fuses its two rankings.
#[derive(Debug, Args, Clone)]
pub struct FusionArgs {
    /// How hybrid fuses: zscore (weighted sum of z-normalised scores) or rrf
    /// (reciprocal rank fusion with --rrf-k).
    #[arg(long, default_value = "zscore", value_parser = ["zscore", "rrf"])]
    pub fusion: String,
    /// Reciprocal rank fusion constant.
    #[arg(long, default_value_t = 60.0)]
    pub rrf_k: f32,
    /// Weight of BM25 in fusion.
    #[arg(long, default_value_t = 1.0)]
    pub bm25_weight: f32,
    /// Weight of dense retrieval in fusion.
    #[arg(long, default_value_t = 1.0)]
    pub dense_weight: f32,
}

impl FusionArgs {
    /// These settings on top of `base`.
    pub fn apply(&self, base: quarry_index::SearchOptions) -> anyhow::Result<quarry_index::SearchOptions> {
        Ok(quarry_index::SearchOptions {
            fusion: self.fusion.parse()?,
            rrf_k: self.rrf_k,
            bm25_weight: self.bm25_weight,
            dense_weight: self.dense_weight,
            ..base
        })
    }
}

/// The embedding model.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Embedding model: `default` (all-MiniLM-L6-v2 from scripts/setup.sh), a model
    /// directory (ONNX + tokenizer files + quarry-model.json), or a fastembed catalogue
    /// name such as BAAI/bge-small-en-v1.5 (downloaded; needs the model hub).
    #[arg(long, env = "QUARRY_MODEL", default_value = "default")]
    pub model: String,
    /// Weights of a model directory to run: int8 (faster) or fp32.
    #[arg(long, default_value = "int8", value_parser = ["int8", "fp32"])]
    pub precision: String,
    /// ONNX Runtime threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Build or update a search index: BM25 plus vectors over the chunks of a corpus.
///
/// Ingests the given files and directories into <index>/store (or reads an
/// existing ingest output directory given as the only path), then embeds and
/// indexes every new or changed document. Unchanged documents cost nothing;
/// documents whose sources are gone are removed with --prune. Vectors live in
/// embedded Qdrant inside the index by default, or in a Qdrant server
/// collection with --vectors qdrant://host:6334/collection (API key from
/// QDRANT_API_KEY). A kill at any moment leaves the last committed index
/// usable; running again completes it.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry index corpora --name sample\n  quarry index books/ --out /data/idx --vectors qdrant://localhost:6334/books --precision fp32"
)]
pub struct IndexArgs {
    /// Files, directories, or one ingest output directory.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Build indexes/<NAME>.
    #[arg(long, conflicts_with = "out")]
    pub name: Option<String>,
    /// Build the index in this directory.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Where vectors live: `edge` (embedded Qdrant, default) or qdrant://host:6334/collection.
    #[arg(long, env = "QUARRY_VECTORS")]
    pub vectors: Option<String>,
    /// Remove documents whose sources are no longer among the inputs.
    #[arg(long)]
    pub prune: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub chunk: ChunkArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Search an index: BM25, dense vectors, or both fused.
///
/// Prints ranked chunks with their scores, heading paths and byte spans. The
/// query is embedded with the model the index was built with; asking for
/// another model is an error.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry search \"why does a candle flame rise\" --index indexes/sample --mode hybrid --k 5\n  quarry search \"albedo of snow\" --index indexes/sample --json --expand 1"
)]
pub struct SearchArgs {
    /// The query.
    pub query: String,
    /// The index directory.
    #[arg(long, env = "QUARRY_INDEX")]
    pub index: PathBuf,
    /// bm25, dense or hybrid (both, fused).
    #[arg(long, default_value = "hybrid", value_parser = ["bm25", "dense", "hybrid"])]
    pub mode: String,
    #[command(flatten)]
    pub fusion: FusionArgs,
    /// Number of results.
    #[arg(long, short, default_value_t = 10)]
    pub k: usize,
    /// Only chunks of this document id (repeatable).
    #[arg(long = "doc", value_name = "DOC_ID")]
    pub docs: Vec<String>,
    /// Diversify with maximal marginal relevance (1.0 = relevance only, 0.0 = diversity only).
    #[arg(long, value_name = "LAMBDA")]
    pub mmr: Option<f32>,
    /// Attach this many neighbouring chunks on each side of every hit.
    #[arg(long, default_value_t = 0)]
    pub expand: usize,
    /// Print results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Override the embedding model location recorded in the index (same model only).
    #[arg(long)]
    pub model: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    Retrieval(EvalRetrievalArgs),
}

/// Evaluate retrieval on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv).
///
/// Indexes the corpus (cached in <beir-dir>/quarry-index-<precision>, or an
/// existing index given with --index), ranks documents by their best chunk,
/// and prints nDCG@10, Recall@5/20/100, MRR and MAP as JSON on stdout.
/// scripts/make-beir.py turns the shared SQuAD and HotpotQA files into BEIR folders.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  python3 scripts/make-beir.py squad ../shared/data/squad/dev-v1.1.json indexes/beir/squad\n  quarry eval retrieval indexes/beir/squad --mode all --run-out squad.trec"
)]
pub struct EvalRetrievalArgs {
    /// The BEIR folder.
    pub beir_dir: PathBuf,
    /// bm25, dense, hybrid, or all three.
    #[arg(long, default_value = "hybrid", value_parser = ["bm25", "dense", "hybrid", "all"])]
    pub mode: String,
    /// Use this index instead of building one beside the folder.
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Write a TREC run file (qid Q0 docid rank score tag); with --mode all, one per mode (.bm25, .dense, .hybrid appended).
    #[arg(long)]
    pub run_out: Option<PathBuf>,
    /// Documents ranked per query.
    #[arg(long, default_value_t = 100)]
    pub depth: usize,
    /// Evaluate only the first N queries.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub fusion: FusionArgs,
    #[command(flatten)]
    pub model: ModelArgs,
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
    #[command(flatten)]
    pub chunk: ChunkArgs,
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
