//! The log and record formats, frozen. Every `Op` variant (inside a `Command`, as a log entry carries
//! it), every record the store keeps (`ExecutionRecord`, `DomainRecord`, queue entries, deadlines,
//! open items, de-duplication records) and the task-token wire form has a golden file under
//! `tests/golden/`, written by the release that introduced it. Each test reads the golden file with
//! today's code (it must parse, to the same value) and writes the sample again (it must come out the
//! same), so a change that would leave an existing data directory unreadable, or that would make a
//! node write what an older node of a rolling upgrade cannot read, fails here.
//!
//! A new variant or record gets its golden file with `UPDATE_GOLDEN=1 cargo test -p swf-core --test
//! log_format` (only files that are missing are written; existing ones are never rewritten by the
//! test). Changing an existing format is a versioned change: keep the old golden file, add the new one,
//! and read both (see `docs/operations.md`, "Upgrades and the data format").

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use swf_core::command::{Command, Op, Reply};
use swf_core::command::{DomainAction, TypeAction};
use swf_core::items::{ItemKey, OpenItem};
use swf_core::keyring::{encode_key, Keyring, TokenKey, TokenKeyOp};
use swf_core::sfn::{SfnDeadline, SfnOp};
use swf_core::state::*;
use swf_core::token::{Checked, TaskToken};

/// A token key made of one repeated byte.
fn key(b: u8) -> String {
    encode_key(&[b; 32])
}

/// A keyring of two generations (one rotation).
fn keyring() -> Keyring {
    Keyring {
        keys: vec![
            TokenKey {
                generation: 1,
                key: key(1),
                created: Timestamp(1_700_000_000_000),
            },
            TokenKey {
                generation: 2,
                key: key(2),
                created: Timestamp(1_700_000_100_000),
            },
        ],
    }
}
use swf_types::shapes::{ActivityType, WorkflowExecution, WorkflowType};
use swf_types::Timestamp;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Checks `value` against the golden file `name`: the stored form parses to `value` and `value` writes
/// the stored form. Writes a missing file when `UPDATE_GOLDEN` is set.
fn golden<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, value: &T) {
    let written = serde_json::to_vec(value).expect("sample serializes");
    golden_bytes(name, &written, value);
}

/// `golden` for a value whose stored form (`stored`) is written by a function of its own.
fn golden_bytes<T: DeserializeOwned + PartialEq + Debug>(name: &str, stored: &[u8], value: &T) {
    let path = golden_dir().join(format!("{name}.json"));
    let written: Value = serde_json::from_slice(stored).expect("the stored form is JSON");
    if !path.exists() {
        assert!(
            std::env::var_os("UPDATE_GOLDEN").is_some(),
            "no golden file {}: a new format needs one (UPDATE_GOLDEN=1 writes it)",
            path.display()
        );
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let pretty = serde_json::to_string_pretty(&written).unwrap();
        std::fs::write(&path, format!("{pretty}\n")).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: the stored form no longer parses: {e}"));
    assert_eq!(
        &parsed, value,
        "{name}: the stored form parses to another value"
    );
    let golden: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        written, golden,
        "{name}: today's code writes another form than the golden file"
    );
}

fn shape<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a valid sample shape")
}

fn wt() -> WorkflowType {
    WorkflowType {
        name: "wf".into(),
        version: "1".into(),
    }
}

fn at() -> ActivityType {
    ActivityType {
        name: "act".into(),
        version: "2".into(),
    }
}

fn queued(kind: TaskKind) -> QueuedTask {
    QueuedTask {
        domain: "d".into(),
        kind,
        task_list: "tl".into(),
        priority: -3,
        seq: 77,
        run_id: "run-1".into(),
        scheduled_event_id: 5,
    }
}

fn deadline(kind: DeadlineKind) -> Deadline {
    Deadline {
        due: Timestamp(1_700_000_123_456),
        run_id: "run-1".into(),
        kind,
        event_id: 9,
    }
}

/// Which `Op` variant a sample is; exhaustive, so a new variant does not compile until it is listed
/// here (and `ops()` gets a sample, which the coverage check asks for).
fn op_variant(op: &Op) -> usize {
    match op {
        Op::RegisterDomain(_) => 0,
        Op::RegisterWorkflowType(_) => 1,
        Op::RegisterActivityType(_) => 2,
        Op::StartWorkflowExecution { .. } => 3,
        Op::StartDecisionTask { .. } => 4,
        Op::StartActivityTask { .. } => 5,
        Op::RespondDecisionTaskCompleted(_) => 6,
        Op::RecordActivityTaskHeartbeat(_) => 7,
        Op::RespondActivityTaskCompleted(_) => 8,
        Op::RespondActivityTaskFailed(_) => 9,
        Op::RespondActivityTaskCanceled(_) => 10,
        Op::FireDeadline(_) => 11,
        Op::FireDeadlines(_) => 12,
        Op::SignalWorkflowExecution(_) => 13,
        Op::RequestCancelWorkflowExecution(_) => 14,
        Op::TerminateWorkflowExecution(_) => 15,
        Op::ChangeDomain { .. } => 16,
        Op::ChangeWorkflowType { .. } => 17,
        Op::ChangeActivityType { .. } => 18,
        Op::TagResource(_) => 19,
        Op::UntagResource(_) => 20,
        Op::Noop => 21,
        Op::Sfn(_) => 22,
        Op::RespondDecisionTaskCompletedChecked { .. } => 23,
        Op::TokenKey(_) => 24,
        Op::RaiseApplyVersion { .. } => 25,
    }
}
const OP_VARIANTS: usize = 26;

