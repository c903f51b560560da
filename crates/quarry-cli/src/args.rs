//! Command-line arguments. Each subcommand's doc comment is its `--help`,
//! ending in an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use quarry_llm::Purpose;

const EXIT_CODES: &str = "Exit status: 0 success; 1 nothing to work with (no input could be ingested, \
the chunk id is not in the store, fewer than --n records passed within the budget); 2 error (bad \
arguments, unreadable or unwritable files, a model or server that cannot be used).";

/// Turn a corpus into grounded synthetic training data.
///
/// quarry reads books, Wikipedia dumps and document folders, splits them into
/// chunks with exact byte spans, indexes them, and generates question and answer
/// records whose every citation points at a verified span of the corpus.
///
/// The main job: `quarry index corpora --name sample`, then
/// `quarry generate qa --index indexes/sample --n 20 --out runs/sample`, then open
/// runs/sample/report.html and `quarry export runs/sample --format openai --out exports/sample`.
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
    /// Measure retrieval (BEIR) or the verifier (SQuAD)
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Check the configured chat model (embedded GGUF or an OpenAI-compatible server)
    #[command(subcommand)]
    Llm(LlmCommand),
    /// Show or clear the LLM response cache
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Generate grounded records: qa, followup, conversation, topics, dpo, pretrain
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Write out the conversation controls (dynamics, emotion, structure, scenario, level)
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// List, show or dump the prompt templates
    #[command(subcommand)]
    Prompts(PromptsCommand),
    Estimate(EstimateArgs),
    Merge(MergeArgs),
    /// Apply a person's review of a run (decisions.json from the report's review mode)
    #[command(subcommand)]
    Review(ReviewCommand),
    Audit(AuditArgs),
    Report(ReportArgs),
    Export(ExportArgs),
    Dedup(DedupArgs),
    Reject(RejectArgs),
    Similar(SimilarArgs),
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
    /// Every document's language (an ISO 639-1 code such as en, hi, mr), instead of the one
    /// its source states (a dump's xml:lang, a Gutenberg "Language:" line) or its text shows.
    #[arg(long, value_name = "CODE")]
    pub language: Option<String>,
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
///
/// With --shard I/N the index embeds only the documents of shard I (a fixed rule on the
/// document id), so N machines share the embedding; `quarry merge` joins the shard
/// indexes into one without embedding again.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry index corpora --name sample\n  quarry index books/ --out /data/idx --vectors qdrant://localhost:6334/books --precision fp32\n  quarry index books/ --out /data/idx-0 --shard 0/2   # and 1/2 on a second machine, then:\n  quarry merge /data/idx-0 /data/idx-1 --out /data/idx"
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
    /// Index one shard of the corpus: I/N embeds the documents whose id is I modulo N
    /// (I from 0); `auto/N` takes I from JOB_COMPLETION_INDEX (Kubernetes) or
    /// SLURM_ARRAY_TASK_ID (Slurm). `quarry merge` joins the shards.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub chunk: ChunkArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Join the shards of a run or of an index, made on several machines, into one.
///
/// Runs: the shard directories of `quarry generate … --shard I/N` become one run
/// directory holding exactly what one process would have kept: records and rejects in
/// slot order up to the n-th accepted record, duplicates judged across every shard in that
/// order, counts and tokens summed, and the report. Every shard must be there and
/// finished, with one config. If the shards stopped short of n records, the merged run
/// is resumed like any run: the same `generate` command without --shard, with --out
/// the merged directory.
///
/// Indexes: the shard indexes of `quarry index … --shard I/N` become one index; BM25 is
/// built once over the whole store and the vectors are copied, not embedded again, into
/// embedded Qdrant or a Qdrant collection (--vectors).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate qa --index idx --n 3000 --out runs/qa-0 --shard 0/3   # 1/3 and 2/3 elsewhere\n  quarry merge runs/qa-0 runs/qa-1 runs/qa-2 --out runs/qa\n  quarry merge /data/idx-0 /data/idx-1 --out /data/idx --vectors qdrant://qdrant:6334/books"
)]
pub struct MergeArgs {
    /// The shard directories: run directories or indexes, every shard once.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The merged run directory or index (new).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Indexes: where the merged index keeps its vectors: `edge` (embedded Qdrant, default)
    /// or qdrant://host:6334/collection.
    #[arg(long, env = "QUARRY_VECTORS")]
    pub vectors: Option<String>,
    /// Runs: the index the run was made from, if not at the path its run.json records
    /// (it judges paraphrased duplicates and shows the passages in the report).
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
    Verify(EvalVerifyArgs),
}

