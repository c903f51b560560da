//! Text embeddings with fastembed over ONNX Runtime.
//!
//! ONNX Runtime is loaded at run time from the shared library that
//! `scripts/fetch-models.sh` takes out of the `onnxruntime` PyPI wheel
//! (`$QUARRY_CACHE/onnxruntime/libonnxruntime.so`), or from `ORT_DYLIB_PATH`.
//! Models are a local directory (the default all-MiniLM-L6-v2 export, or any
//! ONNX model with its tokenizer files and a small `quarry-model.json`), or a
//! fastembed catalogue name for machines that reach a model hub.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TextInitOptions, TokenizerFiles, UserDefinedEmbeddingModel,
};
use serde::{Deserialize, Serialize};

use crate::error::{IndexError, Result};

/// Which weights of a model directory to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Fp32,
    Int8,
}

/// What to embed with, as a user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSpec {
    /// A local model directory.
    Dir { path: PathBuf, precision: Precision },
    /// A fastembed catalogue model (e.g. `BAAI/bge-small-en-v1.5`), downloaded
    /// from the model hub into `$QUARRY_CACHE/fastembed`.
    Catalogue(String),
}

impl ModelSpec {
    /// Parses `--model`: a directory path, `default` or `minilm` for the
    /// bundled all-MiniLM-L6-v2, or a catalogue name.
    pub fn parse(s: &str, precision: Precision) -> ModelSpec {
        if s == "default" || s.eq_ignore_ascii_case("minilm") || s == "all-MiniLM-L6-v2" {
            return ModelSpec::Dir { path: default_model_dir(), precision };
        }
        let p = Path::new(s);
        if p.is_dir() {
            return ModelSpec::Dir { path: p.to_owned(), precision };
        }
        ModelSpec::Catalogue(s.to_owned())
    }
}

/// The query and passage prefixes of a model trained with them: the E5 family
/// (`intfloat/multilingual-e5-small`, `e5-base-v2`…) expects "query: " and "passage: ".
pub fn e5_prefixes(model: &str) -> (String, String) {
    let name = model.rsplit('/').next().unwrap_or(model).to_lowercase();
    if name.starts_with("e5-") || name.starts_with("multilingual-e5") {
        ("query: ".into(), "passage: ".into())
    } else {
        (String::new(), String::new())
    }
}

/// `$QUARRY_CACHE/models/all-MiniLM-L6-v2`.
pub fn default_model_dir() -> PathBuf {
    cache_dir().join("models/all-MiniLM-L6-v2")
}

pub use quarry_core::cache_dir;

/// Texts embedded per model call: one. An int8 model quantizes its activations with one
/// scale per call (dynamic quantization), so a text embedded beside others gets a vector
/// that depends on them; one text per call makes every vector a function of its text
/// alone, whatever the batch, the shard or the order (`quarry merge` of shard indexes
/// ranks exactly as one build). Measured here (2 cores, all-MiniLM-L6-v2 int8): 61 chunks/s
/// against 37 at 32 per call on a book, 91 against 39 on SQuAD paragraphs (no padding).
const BATCH: usize = 1;

/// What an index records about its embedder; querying with another is an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderInfo {
    /// Model name (directory name or catalogue code).
    pub model: String,
    /// Where it was loaded from: a directory path or a catalogue name; what
    /// `quarry search` loads again.
    pub location: String,
    pub precision: Option<Precision>,
    pub dim: usize,
    pub pooling: String,
    pub normalize: bool,
    pub max_length: usize,
    /// BLAKE3 of the ONNX file (`catalogue` when fastembed fetched it).
    pub checksum: String,
    /// Put before a query and before a passage when they are embedded, for models trained
    /// with such prefixes (the E5 family: "query: ", "passage: ").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub passage_prefix: String,
}

impl EmbedderInfo {
    /// How to load this embedder again.
    pub fn spec(&self) -> ModelSpec {
        match self.precision {
            Some(precision) => ModelSpec::Dir { path: PathBuf::from(&self.location), precision },
            None => ModelSpec::Catalogue(self.location.clone()),
        }
    }