/// One sample of every `Op` variant, with every optional member set somewhere.
fn ops() -> Vec<Op> {
    vec![
        Op::RespondDecisionTaskCompletedChecked {
            input: shape(json!({"taskToken": "tok", "decisions": [
                {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
                    "timerId": "t1", "startToFireTimeout": "5"}},
                {"decisionType": "RecordMarker", "recordMarkerDecisionAttributes": {
                    "markerName": "m"}}]})),
            not_permitted: vec![1],
        },
        Op::RegisterDomain(shape(json!({"name": "d", "description": "a domain",
            "workflowExecutionRetentionPeriodInDays": "7",
            "tags": [{"key": "team", "value": "core"}]}))),
        Op::RegisterWorkflowType(shape(json!({"domain": "d", "name": "wf", "version": "1",
            "description": "w", "defaultTaskStartToCloseTimeout": "60",
            "defaultExecutionStartToCloseTimeout": "3600", "defaultTaskList": {"name": "tl"},
            "defaultTaskPriority": "2", "defaultChildPolicy": "TERMINATE",
            "defaultLambdaRole": "arn:aws:iam::1:role/r"}))),
        Op::RegisterActivityType(shape(json!({"domain": "d", "name": "act", "version": "2",
            "description": "a", "defaultTaskStartToCloseTimeout": "30",
            "defaultTaskHeartbeatTimeout": "10", "defaultTaskList": {"name": "work"},
            "defaultTaskPriority": "1", "defaultTaskScheduleToStartTimeout": "NONE",
            "defaultTaskScheduleToCloseTimeout": "300"}))),
        Op::StartWorkflowExecution {
            input: shape(json!({"domain": "d", "workflowId": "w-1",
                "workflowType": {"name": "wf", "version": "1"}, "taskList": {"name": "tl"},
                "taskPriority": "3", "input": "in", "executionStartToCloseTimeout": "600",
                "tagList": ["a", "b"], "taskStartToCloseTimeout": "20", "childPolicy": "ABANDON",
                "lambdaRole": "arn:aws:iam::1:role/r"})),
            run_id: "run-1".into(),
        },
        Op::StartDecisionTask {
            run_id: "run-1".into(),
            scheduled_event_id: 2,
            identity: Some("decider-1".into()),
        },
        Op::StartActivityTask {
            run_id: "run-1".into(),
            scheduled_event_id: 5,
            identity: None,
        },
        Op::RespondDecisionTaskCompleted(shape(json!({"taskToken": "tok",
        "executionContext": "ctx", "taskList": {"name": "tl2"},
        "taskListScheduleToStartTimeout": "NONE",
        "decisions": [
            {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                "activityType": {"name": "act", "version": "2"}, "activityId": "a1",
                "control": "c", "input": "i", "scheduleToCloseTimeout": "300",
                "taskList": {"name": "work"}, "taskPriority": "5",
                "scheduleToStartTimeout": "NONE", "startToCloseTimeout": "30",
                "heartbeatTimeout": "10"}},
            {"decisionType": "RequestCancelActivityTask",
                "requestCancelActivityTaskDecisionAttributes": {"activityId": "a0"}},
            {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
                "timerId": "t1", "control": "c", "startToFireTimeout": "5"}},
            {"decisionType": "CancelTimer", "cancelTimerDecisionAttributes": {"timerId": "t0"}},
            {"decisionType": "RecordMarker", "recordMarkerDecisionAttributes": {
                "markerName": "m", "details": "x"}},
            {"decisionType": "SignalExternalWorkflowExecution",
                "signalExternalWorkflowExecutionDecisionAttributes": {"workflowId": "w-2",
                "runId": "run-2", "signalName": "go", "input": "s", "control": "c"}},
            {"decisionType": "RequestCancelExternalWorkflowExecution",
                "requestCancelExternalWorkflowExecutionDecisionAttributes": {
                "workflowId": "w-3", "control": "c"}},
            {"decisionType": "StartChildWorkflowExecution",
                "startChildWorkflowExecutionDecisionAttributes": {
                "workflowType": {"name": "wf", "version": "1"}, "workflowId": "child-1",
                "control": "c", "input": "ci", "executionStartToCloseTimeout": "100",
                "taskList": {"name": "tl"}, "taskPriority": "0",
                "taskStartToCloseTimeout": "10", "childPolicy": "REQUEST_CANCEL",
                "tagList": ["t"], "lambdaRole": "arn:aws:iam::1:role/r"}},
            {"decisionType": "ScheduleLambdaFunction",
                "scheduleLambdaFunctionDecisionAttributes": {"id": "l1", "name": "fn",
                "control": "c", "input": "li", "startToCloseTimeout": "10"}},
            {"decisionType": "CompleteWorkflowExecution",
                "completeWorkflowExecutionDecisionAttributes": {"result": "done"}},
            {"decisionType": "FailWorkflowExecution",
                "failWorkflowExecutionDecisionAttributes": {"reason": "r", "details": "d"}},
            {"decisionType": "CancelWorkflowExecution",
                "cancelWorkflowExecutionDecisionAttributes": {"details": "d"}},
            {"decisionType": "ContinueAsNewWorkflowExecution",
                "continueAsNewWorkflowExecutionDecisionAttributes": {"input": "n",
                "executionStartToCloseTimeout": "600", "taskList": {"name": "tl"},
                "taskPriority": "1", "taskStartToCloseTimeout": "20",
                "childPolicy": "TERMINATE", "tagList": ["x"], "workflowTypeVersion": "2",
                "lambdaRole": "arn:aws:iam::1:role/r"}}
        ]}))),
        Op::RecordActivityTaskHeartbeat(shape(json!({"taskToken": "tok", "details": "50%"}))),
        Op::RespondActivityTaskCompleted(shape(json!({"taskToken": "tok", "result": "r"}))),
        Op::RespondActivityTaskFailed(shape(json!({"taskToken": "tok", "reason": "boom",
            "details": "trace"}))),
        Op::RespondActivityTaskCanceled(shape(json!({"taskToken": "tok", "details": "bye"}))),
        Op::FireDeadline(deadline(DeadlineKind::ActivityHeartbeat)),
        Op::FireDeadlines(deadline_kinds().into_iter().map(deadline).collect()),
        Op::SignalWorkflowExecution(shape(json!({"domain": "d", "workflowId": "w-1",
            "runId": "run-1", "signalName": "go", "input": "s"}))),
        Op::RequestCancelWorkflowExecution(shape(json!({"domain": "d", "workflowId": "w-1",
            "runId": "run-1"}))),
        Op::TerminateWorkflowExecution(shape(json!({"domain": "d", "workflowId": "w-1",
            "runId": "run-1", "reason": "r", "details": "d", "childPolicy": "ABANDON"}))),
        Op::ChangeDomain {
            name: "d".into(),
            action: DomainAction::Deprecate,
        },
        Op::ChangeWorkflowType {
            domain: "d".into(),
            workflow_type: wt(),
            action: TypeAction::Delete,
        },
        Op::ChangeActivityType {
            domain: "d".into(),
            activity_type: at(),
            action: TypeAction::Undeprecate,
        },
        Op::TagResource(shape(
            json!({"resourceArn": "arn:aws:swf:us-east-1:1:/domain/d",
            "tags": [{"key": "k", "value": "v"}, {"key": "k2"}]}),
        )),
        Op::UntagResource(shape(
            json!({"resourceArn": "arn:aws:swf:us-east-1:1:/domain/d",
            "tagKeys": ["k"]}),
        )),
        Op::Noop,
        Op::TokenKey(TokenKeyOp::Init { key: key(1) }),
        Op::TokenKey(TokenKeyOp::Rotate { key: key(2) }),
        Op::RaiseApplyVersion { version: 2 },
    ]
    .into_iter()
    .chain(sfn_ops().into_iter().map(Op::Sfn))
    .collect()
}