/// Measure the verifier on SQuAD dev: supported cases (question, gold answer, gold paragraph)
/// against unsupported ones (another paragraph of the same article; the answer of another
/// question of the same paragraph). Prints precision, recall and AUROC of the Supported
/// verdict as JSON, lexical only and with the embedding similarity mixed in at several weights.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry eval verify --squad ../shared/data/squad/dev-v1.1.json --per-kind 1000")]
pub struct EvalVerifyArgs {
    /// SQuAD v1.1 JSON (dev-v1.1.json).
    #[arg(long)]
    pub squad: PathBuf,
    /// Cases of each kind (supported, other paragraph, other answer).
    #[arg(long, default_value_t = 2000)]
    pub per_kind: usize,
    /// Seed of the case sample.
    #[arg(long, default_value_t = 20240611)]
    pub seed: u64,
    #[command(flatten)]
    pub model: ModelArgs,
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
/// footer removed), Wikipedia XML dumps (.xml, .xml.bz2, .xml.gz, .xml.xz, .xml.zst, multistream), HTML,
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

/// The chat model: the embedded GGUF (default) or an OpenAI-compatible server.
#[derive(Debug, Args, Clone)]
pub struct LlmArgs {
    /// An OpenAI-compatible server (vLLM, llama.cpp, Ollama, SGLang, OpenAI), e.g.
    /// http://127.0.0.1:8080/v1. Without it quarry runs the embedded GGUF model.
    /// The API key is read from QUARRY_API_KEY or OPENAI_API_KEY only, never from a flag.
    #[arg(long, env = "QUARRY_BASE_URL")]
    pub base_url: Option<String>,
    /// The model name sent to the server [env: QUARRY_MODEL_NAME, OPENAI_MODEL; default: default].
    #[arg(long)]
    pub llm_model: Option<String>,
    /// The GGUF file of the embedded model
    /// [default: $QUARRY_CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf, from scripts/setup.sh].
    #[arg(long, env = "QUARRY_GGUF")]
    pub gguf: Option<PathBuf>,
    /// Context length per sequence of the embedded model, in tokens.
    #[arg(long, default_value_t = 4096)]
    pub ctx: u32,
    /// Requests the embedded model decodes together in one batch.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Requests in flight to the server at once, at most. Between --min-concurrency and this
    /// the number adapts to the server: it grows while replies come back, halves on 429 and
    /// 503 and shrinks when replies slow down; run.json reports it under `load`.
    #[arg(long, visible_alias = "max-concurrency", default_value_t = 8)]
    pub concurrency: usize,
    /// Requests in flight at least (equal to --concurrency: a fixed number).
    #[arg(long, default_value_t = 1)]
    pub min_concurrency: usize,
    /// Requests per minute to the server (no limit by default).
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Tokens per minute to the server (no limit by default).
    #[arg(long)]
    pub tpm: Option<u32>,
    /// Seconds to wait for one reply.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Attempts per request (retries on 408/409/429/5xx and connection errors).
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// Call the model even when the response cache has the answer (and store nothing).
    #[arg(long)]
    pub no_cache: bool,
    /// The response cache file [default: $QUARRY_CACHE/llm-cache.redb].
    #[arg(long, env = "QUARRY_LLM_CACHE")]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LlmCommand {
    Check(LlmCheckArgs),
}

/// Check the configured chat model: one chat and one structured-output call.
///
/// Shows the backend and model, runs a short chat and a JSON-schema call (never from
/// the cache), and prints tokens per second. When something is wrong it says what:
/// the server is unreachable, the model file is missing, the schema is not honoured.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry llm check\n  QUARRY_API_KEY=... quarry llm check --base-url http://127.0.0.1:8080/v1 --llm-model qwen2.5-7b --json"
)]
pub struct LlmCheckArgs {
    #[command(flatten)]
    pub llm: LlmArgs,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    Stats(CacheArgs),
    Clear(CacheArgs),
}

