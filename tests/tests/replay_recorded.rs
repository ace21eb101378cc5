//! Replays public recordings of real SWF against the real `swfd` and compares the histories.
//!
//! The recordings are simpleflow's integration-test cassettes (`botify-labs/simpleflow`,
//! `tests/integration/cassettes/*.yaml` at commit 9c5cc04dfa0e9910ab4779e6ac9f323b12b0101a: real
//! us-east-1 request/response pairs), trimmed to the final GetWorkflowExecutionHistory answer and
//! stored under `tests/fixtures/simpleflow/` (each file names its source). The replayer walks the
//! recorded history and makes, through aws-sdk-swf and in the recorded order, the calls that caused
//! its events (the start, each poll with the recorded identity, each decision list rebuilt from the
//! events its DecisionTaskCompleted caused, each activity result, each signal or cancel request from
//! outside); the events SWF added by itself (DecisionTaskScheduled, ...) must then appear on their
//! own. Every event is compared: id, type and every attribute member of the recording (ids,
//! references, inputs, results, reasons, identities, task lists, timeouts); timestamps and run ids
//! are not compared (they are not in the trimmed recording). A member we write that the recording
//! lacks must be one of `EXTRA_MEMBERS`, each with its reason.
//!
//! These three recordings show the decision-task order of issue 13: work arriving while a decision
//! task is started gets its DecisionTaskScheduled at once, before that task's DecisionTaskCompleted.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use aws_sdk_swf::types::{
    ActivityType, ChildPolicy, CompleteWorkflowExecutionDecisionAttributes, Decision, DecisionType,
    FailWorkflowExecutionDecisionAttributes, RecordMarkerDecisionAttributes,
    ScheduleActivityTaskDecisionAttributes, WorkflowType,
};
use serde_json::{json, Value};
use swf_e2e::{task_list, Swfd};

/// Members we write that an older recording lacks. `scheduleToStartTimeout` of DecisionTaskScheduled:
/// the 2017 recordings do not have it, the 2023 one (`test_failing_activity_output`) has
/// `"scheduleToStartTimeout": "NONE"`, which is what we write.
const EXTRA_MEMBERS: &[(&str, &str)] = &[("DecisionTaskScheduled", "scheduleToStartTimeout")];

