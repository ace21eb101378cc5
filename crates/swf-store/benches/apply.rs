//! criterion micro-benchmark of the apply path: one complete simple workflow (start, decision task
//! started and completed with one ScheduleActivityTask, activity task started and completed, decision
//! task started and completed with CompleteWorkflowExecution) applied entry by entry through the
//! RocksDB state machine, as openraft drives it. Run with `cargo bench -p swf-store --bench apply`.

use criterion::{criterion_group, criterion_main, Criterion};
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use serde_json::json;
use swf_core::state::TaskKind;
use swf_core::{Batch, Command, Limits, Op, Reply};
use swf_store::{open_db, StateMachineStore, StateReader, TypeConfig};
use swf_types::Timestamp;

struct Bench {
    sm: StateMachineStore,
    reader: StateReader,
    index: u64,
    workflows: u64,
    _dir: tempfile::TempDir,
}

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid input")
}

impl Bench {
    async fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("db")).unwrap();
        let mut b = Bench {
            sm: StateMachineStore::new(db.clone(), Limits::default(), None),
            reader: StateReader::new(db),
            index: 0,
            workflows: 0,
            _dir: dir,
        };
        b.apply(Op::RegisterDomain(input(
            json!({"name": "d", "workflowExecutionRetentionPeriodInDays": "1"}),
        )))
        .await;
        b.apply(Op::RegisterWorkflowType(input(
            json!({"domain": "d", "name": "wf",
            "version": "1", "defaultTaskStartToCloseTimeout": "60",
            "defaultExecutionStartToCloseTimeout": "3600", "defaultChildPolicy": "TERMINATE"}),
        )))
        .await;
        b.apply(Op::RegisterActivityType(input(
            json!({"domain": "d", "name": "act",
            "version": "1", "defaultTaskStartToCloseTimeout": "600",
            "defaultTaskHeartbeatTimeout": "NONE", "defaultTaskScheduleToStartTimeout": "600",
            "defaultTaskScheduleToCloseTimeout": "1200"}),
        )))
        .await;
        b
    }

    async fn apply(&mut self, op: Op) -> Reply {
        self.index += 1;
        let entry = Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), self.index),
            payload: EntryPayload::Normal(Batch(vec![Command {
                now: Timestamp(1_700_000_000_000 + self.index as i64),
                op,
                fresh_ids: Vec::new(),
                request_id: None,
            }])),
        };
        let mut out = self.sm.apply(vec![entry]).await.unwrap();
        let mut outcomes = out.pop().unwrap().0;
        outcomes.pop().unwrap().expect("the command succeeds")
    }

    fn queued(&self, kind: TaskKind, list: &str) -> (String, i64) {
        let q = self.reader.queued_tasks("d", kind, list, 1).unwrap();
        let q = q.first().expect("a queued task");
        (q.run_id.clone(), q.scheduled_event_id)
    }

    async fn start_task(&mut self, kind: TaskKind, list: &str) -> String {
        let (run_id, scheduled_event_id) = self.queued(kind, list);
        let op = match kind {
            TaskKind::Decision => Op::StartDecisionTask {
                run_id,
                scheduled_event_id,
                identity: None,
            },
            TaskKind::Activity => Op::StartActivityTask {
                run_id,
                scheduled_event_id,
                identity: None,
            },
        };
        match self.apply(op).await {
            Reply::DecisionTaskStarted { task_token, .. }
            | Reply::ActivityTaskStarted { task_token, .. } => task_token,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// The seven entries of one simple workflow.
    async fn workflow(&mut self) {
        self.workflows += 1;
        let id = format!("w{}", self.workflows);
        self.apply(Op::StartWorkflowExecution {
            input: input(json!({"domain": "d", "workflowId": id,
                "workflowType": {"name": "wf", "version": "1"}, "taskList": {"name": "dl"},
                "input": "bench"})),
            run_id: format!("run-{id}"),
        })
        .await;
        let token = self.start_task(TaskKind::Decision, "dl").await;
        self.apply(Op::RespondDecisionTaskCompleted(input(
            json!({"taskToken": token,
            "decisions": [{"decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {"activityType": {"name": "act",
                "version": "1"}, "activityId": "a", "taskList": {"name": "al"}}}]}),
        )))
        .await;
        let token = self.start_task(TaskKind::Activity, "al").await;
        self.apply(Op::RespondActivityTaskCompleted(input(
            json!({"taskToken": token, "result": "done"}),
        )))
        .await;
        let token = self.start_task(TaskKind::Decision, "dl").await;
        self.apply(Op::RespondDecisionTaskCompleted(input(
            json!({"taskToken": token,
            "decisions": [{"decisionType": "CompleteWorkflowExecution",
                "completeWorkflowExecutionDecisionAttributes": {"result": "ok"}}]}),
        )))
        .await;
    }
}

fn apply_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut bench = rt.block_on(Bench::new());
    c.bench_function("simple workflow: 7 entries applied", |b| {
        b.iter(|| rt.block_on(bench.workflow()))
    });
}

criterion_group!(benches, apply_path);
criterion_main!(benches);