/// The LLM response cache: `stats` shows its entries and size, `clear` empties it.
///
/// Every model reply is stored under a hash of backend, model, messages, sampling
/// parameters and schema, so a repeated call (a resumed run) costs nothing.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry cache stats --json\n  quarry cache clear")]
pub struct CacheArgs {
    /// The cache file [default: $QUARRY_CACHE/llm-cache.redb].
    #[arg(long, env = "QUARRY_LLM_CACHE")]
    pub cache: Option<PathBuf>,
    /// Print as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    Qa(GenerateQaArgs),
    Followup(GenerateFollowupArgs),
    Conversation(GenerateConversationArgs),
    Topics(GenerateTopicsArgs),
    Dpo(GenerateDpoArgs),
    Pretrain(GeneratePretrainArgs),
}

/// What every generating task over an index takes.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The index to generate from (built with `quarry index`).
    #[arg(long, env = "QUARRY_INDEX")]
    pub index: PathBuf,
    /// Accepted records wanted.
    #[arg(long, short, default_value_t = 20)]
    pub n: usize,
    /// The run directory (created; an existing one is resumed).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Seed of seed selection and sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory of prompt templates replacing the built-in ones (see `quarry prompts dump`).
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Do one shard of the run: I/N works the slots whose number is I modulo N (I from 0),
    /// until the shard's share of --n is accepted; `auto/N` takes I from
    /// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (a Slurm job
    /// array). Each shard writes its own --out; `quarry merge` joins them.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// Deepen accepted Q&A records into chains of follow-up turns.