/// One sample of every Step Functions command (`Op::Sfn`), exhaustive like `op_variant`.
fn sfn_ops() -> Vec<SfnOp> {
    const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:m";
    const EXEC: &str = "arn:aws:states:us-east-1:000000000000:execution:m:e";
    let all = vec![
        SfnOp::CreateActivity(shape(
            json!({"name": "work", "tags": [{"key": "k", "value": "v"}]}),
        )),
        SfnOp::DeleteActivity(shape(
            json!({"activityArn": "arn:aws:states:us-east-1:000000000000:activity:work"}),
        )),
        SfnOp::CreateStateMachine(shape(json!({"name": "m", "definition": "{}",
            "roleArn": "arn:aws:iam::000000000000:role/r", "type": "STANDARD",
            "tags": [{"key": "k", "value": "v"}], "publish": false}))),
        SfnOp::UpdateStateMachine(shape(json!({"stateMachineArn": SM, "definition": "{}",
            "roleArn": "arn:aws:iam::000000000000:role/r"}))),
        SfnOp::DeleteStateMachine(shape(json!({"stateMachineArn": SM}))),
        SfnOp::StartExecution {
            input: shape(json!({"stateMachineArn": SM, "name": "e", "input": "{}"})),
            default_name: "0b0e3c2a-0000-4000-8000-000000000000".into(),
            seed: 42,
        },
        SfnOp::StopExecution(shape(
            json!({"executionArn": EXEC, "error": "E", "cause": "C"}),
        )),
        SfnOp::StartTask {
            execution_arn: EXEC.into(),
            task_id: 5,
            worker_name: Some("w".into()),
        },
        SfnOp::SendTaskSuccess(shape(json!({"taskToken": "t", "output": "{}"}))),
        SfnOp::SendTaskFailure(shape(json!({"taskToken": "t", "error": "E", "cause": "C"}))),
        SfnOp::SendTaskHeartbeat(shape(json!({"taskToken": "t"}))),
        SfnOp::TagResource(shape(
            json!({"resourceArn": SM, "tags": [{"key": "k", "value": "v"}]}),
        )),
        SfnOp::UntagResource(shape(json!({"resourceArn": SM, "tagKeys": ["k"]}))),
        SfnOp::PublishStateMachineVersion(shape(json!({"stateMachineArn": SM,
            "revisionId": "INITIAL", "description": "d"}))),
        SfnOp::DeleteStateMachineVersion(shape(
            json!({"stateMachineVersionArn": format!("{SM}:1")}),
        )),
        SfnOp::CreateStateMachineAlias(shape(json!({"name": "PROD", "description": "d",
            "routingConfiguration": [{"stateMachineVersionArn": format!("{SM}:1"), "weight": 60},
                {"stateMachineVersionArn": format!("{SM}:2"), "weight": 40}]}))),
        SfnOp::UpdateStateMachineAlias(shape(json!({"stateMachineAliasArn": format!("{SM}:PROD"),
            "description": "d2",
            "routingConfiguration": [{"stateMachineVersionArn": format!("{SM}:2"), "weight": 100}]}))),
        SfnOp::DeleteStateMachineAlias(shape(
            json!({"stateMachineAliasArn": format!("{SM}:PROD")}),
        )),
        SfnOp::RedriveExecution(shape(json!({"executionArn": EXEC, "clientToken": "c-1"}))),
        SfnOp::StartSyncExecution {
            input: shape(json!({"stateMachineArn": SM, "name": "e", "input": "{}"})),
            default_name: "0b0e3c2a-0000-4000-8000-000000000001".into(),
            seed: 43,
        },
        SfnOp::UpdateMapRun(shape(json!({
            "mapRunArn": "arn:aws:states:us-east-1:000000000000:mapRun:m/fan:00000000-0000-4000-8000-000000000000",
            "maxConcurrency": 5, "toleratedFailurePercentage": 12.5, "toleratedFailureCount": 2}))),
    ];
    for op in &all {
        match op {
            SfnOp::CreateActivity(_)
            | SfnOp::DeleteActivity(_)
            | SfnOp::CreateStateMachine(_)
            | SfnOp::UpdateStateMachine(_)
            | SfnOp::DeleteStateMachine(_)
            | SfnOp::StartExecution { .. }
            | SfnOp::StopExecution(_)
            | SfnOp::StartTask { .. }
            | SfnOp::SendTaskSuccess(_)
            | SfnOp::SendTaskFailure(_)
            | SfnOp::SendTaskHeartbeat(_)
            | SfnOp::TagResource(_)
            | SfnOp::UntagResource(_)
            | SfnOp::PublishStateMachineVersion(_)
            | SfnOp::DeleteStateMachineVersion(_)
            | SfnOp::CreateStateMachineAlias(_)
            | SfnOp::UpdateStateMachineAlias(_)
            | SfnOp::DeleteStateMachineAlias(_)
            | SfnOp::RedriveExecution(_)
            | SfnOp::StartSyncExecution { .. }
            | SfnOp::UpdateMapRun(_) => {}
        }
    }
    all
}

/// Every deadline kind (exhaustive, like `op_variant`).
fn deadline_kinds() -> Vec<DeadlineKind> {
    let all = vec![
        DeadlineKind::Timer {
            timer_id: "t1".into(),
        },
        DeadlineKind::ActivityScheduleToStart,
        DeadlineKind::ActivityScheduleToClose,
        DeadlineKind::ActivityStartToClose,
        DeadlineKind::ActivityHeartbeat,
        DeadlineKind::DecisionStartToClose,
        DeadlineKind::WorkflowStartToClose,
        DeadlineKind::Retention,
    ];
    for k in &all {
        match k {
            DeadlineKind::Timer { .. }
            | DeadlineKind::ActivityScheduleToStart
            | DeadlineKind::ActivityScheduleToClose
            | DeadlineKind::ActivityStartToClose
            | DeadlineKind::ActivityHeartbeat
            | DeadlineKind::DecisionStartToClose
            | DeadlineKind::WorkflowStartToClose
            | DeadlineKind::Retention => {}
            // Sampled by `step_functions_deadlines_read_as_they_were_written` (a golden file of
            // their own, so the older ones stay).
            DeadlineKind::Sfn(_) => {}
        }
    }
    all
}

