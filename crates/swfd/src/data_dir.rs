//! The start-up check of the data directory: swfd refuses to start on one it cannot write (a read-only
//! mount, a directory owned by another user), with the reason and exit code `EXIT_NOT_WRITABLE`,
//! instead of failing somewhere inside RocksDB's open with a less clear error.

use std::io;
use std::path::Path;

/// The exit code of a start on a data directory that cannot be written (sysexits' `EX_CANTCREAT`).
pub const EXIT_NOT_WRITABLE: i32 = 73;

/// Creates `dir` if needed and proves it writable by creating, syncing and removing a probe file.
pub fn check_writable(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".swfd-write-check");
    let result = (|| {
        let f = std::fs::File::create(&probe)?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    result
}

/// The message swfd exits with when `dir` cannot be written.
pub fn not_writable_message(dir: &Path, e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(30) => "the filesystem is mounted read-only",
        Some(13) | Some(1) => "permission denied: run swfd as a user that may write there",
        Some(28) => "no space left on the device",
        _ => "check the path, its mount and its permissions",
    };
    format!(
        "swfd: the data directory {} is not writable ({e}): {hint}",
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_passes_and_keeps_no_probe() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        check_writable(&data).unwrap();
        assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
    }

    #[test]
    fn the_message_names_the_directory_and_the_cause() {
        let e = io::Error::from_raw_os_error(30);
        let m = not_writable_message(Path::new("/srv/swfd"), &e);
        assert!(m.contains("/srv/swfd") && m.contains("read-only"), "{m}");
    }
}
