//! The auth configuration of a running swfd (`--auth-config`): loaded at start (a bad file stops the
//! start), then read again whenever it or a secret file it names changes (checked every second, which
//! also catches the symlink swap a Kubernetes Secret update makes) and on SIGHUP. A file that no
//! longer parses leaves the configuration in force and is logged. Without a configuration swfd logs
//! loudly that anyone may call anything.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use swf_auth::Auth;

use crate::config::Settings;

/// How often the file is checked for a change.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The auth configuration in force, with its reloader running; `None` when auth is off.
pub fn start(settings: &Settings) -> anyhow::Result<Option<Arc<Auth>>> {
    let Some(path) = &settings.auth_config else {
        tracing::warn!(
            "AUTH IS OFF: no --auth-config, so signatures are not checked and ANYONE WHO REACHES THE \
             SWF PORT MAY CALL ANYTHING. Give --auth-config (SWFD_AUTH_CONFIG, auth-config) for \
             SigV4 and IAM policies."
        );
        return Ok(None);
    };
    let auth = Arc::new(
        Auth::load(path, &settings.region, &settings.account_id)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("loading the auth configuration {}", path.display()))?,
    );
    tracing::info!(
        path = %path.display(),
        principals = auth.store().principals.len(),
        "auth is on: every call must be signed (SigV4) and allowed by the caller's policies"
    );
    let reloader = auth.clone();
    tokio::spawn(async move {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            let force = tokio::select! {
                _ = tokio::time::sleep(CHECK_EVERY) => false,
                _ = async {
                    match hup.as_mut() {
                        Some(h) => { h.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => true,
            };
            let auth = reloader.clone();
            match tokio::task::spawn_blocking(move || auth.reload(force)).await {
                Ok(Ok(true)) => tracing::info!(
                    principals = reloader.store().principals.len(),
                    sighup = force,
                    "auth configuration reloaded"
                ),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::error!(
                    error = %e,
                    "the auth configuration does not load; the previous one stays in force"
                ),
                Err(e) => tracing::error!(error = %e, "auth reload failed"),
            }
        }
    });
    Ok(Some(auth))
}