fn load(name: &str) -> anyhow::Result<Value> {
    let path = format!(
        "{}/fixtures/simpleflow/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    Ok(serde_json::from_str(&text)?)
}

fn member_name(event_type: &str) -> String {
    format!(
        "{}{}EventAttributes",
        event_type[..1].to_lowercase(),
        &event_type[1..]
    )
}

fn attrs(event: &Value) -> &Value {
    &event[member_name(event["eventType"].as_str().unwrap_or("X")).as_str()]
}

fn text(v: &Value, member: &str) -> Option<String> {
    v[member].as_str().map(str::to_string)
}

fn id(v: &Value, member: &str) -> i64 {
    v[member].as_i64().unwrap_or(0)
}

/// The decision that recorded `event` (an event whose `decisionTaskCompletedEventId` names a task).
fn decision_for(event: &Value) -> anyhow::Result<Decision> {
    let a = attrs(event);
    let t = event["eventType"].as_str().unwrap_or_default();
    let d = match t {
        "ActivityTaskScheduled" => Decision::builder()
            .decision_type(DecisionType::ScheduleActivityTask)
            .schedule_activity_task_decision_attributes(
                ScheduleActivityTaskDecisionAttributes::builder()
                    .activity_type(
                        ActivityType::builder()
                            .name(a["activityType"]["name"].as_str().unwrap_or_default())
                            .version(a["activityType"]["version"].as_str().unwrap_or_default())
                            .build()?,
                    )
                    .activity_id(a["activityId"].as_str().unwrap_or_default())
                    .set_input(text(a, "input"))
                    .set_control(text(a, "control"))
                    .task_list(task_list(
                        a["taskList"]["name"].as_str().unwrap_or_default(),
                    ))
                    .set_task_priority(text(a, "taskPriority"))
                    .set_schedule_to_close_timeout(text(a, "scheduleToCloseTimeout"))
                    .set_schedule_to_start_timeout(text(a, "scheduleToStartTimeout"))
                    .set_start_to_close_timeout(text(a, "startToCloseTimeout"))
                    .set_heartbeat_timeout(text(a, "heartbeatTimeout"))
                    .build()?,
            ),
        "WorkflowExecutionCompleted" => Decision::builder()
            .decision_type(DecisionType::CompleteWorkflowExecution)
            .complete_workflow_execution_decision_attributes(
                CompleteWorkflowExecutionDecisionAttributes::builder()
                    .set_result(text(a, "result"))
                    .build(),
            ),
        "WorkflowExecutionFailed" => Decision::builder()
            .decision_type(DecisionType::FailWorkflowExecution)
            .fail_workflow_execution_decision_attributes(
                FailWorkflowExecutionDecisionAttributes::builder()
                    .set_reason(text(a, "reason"))
                    .set_details(text(a, "details"))
                    .build(),
            ),
        "MarkerRecorded" => Decision::builder()
            .decision_type(DecisionType::RecordMarker)
            .record_marker_decision_attributes(
                RecordMarkerDecisionAttributes::builder()
                    .marker_name(a["markerName"].as_str().unwrap_or_default())
                    .set_details(text(a, "details"))
                    .build()?,
            ),
        other => bail!("the replayer does not rebuild decisions recorded as {other}"),
    };
    Ok(d.build()?)
}

/// Replays the recording `name` and compares the resulting history with it.
async fn replay(name: &str) -> anyhow::Result<()> {
    let recording = load(name)?;
    let events = recording["events"].as_array().context("events")?;
    let domain = recording["domain"].as_str().context("domain")?;
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = swfd.client();
    client
        .register_domain()
        .name(domain)
        .workflow_execution_retention_period_in_days("1")
        .send()
        .await?;
    let started = attrs(&events[0]);
    let wf = WorkflowType::builder()
        .name(started["workflowType"]["name"].as_str().unwrap_or_default())
        .version(
            started["workflowType"]["version"]
                .as_str()
                .unwrap_or_default(),
        )
        .build()?;
    client
        .register_workflow_type()
        .domain(domain)
        .name(wf.name())
        .version(wf.version())
        .send()
        .await?;
    let mut activity_types = Vec::new();
    for e in events
        .iter()
        .filter(|e| e["eventType"] == "ActivityTaskScheduled")
    {
        let t = &attrs(e)["activityType"];
        if !activity_types.contains(t) {
            activity_types.push(t.clone());
            client
                .register_activity_type()
                .domain(domain)
                .name(t["name"].as_str().unwrap_or_default())
                .version(t["version"].as_str().unwrap_or_default())
                .send()
                .await?;
        }
    }
    let decision_list = started["taskList"]["name"].as_str().unwrap_or_default();
    let workflow_id = format!("replay-{name}");
    let mut run_id = String::new();
    let mut decision_token = String::new();
    let mut activity_tokens: BTreeMap<i64, String> = BTreeMap::new();
    for e in events {
        let eid = id(e, "eventId");
        let a = attrs(e);
        let t = e["eventType"].as_str().unwrap_or_default();
        let step = format!("{name}: event {eid} {t}");
        match t {
            "WorkflowExecutionStarted" => {
                let out = client
                    .start_workflow_execution()
                    .domain(domain)
                    .workflow_id(&workflow_id)
                    .workflow_type(wf.clone())
                    .task_list(task_list(decision_list))
                    .set_input(text(a, "input"))
                    .set_execution_start_to_close_timeout(text(a, "executionStartToCloseTimeout"))
                    .set_task_start_to_close_timeout(text(a, "taskStartToCloseTimeout"))
                    .set_child_policy(text(a, "childPolicy").map(|p| ChildPolicy::from(p.as_str())))
                    .set_tag_list(a["tagList"].as_array().map(|l| {
                        l.iter()
                            .filter_map(|t| t.as_str().map(str::to_string))
                            .collect()
                    }))
                    .send()
                    .await
                    .context(step)?;
                run_id = out.run_id().unwrap_or_default().to_string();
            }
            "DecisionTaskStarted" => {
                let d = client
                    .poll_for_decision_task()
                    .domain(domain)
                    .task_list(task_list(decision_list))
                    .set_identity(text(a, "identity"))
                    .send()
                    .await
                    .context(step.clone())?;
                if d.started_event_id() != eid {
                    bail!(
                        "{step}: the poll got startedEventId {}",
                        d.started_event_id()
                    );
                }
                decision_token = d.task_token().to_string();
            }
            "DecisionTaskCompleted" => {
                let decisions = events
                    .iter()
                    .filter(|x| id(attrs(x), "decisionTaskCompletedEventId") == eid)
                    .map(decision_for)
                    .collect::<anyhow::Result<Vec<_>>>()
                    .context(step.clone())?;
                client
                    .respond_decision_task_completed()
                    .task_token(&decision_token)
                    .set_decisions(Some(decisions))
                    .set_execution_context(text(a, "executionContext"))
                    .send()
                    .await
                    .context(step)?;
            }
            "ActivityTaskStarted" => {
                let scheduled = id(a, "scheduledEventId");
                let s = attrs(&events[(scheduled - 1) as usize]);
                let got = client
                    .poll_for_activity_task()
                    .domain(domain)
                    .task_list(task_list(
                        s["taskList"]["name"].as_str().unwrap_or_default(),
                    ))
                    .set_identity(text(a, "identity"))
                    .send()
                    .await
                    .context(step.clone())?;
                if (got.started_event_id(), got.activity_id())
                    != (eid, s["activityId"].as_str().unwrap_or_default())
                {
                    bail!("{step}: the poll got {got:?}");
                }
                activity_tokens.insert(scheduled, got.task_token().to_string());
            }
            "ActivityTaskCompleted" => {
                let token = &activity_tokens[&id(a, "scheduledEventId")];
                client
                    .respond_activity_task_completed()
                    .task_token(token)
                    .set_result(text(a, "result"))
                    .send()
                    .await
                    .context(step)?;
            }
            "ActivityTaskFailed" => {
                let token = &activity_tokens[&id(a, "scheduledEventId")];
                client
                    .respond_activity_task_failed()
                    .task_token(token)
                    .set_reason(text(a, "reason"))
                    .set_details(text(a, "details"))
                    .send()
                    .await
                    .context(step)?;
            }
            "WorkflowExecutionSignaled" if id(a, "externalInitiatedEventId") == 0 => {
                client
                    .signal_workflow_execution()
                    .domain(domain)
                    .workflow_id(&workflow_id)
                    .run_id(&run_id)
                    .signal_name(a["signalName"].as_str().unwrap_or_default())
                    .set_input(text(a, "input"))
                    .send()
                    .await
                    .context(step)?;
            }
            "WorkflowExecutionCancelRequested" if id(a, "externalInitiatedEventId") == 0 => {
                client
                    .request_cancel_workflow_execution()
                    .domain(domain)
                    .workflow_id(&workflow_id)
                    .run_id(&run_id)
                    .send()
                    .await
                    .context(step)?;
            }
            // Recorded by the service itself (or by a decision, rebuilt above).
            _ => {}
        }
    }
    let (status, body) = swfd
        .raw_call(
            "GetWorkflowExecutionHistory",
            json!({"domain": domain, "execution": {"workflowId": workflow_id, "runId": run_id}})
                .to_string(),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let ours = body["events"].as_array().context("our events")?;
    let mut differences = Vec::new();
    for (i, want) in events.iter().enumerate() {
        let Some(got) = ours.get(i) else {
            differences.push(format!("event {} missing", i + 1));
            continue;
        };
        let t = want["eventType"].as_str().unwrap_or_default();
        if (got["eventId"].clone(), got["eventType"].clone())
            != (want["eventId"].clone(), want["eventType"].clone())
        {
            differences.push(format!(
                "event {}: {} {}, recorded {t}",
                i + 1,
                got["eventId"],
                got["eventType"]
            ));
            continue;
        }
        let (wa, ga) = (attrs(want), attrs(got));
        for (member, value) in wa.as_object().into_iter().flatten() {
            if ga[member.as_str()] != *value {
                differences.push(format!(
                    "event {} {t}: {member} is {}, recorded {value}",
                    i + 1,
                    ga[member.as_str()]
                ));
            }
        }
        for member in ga.as_object().into_iter().flatten().map(|(k, _)| k) {
            if wa.get(member).is_none() && !EXTRA_MEMBERS.contains(&(t, member.as_str())) {
                differences.push(format!(
                    "event {} {t}: we write {member} = {}, the recording has none",
                    i + 1,
                    ga[member.as_str()]
                ));
            }
        }
    }
    if ours.len() > events.len() {
        differences.push(format!(
            "{} events more than recorded",
            ours.len() - events.len()
        ));
    }
    assert!(
        differences.is_empty(),
        "{name}:\n{}",
        differences.join("\n")
    );
    Ok(())
}

/// A signal arrives while an activity runs; the activity completes while the decision task the
/// signal scheduled is started (DecisionTaskScheduled 11 before DecisionTaskCompleted 12).
#[tokio::test]
async fn replays_simpleflow_unrequested_signal() -> anyhow::Result<()> {
    replay("test_unrequested_signal").await
}

/// The same with a cancel request from outside, which the workflow refuses (it completes).
#[tokio::test]
async fn replays_simpleflow_cancel_requested_refused() -> anyhow::Result<()> {
    replay("test_cancel_requested_refused").await
}

/// An activity fails (reason only) and the workflow completes (a 2023 recording, with
/// `scheduleToStartTimeout: "NONE"` in DecisionTaskScheduled).
#[tokio::test]
async fn replays_simpleflow_failing_activity_output() -> anyhow::Result<()> {
    replay("test_failing_activity_output").await
}
