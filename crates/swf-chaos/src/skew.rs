//! Clock skew for the `clock` fault: every node runs with `clockshift` preloaded (`LD_PRELOAD`; the
//! C source is `crates/swf-chaos/clockshift.c`, built here with `cc`), reading its offset from a file
//! of its own (`SWF_CLOCKSHIFT_FILE`, re-read at most every 100 ms), which the nemesis rewrites to move
//! the node's wall clock ahead, behind, or to jump it while it runs. The monotonic clock is left alone,
//! as NTP leaves it. (Debian's libfaketime deadlocks swfd before main: it initialises itself inside
//! jemalloc's initialisation; see the C file.) The checkers judge time by this process's clock, the
//! single reference, which no fault touches.

use std::path::{Path, PathBuf};

/// The shim's source.
pub const SOURCE: &str = include_str!("../clockshift.c");

/// Builds the clock shim into `dir` with the C compiler (`$CC`, else `cc`); its path, or why not.
pub fn build(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let src = dir.join("clockshift.c");
    let lib = dir.join("libclockshift.so");
    std::fs::write(&src, SOURCE).map_err(|e| e.to_string())?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = std::process::Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .output()
        .map_err(|e| format!("{cc}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} clockshift.c: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(lib)
}

/// The clocks of a cluster's nodes: the shim and the directory of the offset files.
#[derive(Debug, Clone)]
pub struct Clocks {
    pub lib: PathBuf,
    pub dir: PathBuf,
}

impl Clocks {
    fn file(&self, node_id: usize) -> PathBuf {
        self.dir.join(format!("node{node_id}.clock"))
    }

    /// Sets node `node_id`'s wall clock `offset_secs` off the real one (takes effect within 100 ms).
    pub fn set(&self, node_id: usize, offset_secs: i64) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        // Written whole and renamed, so the node never reads half a file.
        let tmp = self.dir.join(format!(".node{node_id}.tmp"));
        std::fs::write(&tmp, format!("{offset_secs:+}\n"))?;
        std::fs::rename(tmp, self.file(node_id))
    }

    /// The environment that runs node `node_id` with the clock shim and its offset file (created at 0).
    pub fn env(&self, node_id: usize) -> std::io::Result<Vec<(String, String)>> {
        if !self.file(node_id).exists() {
            self.set(node_id, 0)?;
        }
        Ok(env_for(&self.lib, &self.file(node_id)))
    }
}

fn env_for(lib: &Path, file: &Path) -> Vec<(String, String)> {
    vec![
        ("LD_PRELOAD".into(), lib.display().to_string()),
        ("SWF_CLOCKSHIFT_FILE".into(), file.display().to_string()),
    ]
}

/// The offsets (seconds) of a clock fault's targets, by variant: ahead, behind, or a jump (the first
/// value for the first half of the hold, the second after). With two targets (5 nodes) the second
/// gets the opposite sign, so the minority's clocks disagree with each other too.
pub fn offsets(variant: u32, target: usize) -> (i64, Option<i64>) {
    let sign = if target.is_multiple_of(2) { 1 } else { -1 };
    match variant % 3 {
        0 => (sign * 3600, None),
        1 => (-sign * 3600, None),
        _ => (sign * 600, Some(-sign * 600)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cover_ahead_behind_and_jumps() {
        assert_eq!(offsets(0, 0), (3600, None));
        assert_eq!(offsets(0, 1), (-3600, None));
        assert_eq!(offsets(1, 0), (-3600, None));
        assert_eq!(offsets(2, 0), (600, Some(-600)));
        assert_eq!(offsets(2, 1), (-600, Some(600)));
    }

    #[test]
    fn offset_files_are_what_the_shim_reads() {
        let dir = std::env::temp_dir().join(format!("swf-chaos-skew-{}", std::process::id()));
        let clocks = Clocks {
            lib: PathBuf::from("/nonexistent/libclockshift.so"),
            dir: dir.clone(),
        };
        let env = clocks.env(2).unwrap();
        let file = env
            .iter()
            .find(|(k, _)| k == "SWF_CLOCKSHIFT_FILE")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&file.1).unwrap(), "+0\n");
        clocks.set(2, -3600).unwrap();
        assert_eq!(std::fs::read_to_string(&file.1).unwrap(), "-3600\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The shim moves a real process's wall clock by the file's offset, and moves it again when the
    /// file changes.
    #[test]
    fn the_shim_moves_a_process_clock() {
        let dir = std::env::temp_dir().join(format!("swf-chaos-shim-{}", std::process::id()));
        let lib = match build(&dir) {
            Ok(lib) => lib,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED: no C compiler: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let clocks = Clocks {
            lib,
            dir: dir.clone(),
        };
        let read = |clocks: &Clocks| -> i64 {
            let out = std::process::Command::new("date")
                .arg("+%s")
                .envs(clocks.env(1).unwrap())
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        let real = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
        };
        clocks.set(1, 3600).unwrap();
        assert!((read(&clocks) - real() - 3600).abs() <= 2);
        clocks.set(1, -600).unwrap();
        assert!((read(&clocks) - real() + 600).abs() <= 2);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
