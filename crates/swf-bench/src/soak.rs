//! `--soak FILE`: a long run's figures per period (a minute by default) as CSV rows, for the soak test
//! of issue 18 (scripts/soak.sh): the workflows, calls and errors of the period, the p50 and p99 of
//! its calls, and for each watched node (`--watch NAME=PID:DIR`) its resident memory (`VmRSS` from
//! `/proc/PID/status`) and the size of its data directory (the files' lengths, summed). A row is
//! written and flushed as each period ends, so a run cut short keeps what it measured.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::stats::Percentiles;

/// A node whose memory and data directory are sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub name: String,
    pub pid: u32,
    pub dir: PathBuf,
}

impl FromStr for Watch {
    type Err = String;

    /// `NAME=PID:DIR`, e.g. `node1=4242:/tmp/soak/node1/data`.
    fn from_str(s: &str) -> Result<Watch, String> {
        let bad = || format!("--watch '{s}' is not NAME=PID:DIR");
        let (name, rest) = s.split_once('=').ok_or_else(bad)?;
        let (pid, dir) = rest.split_once(':').ok_or_else(bad)?;
        let ok_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok_name || dir.is_empty() {
            return Err(bad());
        }
        Ok(Watch {
            name: name.to_string(),
            pid: pid.parse().map_err(|_| bad())?,
            dir: PathBuf::from(dir),
        })
    }
}

/// The resident memory of process `pid` in bytes (`None` once it is gone).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    rss_of_status(&status)
}

/// `VmRSS` of a `/proc/PID/status` text, in bytes.
fn rss_of_status(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The summed lengths of the files under `dir`, each file once however many names it has (a snapshot
/// checkpoint hard-links the database's SST files: counted by name, the same bytes were counted twice,
/// as `du` does not), symbolic links not followed; files that vanish while it is walked, as RocksDB's
/// do, are skipped.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    dir_bytes_once(dir, &mut seen)
}

fn dir_bytes_once(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        match e.path().symlink_metadata() {
            Ok(m) if m.is_dir() => total += dir_bytes_once(&e.path(), seen),
            Ok(m) if m.is_file() && seen.insert((m.dev(), m.ino())) => total += m.len(),
            _ => {}
        }
    }
    total
}

/// The CSV file and the period being gathered.
pub struct Soak {
    out: File,
    watches: Vec<Watch>,
    every: u64,
    /// Latencies (µs) of the period so far.
    window: Vec<u32>,
    /// (workflows, calls, errors) at the start of the period.
    last: (u64, u64, u64),
}

/// The header row for `watches`.
pub fn header(watches: &[Watch]) -> String {
    let mut h = String::from("elapsed_s,workflows_per_s,calls_per_s,errors,p50_ms,p99_ms");
    for w in watches {
        h.push_str(&format!(",{0}_rss_mb,{0}_data_mb", w.name));
    }
    h
}

/// One row: the period ending at `elapsed` seconds, `every` seconds long, with `delta` (workflows,
/// calls, errors) and latency percentiles `p`, then (RSS, data) bytes per watched node.
pub fn row(
    elapsed: u64,
    every: u64,
    delta: (u64, u64, u64),
    p: &Percentiles,
    nodes: &[(Option<u64>, u64)],
) -> String {
    let per_s = |n: u64| n as f64 / every.max(1) as f64;
    let mb = |b: u64| b as f64 / 1e6;
    let mut r = format!(
        "{elapsed},{:.1},{:.1},{},{:.2},{:.2}",
        per_s(delta.0),
        per_s(delta.1),
        delta.2,
        p.p50,
        p.p99
    );
    for (rss, data) in nodes {
        match rss {
            Some(rss) => r.push_str(&format!(",{:.1}", mb(*rss))),
            None => r.push(','),
        }
        r.push_str(&format!(",{:.1}", mb(*data)));
    }
    r
}

