//! The table of the console's files. A new file under `assets/` is served once it is listed here
//! (the unit tests check every listed file has a known content type).

use crate::{content_type, Asset};

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        /// Every file of the console.
        pub static ASSETS: &[Asset] = &[
            $(Asset {
                path: $path,
                body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
                content_type: content_type($path),
            }),*
        ];
    };
}

assets!(
    "index.html",
    "console.css",
    "js/app.js",
    "js/api.js",
    "js/sigv4.js",
    "js/ui.js",
    "js/cluster.js",
    "js/domains.js",
    "js/executions.js",
    "js/execution.js",
    "js/timeline.js",
    "js/tasklists.js",
    "js/sfn.js",
    "js/graph.js",
);