#[test]
fn every_op_variant_reads_as_it_was_written() {
    let ops = ops();
    let covered: BTreeSet<usize> = ops.iter().map(op_variant).collect();
    assert_eq!(covered.len(), OP_VARIANTS, "a sample for every Op variant");
    assert_eq!(covered, (0..OP_VARIANTS).collect());
    for op in ops {
        // The checked form of RespondDecisionTaskCompleted logs under the call's name; its golden
        // file has a name of its own.
        let name = match &op {
            Op::RespondDecisionTaskCompletedChecked { .. } => "RespondDecisionTaskCompletedChecked",
            op => op.name(),
        };
        let command = Command {
            now: Timestamp(1_700_000_000_000),
            op,
            fresh_ids: vec!["fresh-1".into(), "fresh-2".into()],
            request_id: Some("3-1700000000000-17".into()),
        };
        golden(&format!("op/{name}"), &command);
    }
}

#[test]
fn a_command_without_its_later_members_still_reads() {
    // Entries written before `fresh_ids` was used and before `request_id` existed.
    let command = Command {
        now: Timestamp(1_700_000_000_000),
        op: Op::Noop,
        fresh_ids: Vec::new(),
        request_id: None,
    };
    golden("op/minimal", &command);
}

#[test]
fn every_reply_reads_as_it_was_written() {
    let execution = WorkflowExecution {
        workflow_id: "w-1".into(),
        run_id: "run-1".into(),
    };
    let replies = vec![
        Reply::Done,
        Reply::Started {
            run_id: "run-1".into(),
        },
        Reply::DecisionTaskStarted {
            task_token: "tok-d".into(),
            started_event_id: 3,
            previous_started_event_id: 0,
            workflow_execution: execution.clone(),
            workflow_type: wt(),
        },
        Reply::ActivityTaskStarted {
            task_token: "tok-a".into(),
            started_event_id: 6,
            activity_id: "a1".into(),
            input: Some("i".into()),
            workflow_execution: execution,
            activity_type: at(),
        },
        Reply::Heartbeat {
            cancel_requested: true,
        },
        Reply::Sfn(
            json!({"executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:e",
            "startDate": 1_700_000_000.5}),
        ),
    ];
    for reply in replies {
        let name = match &reply {
            Reply::Done => "Done",
            Reply::Started { .. } => "Started",
            Reply::DecisionTaskStarted { .. } => "DecisionTaskStarted",
            Reply::ActivityTaskStarted { .. } => "ActivityTaskStarted",
            Reply::Heartbeat { .. } => "Heartbeat",
            Reply::Sfn(_) => "Sfn",
        };
        let record = RequestRecord {
            op: "StartWorkflowExecution".into(),
            reply,
        };
        golden(&format!("record/request_{name}"), &record);
    }
}

#[test]
fn stored_records_read_as_they_were_written() {
    let domain: DomainRecord = DomainRecord {
        detail: shape(
            json!({"name": "d", "status": "REGISTERED", "description": "a domain",
            "arn": "arn:aws:swf:us-east-1:123456789012:/domain/d"}),
        ),
        tags: vec![shape(json!({"key": "team", "value": "core"}))],
        created: Timestamp(1_600_000_000_000),
        workflow_types: 2,
        activity_types: 5,
    };
    golden("record/domain", &domain);

    golden("record/queued_decision", &queued(TaskKind::Decision));
    golden("record/queued_activity", &queued(TaskKind::Activity));
    let deadlines: Vec<Deadline> = deadline_kinds().into_iter().map(deadline).collect();
    golden("record/deadlines", &deadlines);

    let started = ExecutionRecord {
        tag_list: vec!["a".into()],
        cancel_requested: true,
        next_event_id: 12,
        decision: DecisionSlot::Started {
            scheduled_event_id: 8,
            started_event_id: 9,
            unhandled_events: true,
            pending: None,
        },
        previous_started_event_id: 4,
        latest_activity_task_timestamp: Some(Timestamp(1_700_000_000_500)),
        latest_execution_context: Some("ctx".into()),
        parent: Some(ParentRef {
            workflow_id: "parent".into(),
            run_id: "run-0".into(),
            initiated_event_id: 5,
        }),
        ..ExecutionRecord::sample("run-1")
    };
    golden("record/execution_open", &started);
    // Its started decision task was handed a signed token (the keyring's release).
    let signed = ExecutionRecord {
        decision_token_signed: true,
        ..started.clone()
    };
    golden("record/execution_open_signed_token", &signed);
    golden("record/token_keyring", &keyring());
    golden(
        "record/apply_version",
        &swf_core::apply_version::ApplyVersionRecord {
            version: 2,
            raised: Timestamp(1_700_000_000_000),
        },
    );
    // A started decision task with the next one scheduled behind it (real SWF's order, issue 13).
    let pending = ExecutionRecord {
        decision: DecisionSlot::Started {
            scheduled_event_id: 8,
            started_event_id: 9,
            unhandled_events: true,
            pending: Some(11),
        },
        next_event_id: 12,
        ..ExecutionRecord::sample("run-4")
    };
    golden("record/execution_started_pending", &pending);
    let scheduled = ExecutionRecord {
        decision: DecisionSlot::Scheduled {
            scheduled_event_id: 2,
            queued: queued(TaskKind::Decision),
        },
        ..ExecutionRecord::sample("run-2")
    };
    golden("record/execution_scheduled", &scheduled);
    let closed = ExecutionRecord {
        closed: Some(Timestamp(1_700_000_009_000)),
        close_status: Some(shape(json!("COMPLETED"))),
        ..ExecutionRecord::sample("run-3")
    };
    golden("record/execution_closed", &closed);
}

