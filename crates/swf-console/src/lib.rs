//! The web console's files (HTML, CSS, ES modules under `assets/`), built into the binary with
//! `include_bytes!`: swfd serves them at `/console/` with no internet, CDN or build step. This crate
//! only holds the files and what a server needs to answer for one (its content type and a strong
//! validator); the routes are in `swf-gateway` (`console`).
//!
//! A file is found by exact name in a fixed table, so no request path can reach anything else (no
//! directory traversal: `..`, encoded or not, is just a name that is not in the table).

mod assets;

pub use assets::ASSETS;

/// One file of the console.
#[derive(Debug)]
pub struct Asset {
    /// Its path under `/console/` (`index.html`, `js/app.js`, ...).
    pub path: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
}

impl Asset {
    /// A strong entity tag of the file's bytes (FNV-1a, 64 bits, quoted), for `ETag` and
    /// `If-None-Match`: the files change only with the binary, so the tag changes with them.
    pub fn etag(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.body {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("\"{h:016x}\"")
    }
}

/// The file at `path` (relative to `/console/`; `""` is `index.html`), if the console has one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The content type of a file name, by its extension.
pub const fn content_type(path: &str) -> &'static str {
    let b = path.as_bytes();
    if ends_with(b, b".html") {
        "text/html; charset=utf-8"
    } else if ends_with(b, b".js") {
        "text/javascript; charset=utf-8"
    } else if ends_with(b, b".css") {
        "text/css; charset=utf-8"
    } else if ends_with(b, b".svg") {
        "image/svg+xml"
    } else if ends_with(b, b".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

const fn ends_with(s: &[u8], suffix: &[u8]) -> bool {
    if s.len() < suffix.len() {
        return false;
    }
    let mut i = 0;
    while i < suffix.len() {
        if s[s.len() - suffix.len() + i] != suffix[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_by_exact_name_only() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", Some("text/html; charset=utf-8")),
            ("index.html", Some("text/html; charset=utf-8")),
            ("console.css", Some("text/css; charset=utf-8")),
            ("js/app.js", Some("text/javascript; charset=utf-8")),
            ("../Cargo.toml", None),
            ("js/../index.html", None),
            ("%2e%2e/Cargo.toml", None),
            ("/etc/passwd", None),
            ("js", None),
            ("js/", None),
            ("JS/APP.JS", None),
        ];
        for (path, want) in cases {
            assert_eq!(asset(path).map(|a| a.content_type), *want, "{path}");
        }
    }

    #[test]
    fn every_file_has_a_known_type_and_a_stable_tag() {
        for a in ASSETS {
            assert_ne!(a.content_type, "application/octet-stream", "{}", a.path);
            assert!(!a.body.is_empty(), "{}", a.path);
            assert_eq!(a.etag(), a.etag());
        }
    }
}
