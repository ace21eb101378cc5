//! `swfd admin backup` (an online backup of a running cluster, streamed from the leader's admin
//! endpoint into a file, checked end to end before it is given its name) and `swfd restore` (a data
//! directory for a node of a new cluster, from a backup). The file format and what a restore writes
//! are `swf_store::backup`'s.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// Streams a backup from the first of `endpoints` (comma-separated admin endpoints) whose node leads,
/// into `out` (written as `<out>.part`, checked, then renamed). Returns what to print.
pub async fn backup(
    http: &crate::admin_client::AdminClient,
    endpoints: &str,
    out: &Path,
) -> anyhow::Result<Value> {
    let part = PathBuf::from(format!("{}.part", out.display()));
    let mut refusals = Vec::new();
    for endpoint in endpoints
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let url = format!("{}/cluster/backup", endpoint.trim_end_matches('/'));
        let mut resp = match http.send(reqwest::Method::GET, &url, None).await {
            Ok(r) => r,
            Err(e) => {
                refusals.push(format!("{endpoint}: {e}"));
                continue;
            }
        };
        if !resp.status().is_success() {
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            refusals.push(format!(
                "{endpoint}: {}: {}",
                body["__type"].as_str().unwrap_or(status.as_str()),
                body["message"].as_str().unwrap_or("")
            ));
            continue;
        }
        let mut file =
            std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
        let mut bytes = 0u64;
        let streamed: anyhow::Result<()> = async {
            while let Some(chunk) = resp.chunk().await.context("the backup stream broke off")? {
                file.write_all(&chunk)
                    .with_context(|| format!("writing {}", part.display()))?;
                bytes += chunk.len() as u64;
            }
            file.sync_all()?;
            Ok(())
        }
        .await;
        drop(file);
        if let Err(e) = streamed {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        let checked = {
            let part = part.clone();
            tokio::task::spawn_blocking(move || swf_store::backup::verify(&part)).await?
        };
        let (header, sha256) = match checked {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                bail!("the backup received from {endpoint} is not whole: {e}");
            }
        };
        std::fs::rename(&part, out)
            .with_context(|| format!("renaming {} to {}", part.display(), out.display()))?;
        return Ok(json!({
            "file": out.display().to_string(),
            "bytes": bytes,
            "sha256": sha256,
            "from": endpoint,
            "header": header,
        }));
    }
    bail!("no backup taken: {}", refusals.join("; "))
}

/// `swfd restore`: checks the backup and prepares `data_dir` (see `swf_store::backup::restore`).
pub fn restore(
    backup: &Path,
    data_dir: &Path,
    node_id: u64,
    initial_members: &str,
) -> anyhow::Result<Value> {
    let members = crate::config::parse_members(initial_members)?;
    let done = swf_store::backup::restore(backup, data_dir, node_id, &members)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("restoring {}", backup.display()))?;
    Ok(json!({
        "data_dir": data_dir.display().to_string(),
        "node_id": node_id,
        "members": members,
        "cluster_id": done.cluster_id,
        "backup_sha256": done.sha256,
        "backup": done.header,
        "next": "start every member with its restored data directory and the same member list \
                 (--initial-members is then ignored: the directory already holds the configuration)",
    }))
}