///
/// For each record of a Q&A run (--from), writes --turns follow-up questions one at a
/// time from the conversation so far; each is answered from passages retrieved again
/// with the conversation (so later turns may cite passages the first did not), and every
/// answer is verified like a Q&A answer. A chain is accepted when every turn is; it is
/// written with all its turns, each with its own citations and verdict.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate qa --index indexes/sample --n 20 --out runs/qa\n  quarry generate followup --from runs/qa --index indexes/sample --turns 2 --out runs/followup"
)]
pub struct GenerateFollowupArgs {
    /// The Q&A run whose accepted records are followed up.
    #[arg(long)]
    pub from: PathBuf,
    /// Follow-up turns per chain.
    #[arg(long, default_value_t = 2)]
    pub turns: usize,
    /// Passages retrieved for each turn.
    #[arg(long, default_value_t = 4)]
    pub k: usize,
    /// Accept partially supported answers as well.
    #[arg(long)]
    pub accept_partial: bool,
    /// Temperature for follow-up questions.
    #[arg(long, default_value_t = Purpose::Questions.sampling().temperature)]
    pub question_temperature: f32,
    /// Temperature for answers.
    #[arg(long, default_value_t = Purpose::Factual.sampling().temperature)]
    pub answer_temperature: f32,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Write multi-turn dialogues grounded on retrieved passages, steered by five controls.
///
/// Each dialogue is written from a seed chunk (spread over the corpus, or the grounded
/// nodes of a topic tree with --topics) and the passages retrieval finds for it. Five
/// controls steer it: participant dynamics, emotional context, structure, scenario and
/// knowledge level, each drawn by weight from a TOML file (`quarry controls dump`) or
/// fixed with a flag; the drawn controls are stored on the record. The learner opens each
/// exchange and the expert replies from the passages with citations; every reply is
/// verified. A dialogue where one side only asks questions (brings less than
/// --min-share of the substance) is rejected as one_sided.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate conversation --index indexes/sample --n 10 --out runs/chat\n  quarry controls dump my-controls.toml && quarry generate conversation --index indexes/sample --out runs/chat2 --controls my-controls.toml --structure debate"
)]
pub struct GenerateConversationArgs {
    /// Exchanges (learner turn + expert turn) per dialogue.
    #[arg(long, default_value_t = 3)]
    pub exchanges: usize,
    /// Passages shown per dialogue.
    #[arg(long, default_value_t = 4)]
    pub k: usize,
    /// Slots tried at most, as a multiple of --n.
    #[arg(long, default_value_t = 6.0)]
    pub budget: f32,
    /// Accept partially supported replies as well.
    #[arg(long)]
    pub accept_partial: bool,
    /// The least share of the substance each side must bring (0..0.5).
    #[arg(long, default_value_t = 0.2)]
    pub min_share: f32,
    /// The controls file (TOML; `quarry controls dump` writes the built-in one).
    #[arg(long)]
    pub controls: Option<PathBuf>,
    /// Fix the participant dynamics, as "<expert> and <learner>" ("teacher and student").
    #[arg(long)]
    pub dynamics: Option<String>,
    /// Fix the emotional context ("sceptical and enthusiastic").
    #[arg(long)]
    pub emotion: Option<String>,
    /// Fix the structure ("debate", "Socratic dialogue", "lecture").
    #[arg(long)]
    pub structure: Option<String>,
    /// Fix the scenario ("a conference panel").
    #[arg(long)]
    pub scenario: Option<String>,
    /// Fix the knowledge level (beginner ... expert).
    #[arg(long)]
    pub knowledge_level: Option<String>,
    /// Seed dialogues from the grounded nodes of a topic tree (tree.json of `generate topics`).
    #[arg(long)]
    pub topics: Option<PathBuf>,
    /// Temperature.
    #[arg(long, default_value_t = Purpose::Conversation.sampling().temperature)]
    pub temperature: f32,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Expand a root topic into a tree, grounding every node in the corpus.
///
/// The root is expanded into --breadth subtopics, each of those again, --depth levels
/// down. With --index every node is looked up by retrieval and keeps its best passages (a
/// sentence that names it, as a verified span); a node no passage supports is flagged
/// unsupported, written to rejects.jsonl with the reason, and not expanded. Without an
/// index the tree is marked ungrounded. The tree goes to <out>/tree.json; other tasks take
/// it as their seeds with --topics.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate topics --root \"Physics\" --breadth 3 --depth 2 --index indexes/sample --out runs/topics\n  quarry generate qa --index indexes/sample --topics runs/topics/tree.json --out runs/qa-topics"
)]
pub struct GenerateTopicsArgs {
    /// The root topic.
    #[arg(long)]
    pub root: String,
    /// Subtopics per node.
    #[arg(long, default_value_t = 3)]
    pub breadth: u32,
    /// Levels below the root.
    #[arg(long, default_value_t = 2)]
    pub depth: u32,
    /// The index that grounds the nodes (without it the tree is ungrounded).
    #[arg(long, env = "QUARRY_INDEX")]
    pub index: Option<PathBuf>,
    /// The run directory.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Seed of sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Passages kept per node.
    #[arg(long, default_value_t = 3)]
    pub k: usize,
    /// Share of a node's content words a passage sentence must contain to ground it.
    #[arg(long, default_value_t = 0.5)]
    pub min_coverage: f32,
    /// Directory of prompt templates replacing the built-in ones.
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// Make DPO preference pairs: a verified grounded answer against a worse one.
///
/// The chosen side is an accepted record of a Q&A run (--from). The rejected side is the
/// same answer with a number, unit or name changed (perturbation), the same model answering
/// without the passages (no_passages), or a second, weaker model answering from the same
/// passages (weaker_model, with --rejected-model). The rejected side is verified against
/// the chosen side's evidence and the pair kept only when it is not supported. Export with
/// --format trl (prompt/chosen/rejected), openai (DPO JSONL), sharegpt or alpaca.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate dpo --from runs/qa --index indexes/sample --out runs/dpo\n  quarry generate dpo --from runs/qa --index indexes/sample --out runs/dpo-weak --method weaker_model --rejected-model embedded --base-url http://127.0.0.1:8000/v1\n  quarry export runs/dpo --format trl --out exports/dpo"
)]
pub struct GenerateDpoArgs {
    /// The Q&A run whose accepted records are the chosen sides.
    #[arg(long)]
    pub from: PathBuf,
    /// How the rejected side is made: perturbation, no_passages or weaker_model.
    #[arg(long, default_value = "perturbation", value_parser = ["perturbation", "no_passages", "weaker_model"])]
    pub method: String,
    /// The weaker model for --method weaker_model: `embedded` (the default GGUF), a path to a
    /// .gguf file, or a model name served at --base-url.
    #[arg(long)]
    pub rejected_model: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Write textbook-style passages from retrieved passages, cited per paragraph.
///
/// Each passage is written on a topic (--topic, repeatable; the grounded nodes of a topic
/// tree with --topics; or else the heading of a seed chunk spread over the corpus) from the
/// passages retrieval finds for it; every paragraph cites them and is verified like an
/// answer. For the corpus itself as pre-training text, see `quarry export --format text`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate pretrain --index indexes/sample --n 10 --out runs/pretrain\n  quarry generate pretrain --index indexes/sample --topic \"candle flames\" --topic \"snow albedo\" --n 4 --out runs/pretrain-topics\n  quarry export runs/pretrain --format text --out exports/pretrain"
)]
pub struct GeneratePretrainArgs {
    /// A topic to write about (repeatable; used in turn).
    #[arg(long)]
    pub topic: Vec<String>,
    /// Seed from the grounded nodes of a topic tree (tree.json of `generate topics`).
    #[arg(long)]
    pub topics: Option<PathBuf>,
    /// Paragraphs per passage.
    #[arg(long, default_value_t = 3)]
    pub paragraphs: usize,
    /// Passages retrieved per topic.
    #[arg(long, default_value_t = 4)]
    pub k: usize,
    /// Slots tried at most, as a multiple of --n.
    #[arg(long, default_value_t = 6.0)]
    pub budget: f32,
    /// Accept partially supported paragraphs as well.
    #[arg(long)]
    pub accept_partial: bool,
    /// Temperature.
    #[arg(long, default_value_t = Purpose::Prose.sampling().temperature)]
    pub temperature: f32,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum ControlsCommand {
    /// Write the built-in controls file to edit and pass with --controls.
    Dump(ControlsDumpArgs),
    /// Print the controls file in use (built-in, or --controls).
    Show(ControlsShowArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry controls dump controls.toml && $EDITOR controls.toml\n  quarry generate conversation --index indexes/sample --out runs/chat --controls controls.toml"
)]
pub struct ControlsDumpArgs {
    /// The file to write (never overwritten).
    #[arg(default_value = "controls.toml")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry controls show --controls controls.toml")]
pub struct ControlsShowArgs {
    /// A controls file to check and print instead of the built-in one.
    #[arg(long)]
    pub controls: Option<PathBuf>,
}

/// Generate grounded question/answer records with verified citations.
///
/// Picks seed chunks spread over every document and section in proportion to its size,
/// writes a question from each (factual, explanatory, numerical, comparative, multi-hop
/// over two related chunks), retrieves passages with the question as a RAG system would,
/// asks for an answer that cites numbered passages with exact quotes, and verifies every
/// citation down to the byte span and every answer sentence's support. Accepted records
/// go to <out>/records.jsonl, everything else to <out>/rejects.jsonl with the reason,
/// until --n records are accepted (or the slot budget is spent, which the summary says).
/// A killed run resumes where it stopped when given the same command; the response
/// cache makes repeated calls free. Ends by writing <out>/report.html.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry generate qa --index indexes/sample --n 20 --out runs/sample\n  quarry generate qa --index indexes/books --n 500 --out runs/books --base-url http://127.0.0.1:8000/v1 --llm-model qwen2.5-7b-instruct --mix factual=2,explanatory=2,multi_hop=1"
)]
pub struct GenerateQaArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Question type mix as type=weight: factual, explanatory, numerical, comparative, multi_hop.
    #[arg(long, default_value = "factual=4,explanatory=2,numerical=1,comparative=1,multi_hop=2")]
    pub mix: String,
    /// Passages retrieved with each question and shown to the answering model.
    #[arg(long, default_value_t = 4)]
    pub k: usize,
    /// Slots tried at most, as a multiple of --n (each slot is one question).
    #[arg(long, default_value_t = 6.0)]
    pub budget: f32,
    /// Accept partially supported answers as well as fully supported ones.
    #[arg(long)]
    pub accept_partial: bool,
    /// Add an LLM judge's vote after the verifier accepts an answer (one more call per record;
    /// worth it with a capable model).
    #[arg(long)]
    pub judge: bool,
    /// Answer with the passage sentence that answers the question, copied whole: the model
    /// only chooses the sentence, and the verifier still checks that it answers the question.
    /// Small models (the embedded default) get far more answers accepted this way.
    #[arg(long)]
    pub extractive: bool,
    /// With --extractive: the model chooses among this many passage sentences, those sharing
    /// the most words with the question (0: every sentence of every shown passage).
    #[arg(long, default_value_t = 6, value_name = "N", requires = "extractive")]
    pub extractive_choices: usize,
    /// How questions are planned: `chunk` shows the model a seed passage and asks for a
    /// question about it; `sentence` picks a fact sentence of the passage (a number, a name, a
    /// definition, a cause) and asks for the question that sentence answers, so the answer is
    /// known before the question is written (with --extractive it is that sentence, and no
    /// answering call is made).
    #[arg(long, value_enum, default_value_t = Planner::Chunk)]
    pub plan: Planner,
    /// Seed from the grounded nodes of a topic tree (tree.json of `generate topics`).
    #[arg(long)]
    pub topics: Option<PathBuf>,
    /// Temperature for writing questions.
    #[arg(long, default_value_t = Purpose::Questions.sampling().temperature)]
    pub question_temperature: f32,
    /// top_p for writing questions.
    #[arg(long, default_value_t = Purpose::Questions.sampling().top_p)]
    pub question_top_p: f32,
    /// Temperature for answers.
    #[arg(long, default_value_t = Purpose::Factual.sampling().temperature)]
    pub answer_temperature: f32,
    /// top_p for answers.
    #[arg(long, default_value_t = Purpose::Factual.sampling().top_p)]
    pub answer_top_p: f32,
    /// Most tokens of an answer reply.
    #[arg(long, default_value_t = Purpose::Factual.sampling().max_tokens)]
    pub answer_max_tokens: u32,
}

