//! The cluster's apply version (`swf_core::apply_version`) through real swfd processes: a member that
//! offers only the older version (`--max-apply-version`, as a node of the release before does) holds
//! the whole cluster on the older rules; once it offers the newer one the leader raises the version
//! on every replica; a new member offering less is not let in, and a node offering less than the
//! cluster applies refuses to start, each with the reason; and `check-config` refuses a version this
//! build does not know.

use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::Value;
use swf_e2e::{agreed_leader, setup_domain, Launch, Swfd};

const OLD: u32 = 1;
const NEW: u32 = 4;

fn offering(version: u32) -> Launch {
    Launch {
        env: vec![("SWFD_MAX_APPLY_VERSION".into(), version.to_string())],
        wrapper: Vec::new(),
    }
}

/// Polls every node's status until `done` holds for all of them (15 s at most).
async fn until_all(nodes: &[&Swfd], what: &str, done: impl Fn(&Value) -> bool) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut statuses = Vec::new();
        for n in nodes {
            statuses.push(n.cluster_status().await?);
        }
        if statuses.iter().all(&done) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("{what}: not reached; statuses: {statuses:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_cluster_moves_to_a_version_only_when_every_member_offers_it() -> Result<()> {
    let default = Launch::default();
    // Without auth whatever SWF_E2E_AUTH says: the joiner below is launched plainly (no peer TLS).
    let mut nodes = Swfd::start_cluster_launched_without_auth(
        3,
        &[],
        &[default.clone(), default, offering(OLD)],
    )
    .await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&all, None).await? as usize;
    // Writes go on meanwhile (through the member that holds the version back, too).
    setup_domain(&nodes[2].client(), "versions").await?;

    // The leader has asked every member (its status shows their answers once it acted on them),
    // and node 3 (the leader itself, or one of the answers) kept the cluster on the old rules.
    let lead = &nodes[leader - 1];
    until_all(&[lead], "the leader's round", |s| {
        s["member_apply_versions"]
            .as_object()
            .is_some_and(|m| m.len() == 2 && m.values().all(|v| v.is_u64()))
    })
    .await?;
    let offers = lead.cluster_status().await?["member_apply_versions"].clone();
    if leader != 3 {
        assert_eq!(offers["3"], OLD, "{offers}");
    }
    until_all(&all, "every replica on the old version", |s| {
        s["apply_version"] == OLD
    })
    .await?;
    let status = nodes[0].cluster_status().await?;
    assert_eq!(status["max_apply_version"], NEW, "{status}");
    assert_eq!(nodes[2].cluster_status().await?["max_apply_version"], OLD);

    // Node 3 upgraded (it now offers the newest version): the leader raises it on every replica.
    nodes[2].set_env("SWFD_MAX_APPLY_VERSION", None);
    nodes[2].restart().await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    until_all(&all, "every replica on the new version", |s| {
        s["apply_version"] == NEW
    })
    .await?;
    setup_domain(&nodes[0].client(), "after").await?;

    // A new member that offers only the old version is not let in: its join is refused, with why.
    let old_joiner = Swfd::launch_with(&[
        "--node-id",
        "4",
        "--join",
        &nodes[0].admin_endpoint(),
        "--max-apply-version",
        &OLD.to_string(),
    ])?;
    let why = format!(
        "Node 4 offers apply version {OLD}, and the cluster applies its log by the rules of \
         version {NEW}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !old_joiner.log().contains(&why) {
        if tokio::time::Instant::now() >= deadline {
            bail!("no refusal in the joiner's log:\n{}", old_joiner.log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let members = nodes[0].cluster_status().await?["members"].clone();
    assert_eq!(members.as_object().map(|m| m.len()), Some(3), "{members}");
    drop(old_joiner);

    // Going back is refused: node 3 offering only the old version again does not start.
    nodes[2].set_env("SWFD_MAX_APPLY_VERSION", Some(&OLD.to_string()));
    // (It may announce its listeners before it reads its state; then it exits.)
    let refused = match nodes[2].relaunch() {
        Err(e) => format!("{e:#}"),
        Ok(()) => {
            let status = nodes[2].wait_exit(Duration::from_secs(30)).await?;
            assert!(!status.success(), "{status:?}");
            nodes[2].log()
        }
    };
    assert!(
        refused.contains(&format!(
            "the cluster applies log entries by the rules of apply version {NEW}, and this build \
             knows versions up to {OLD}"
        )),
        "{refused}"
    );
    // The other two still serve.
    setup_domain(&nodes[0].client(), "still").await?;
    Ok(())
}

#[test]
fn check_config_refuses_a_version_this_build_does_not_know() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    for (version, ok) in [("0", false), ("1", true), ("4", true), ("5", false)] {
        let out = std::process::Command::new(swf_e2e::swfd_bin()?)
            .arg("check-config")
            .args(["--data-dir", data.to_str().unwrap()])
            .args(["--max-apply-version", version])
            .env_remove("SWFD_ADMIN_TOKEN_FILE")
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{version}: {text}");
        if !ok {
            assert!(
                text.contains("max-apply-version must be from 1 to 4"),
                "{version}: {text}"
            );
        }
    }
    Ok(())
}