    /// Whether the model was trained on English only (all-MiniLM, all-mpnet, the `-en` and
    /// English E5 models): by its name.
    pub fn english_only(&self) -> bool {
        let name = self.model.rsplit('/').next().unwrap_or(&self.model).to_lowercase();
        !name.contains("multilingual")
            && (name.starts_with("all-")
                || name.starts_with("e5-")
                || name.contains("-en-")
                || name.ends_with("-en")
                || name.contains("-en."))
    }

    /// Whether the model can read `text`: any text for a multilingual model; for an
    /// English-only one, text mostly in Latin letters (or with no letters).
    pub fn reads(&self, text: &str) -> bool {
        if !self.english_only() {
            return true;
        }
        let counts = quarry_core::script::script_counts(text);
        let letters: usize = counts.iter().map(|(_, n)| n).sum();
        let latin = counts.iter().find(|(s, _)| *s == quarry_core::script::Script::Latin).map_or(0, |(_, n)| *n);
        letters == 0 || latin * 2 >= letters
    }

    /// A one-line description for messages.
    pub fn describe(&self) -> String {
        let p = match self.precision {
            Some(Precision::Fp32) => " fp32",
            Some(Precision::Int8) => " int8",
            None => "",
        };
        format!("{}{p} ({} dims, checksum {})", self.model, self.dim, &self.checksum[..self.checksum.len().min(12)])
    }
}

/// `quarry-model.json` in a model directory.
#[derive(Clone, Debug, Deserialize)]
struct ModelConfig {
    name: Option<String>,
    dim: usize,
    #[serde(default = "mean")]
    pooling: String,
    #[serde(default = "yes")]
    normalize: bool,
    #[serde(default = "max_length")]
    max_length: usize,
    #[serde(default)]
    files: ModelFiles,
    #[serde(default)]
    query_prefix: Option<String>,
    #[serde(default)]
    passage_prefix: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct ModelFiles {
    fp32: Option<String>,
    int8: Option<String>,
}

fn mean() -> String {
    "mean".into()
}
fn yes() -> bool {
    true
}
fn max_length() -> usize {
    256
}

static RUNTIME: OnceLock<Result<(), String>> = OnceLock::new();

/// Where ONNX Runtime's shared library is looked for.
pub fn onnxruntime_path() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("onnxruntime/libonnxruntime.so"))
}

/// Loads ONNX Runtime once per process, with a clear error when it is missing
/// (ort would otherwise panic at first use).
pub fn init_runtime() -> Result<()> {
    RUNTIME
        .get_or_init(|| {
            let path = onnxruntime_path();
            if !path.exists() {
                return Err(format!(
                    "shared library not found at {} (run scripts/setup.sh, or set ORT_DYLIB_PATH)",
                    path.display()
                ));
            }
            ort::init_from(&path).map(|_| ()).map_err(|e| format!("cannot load {}: {e}", path.display()))
        })
        .clone()
        .map_err(IndexError::Runtime)
}

/// A loaded embedding model.
pub struct Embedder {
    model: Mutex<TextEmbedding>,
    info: EmbedderInfo,
    batch_size: usize,
    /// Vectors of texts already embedded, by BLAKE3 of the text, when enabled.
    memo: Mutex<Option<std::collections::HashMap<[u8; 32], Vec<f32>>>>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("info", &self.info).finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| IndexError::io(path, e))
}

impl Embedder {
    /// Loads a model. `threads` is ONNX Runtime's intra-op thread count (all
    /// cores when `None`).
    pub fn load(spec: &ModelSpec, threads: Option<usize>) -> Result<Embedder> {
        init_runtime()?;
        match spec {
            ModelSpec::Dir { path, precision } => Self::load_dir(path, *precision, threads),
            ModelSpec::Catalogue(name) => Self::load_catalogue(name, threads),
        }
    }

