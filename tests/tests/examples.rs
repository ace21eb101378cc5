//! The example decider and worker (crate `swf-examples`) run as a newcomer would run them, against
//! a real swfd: the decider registers everything, starts one workflow and exits once it is
//! complete; the workflow's result is the worker's upper-cased input.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_swf::types::{CloseStatus, EventType, WorkflowExecution};
use swf_e2e::{example_bins, full_history, Swfd};

/// A child process killed when dropped (the worker runs until stopped).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `bin` to completion (polling for its exit up to `deadline`) and returns its stdout.
async fn run_to_end(bin: &Path, args: &[&str], deadline: Duration) -> Result<String> {
    let mut child = KillOnDrop(
        Command::new(bin)
            .envs(e2e_keys())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?,
    );
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if Instant::now() >= end {
            bail!("{} did not finish within {deadline:?}", bin.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.0.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = child.0.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    if !status.success() {
        bail!(
            "{} exited with {status}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            bin.display()
        );
    }
    Ok(stdout)
}

#[tokio::test]
async fn decider_and_worker_complete_a_workflow() -> Result<()> {
    let (decider, worker) = example_bins()?;
    let swfd = Swfd::start_with(&["--long-poll-secs", "5"]).await?;
    let endpoint = swfd.endpoint();

    let _worker = KillOnDrop(
        Command::new(&worker)
            .envs(e2e_keys())
            .args(["--endpoint", &endpoint, "--domain", "demo"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning the worker")?,
    );
    let out = run_to_end(
        &decider,
        &[
            "--endpoint",
            &endpoint,
            "--domain",
            "demo",
            "--start",
            "--once",
            "--workflow-id",
            "example-1",
            "--input",
            "hello from e2e",
        ],
        Duration::from_secs(60),
    )
    .await?;

    // `decider: started workflow example-1 run <runId>`
    let run_id = out
        .lines()
        .find_map(|l| l.strip_prefix("decider: started workflow example-1 run "))
        .with_context(|| format!("no start line in decider output:\n{out}"))?
        .trim()
        .to_string();
    assert!(
        out.contains(r#"decider: workflow example-1 completed with result "HELLO FROM E2E""#),
        "decider output:\n{out}"
    );

    let client = swfd.client();
    let exec = WorkflowExecution::builder()
        .workflow_id("example-1")
        .run_id(run_id)
        .build()?;
    let events = full_history(&client, "demo", &exec).await?;
    let last = events.last().context("empty history")?;
    assert_eq!(last.event_type(), &EventType::WorkflowExecutionCompleted);
    assert_eq!(
        last.workflow_execution_completed_event_attributes()
            .and_then(|a| a.result()),
        Some("HELLO FROM E2E")
    );
    let activity = events
        .iter()
        .find_map(|e| e.activity_task_completed_event_attributes())
        .context("no ActivityTaskCompleted")?;
    assert_eq!(activity.result(), Some("HELLO FROM E2E"));
    let info = client
        .describe_workflow_execution()
        .domain("demo")
        .execution(exec)
        .send()
        .await?
        .execution_info
        .context("executionInfo")?;
    assert_eq!(info.close_status(), Some(&CloseStatus::Completed));
    Ok(())
}

/// The harness's keys, for the example binaries to sign with (swfd may run with auth on).
fn e2e_keys() -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", swf_e2e::sign::E2E_KEY),
        ("AWS_SECRET_ACCESS_KEY", swf_e2e::sign::E2E_SECRET),
    ]
}
