//! Table tests of RedriveExecution on `MemState`: a failed / aborted / timed-out execution runs again
//! from its unfinished state, the history goes on, the execution is open again (quota, retention),
//! old task tokens stay dead; the refusals with AWS's texts; client-token idempotency; the
//! DescribeExecution members and ListExecutions' `redriveFilter`.

use super::*;
use crate::limits::Limits;
use crate::sfn::redrive::{CLIENT_TOKEN_WINDOW_MS, REDRIVABLE_PERIOD_MS};
use crate::state::DeadlineKind;
use sfn_lang::redrive::reason;

const DAY: i64 = 24 * 3600 * 1000;

fn redrive(exec: &str, token: Option<&str>) -> SfnOp {
    SfnOp::RedriveExecution(RedriveExecutionInput {
        execution_arn: exec.into(),
        client_token: token.map(String::from),
    })
}

fn fail(token: &str) -> SfnOp {
    SfnOp::SendTaskFailure(SendTaskFailureInput {
        task_token: token.into(),
        error: Some("Boom".into()),
        cause: None,
    })
}

fn succeed(token: &str, output: &str) -> SfnOp {
    SfnOp::SendTaskSuccess(SendTaskSuccessInput {
        task_token: token.into(),
        output: output.into(),
    })
}

fn describe(w: &World, exec: &str, now: i64) -> Value {
    query::describe_execution_at(&w.state, &w.limits, exec, Some(now)).unwrap()
}

fn open_count(w: &World) -> u64 {
    let counts: super::super::records::Counts = w
        .state
        .sfn
        .get(&super::super::keys::counts())
        .map(|b| serde_json::from_slice(b).unwrap())
        .unwrap_or_default();
    counts.open_executions
}

fn retention_armed(w: &World) -> bool {
    w.state
        .deadlines
        .iter()
        .any(|d| d.kind == DeadlineKind::Sfn(super::super::SfnDeadline::Retention))
}

/// A machine Pass → Task → Succeed, one execution "e" whose task failed at t=2000.
fn failed_execution() -> (World, String) {
    let mut w = World::new();
    w.machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": "p", "ResultPath": "$.p", "Next": "T"},
        "T": {"Type": "Task", "Resource": ACT, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}));
    let e = exec_arn("e");
    w.start(1000, "e", r#"{"in":1}"#).unwrap();
    let (tok, _) = w.take(1500).unwrap();
    w.run(2000, fail(&tok)).unwrap();
    assert_eq!(w.status(&e), "FAILED");
    (w, e)
}