#[test]
fn open_items_and_their_keys_read_as_they_were_written() {
    let items = vec![
        OpenItem::Activity(ActivityState {
            activity_id: "a1".into(),
            activity_type: at(),
            scheduled_event_id: 5,
            started_event_id: Some(6),
            input: Some("i".into()),
            queued: Some(queued(TaskKind::Activity)),
            cancel_requested: true,
            latest_cancel_requested_event_id: Some(7),
            heartbeat_details: Some("50%".into()),
            last_heartbeat: Some(Timestamp(1_700_000_000_100)),
            start_to_close_secs: Some(30),
            heartbeat_secs: Some(10),
            token_signed: false,
        }),
        OpenItem::Timer {
            timer_id: "t1".into(),
            timer: TimerState {
                started_event_id: 4,
                control: Some("c".into()),
            },
        },
        OpenItem::Child {
            workflow_id: "child-1".into(),
            child: ChildRef {
                run_id: "run-c".into(),
                workflow_type: wt(),
                initiated_event_id: 10,
                started_event_id: 11,
            },
        },
        OpenItem::Deadline(deadline(DeadlineKind::DecisionStartToClose)),
    ];
    // A record holding its items itself (apply version 4, `items`): the stored form has them inline.
    let mut embedded = ExecutionRecord {
        items_keyed: false,
        ..ExecutionRecord::sample("run-5")
    };
    for item in &items {
        embedded.insert_item(item.clone());
    }
    embedded.finish_assembly();
    golden_bytes(
        "record/execution_embedded",
        &embedded.stored_json(),
        &embedded,
    );
    for item in items {
        let name = match &item {
            OpenItem::Activity(_) => "Activity",
            OpenItem::Timer { .. } => "Timer",
            OpenItem::Child { .. } => "Child",
            OpenItem::Deadline(_) => "Deadline",
        };
        golden(&format!("record/item_{name}"), &item);
        golden(&format!("record/item_key_{name}"), &item.key());
        if let OpenItem::Activity(a) = &item {
            // Started with a signed token (the keyring's release).
            let signed = OpenItem::Activity(ActivityState {
                token_signed: true,
                ..a.clone()
            });
            golden("record/item_Activity_signed_token", &signed);
        }
    }
    let _: fn(&ItemKey) = |k| match k {
        ItemKey::Activity(_) | ItemKey::Timer(_) | ItemKey::Child(_) | ItemKey::Deadline(_) => {}
    };
}

#[test]
fn task_tokens_handed_out_stay_valid() {
    // Tokens are in workers' hands across upgrades: the wire form of each kind is frozen.
    for (kind, name) in [
        (TaskKind::Decision, "decision"),
        (TaskKind::Activity, "activity"),
    ] {
        let token = TaskToken {
            kind,
            run_id: "22ab6c4e-1f0b-4c4e-9d7e-3f1c2d3b4a59".into(),
            scheduled_event_id: 5,
            started_event_id: 6,
        };
        let path = golden_dir().join(format!("token_{name}.txt"));
        if !path.exists() && std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, format!("{}\n", token.encode())).unwrap();
        }
        let stored = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("no golden file {}", path.display()));
        assert_eq!(stored.trim(), token.encode());
        assert_eq!(TaskToken::decode(stored.trim()), Some(token.clone()));
        // The signed form (the keyring's release), signed under generation 2 of `keyring()`.
        let path = golden_dir().join(format!("token_signed_{name}.txt"));
        if !path.exists() && std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, format!("{}\n", token.sign(&keyring()))).unwrap();
        }
        let stored = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("no golden file {}", path.display()));
        assert_eq!(stored.trim(), token.sign(&keyring()));
        assert_eq!(
            TaskToken::check(stored.trim(), Some(&keyring())),
            Some(Checked::Signed(token))
        );
    }
}

#[test]
fn stored_step_functions_records_read_as_they_were_written() {
    // Activity, state machine and execution records (with the interpreter's `ExecutionState`, an open
    // task and the history event form), made by applying commands, as the store keeps them.
    use swf_core::sfn::records::{Activity, Counts, Execution, StateMachine, StoredDefinition};
    use swf_core::sfn::{keys, SfnOp};
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let ops = vec![
        SfnOp::CreateActivity(shape(json!({"name": "work"}))),
        SfnOp::CreateStateMachine(shape(
            json!({"name": "m", "roleArn": "arn:aws:iam::000000000000:role/r",
            "definition": json!({"StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": "arn:aws:states:us-east-1:000000000000:activity:work",
                "TimeoutSeconds": 60, "HeartbeatSeconds": 10, "End": true}}}).to_string()}),
        )),
        SfnOp::StartExecution {
            input: shape(
                json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:m",
                "name": "e", "input": "{\"k\":1}"}),
            ),
            default_name: "unused".into(),
            seed: 42,
        },
    ];
    for (i, op) in ops.into_iter().enumerate() {
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + i as i64),
            op: Op::Sfn(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(&state, i as u64 + 1, &cmd, &limits).unwrap();
        applied.outcome.as_ref().unwrap();
        state.write(applied.writes);
    }
    let read = |key: Vec<u8>| -> Value { serde_json::from_slice(&state.sfn[&key]).unwrap() };
    let activity: Activity = serde_json::from_value(read(keys::activity("work"))).unwrap();
    golden("record/sfn_activity", &activity);
    let machine: StateMachine = serde_json::from_value(read(keys::state_machine("m"))).unwrap();
    golden("record/sfn_state_machine", &machine);
    let exec_arn = "arn:aws:states:us-east-1:000000000000:execution:m:e";
    let execution: Execution = serde_json::from_value(read(keys::execution(exec_arn))).unwrap();
    // Since the definition is stored once for all executions that run it, the record names it.
    let id = execution.definition_id.clone().expect("stored apart");
    assert!(execution.definition.is_empty());
    golden("record/sfn_execution_shared_definition", &execution);
    let stored: StoredDefinition = serde_json::from_value(read(keys::definition(&id))).unwrap();
    assert_eq!(stored.refs, 1);
    golden("record/sfn_definition", &stored);
    // Its task started with a signed token (the keyring's release).
    let task_id = *execution.tasks.keys().next().expect("a task is open");
    for (i, op) in [
        Op::TokenKey(TokenKeyOp::Init { key: key(1) }),
        Op::Sfn(SfnOp::StartTask {
            execution_arn: exec_arn.into(),
            task_id,
            worker_name: Some("w".into()),
        }),
    ]
    .into_iter()
    .enumerate()
    {
        let cmd = Command {
            now: Timestamp(1_700_000_001_000 + i as i64),
            op,
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(&state, 10 + i as u64, &cmd, &limits).unwrap();
        applied.outcome.as_ref().unwrap();
        state.write(applied.writes);
    }
    let read = |key: Vec<u8>| -> Value { serde_json::from_slice(&state.sfn[&key]).unwrap() };
    let started: Execution = serde_json::from_value(read(keys::execution(exec_arn))).unwrap();
    assert!(started.tasks[&task_id].token_signed);
    golden(
        "record/sfn_execution_signed_token_shared_definition",
        &started,
    );
    let event = read(keys::history(exec_arn, 1));
    golden("record/sfn_history_event", &event);
    let counts: Counts = serde_json::from_value(read(keys::counts())).unwrap();
    assert_eq!((counts.activities, counts.open_executions), (1, 1));
    golden("record/sfn_counts", &counts);
}

