//! Crash-safe file writes, the one way every quarry crate replaces a file in place.
//!
//! [`write_atomic`] writes a temporary file beside the target, fsyncs it, renames it over
//! the target and fsyncs the directory, so after a crash the target holds either its old
//! bytes or its new ones, and the rename itself survives. On any error the temporary file is
//! removed and the target is untouched. [`append_synced`] appends whole lines and syncs them
//! before it returns (JSONL files that only grow).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with what `fill` writes, atomically and durably (see the crate docs).
/// `fill`'s own errors are returned as they are; I/O errors become `E` through `From`.
pub fn write_atomic<E: From<std::io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent(path);
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp: PathBuf =
        dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| -> Result<(), E> {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_dir(dir)?;
    Ok(())
}

/// [`write_atomic`] with the whole content at hand.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Appends `bytes` to an open file and syncs its data before returning.
pub fn append_synced(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_data()
}

/// Fsyncs a directory, so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory `path` lies in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temp_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        write_bytes_atomic(&p, b"one").unwrap();
        write_bytes_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let err = write_atomic(&p, |w| {
            w.write_all(b"three")?;
            Err(std::io::Error::other("boom"))
        });
        assert_eq!(err.unwrap_err().to_string(), "boom");
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file is removed");
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/x.txt");
        assert!(write_bytes_atomic(&p, b"x").is_err());
    }

    #[test]
    fn appends_are_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&p).unwrap();
        append_synced(&mut f, b"{}\n").unwrap();
        append_synced(&mut f, b"{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{}\n{}\n");
    }

    /// Every file a quarry crate replaces in place goes through this crate, so every rename is
    /// followed by a sync of its directory. The one rename elsewhere is the store's segment,
    /// written in pieces and renamed by its writer, which syncs the directory after it.
    #[test]
    fn renames_happen_here_and_are_followed_by_a_directory_sync() {
        let crates = std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("..");
        let mut found = Vec::new();
        let mut stack = vec![crates];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if p.is_dir() && name != "target" && name != "quarry-fs" && name != "tests" && name != "benches" {
                    stack.push(p);
                } else if name.ends_with(".rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for (i, _) in code.match_indices("rename(") {
                        // The next 400 bytes must sync the directory.
                        let after = &code[i..code.len().min(i + 400)];
                        found.push((p.display().to_string(), after.contains("sync_dir(")));
                    }
                }
            }
        }
        assert!(found.iter().all(|(_, synced)| *synced), "a rename without a directory sync: {found:?}");
        assert!(found.len() <= 1, "files replaced in place outside quarry-fs: {found:?}");
    }
}