#[test]
fn a_failed_task_runs_again_and_the_execution_succeeds() {
    let (mut w, e) = failed_execution();
    let old_token = token(&e, 5);
    assert_eq!(open_count(&w), 0);
    assert!(retention_armed(&w));
    let d = describe(&w, &e, 3000);
    assert_eq!(
        (
            &d["redriveCount"],
            &d["redriveStatus"],
            d.get("redriveStatusReason")
        ),
        (&json!(0), &json!("REDRIVABLE"), None)
    );
    assert!(d.get("redriveDate").is_none());

    let r = w.run(3000, redrive(&e, Some("t1"))).unwrap();
    assert_eq!(r, json!({"redriveDate": 3.0}));
    assert_eq!(w.status(&e), "RUNNING");
    // Open again: counted, no retention purge, no stop date or error.
    assert_eq!(open_count(&w), 1);
    assert!(!retention_armed(&w));
    let d = describe(&w, &e, 3001);
    assert_eq!(d["redriveCount"], json!(1));
    assert_eq!(d["redriveDate"], json!(3.0));
    assert_eq!(d["redriveStatus"], json!("NOT_REDRIVABLE"));
    assert_eq!(d["redriveStatusReason"], json!(reason::RUNNING));
    for gone in ["stopDate", "error", "cause"] {
        assert!(d.get(gone).is_none(), "{gone}: {d}");
    }
    // The history goes on from the failure: the Pass state is not run again; the Task is entered
    // with the input it had.
    let types = w.history_types(&e);
    assert_eq!(
        types[8..],
        ["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"]
    );
    // The old attempt's token stays dead (its task closed with SendTaskFailure); the new task
    // carries the same input.
    assert_eq!(
        w.run(3002, succeed(&old_token, "1")).unwrap_err().0,
        FaultKind::TaskDoesNotExist
    );
    let (tok, input) = w.take(3003).unwrap();
    assert_eq!(input, r#"{"in":1,"p":"p"}"#);
    w.run(3004, succeed(&tok, r#""ok""#)).unwrap();
    assert_eq!(w.status(&e), "SUCCEEDED");
    assert_eq!(open_count(&w), 0);
    assert!(retention_armed(&w));
    let d = describe(&w, &e, 3005);
    assert_eq!(d["redriveStatusReason"], json!(reason::SUCCEEDED));
    assert_eq!(d["output"], json!(r#""ok""#));
    let h = query::get_execution_history(&w.state, &w.limits, &e, None, false, true, None).unwrap();
    let ids: Vec<(u64, u64)> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ev| {
            (
                ev["id"].as_u64().unwrap(),
                ev["previousEventId"].as_u64().unwrap(),
            )
        })
        .collect();
    // Ids without a gap, each event chained to the one before (the first state's is 0, as AWS).
    for (n, (id, prev)) in ids.iter().enumerate() {
        assert_eq!(*id, n as u64 + 1);
        if n > 1 {
            assert_eq!(*prev, n as u64);
        }
    }
    assert_eq!(
        h["events"][8]["executionRedrivenEventDetails"],
        json!({"redriveCount": 1})
    );
}

#[test]
fn refusals() {
    let (mut w, e) = failed_execution();
    let not = |r: &str| (FaultKind::ExecutionNotRedrivable, r.to_string());
    // A running execution.
    w.start(2500, "running", "{}").unwrap();
    assert_eq!(
        w.run(3000, redrive(&exec_arn("running"), None)),
        Err(not(reason::RUNNING))
    );
    // Past the 14 days from its stop.
    assert_eq!(
        w.run(2000 + REDRIVABLE_PERIOD_MS + 1, redrive(&e, None)),
        Err(not(reason::PERIOD_EXCEEDED))
    );
    assert_eq!(
        describe(&w, &e, 2000 + REDRIVABLE_PERIOD_MS + 1)["redriveStatusReason"],
        json!(reason::PERIOD_EXCEEDED)
    );
    // More than a year after its start (a stop date late enough for the 14 days).
    assert_eq!(
        crate::sfn::redrive::not_redrivable(
            &{
                let mut x: super::super::records::Execution =
                    serde_json::from_slice(&w.state.sfn[&super::super::keys::execution(&e)])
                        .unwrap();
                x.stopped = Some(Timestamp(1000 + 360 * DAY));
                x
            },
            true,
            Some(1000 + 366 * DAY)
        ),
        Some(reason::MAX_EXECUTION_TIME)
    );
    // Unknown and malformed ARNs.
    assert_eq!(
        w.run(3000, redrive(&exec_arn("nope"), None)).unwrap_err().0,
        FaultKind::ExecutionDoesNotExist
    );
    assert_eq!(
        w.run(3000, redrive("nope", None)).unwrap_err().0,
        FaultKind::InvalidArn
    );
    // The open executions quota.
    w.limits.sfn_max_open_executions = 1;
    assert_eq!(
        w.run(3000, redrive(&e, None)).unwrap_err().0,
        FaultKind::ExecutionLimitExceeded
    );
    w.limits = Limits::default();
    // A deleted state machine.
    w.run(3000, SfnOp::DeleteStateMachine(ArnInput { arn: SM.into() }))
        .unwrap();
    assert_eq!(
        w.run(3001, redrive(&e, None)),
        Err(not(reason::STATE_MACHINE_DELETING))
    );
}

#[test]
fn a_client_token_answers_again_for_15_minutes() {
    let (mut w, e) = failed_execution();
    let first = w.run(3000, redrive(&e, Some("tok"))).unwrap();
    // The same token: the same answer, nothing redriven again.
    assert_eq!(w.run(4000, redrive(&e, Some("tok"))).unwrap(), first);
    assert_eq!(describe(&w, &e, 4000)["redriveCount"], json!(1));
    // Another token while it runs: refused.
    assert_eq!(
        w.run(4000, redrive(&e, Some("other"))).unwrap_err().0,
        FaultKind::ExecutionNotRedrivable
    );
    // It fails again; the old token, past its 15 minutes, redrives once more.
    let (tok, _) = w.take(5000).unwrap();
    w.run(6000, fail(&tok)).unwrap();
    let later = 3000 + CLIENT_TOKEN_WINDOW_MS + 1;
    let again = w.run(later, redrive(&e, Some("tok"))).unwrap();
    assert_eq!(again["redriveDate"], json!(later as f64 / 1000.0));
    assert_eq!(describe(&w, &e, later)["redriveCount"], json!(2));
}

#[test]
fn stopped_and_timed_out_executions_are_redriven() {
    let mut w = World::new();
    w.machine(json!({"StartAt": "T", "TimeoutSeconds": 10, "States": {
        "T": {"Type": "Task", "Resource": ACT, "End": true}}}));
    let e = exec_arn("stopped");
    w.start(0, "stopped", "{}").unwrap();
    w.run(
        100,
        SfnOp::StopExecution(StopExecutionInput {
            execution_arn: e.clone(),
            error: None,
            cause: None,
        }),
    )
    .unwrap();
    assert_eq!(w.status(&e), "ABORTED");
    w.run(200, redrive(&e, None)).unwrap();
    assert_eq!(w.status(&e), "RUNNING");
    // The machine's TimeoutSeconds starts again from the redrive.
    w.fire_all_due(9_999);
    assert_eq!(w.status(&e), "RUNNING");
    w.fire_all_due(10_200);
    assert_eq!(w.status(&e), "TIMED_OUT");
    w.run(10_300, redrive(&e, None)).unwrap();
    assert_eq!(w.status(&e), "RUNNING");
    let (tok, _) = w.take(10_400).unwrap();
    w.run(10_500, succeed(&tok, "1")).unwrap();
    assert_eq!(w.status(&e), "SUCCEEDED");
    let types = w.history_types(&e);
    assert_eq!(
        types.iter().filter(|t| *t == "ExecutionRedriven").count(),
        2
    );
    assert_eq!(describe(&w, &e, 10_600)["redriveCount"], json!(2));
}

#[test]
fn the_definition_the_execution_started_with_is_kept() {
    let (mut w, e) = failed_execution();
    // The machine changes to one with no Task at all; the redrive still runs the original T.
    w.run(
        2500,
        SfnOp::UpdateStateMachine(UpdateStateMachineInput {
            state_machine_arn: SM.into(),
            definition: Some(
                json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}).to_string(),
            ),
            role_arn: None,
            publish: None,
            version_description: None,
            stamped_revision_id: Some("rev-2".into()),
            logging_configuration: None,
            tracing_configuration: None,
        }),
    )
    .unwrap();
    w.run(3000, redrive(&e, None)).unwrap();
    assert!(w.take(3001).is_some());
}

#[test]
fn list_executions_redrive_filter() {
    let (mut w, e) = failed_execution();
    w.start(2500, "plain", "{}").unwrap();
    w.run(3000, redrive(&e, None)).unwrap();
    let names = |f: Option<&str>| -> Vec<(String, Value)> {
        query::list_executions_filtered(&w.state, &w.limits, SM, None, f, None, None).unwrap()
            ["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["name"].as_str().unwrap().to_string(),
                    x["redriveCount"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(names(Some("REDRIVEN")), [("e".to_string(), json!(1))]);
    assert_eq!(
        names(Some("NOT_REDRIVEN")),
        [("plain".to_string(), json!(0))]
    );
    assert_eq!(names(None).len(), 2);
    let all = query::list_executions(&w.state, &w.limits, SM, None, None, None).unwrap();
    let redriven = all["executions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "e")
        .cloned()
        .unwrap();
    assert_eq!(redriven["redriveDate"], json!(3.0));
}