#[test]
fn step_functions_versions_and_aliases_read_as_they_were_written() {
    // A state machine created with `publish`, updated (a new revision) and published again, an alias
    // over its two versions, and an execution started through the alias, as the store keeps them.
    use swf_core::sfn::records::{Alias, Execution, StateMachine, Version};
    use swf_core::sfn::{keys, SfnOp};
    const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:m";
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let pass = |r: &str| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "End": true}}})
            .to_string()
    };
    let ops = vec![
        SfnOp::CreateStateMachine(shape(
            json!({"name": "m", "roleArn": "arn:aws:iam::000000000000:role/r",
            "definition": pass("one"), "publish": true, "versionDescription": "first"}),
        )),
        SfnOp::UpdateStateMachine(shape(
            json!({"stateMachineArn": SM, "definition": pass("two"),
            "stampedRevisionId": "5d1b8a4e-0000-4000-8000-000000000001"}),
        )),
        SfnOp::PublishStateMachineVersion(shape(json!({"stateMachineArn": SM,
            "revisionId": "5d1b8a4e-0000-4000-8000-000000000001"}))),
        SfnOp::CreateStateMachineAlias(shape(json!({"name": "PROD", "description": "live",
            "routingConfiguration": [{"stateMachineVersionArn": format!("{SM}:1"), "weight": 60},
                {"stateMachineVersionArn": format!("{SM}:2"), "weight": 40}]}))),
        SfnOp::StartExecution {
            input: shape(json!({"stateMachineArn": format!("{SM}:PROD"), "name": "e"})),
            default_name: "unused".into(),
            seed: 42,
        },
    ];
    for (i, op) in ops.into_iter().enumerate() {
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + i as i64),
            op: Op::Sfn(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(&state, i as u64 + 1, &cmd, &limits).unwrap();
        applied.outcome.as_ref().unwrap();
        state.write(applied.writes);
    }
    let read = |key: Vec<u8>| -> Value { serde_json::from_slice(&state.sfn[&key]).unwrap() };
    let machine: StateMachine = serde_json::from_value(read(keys::state_machine("m"))).unwrap();
    assert_eq!(
        (machine.versions.clone(), machine.aliases.clone()),
        (vec![1, 2], vec!["PROD".to_string()])
    );
    golden("record/sfn_state_machine_versioned", &machine);
    let version: Version = serde_json::from_value(read(keys::version("m", 2))).unwrap();
    golden("record/sfn_version", &version);
    let alias: Alias = serde_json::from_value(read(keys::alias("m", "PROD"))).unwrap();
    golden("record/sfn_alias", &alias);
    let exec_arn = "arn:aws:states:us-east-1:000000000000:execution:m:e";
    let execution: Execution = serde_json::from_value(read(keys::execution(exec_arn))).unwrap();
    // Seed 42 falls under the first route's 60.
    assert_eq!(
        execution.version_arn.as_deref(),
        Some(format!("{SM}:1").as_str())
    );
    golden(
        "record/sfn_execution_through_alias_shared_definition",
        &execution,
    );
}

#[test]
fn step_functions_execution_records_with_the_definition_inline_still_run() {
    // Execution records written before definitions were stored apart (`stored_definitions`) carry the
    // text inline and no id: they still parse and write back unchanged, and such an execution runs on
    // to its end with the definition it started with.
    use swf_core::sfn::records::Execution;
    use swf_core::sfn::{keys, query, SfnOp};
    for name in [
        "sfn_execution",
        "sfn_execution_signed_token",
        "sfn_execution_through_alias",
    ] {
        let path = golden_dir().join(format!("record/{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let e: Execution = serde_json::from_str(&text).unwrap();
        assert!(
            !e.definition.is_empty() && e.definition_id.is_none(),
            "{name}"
        );
        let back: Value = serde_json::to_value(&e).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<Value>(&text).unwrap(),
            "{name}"
        );
    }
    let old: Execution = serde_json::from_str(
        &std::fs::read_to_string(golden_dir().join("record/sfn_execution.json")).unwrap(),
    )
    .unwrap();
    // The state the first form was written in: the activity, the machine, the open count.
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let apply = |state: &mut swf_core::memstate::MemState, i: u64, op: SfnOp| -> Value {
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + i as i64),
            op: Op::Sfn(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(state, i + 1, &cmd, &limits).unwrap();
        let reply = applied.outcome.clone().unwrap();
        state.write(applied.writes);
        match reply {
            Reply::Sfn(v) => v,
            other => panic!("{other:?}"),
        }
    };
    apply(
        &mut state,
        0,
        SfnOp::CreateActivity(shape(json!({"name": "work"}))),
    );
    apply(
        &mut state,
        1,
        SfnOp::CreateStateMachine(shape(
            json!({"name": "m", "roleArn": "arn:aws:iam::000000000000:role/r",
            "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string()}),
        )),
    );
    state
        .sfn
        .insert(keys::execution(&old.arn), serde_json::to_vec(&old).unwrap());
    state.sfn.insert(
        keys::counts(),
        serde_json::to_vec(&json!({"activities": 1, "state_machines": 1, "open_executions": 1}))
            .unwrap(),
    );
    let task_id = *old.tasks.keys().next().unwrap();
    let started = apply(
        &mut state,
        2,
        SfnOp::StartTask {
            execution_arn: old.arn.clone(),
            task_id,
            worker_name: None,
        },
    );
    let token = started["taskToken"].as_str().unwrap().to_string();
    apply(
        &mut state,
        3,
        SfnOp::SendTaskSuccess(shape(json!({"taskToken": token, "output": "{\"done\":1}"}))),
    );
    let described = query::describe_execution(&state, &limits, &old.arn).unwrap();
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(described["output"], "{\"done\":1}");
    let machine = query::describe_state_machine_for_execution(&state, &limits, &old.arn).unwrap();
    assert_eq!(machine["definition"], old.definition.as_str());
    // It stayed in the first form: no stored copy was made for it.
    assert!(!state.sfn.keys().any(|k| k[0] == keys::DEFINITION));
}

#[test]
fn a_redriven_step_functions_execution_reads_as_it_was_written() {
    // An execution whose Parallel failed in one branch (the branches' threads are kept), redriven
    // with a client token: the record with its redrive count, date and tokens (RedriveExecution's
    // release).
    use swf_core::sfn::records::Execution;
    use swf_core::sfn::{keys, SfnOp};
    const ACT: &str = "arn:aws:states:us-east-1:000000000000:activity:work";
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let task = |n: &str| json!({"StartAt": n, "States": {n: {"Type": "Task", "Resource": ACT, "End": true}}});
    let exec_arn = "arn:aws:states:us-east-1:000000000000:execution:m:e";
    let mut apply = |i: u64, op: SfnOp| -> Value {
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + i as i64),
            op: Op::Sfn(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(&state, i, &cmd, &limits).unwrap();
        let out = match applied.outcome.as_ref().unwrap() {
            Reply::Sfn(v) => v.clone(),
            _ => json!({}),
        };
        state.write(applied.writes);
        out
    };
    apply(1, SfnOp::CreateActivity(shape(json!({"name": "work"}))));
    apply(
        2,
        SfnOp::CreateStateMachine(shape(
            json!({"name": "m", "roleArn": "arn:aws:iam::000000000000:role/r",
            "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
                "Branches": [task("A"), task("B")]}}}).to_string()}),
        )),
    );
    apply(
        3,
        SfnOp::StartExecution {
            input: shape(
                json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:m",
                "name": "e", "input": "{}"}),
            ),
            default_name: "unused".into(),
            seed: 42,
        },
    );
    // Branch tasks are ActivityScheduled events 5 and 7; the first fails.
    let started = apply(
        4,
        SfnOp::StartTask {
            execution_arn: exec_arn.into(),
            task_id: 5,
            worker_name: None,
        },
    );
    apply(
        5,
        SfnOp::SendTaskFailure(shape(
            json!({"taskToken": started["taskToken"], "error": "E"}),
        )),
    );
    apply(
        6,
        SfnOp::RedriveExecution(shape(
            json!({"executionArn": exec_arn, "clientToken": "c-1"}),
        )),
    );
    let execution: Execution =
        serde_json::from_slice(&state.sfn[&keys::execution(exec_arn)]).unwrap();
    assert_eq!(execution.status, "RUNNING");
    assert_eq!(execution.state.info.redrive_count, 1);
    golden("record/sfn_execution_redriven", &execution);
}

