//! `swf-bench` against a real `swfd`: the report carries the fields the issue names, workflows really
//! completed (checked in swfd's own visibility, not only in the report), and a bad endpoint is refused.

use std::process::Command;

use serde_json::Value;
use swf_e2e::Swfd;

fn swf_bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swf-bench"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_workload_reports_and_completes_workflows() -> anyhow::Result<()> {
    // swf-bench sends a fixed dummy signature (it measures the service, not SigV4): auth off, also
    // when the suite runs with auth on (SWF_E2E_AUTH=1).
    let swfd = Swfd::start_without_auth(&[]).await?;
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("report.json");
    let out = tokio::task::spawn_blocking({
        let (endpoint, report) = (swfd.endpoint(), report.clone());
        move || {
            swf_bench()
                .args(["--endpoint", &endpoint, "--duration", "2", "--warmup", "0"])
                .args(["--concurrency", "4", "--domain", "bench-e2e", "--quiet"])
                .arg("--report")
                .arg(&report)
                .output()
        }
    })
    .await??;
    assert!(
        out.status.success(),
        "swf-bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report)?)?;
    for field in [
        "workflows_per_sec",
        "calls_per_sec",
        "latency_ms",
        "per_action",
        "errors",
    ] {
        assert!(r.get(field).is_some(), "report lacks {field}: {r}");
    }
    for p in ["p50", "p90", "p99", "p999", "max"] {
        assert!(
            r["latency_ms"][p].as_f64().is_some(),
            "latency_ms lacks {p}"
        );
    }
    assert_eq!(r["errors"], 0, "{r}");
    let workflows = r["workflows"].as_u64().unwrap_or(0);
    assert!(workflows > 0, "no workflow completed: {r}");
    assert!(r["per_action"]["RespondActivityTaskCompleted"]["calls"].as_u64() >= Some(workflows));

    // The service agrees: at least as many completed executions as the report counts.
    let closed = swfd
        .client()
        .count_closed_workflow_executions()
        .domain("bench-e2e")
        .start_time_filter(
            aws_sdk_swf::types::ExecutionTimeFilter::builder()
                .oldest_date(aws_sdk_swf::primitives::DateTime::from_secs(0))
                .build()?,
        )
        .close_status_filter(
            aws_sdk_swf::types::CloseStatusFilter::builder()
                .status(aws_sdk_swf::types::CloseStatus::Completed)
                .build()?,
        )
        .send()
        .await?;
    assert!(
        closed.count() as u64 >= workflows,
        "{} closed < {workflows}",
        closed.count()
    );
    Ok(())
}

#[test]
fn unreachable_endpoint_is_an_error() {
    let out = swf_bench()
        .args(["--endpoint", "http://127.0.0.1:1", "--duration", "1"])
        .output()
        .expect("run swf-bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:1"));
}