#[derive(Debug, Subcommand)]
pub enum PromptsCommand {
    /// List the prompt templates with their origin and hash.
    List(PromptsDirArgs),
    /// Print one template.
    Show(PromptsShowArgs),
    /// Write the built-in templates into a directory, to edit and pass with --prompts.
    Dump(PromptsDumpArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry prompts list\n  quarry prompts list --prompts my-prompts")]
pub struct PromptsDirArgs {
    /// A directory of templates replacing the built-in ones.
    #[arg(long)]
    pub prompts: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry prompts show answer")]
pub struct PromptsShowArgs {
    /// A template name (see `quarry prompts list`).
    pub name: String,
    /// A directory of templates replacing the built-in ones.
    #[arg(long)]
    pub prompts: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry prompts dump my-prompts && $EDITOR my-prompts/answer.txt\n  quarry generate qa --index indexes/sample --out runs/x --prompts my-prompts"
)]
pub struct PromptsDumpArgs {
    /// The directory to write (files in it are never overwritten).
    pub dir: PathBuf,
}

/// Show one record of a run with its evidence, or a summary of the run.
///
/// With a record id: the question, the answer, the verdict and scores, and every
/// citation with its heading path and the cited passage, the quoted span highlighted.
/// Reject ids (from rejects.jsonl) show why the candidate failed.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry audit runs/sample\n  quarry audit runs/sample 5d41402a-000003")]
pub struct AuditArgs {
    /// The run directory.
    pub run: PathBuf,
    /// A record or reject id.
    pub id: Option<String>,
    /// Print as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Write (again) the run's self-contained HTML audit report, <run>/report.html.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry report runs/sample && chromium runs/sample/report.html")]
pub struct ReportArgs {
    /// The run directory.
    pub run: PathBuf,
    /// Write the report here instead of <run>/report.html.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Export a run's accepted records for fine-tuning, with a Hugging Face dataset card.
///
/// Formats: openai (chat fine-tuning {"messages": [...]}), sharegpt ({"conversations":
/// [...]}), alpaca (instruction/input/output), trl (conversational prompt-completion),
/// jsonl (the records as they are), text ({"text": ...}). Dialogues (followup,
/// conversation) export every turn; DPO runs export preference pairs (trl: prompt/chosen/
/// rejected; openai: input/preferred_output/non_preferred_output; sharegpt and alpaca
/// preference formats). Writes <out>/data/train.jsonl and <out>/README.md; every row
/// carries its citations as metadata. Given an index directory, `--format text` exports
/// the corpus chunks that pass quality filters (length, symbol ratio, repetition) as
/// pre-training text. `--format rag` writes examples for training a model to answer from
/// retrieved passages: numbered passages (the record's, plus distractors) in the prompt, the
/// answer citing them as [n], and with --unanswerable a share of examples whose passages do
/// not hold the answer (confirmed by the verifier), answered by saying so.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry export runs/sample --format openai --out exports/sample-openai\n  quarry export runs/sample --format rag --style trl --distractors 3 --unanswerable 0.2 --out exports/rag\n  quarry export indexes/sample --format text --out exports/corpus-text\n  python3 -c 'import datasets; print(datasets.load_dataset(\"json\", data_files=\"exports/sample-openai/data/train.jsonl\"))'"
)]
pub struct ExportArgs {
    /// The run directory (or, with --format text, an index directory).
    pub run: PathBuf,
    /// openai, sharegpt, alpaca, trl, jsonl, text or rag. DPO runs export as preference pairs in
    /// the first four; `text` gives {"text": ...} rows. Given an index directory instead of a
    /// run, `--format text` exports the corpus chunks that pass the quality filters.
    #[arg(long, short, value_parser = ["openai", "sharegpt", "alpaca", "trl", "jsonl", "text", "rag"])]
    pub format: String,
    /// The output directory.
    #[arg(long, short)]
    pub out: PathBuf,
    /// The dataset card's license.
    #[arg(long, default_value = "other")]
    pub license: String,
    /// The dataset card's language code(s), comma-separated [default: the languages of the
    /// documents the records cite, as ingest recorded them].
    #[arg(long)]
    pub language: Option<String>,
    /// Only records a person kept in review (`quarry review apply`).
    #[arg(long)]
    pub reviewed_only: bool,
    /// rag: the row shape (openai, sharegpt or trl).
    #[arg(long, default_value = "openai", value_parser = ["openai", "sharegpt", "trl"])]
    pub style: String,
    /// rag: passages retrieved with the question added to each prompt, beside the ones the
    /// record was answered from.
    #[arg(long, default_value_t = 2)]
    pub distractors: usize,
    /// rag: the share of records (0 to 1) that also give an unanswerable example (passages
    /// that do not hold the answer, confirmed by the verifier).
    #[arg(long, default_value_t = 0.0)]
    pub unanswerable: f32,
    /// rag: what an unanswerable example answers (`{{question}}` is replaced by the question).
    #[arg(long, default_value = quarry_gen::rag::DEFAULT_UNANSWERABLE)]
    pub unanswerable_answer: String,
    /// rag: the seed of the passage order and of which records give unanswerable examples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// rag: the index the run was made from, if not at the path its run.json records.
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// The dataset's name in the card [default: the run directory's name].
    #[arg(long)]
    pub name: Option<String>,
}

/// Move records whose question duplicates an earlier record's to rejects.
///
/// Exact (after normalising case and punctuation), near-duplicate (word-shingle MinHash with
/// LSH, confirmed by Jaccard), and paraphrase (embedding cosine with the run's index model).
/// Each duplicate goes to rejects.jsonl naming the record it repeats; exports leave it out.
/// `quarry generate` already does this as it goes; run it after editing or merging runs.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry dedup runs/sample\n  quarry dedup runs/sample --semantic 0.9 --dry-run --json"
)]
pub struct DedupArgs {
    /// The run directory.
    pub run: PathBuf,
    /// Word-bigram Jaccard at or above which questions are near-duplicates (reworded copies
    /// that only drop, add or reorder words are caught whatever it is).
    #[arg(long, default_value_t = 0.8)]
    pub near: f32,
    /// Embedding cosine at or above which questions are paraphrases.
    #[arg(long, default_value_t = 0.95)]
    pub semantic: f32,
    /// Report what would move without moving it.
    #[arg(long)]
    pub dry_run: bool,
    /// Print as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Move records to rejects by hand, with a reason (exports leave them out).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry reject runs/sample 8f4eda60-000002 8f4eda60-000007 --reason \"answers a different question\""
)]
pub struct RejectArgs {
    /// The run directory.
    pub run: PathBuf,
    /// Record ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Why, in words (kept in rejects.jsonl).
    #[arg(long)]
    pub reason: String,
}

