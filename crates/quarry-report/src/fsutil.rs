//! Atomic file writes (quarry-fs) with the report's errors.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::ReportError;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_owned(), source }
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(dir).map_err(io_err(dir))
}

/// Writes `path` atomically and durably through quarry-fs: `fill` writes into a temporary
/// file next to it, which is fsynced and renamed over `path`, and the directory is fsynced.
/// On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    enum Failure {
        Io(std::io::Error),
        Report(ReportError),
    }
    impl From<std::io::Error> for Failure {
        fn from(e: std::io::Error) -> Failure {
            Failure::Io(e)
        }
    }
    quarry_fs::write_atomic(path, |w| fill(w).map_err(Failure::Report)).map_err(|f| match f {
        Failure::Io(e) => io_err(path)(e),
        Failure::Report(r) => r,
    })
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
