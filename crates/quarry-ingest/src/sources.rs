//! Finding the inputs: files and directories (walked recursively, sorted, with
//! include/exclude globs), each with a format and a stable source key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{IngestError, Skip, SkipReason};

/// What a file holds, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Plain text; Project Gutenberg books are recognised inside.
    Text,
    Markdown,
    Html,
    Epub,
    Jsonl,
    /// A MediaWiki XML dump, read as a stream through its compression.
    WikiDump {
        compression: Compression,
    },
}

/// How a dump is compressed (by its file name's last extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compression {
    None,
    Bzip2,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    fn of(name: &str) -> Option<Compression> {
        [
            (".bz2", Compression::Bzip2),
            (".gz", Compression::Gzip),
            (".xz", Compression::Xz),
            (".zst", Compression::Zstd),
        ]
        .into_iter()
        .find(|(e, _)| name.ends_with(e))
        .map(|(_, c)| c)
    }
}

/// Archive and compression formats quarry does not read, by extension, to name them in the
/// skip message (instead of calling them binary).
const UNREAD: &[&str] = &[".7z", ".zip", ".rar", ".tar", ".lz4", ".lzma", ".z", ".br", ".gz", ".xz", ".zst", ".bz2"];

impl Format {
    /// The format of a file by its name, if quarry reads it. Wikipedia dumps are read
    /// through bzip2, gzip, xz or zstd (`.xml.bz2`, `.xml.gz`, `.xml.xz`, `.xml.zst`, and a
    /// `…pages-articles….bz2` of any of these).
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        let ext = |e: &str| name.ends_with(e);
        let compression = Compression::of(&name);
        let stem = compression.map_or(name.as_str(), |_| name.rsplit_once('.').map_or("", |(s, _)| s));
        Some(if stem.ends_with(".xml") || (compression.is_some() && stem.contains("pages-articles")) {
            Format::WikiDump { compression: compression.unwrap_or(Compression::None) }
        } else if ext(".txt") || ext(".text") {
            Format::Text
        } else if ext(".md") || ext(".markdown") {
            Format::Markdown
        } else if ext(".html") || ext(".htm") || ext(".xhtml") {
            Format::Html
        } else if ext(".epub") {
            Format::Epub
        } else if ext(".jsonl") || ext(".ndjson") {
            Format::Jsonl
        } else {
            return None;
        })
    }

    /// Why a file of this name cannot be read, when its name says it is an archive or
    /// compressed file of a kind quarry does not read ("a .7z archive", "gzip-compressed text").
    pub fn unread(path: &Path) -> Option<String> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        let e = UNREAD.iter().find(|e| name.ends_with(*e))?;
        Some(format!(
            "a {e} file: quarry reads compressed Wikipedia dumps (.xml.bz2, .xml.gz, .xml.xz, .xml.zst), not other archives or compressed files; unpack it first"
        ))
    }

    /// A short name, as stored in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Epub => "epub",
            Format::Jsonl => "jsonl",
            Format::WikiDump { .. } => "wikipedia",
        }
    }
}

/// One input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Stable key: the path relative to the parent of the argument it was
    /// found under (`books/1228.txt` for `quarry ingest /data/books`), with `/`
    /// separators on every platform.
    pub key: String,
    pub format: Format,
    pub size: u64,
}

/// Include and exclude globs, matched against source keys and file names.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filters {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filters, IngestError> {
        let build = |globs: &[String]| -> Result<Option<GlobSet>, IngestError> {
            if globs.is_empty() {
                return Ok(None);
            }
            let mut b = GlobSetBuilder::new();
            for g in globs {
                b.add(Glob::new(g).map_err(|e| IngestError::Inputs(format!("bad glob {g:?}: {e}")))?);
            }
            Ok(Some(b.build().map_err(|e| IngestError::Inputs(e.to_string()))?))
        };
        Ok(Filters { include: build(include)?, exclude: build(exclude)? })
    }

    fn admits(&self, key: &str) -> bool {
        let name = key.rsplit('/').next().unwrap_or(key);
        let hit = |set: &GlobSet| set.is_match(key) || set.is_match(name);
        self.include.as_ref().is_none_or(hit) && !self.exclude.as_ref().is_some_and(hit)
    }
}

fn key_of(root_name: &str, rel: &Path) -> String {
    let mut parts = vec![root_name.to_owned()];
    parts.extend(rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.retain(|p| !p.is_empty());
    parts.join("/")
}

fn root_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| std::fs::canonicalize(path).ok()?.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// The inputs under `paths`, in a deterministic order, and the paths that
/// could not be used.
pub fn discover(paths: &[PathBuf], filters: &Filters) -> Result<(Vec<Input>, Vec<Skip>), IngestError> {
    let mut inputs = Vec::new();
    let mut skips = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                skips.push(Skip::new(shown, SkipReason::NotFound, "no such file or directory"));
                continue;
            }
            Err(e) => {
                skips.push(Skip::new(shown, SkipReason::Unreadable, e.to_string()));
                continue;
            }
        };
        if meta.is_file() {
            // A file named on the command line is read even without a known
            // extension: as plain text.
            let key = root_name(path);
            inputs.push(Input {
                path: path.clone(),
                key,
                format: match Format::of(path) {
                    Some(f) => f,
                    None => {
                        if let Some(why) = Format::unread(path) {
                            skips.push(Skip::new(path.display().to_string(), SkipReason::UnsupportedFormat, why));
                            continue;
                        }
                        Format::Text
                    }
                },
                size: meta.len(),
            });
            continue;
        }
        let root = root_name(path);
        let walker = walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let where_ = e.path().map_or_else(|| shown.clone(), |p| p.display().to_string());
                    let msg = if e.loop_ancestor().is_some() {
                        "symlink loop: this directory links back to one of its parents; not followed".to_owned()
                    } else {
                        e.io_error().map_or_else(|| e.to_string(), |io| io.to_string())
                    };
                    skips.push(Skip::new(where_, SkipReason::Unreadable, msg));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(path).unwrap_or(entry.path());
            if rel.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
                continue;
            }
            let key = key_of(&root, rel);
            if !filters.admits(&key) {
                continue;
            }
            let Some(format) = Format::of(entry.path()) else {
                let why = Format::unread(entry.path()).unwrap_or_else(|| "no loader for this file type".into());
                skips.push(Skip::new(entry.path().display().to_string(), SkipReason::UnsupportedFormat, why));
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            inputs.push(Input { path: entry.into_path(), key, format, size });
        }
    }
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for i in &inputs {
        if let Some(other) = seen.insert(&i.key, &i.path) {
            return Err(IngestError::Inputs(format!(
                "{} and {} would both be stored as {:?}; ingest them in separate runs or rename one",
                other.display(),
                i.path.display(),
                i.key
            )));
        }
    }
    Ok((inputs, skips))
}