/// List the records nearest to one (embedding neighbours of its question), with their sources,
/// so one wrong record found leads to its whole kind.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  quarry similar runs/sample 8f4eda60-000002 --k 5")]
pub struct SimilarArgs {
    /// The run directory.
    pub run: PathBuf,
    /// A record id.
    pub id: String,
    /// How many neighbours.
    #[arg(long, short, default_value_t = 10)]
    pub k: usize,
    /// Print as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}

/// How a Q&A run plans its questions (see `generate qa --plan`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Planner {
    /// A question about a seed passage.
    Chunk,
    /// The question a chosen fact sentence of the seed passage answers.
    Sentence,
}

/// What a run will cost before any model call: its slots, model calls and tokens (from the
/// index's chunks and the prompt templates, or measured by an earlier run), the model time at
/// a given speed, on one machine or several; and, with --corpus-gb, what indexing a corpus of
/// that size costs at this index's measured embedding speed.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry estimate indexes/sample --task qa --n 1000 --tokens-per-s 40 --prompt-tokens-per-s 2000\n  quarry estimate indexes/sample --task qa --n 1000000 --from-run runs/sample --corpus-gb 22 --machines 16 --json"
)]
pub struct EstimateArgs {
    /// The index the run would read.
    pub index: PathBuf,
    /// qa, followup, conversation, pretrain, dpo or topics.
    #[arg(long, default_value = "qa")]
    pub task: String,
    /// Records wanted.
    #[arg(long, default_value_t = 100)]
    pub n: u64,
    /// Slots per wanted record at most, as `generate --budget`.
    #[arg(long, default_value_t = 4.0)]
    pub budget: f64,
    /// Share of slots accepted (a capable model on prose: about 0.6).
    #[arg(long, default_value_t = 0.6)]
    pub acceptance: f64,
    /// A finished run of the same task whose run.json gives the acceptance rate and tokens per
    /// slot, instead of the assumed ones.
    #[arg(long)]
    pub from_run: Option<PathBuf>,
    /// Passages shown per answer.
    #[arg(long, default_value_t = 4)]
    pub k: u64,
    /// qa: one more call per verified answer (the LLM judge).
    #[arg(long)]
    pub judge: bool,
    /// followup: questions per chain; conversation: exchanges; pretrain: paragraphs.
    #[arg(long, default_value_t = 3)]
    pub turns: u64,
    /// topics: subtopics per node.
    #[arg(long, default_value_t = 3)]
    pub breadth: u64,
    /// topics: levels below the root.
    #[arg(long, default_value_t = 2)]
    pub depth: u64,
    /// Generated tokens per second the model server sustains (over its concurrent requests).
    #[arg(long, default_value_t = 50.0)]
    pub tokens_per_s: f64,
    /// Prompt tokens per second it reads.
    #[arg(long, default_value_t = 1000.0)]
    pub prompt_tokens_per_s: f64,
    /// Machines sharing the work, each with its own model server.
    #[arg(long, default_value_t = 1)]
    pub machines: u64,
    /// Size of a corpus to index, in GB of text: chunks and embedding time at this index's
    /// measured speed.
    #[arg(long)]
    pub corpus_gb: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Prompt templates to use instead of the built-in ones (as `generate --prompts`).
    #[arg(long)]
    pub prompts: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    Apply(ReviewApplyArgs),
    ExportJudged(ReviewExportJudgedArgs),
}