    fn load_dir(dir: &Path, precision: Precision, threads: Option<usize>) -> Result<Embedder> {
        let model_name = dir.file_name().map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
        let err = |message: String| IndexError::Model { model: dir.display().to_string(), message };
        let config_path = dir.join("quarry-model.json");
        let config: ModelConfig = if config_path.exists() {
            serde_json::from_slice(&read(&config_path)?).map_err(|e| err(format!("bad quarry-model.json: {e}")))?
        } else if dir.join("config.json").exists() {
            // A plain sentence-transformers export: read the width from config.json.
            let c: serde_json::Value = serde_json::from_slice(&read(&dir.join("config.json"))?)
                .map_err(|e| err(format!("bad config.json: {e}")))?;
            let dim = c["hidden_size"]
                .as_u64()
                .ok_or_else(|| err("config.json has no hidden_size; add quarry-model.json".into()))?;
            ModelConfig {
                name: None,
                dim: dim as usize,
                pooling: mean(),
                normalize: true,
                max_length: max_length(),
                files: ModelFiles::default(),
                query_prefix: None,
                passage_prefix: None,
            }
        } else {
            return Err(err(
                "not a model directory (no quarry-model.json or config.json); run scripts/setup.sh for the default model".into(),
            ));
        };
        let file = match precision {
            Precision::Fp32 => config.files.fp32.clone().unwrap_or_else(|| "model.onnx".into()),
            Precision::Int8 => config.files.int8.clone().unwrap_or_else(|| "model_int8.onnx".into()),
        };
        let onnx_path = dir.join(&file);
        if !onnx_path.exists() {
            return Err(err(format!("{} is missing (run scripts/setup.sh)", onnx_path.display())));
        }
        let onnx = read(&onnx_path)?;
        let checksum = blake3::hash(&onnx).to_hex().to_string();
        let tok = |name: &str| -> Result<Vec<u8>> {
            let p = dir.join(name);
            if p.exists() { read(&p) } else { Ok(b"{}".to_vec()) }
        };
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read(&dir.join("tokenizer.json"))?,
            config_file: tok("config.json")?,
            special_tokens_map_file: tok("special_tokens_map.json")?,
            tokenizer_config_file: tok("tokenizer_config.json")?,
        };
        let pooling = match config.pooling.as_str() {
            "cls" => Pooling::Cls,
            "mean" => Pooling::Mean,
            other => {
                return Err(err(format!("pooling {other:?} is not supported (mean or cls)")));
            }
        };
        let user = UserDefinedEmbeddingModel::new(onnx, tokenizer_files).with_pooling(pooling);
        let mut options = InitOptionsUserDefined::new().with_max_length(config.max_length);
        if let Some(t) = threads {
            options = options.with_intra_threads(t);
        }
        let model = TextEmbedding::try_new_from_user_defined(user, options).map_err(|e| err(e.to_string()))?;
        let (query_prefix, passage_prefix) = match (config.query_prefix, config.passage_prefix) {
            (None, None) => e5_prefixes(config.name.as_deref().unwrap_or(&model_name)),
            (q, p) => (q.unwrap_or_default(), p.unwrap_or_default()),
        };
        let info = EmbedderInfo {
            query_prefix,
            passage_prefix,
            model: config.name.unwrap_or(model_name),
            location: dir.display().to_string(),
            precision: Some(precision),
            dim: config.dim,
            pooling: config.pooling,
            normalize: config.normalize,
            max_length: config.max_length,
            checksum,
        };
        Ok(Embedder { model: Mutex::new(model), info, batch_size: BATCH, memo: Mutex::new(None) })
    }

    fn load_catalogue(name: &str, threads: Option<usize>) -> Result<Embedder> {
        let err = |message: String| IndexError::Model { model: name.to_owned(), message };
        let found = TextEmbedding::list_supported_models()
            .into_iter()
            .find(|m| {
                m.model_code.eq_ignore_ascii_case(name)
                    || m.model_code.rsplit('/').next().is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| err("not a local model directory and not in fastembed's catalogue".into()))?;
        let mut options = TextInitOptions::new(found.model.clone())
            .with_cache_dir(cache_dir().join("fastembed"))
            .with_show_download_progress(false);
        if let Some(t) = threads {
            options = options.with_intra_threads(t);
        }
        let model = TextEmbedding::try_new(options)
            .map_err(|e| err(format!("{e} (the catalogue needs access to the model hub)")))?;
        let (query_prefix, passage_prefix) = e5_prefixes(&found.model_code);
        let info = EmbedderInfo {
            query_prefix,
            passage_prefix,
            model: found.model_code.clone(),
            location: found.model_code.clone(),
            precision: None,
            dim: found.dim,
            pooling: "model default".into(),
            normalize: true,
            max_length: 512,
            checksum: "catalogue".into(),
        };
        Ok(Embedder { model: Mutex::new(model), info, batch_size: BATCH, memo: Mutex::new(None) })
    }

    /// What this embedder is.
    pub fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    /// Remembers every vector from now on, so a text seen again (a corpus
    /// repeated, a re-run in the same process) is not embedded twice.
    pub fn enable_memo(&self) {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        memo.get_or_insert_with(Default::default);
    }

    /// Embeds `texts`, L2-normalised when the model says so.
    pub fn embed<S: AsRef<str> + Send + Sync>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(memo) = memo.as_mut() {
            let keys: Vec<[u8; 32]> = texts.iter().map(|t| *blake3::hash(t.as_ref().as_bytes()).as_bytes()).collect();
            let mut missing: Vec<&str> = Vec::new();
            let mut missing_keys: Vec<[u8; 32]> = Vec::new();
            let mut queued: std::collections::HashSet<[u8; 32]> = std::collections::HashSet::new();
            for (t, k) in texts.iter().zip(&keys) {
                if !memo.contains_key(k) && queued.insert(*k) {
                    missing.push(t.as_ref());
                    missing_keys.push(*k);
                }
            }
            for (k, v) in missing_keys.into_iter().zip(self.embed_uncached(&missing)?) {
                memo.insert(k, v);
            }
            return Ok(keys.iter().map(|k| memo[k].clone()).collect());
        }
        drop(memo);
        self.embed_uncached(texts)
    }

    fn embed_uncached<S: AsRef<str> + Send + Sync>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = model
            .embed(texts, Some(self.batch_size))
            .map_err(|e| IndexError::Model { model: self.info.model.clone(), message: e.to_string() })?;
        if self.info.normalize {
            for v in &mut out {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|x| *x /= norm);
                }
            }
        }
        Ok(out)
    }

    /// Embeds one query (after the model's query prefix).
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let q = format!("{}{text}", self.info.query_prefix);
        Ok(self.embed(&[q])?.pop().unwrap_or_default())
    }

    /// Embeds passages to index (after the model's passage prefix).
    pub fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if self.info.passage_prefix.is_empty() {
            return self.embed(texts);
        }
        let prefixed: Vec<String> = texts.iter().map(|t| format!("{}{t}", self.info.passage_prefix)).collect();
        self.embed(&prefixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e5_models_get_their_prefixes_and_others_none() {
        for m in ["intfloat/multilingual-e5-small", "intfloat/multilingual-e5-large", "intfloat/e5-base-v2"] {
            assert_eq!(e5_prefixes(m), ("query: ".to_owned(), "passage: ".to_owned()), "{m}");
        }
        for m in ["all-MiniLM-L6-v2", "BAAI/bge-m3", "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"] {
            assert_eq!(e5_prefixes(m), (String::new(), String::new()), "{m}");
        }
        // The default model's manifest entry is unchanged: no prefix fields are written.
        let info = EmbedderInfo {
            model: "m".into(),
            location: "l".into(),
            precision: None,
            dim: 3,
            pooling: "mean".into(),
            normalize: true,
            max_length: 256,
            checksum: "c".into(),
            query_prefix: String::new(),
            passage_prefix: String::new(),
        };
        assert!(!serde_json::to_string(&info).unwrap().contains("prefix"));
        // An English-only model reads Latin text only; a multilingual one reads every script.
        let minilm = EmbedderInfo { model: "all-MiniLM-L6-v2".into(), ..info.clone() };
        assert!(minilm.english_only() && minilm.reads("Which NFL team won?") && !minilm.reads("पैंथर्स ने कितने अंक दिए?"));
        for m in ["BAAI/bge-small-en-v1.5", "intfloat/e5-base-v2"] {
            assert!(EmbedderInfo { model: m.into(), ..info.clone() }.english_only(), "{m}");
        }
        let e5 = EmbedderInfo { model: "intfloat/multilingual-e5-small".into(), ..info.clone() };
        assert!(!e5.english_only() && e5.reads("पैंथर्स ने कितने अंक दिए?"));
    }
}