impl Soak {
    /// Creates `path` with its header row; a row every `every` seconds.
    pub fn create(path: &Path, watches: Vec<Watch>, every: u64) -> anyhow::Result<Soak> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = File::create(path)?;
        writeln!(out, "{}", header(&watches))?;
        Ok(Soak {
            out,
            watches,
            every: every.max(1),
            window: Vec::new(),
            last: (0, 0, 0),
        })
    }

    /// Second `t` of the measured run ended with these latencies (µs) and running totals
    /// (workflows, calls, errors); at the end of a period writes its row, and returns it.
    pub fn second(
        &mut self,
        t: u64,
        interval: &[u32],
        totals: (u64, u64, u64),
    ) -> anyhow::Result<Option<String>> {
        self.window.extend_from_slice(interval);
        if !t.is_multiple_of(self.every) {
            return Ok(None);
        }
        let p = Percentiles::of(&mut self.window);
        self.window.clear();
        let delta = (
            totals.0 - self.last.0,
            totals.1 - self.last.1,
            totals.2 - self.last.2,
        );
        self.last = totals;
        let nodes: Vec<(Option<u64>, u64)> = self
            .watches
            .iter()
            .map(|w| (rss_bytes(w.pid), dir_bytes(&w.dir)))
            .collect();
        let line = row(t, self.every, delta, &p, &nodes);
        writeln!(self.out, "{line}")?;
        self.out.flush()?;
        Ok(Some(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watch as (name, pid, dir).
    type Parts<'a> = (&'a str, u32, &'a str);

    #[test]
    fn watches_parse() {
        let cases: &[(&str, Option<Parts>)] = &[
            ("node1=42:/tmp/a", Some(("node1", 42, "/tmp/a"))),
            (
                "n_2=7:rel/dir:with:colons",
                Some(("n_2", 7, "rel/dir:with:colons")),
            ),
            ("node1=x:/tmp/a", None),
            ("node1=42", None),
            ("=42:/a", None),
            ("a b=42:/a", None),
            ("node1=42:", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<Watch>().ok();
            let want = want.map(|(n, p, d)| Watch {
                name: n.into(),
                pid: p,
                dir: d.into(),
            });
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn rss_is_read_from_proc_status() {
        let status = "Name:\tswfd\nVmPeak:\t  9000 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n";
        assert_eq!(rss_of_status(status), Some(51200 * 1024));
        assert_eq!(rss_of_status("Name:\tx\n"), None);
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
    }

    #[test]
    fn rows_and_header() {
        let w: Watch = "node1=1:/d".parse().unwrap();
        assert_eq!(
            header(&[w]),
            "elapsed_s,workflows_per_s,calls_per_s,errors,p50_ms,p99_ms,node1_rss_mb,node1_data_mb"
        );
        let p = Percentiles {
            p50: 1.5,
            p99: 12.25,
            ..Percentiles::default()
        };
        let cases = [
            (
                vec![(Some(52_000_000), 1_500_000)],
                "120,10.0,70.0,0,1.50,12.25,52.0,1.5",
            ),
            (vec![(None, 0)], "120,10.0,70.0,0,1.50,12.25,,0.0"),
        ];
        for (nodes, want) in cases {
            assert_eq!(row(120, 60, (600, 4200, 0), &p, &nodes), want);
        }
    }

    #[test]
    fn a_row_per_period_with_the_periods_own_figures() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/f"), vec![0u8; 3000]).unwrap();
        std::fs::write(dir.path().join("g"), vec![0u8; 1000]).unwrap();
        // A second name of the same file (a checkpoint's hard link) adds nothing.
        std::fs::hard_link(dir.path().join("g"), dir.path().join("sub/g")).unwrap();
        assert_eq!(dir_bytes(dir.path()), 4000);
        let watch = Watch {
            name: "me".into(),
            pid: std::process::id(),
            dir: dir.path().into(),
        };
        let csv = dir.path().join("out/soak.csv");
        let mut soak = Soak::create(&csv, vec![watch], 2).unwrap();
        assert_eq!(soak.second(1, &[1000, 2000], (1, 7, 0)).unwrap(), None);
        let first = soak.second(2, &[3000], (2, 14, 1)).unwrap().unwrap();
        assert!(first.starts_with("2,1.0,7.0,1,2.00,3.00,"), "{first}");
        assert!(first.ends_with(",0.0"), "{first}");
        assert_eq!(soak.second(3, &[], (2, 14, 1)).unwrap(), None);
        let second = soak.second(4, &[], (2, 14, 1)).unwrap().unwrap();
        assert!(second.starts_with("4,0.0,0.0,0,0.00,0.00,"), "{second}");
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