/// Add a reviewed run's records to the judged-records set (tests/judged/).
///
/// Every record a person kept becomes an item judged `good`, every record rejected in review
/// one judged `bad` with the reason category and note given, in the set's format: the item
/// (question, answer, raw citations, the passages shown, the seed texts) appended to
/// items.jsonl and its judgment to judgments.jsonl. Items already there are left alone, so
/// running it again adds nothing. `cargo bench -p quarry-gen --bench judged` then measures
/// quarry's checks on them too.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry review export-judged runs/sample --corpus sample --part tuning --source embedded"
)]
pub struct ReviewExportJudgedArgs {
    /// The reviewed run directory.
    pub run: PathBuf,
    /// The corpus's short name; a corpus's items stay in one part.
    #[arg(long)]
    pub corpus: String,
    /// tuning (rules may be tuned on it) or held_out (never tuned on).
    #[arg(long, value_parser = ["tuning", "held_out"])]
    pub part: String,
    /// What wrote the records: embedded, replay-short, a model name.
    #[arg(long)]
    pub source: String,
    /// The judged set's directory.
    #[arg(long, default_value = "tests/judged")]
    pub to: PathBuf,
    /// The index the run was made from, if not at the path its run.json records.
    #[arg(long)]
    pub index: Option<PathBuf>,
}

/// Apply the decisions made in the report's review mode to a run.
///
/// Open the run's report.html, press `v` (or the Review button) for the review mode, and
/// decide record by record: j/k to move, a to keep, r to reject (with a reason category and
/// a note). The decisions stay in the browser between visits; "Download decisions" saves
/// decisions.json. This command then moves rejected records to rejects (stage `review`, the
/// category as reason, the record kept whole) and records kept ones as confirmed by a person
/// in the run's review.json (`quarry export --reviewed-only` exports only those). Applying
/// the same file again changes nothing; decisions for records not in the run refuse the file.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  quarry review apply runs/sample ~/Downloads/decisions.json\n  quarry export runs/sample --format openai --out exports/sample --reviewed-only"
)]
pub struct ReviewApplyArgs {
    /// The run directory.
    pub run: PathBuf,
    /// decisions.json, as the report's review mode downloads it.
    pub decisions: PathBuf,
    /// Print what was done as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}