#[test]
fn express_records_read_as_they_were_written() {
    // An EXPRESS state machine (with the logging and tracing configurations it echoes) and an
    // Express execution waiting in a Wait state, as the store keeps them.
    use swf_core::sfn::records::{Execution, StateMachine};
    use swf_core::sfn::{keys, SfnOp};
    const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:m";
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let wait =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}});
    let ops = vec![
        SfnOp::CreateStateMachine(shape(
            json!({"name": "m", "roleArn": "arn:aws:iam::000000000000:role/r", "type": "EXPRESS",
            "definition": wait.to_string(),
            "loggingConfiguration": {"level": "ERROR", "includeExecutionData": false,
                "destinations": [{"cloudWatchLogsLogGroup":
                    {"logGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:g:*"}}]},
            "tracingConfiguration": {"enabled": true}}),
        )),
        SfnOp::StartSyncExecution {
            input: shape(json!({"stateMachineArn": SM, "name": "e", "input": "{}"})),
            default_name: "unused".into(),
            seed: 42,
        },
    ];
    let mut replies = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + i as i64),
            op: Op::Sfn(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(&state, i as u64 + 1, &cmd, &limits).unwrap();
        replies.push(applied.outcome.clone().unwrap());
        state.write(applied.writes);
    }
    let read = |key: Vec<u8>| -> Value { serde_json::from_slice(&state.sfn[&key]).unwrap() };
    let machine: StateMachine = serde_json::from_value(read(keys::state_machine("m"))).unwrap();
    assert!(machine.express);
    golden("record/sfn_state_machine_express", &machine);
    let Reply::Sfn(started) = &replies[1] else {
        panic!("{:?}", replies[1])
    };
    let exec_arn = started["executionArn"].as_str().unwrap();
    let execution: Execution = serde_json::from_value(read(keys::execution(exec_arn))).unwrap();
    assert!(execution.express && execution.is_running());
    golden("record/sfn_execution_express", &execution);
}

#[test]
fn step_functions_deadlines_read_as_they_were_written() {
    let kinds = [
        SfnDeadline::TaskTimeout,
        SfnDeadline::TaskHeartbeat,
        SfnDeadline::Timer,
        SfnDeadline::ExecutionTimeout,
        SfnDeadline::Retention,
    ];
    for k in kinds {
        match k {
            SfnDeadline::TaskTimeout
            | SfnDeadline::TaskHeartbeat
            | SfnDeadline::Timer
            | SfnDeadline::ExecutionTimeout
            | SfnDeadline::Retention => {}
            // Sampled by `child_execution_deadlines_read_as_they_were_written`.
            SfnDeadline::StartChild | SfnDeadline::ChildClosed | SfnDeadline::StopChild => {}
            SfnDeadline::MapRunStep | SfnDeadline::MapRunChildClosed => {}
        }
    }
    let deadlines: Vec<Deadline> = kinds
        .into_iter()
        .map(|k| deadline(DeadlineKind::Sfn(k)))
        .collect();
    golden("record/sfn_deadlines", &deadlines);
}

#[test]
fn stored_step_functions_variables_read_as_they_were_written() {
    // An execution holding workflow variables (a JSONPath Pass assigning one, a JSONata Pass
    // assigning another, then an activity Task waiting): the variables live in the interpreter's
    // thread (`variables`, left out when empty, so the older stored forms above still read).
    use swf_core::sfn::records::Execution;
    use swf_core::sfn::{keys, SfnOp};
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let ops = vec![
        SfnOp::CreateActivity(shape(json!({"name": "work"}))),
        SfnOp::CreateStateMachine(shape(
            json!({"name": "v", "roleArn": "arn:aws:iam::000000000000:role/r",
            "definition": json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Assign": {"x.$": "$.k"}, "Next": "B"},
                "B": {"Type": "Pass", "QueryLanguage": "JSONata",
                    "Assign": {"y": "{% $x + 1 %}"}, "Next": "T"},
                "T": {"Type": "Task",
                    "Resource": "arn:aws:states:us-east-1:000000000000:activity:work",
                    "End": true}}}).to_string()}),
        )),
        SfnOp::StartExecution {
            input: shape(
                json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:v",
                "name": "e", "input": "{\"k\":1}"}),
            ),
            default_name: "unused".into(),
            seed: 42,
        },
    ];
    for (i, op) in ops.into_iter().enumerate() {
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + i as i64),
            op: Op::Sfn(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(&state, i as u64 + 1, &cmd, &limits).unwrap();
        applied.outcome.as_ref().unwrap();
        state.write(applied.writes);
    }
    let read = |key: Vec<u8>| -> Value { serde_json::from_slice(&state.sfn[&key]).unwrap() };
    let exec_arn = "arn:aws:states:us-east-1:000000000000:execution:v:e";
    let execution: Execution = serde_json::from_value(read(keys::execution(exec_arn))).unwrap();
    golden("record/sfn_execution_variables", &execution);
    let exited = read(keys::history(exec_arn, 5));
    golden("record/sfn_history_event_assigned_variables", &exited);
}

