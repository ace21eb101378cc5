//! A closed run in a domain with retention 0 leaves nothing behind in the store (issue 18's soak:
//! compaction can only reclaim what the purge deletes). Driven through the real `swfd`: the state is
//! read back with `swfd admin backup` (every key and value of every state column family, in the
//! snapshot format) before and after the purge, for a short run and for one whose history is long
//! enough (1,000 events and more) to be purged with range deletions and compacted at once.
//!
//! The one thing that outlives the purge on purpose is the de-duplication table (`requests`): the
//! reply of the run's StartWorkflowExecution (its run id) is kept for two to three 2-minute buckets,
//! whatever the retention, so a retried call is still recognised; it is forgotten by time.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{ChildPolicy, Decision, DecisionType, StartTimerDecisionAttributes};
use aws_sdk_swf::Client;
use swf_e2e::{
    complete_workflow, poll_decision, schedule_activity, start_execution, Fixture, Swfd,
};

/// The state column families in the order a snapshot names them (`swf_store::db::STATE_CFS`).
const STATE_CFS: &[&str] = &[
    "domains",
    "types",
    "executions",
    "open_runs",
    "history",
    "queues",
    "visibility",
    "deadlines",
    "open_items",
    "requests",
    "sfn",
];

/// One key / value of the backed-up state, with its column family.
struct Record {
    cf: &'static str,
    key: Vec<u8>,
    value: Vec<u8>,
}

fn take(bytes: &[u8], at: &mut usize, n: usize) -> Result<Vec<u8>> {
    let end = at.checked_add(n).filter(|e| *e <= bytes.len());
    let end = end.context("the backup ends early")?;
    let out = bytes[*at..end].to_vec();
    *at = end;
    Ok(out)
}

fn take_u32(bytes: &[u8], at: &mut usize) -> Result<usize> {
    let b = take(bytes, at, 4)?;
    Ok(u32::from_be_bytes(b.try_into().unwrap()) as usize)
}

