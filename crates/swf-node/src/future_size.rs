//! The size of a held call's futures, logged once per site at DEBUG: a long poll holds its futures
//! (boxed on the heap) for up to a minute, so what they weigh times the number of idle polls is most
//! of a node's memory (`docs/benchmarks.md`, "Idle long polls"). `SWFD_LOG=debug` shows them.

use std::sync::atomic::{AtomicBool, Ordering};

/// Logs `bytes` as the size of the future `what` the first time `site` is passed.
pub fn log_once(site: &'static AtomicBool, what: &'static str, bytes: usize) {
    if !site.swap(true, Ordering::Relaxed) {
        tracing::debug!(bytes, future = what, "size of a held call's future");
    }
}

/// Boxes `fut` (its own allocation, so a caller's future does not carry its state inline) and logs
/// its size once for `site`.
#[macro_export]
macro_rules! boxed_sized {
    ($what:literal, $fut:expr) => {{
        static SITE: ::std::sync::atomic::AtomicBool = ::std::sync::atomic::AtomicBool::new(false);
        let fut = Box::pin($fut);
        $crate::future_size::log_once(&SITE, $what, ::std::mem::size_of_val(&*fut));
        fut
    }};
}
