//! Atomic file writes: a temporary file in the target's directory, fsync, rename.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ReportError;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_owned(), source }
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(dir).map_err(io_err(dir))
}

/// Writes `path` atomically: `fill` writes into a temporary file next to it, which is
/// flushed, fsynced and renamed over `path`; the directory is then fsynced (where the
/// platform allows). On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp: PathBuf =
        dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io_err(&tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename durable; not every platform can open a directory for this.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic(path, |w| w.write_all(bytes).map_err(io_err(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_target_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        write_bytes_atomic(&p, b"one").unwrap();
        let err = write_atomic(&p, |w| {
            w.write_all(b"two").unwrap();
            Err(ReportError::UnknownFormat("boom".into()))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