/// The records of a backup file: its header (`SWFBKUP1`, length, JSON), then the snapshot format
/// (`SWFSNAP1`, length, JSON, records of column family position, key and value, and `0xFF`).
fn records(path: &Path) -> Result<Vec<Record>> {
    let bytes = std::fs::read(path)?;
    let mut at = 0;
    for magic in [&b"SWFBKUP1"[..], &b"SWFSNAP1"[..]] {
        ensure!(take(&bytes, &mut at, 8)? == magic, "not a backup file");
        let len = take_u32(&bytes, &mut at)?;
        take(&bytes, &mut at, len)?;
    }
    let mut out = Vec::new();
    loop {
        let cf = take(&bytes, &mut at, 1)?[0];
        if cf == 0xFF {
            return Ok(out);
        }
        let cf = *STATE_CFS
            .get(cf as usize)
            .context("unknown column family")?;
        let len = take_u32(&bytes, &mut at)?;
        let key = take(&bytes, &mut at, len)?;
        let len = take_u32(&bytes, &mut at)?;
        let value = take(&bytes, &mut at, len)?;
        out.push(Record { cf, key, value });
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The column families (with a count) holding a key or value that names `run_id` or `workflow_id`.
async fn traces(swfd: &Swfd, dir: &Path, run_id: &str, workflow_id: &str) -> Result<Vec<String>> {
    let file = dir.join(format!("backup-{}.swfb", rand_suffix()));
    let run = std::process::Command::new(swf_e2e::swfd_bin()?)
        .args([
            "admin",
            "--endpoint",
            &swfd.admin_endpoint(),
            "--token-file",
            swfd.admin_token_file().to_str().unwrap(),
            "backup",
            "--out",
            file.to_str().unwrap(),
        ])
        .output()?;
    if !run.status.success() {
        bail!("backup: {}", String::from_utf8_lossy(&run.stderr));
    }
    let mut found = std::collections::BTreeMap::<&str, usize>::new();
    for r in records(&file)? {
        let named = |b: &[u8]| contains(b, run_id) || contains(b, workflow_id);
        if named(&r.key) || named(&r.value) {
            *found.entry(r.cf).or_default() += 1;
        }
    }
    std::fs::remove_file(&file)?;
    Ok(found.iter().map(|(cf, n)| format!("{cf}:{n}")).collect())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Waits until the run is gone (UnknownResourceFault from DescribeWorkflowExecution).
async fn wait_purged(
    c: &Client,
    fx: &Fixture,
    run: &aws_sdk_swf::types::WorkflowExecution,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match c
            .describe_workflow_execution()
            .domain(&fx.domain)
            .execution(run.clone())
            .send()
            .await
        {
            Err(e) if e.code() == Some("UnknownResourceFault") => return Ok(()),
            Ok(_) => {}
            Err(e) => bail!("unexpected error {e:?}"),
        }
        ensure!(tokio::time::Instant::now() < deadline, "never purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_purged_run_leaves_nothing_in_the_store_but_the_dedup_table() -> Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let dir = tempfile::tempdir()?;
    let fx = swf_e2e::setup_domain(&c, "kept").await?;
    c.register_domain()
        .name("fleeting")
        .workflow_execution_retention_period_in_days("0")
        .send()
        .await?;
    c.register_workflow_type()
        .domain("fleeting")
        .name(fx.workflow_type.name())
        .version(fx.workflow_type.version())
        .default_task_list(fx.decision_task_list())
        .default_execution_start_to_close_timeout("600")
        .default_task_start_to_close_timeout("60")
        .default_child_policy(ChildPolicy::Terminate)
        .send()
        .await?;
    c.register_activity_type()
        .domain("fleeting")
        .name(fx.activity_type.name())
        .version(fx.activity_type.version())
        .default_task_list(fx.activity_task_list())
        .default_task_schedule_to_start_timeout("600")
        .default_task_start_to_close_timeout("600")
        .default_task_schedule_to_close_timeout("1200")
        .default_task_heartbeat_timeout("600")
        .send()
        .await?;
    let fleeting = Fixture {
        domain: "fleeting".into(),
        ..fx.clone()
    };

    // (workflow id, signals before the close, which also make the decision task that closes it): a
    // short history, and one of over 1,000 events.
    for (workflow_id, signals) in [("purged-short", 1), ("purged-long", 1_000)] {
        let run = start_execution(&c, &fleeting, workflow_id, "").await?;
        let run_id = run.run_id().to_string();
        // Open work of every kind the run can hold at its close: an activity and a timer.
        let task = poll_decision(&c, &fleeting).await?;
        let timer = Decision::builder()
            .decision_type(DecisionType::StartTimer)
            .start_timer_decision_attributes(
                StartTimerDecisionAttributes::builder()
                    .timer_id("t")
                    .start_to_fire_timeout("3600")
                    .build()?,
            )
            .build()?;
        c.respond_decision_task_completed()
            .task_token(task.task_token())
            .decisions(schedule_activity(&fleeting, "a", ""))
            .decisions(timer)
            .send()
            .await?;
        for i in 0..signals {
            c.signal_workflow_execution()
                .domain("fleeting")
                .workflow_id(workflow_id)
                .signal_name(format!("s{i}"))
                .send()
                .await?;
        }
        let open = traces(&swfd, dir.path(), &run_id, workflow_id).await?;
        for cf in [
            "executions",
            "history",
            "open_items",
            "visibility",
            "open_runs",
        ] {
            ensure!(
                open.iter().any(|t| t.starts_with(&format!("{cf}:"))),
                "{workflow_id}: the open run should be found in {cf} (else the search is wrong): {open:?}"
            );
        }

        let task = poll_decision(&c, &fleeting).await?;
        c.respond_decision_task_completed()
            .task_token(task.task_token())
            .decisions(complete_workflow("done"))
            .send()
            .await?;
        wait_purged(&c, &fleeting, &run).await?;
        let left = traces(&swfd, dir.path(), &run_id, workflow_id).await?;
        let left: Vec<&String> = left
            .iter()
            .filter(|t| !t.starts_with("requests:"))
            .collect();
        assert!(
            left.is_empty(),
            "{workflow_id}: the purged run is still in {left:?}"
        );
    }
    Ok(())
}
