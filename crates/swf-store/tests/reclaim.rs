//! Space a purge frees comes back: a closed run with a long history (here about 8 MiB of events) is
//! purged when its retention ends, and the data directory shrinks soon after, not whenever RocksDB
//! next happens to flush and compact (before the compactor, it kept the whole history in the WAL and
//! the memtable until then).

use std::path::Path;
use std::time::{Duration, Instant};

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use swf_core::state::{DeadlineKind, Lookup};
use swf_core::{Batch, Command, Limits, Op, Reply};
use swf_store::{open_db, StateMachineStore, StateReader, TypeConfig};
use swf_types::shapes::*;
use swf_types::Timestamp;

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_purged_long_history_gives_its_space_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = open_db(&path).unwrap();
    let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
    let mut index = 0u64;
    let now = 1_700_000_000_000i64;
    let mut apply = |op: Op| {
        index += 1;
        Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Batch(vec![Command {
                now: Timestamp(now + index as i64),
                op,
                fresh_ids: Vec::new(),
                request_id: None,
            }])),
        }
    };
    let ops = [
        Op::RegisterDomain(RegisterDomainInput {
            name: "d".into(),
            workflow_execution_retention_period_in_days: "0".into(),
            ..Default::default()
        }),
        Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
            domain: "d".into(),
            name: "wf".into(),
            version: "1".into(),
            default_task_list: Some(Box::new(TaskList { name: "t".into() })),
            default_execution_start_to_close_timeout: Some("3600".into()),
            default_task_start_to_close_timeout: Some("60".into()),
            default_child_policy: Some(ChildPolicy::Terminate),
            ..Default::default()
        }),
        Op::StartWorkflowExecution {
            input: StartWorkflowExecutionInput {
                domain: "d".into(),
                workflow_id: "w".into(),
                workflow_type: Box::new(WorkflowType {
                    name: "wf".into(),
                    version: "1".into(),
                }),
                ..Default::default()
            },
            run_id: "run-1".into(),
        },
    ];
    for op in ops {
        let out = sm.apply(vec![apply(op)]).await.unwrap();
        assert!(out[0].0[0].is_ok());
    }
    // 2,000 signals of 4 KB each: about 8 MiB of history.
    let payload = "x".repeat(4_000);
    for chunk in (0..2_000).collect::<Vec<_>>().chunks(100) {
        let entries = chunk
            .iter()
            .map(|i| {
                apply(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
                    domain: "d".into(),
                    workflow_id: "w".into(),
                    signal_name: format!("s{i}"),
                    input: Some(payload.clone()),
                    ..Default::default()
                }))
            })
            .collect::<Vec<_>>();
        sm.apply(entries).await.unwrap();
    }
    let full = dir_size(&path);
    assert!(full > 8_000_000, "the history is on disk: {full} bytes");
    // Terminate (retention 0 arms the purge at once), then fire the purge.
    let out = sm
        .apply(vec![apply(Op::TerminateWorkflowExecution(
            TerminateWorkflowExecutionInput {
                domain: "d".into(),
                workflow_id: "w".into(),
                ..Default::default()
            },
        ))])
        .await
        .unwrap();
    assert!(out[0].0[0].is_ok());
    let reader = StateReader::new(db.clone());
    let rec = reader.execution("run-1").unwrap().unwrap();
    let retention = rec
        .deadlines
        .iter()
        .find(|d| d.kind == DeadlineKind::Retention)
        .cloned()
        .unwrap();
    let out = sm
        .apply(vec![apply(Op::FireDeadline(retention))])
        .await
        .unwrap();
    assert_eq!(out[0].0[0], Ok(Reply::Done));
    assert!(reader.execution("run-1").unwrap().is_none(), "purged");
    // The compactor runs in the background: wait (bounded) for the space to come back.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut size = dir_size(&path);
    while size > full / 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        size = dir_size(&path);
    }
    assert!(
        size <= full / 4,
        "the data directory is {size} bytes a minute after the purge ({full} before)"
    );
}