#[test]
fn child_execution_deadlines_read_as_they_were_written() {
    let deadlines: Vec<Deadline> = [
        SfnDeadline::StartChild,
        SfnDeadline::ChildClosed,
        SfnDeadline::StopChild,
        SfnDeadline::MapRunStep,
        SfnDeadline::MapRunChildClosed,
    ]
    .into_iter()
    .map(|k| deadline(DeadlineKind::Sfn(k)))
    .collect();
    golden("record/sfn_deadlines_children", &deadlines);
}

#[test]
fn parent_and_child_execution_records_read_as_they_were_written() {
    // A parent whose `.sync` task waits for a child: the parent with its pending start, then with
    // the running child; the child with its parent link.
    use swf_core::sfn::keys;
    use swf_core::sfn::records::Execution;
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let role = "arn:aws:iam::000000000000:role/r";
    let child_sm = "arn:aws:states:us-east-1:000000000000:stateMachine:child";
    let ops = vec![
        Op::Sfn(SfnOp::CreateStateMachine(shape(
            json!({"name": "child", "roleArn": role,
            "definition": json!({"StartAt": "W", "States": {"W": {"Type": "Wait",
                "Seconds": 60, "End": true}}}).to_string()}),
        ))),
        Op::Sfn(SfnOp::CreateStateMachine(shape(
            json!({"name": "parent", "roleArn": role,
            "definition": json!({"StartAt": "N", "States": {"N": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child_sm, "Input.$": "$"},
                "TimeoutSeconds": 600, "End": true}}}).to_string()}),
        ))),
        Op::Sfn(SfnOp::StartExecution {
            input: shape(
                json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:parent",
                "name": "p", "input": "{\"k\":1}"}),
            ),
            default_name: "unused".into(),
            seed: 42,
        }),
    ];
    let parent_arn = "arn:aws:states:us-east-1:000000000000:execution:parent:p";
    let mut index = 0;
    let mut apply = |state: &mut swf_core::memstate::MemState, op: Op| {
        index += 1;
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + index as i64),
            op,
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(state, index, &cmd, &limits).unwrap();
        applied.outcome.as_ref().unwrap();
        state.write(applied.writes);
    };
    for op in ops {
        apply(&mut state, op);
    }
    let read = |state: &swf_core::memstate::MemState, key: Vec<u8>| -> Value {
        serde_json::from_slice(&state.sfn[&key]).unwrap()
    };
    let pending: Execution =
        serde_json::from_value(read(&state, keys::execution(parent_arn))).unwrap();
    assert_eq!(pending.pending_children.len(), 1);
    golden("record/sfn_execution_child_pending", &pending);
    let due: Vec<Deadline> = state
        .deadlines
        .iter()
        .filter(|d| d.kind == DeadlineKind::Sfn(SfnDeadline::StartChild))
        .cloned()
        .collect();
    apply(&mut state, Op::FireDeadlines(due));
    let waiting: Execution =
        serde_json::from_value(read(&state, keys::execution(parent_arn))).unwrap();
    let child_arn = waiting.children.values().next().expect("a child").clone();
    golden("record/sfn_execution_child_running", &waiting);
    let child: Execution =
        serde_json::from_value(read(&state, keys::execution(&child_arn))).unwrap();
    assert_eq!(child.parent.as_ref().map(|p| p.notify), Some(true));
    golden("record/sfn_execution_of_a_parent", &child);
}

#[test]
fn map_run_records_read_as_they_were_written() {
    // A Distributed Map's run after its first step: two children running under MaxConcurrency 2.
    use swf_core::sfn::keys;
    use swf_core::sfn::map_runs::MapRun;
    let mut state = swf_core::memstate::MemState::default();
    let limits = swf_core::Limits::default();
    let role = "arn:aws:iam::000000000000:role/r";
    let def = json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "Label": "fan",
        "MaxConcurrency": 2, "ToleratedFailureCount": 1, "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}},
        "End": true}}});
    let mut index = 0;
    let mut apply = |state: &mut swf_core::memstate::MemState, op: Op| {
        index += 1;
        let cmd = Command {
            now: Timestamp(1_700_000_000_000 + index as i64),
            op,
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = swf_core::apply(state, index, &cmd, &limits).unwrap();
        applied.outcome.as_ref().unwrap();
        state.write(applied.writes);
    };
    apply(
        &mut state,
        Op::Sfn(SfnOp::CreateStateMachine(shape(
            json!({"name": "m", "roleArn": role, "definition": def.to_string()}),
        ))),
    );
    apply(
        &mut state,
        Op::Sfn(SfnOp::StartExecution {
            input: shape(
                json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:m",
                "name": "e", "input": "{\"items\":[1,2,3]}"}),
            ),
            default_name: "unused".into(),
            seed: 42,
        }),
    );
    let due: Vec<Deadline> = state
        .deadlines
        .iter()
        .filter(|d| d.kind == DeadlineKind::Sfn(SfnDeadline::MapRunStep))
        .cloned()
        .collect();
    let arn = due[0].run_id.clone();
    apply(&mut state, Op::FireDeadlines(due));
    let run: MapRun = serde_json::from_slice(&state.sfn[&keys::map_run(&arn)]).unwrap();
    assert_eq!(run.items.iter().filter(|i| i.child.is_some()).count(), 2);
    golden("record/sfn_map_run", &run);
    // The parent names its runs (`map_runs`), so its purge removes them.
    let parent: swf_core::sfn::records::Execution = serde_json::from_slice(
        &state.sfn[&keys::execution("arn:aws:states:us-east-1:000000000000:execution:m:e")],
    )
    .unwrap();
    assert_eq!(parent.map_runs.len(), 1);
    golden("record/sfn_execution_with_a_map_run", &parent);
}
