//! Authorisation through the real swfd: IAM policies of the auth configuration, a principal ×
//! action × domain matrix with AccessDeniedException in AWS's form ("User: arn:aws:iam::ACCT:user/NAME
//! is not authorized to perform: swf:ACTION on resource: ARN", as reported from SWF in
//! Netflix/asgard#722 and from Step Functions in FormidableLabs/aws-lambda-serverless-reference#31),
//! SWF's condition keys with registered defaults, every decision pseudo-action refused inside
//! RespondDecisionTaskCompleted (`...Failed` with OPERATION_NOT_PERMITTED, the call succeeds),
//! Step Functions actions on their ARNs, and reload / revocation without restart (on change and on
//! SIGHUP).

mod auth_support;

use std::time::{Duration, Instant};

use auth_support::*;
use serde_json::{json, Value};
use swf_e2e::sign::Signer;

fn alice() -> Signer {
    signer("AKIDALICE", "alice-secret")
}

fn bob() -> Signer {
    signer("AKIDBOB", "bob-secret")
}

fn nobody() -> Signer {
    signer("AKIDNOBODY", "nobody-secret")
}

/// Starts a run of `wf` in `domain`; its run id.
async fn start_run(swfd: &swf_e2e::Swfd, domain: &str, id: &str) -> String {
    let a = swf(
        swfd,
        &Signer::e2e(),
        "StartWorkflowExecution",
        json!({"domain": domain,
        "workflowId": id, "workflowType": {"name": "wf", "version": "1"}}),
    )
    .await;
    a.ok();
    a.body["runId"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_action_domain_matrix() -> anyhow::Result<()> {
    let swfd = start(&[]).await?;
    setup(&swfd, "alpha", "alpha-list").await;
    setup(&swfd, "beta", "bob-list").await;
    setup(&swfd, "gamma", "other-list").await;
    start_run(&swfd, "alpha", "a-1").await;
    start_run(&swfd, "beta", "b-1").await;
    let mut refused = 0;

    // Alice: everything in alpha (but terminating), nothing elsewhere.
    let per_domain = |d: &str| {
        vec![
            ("DescribeDomain", json!({"name": d})),
            (
                "DescribeWorkflowType",
                json!({"domain": d, "workflowType": {"name": "wf", "version": "1"}}),
            ),
            (
                "ListWorkflowTypes",
                json!({"domain": d, "registrationStatus": "REGISTERED"}),
            ),
            (
                "ListActivityTypes",
                json!({"domain": d, "registrationStatus": "REGISTERED"}),
            ),
            (
                "CountPendingDecisionTasks",
                json!({"domain": d, "taskList": {"name": "x"}}),
            ),
            (
                "ListOpenWorkflowExecutions",
                json!({"domain": d, "startTimeFilter": {"oldestDate": 0}}),
            ),
            (
                "CountOpenWorkflowExecutions",
                json!({"domain": d, "startTimeFilter": {"oldestDate": 0}}),
            ),
            (
                "DescribeWorkflowExecution",
                json!({"domain": d, "execution": {"workflowId": "x", "runId": "y"}}),
            ),
            (
                "SignalWorkflowExecution",
                json!({"domain": d, "workflowId": "x", "signalName": "s"}),
            ),
            (
                "RequestCancelWorkflowExecution",
                json!({"domain": d, "workflowId": "x"}),
            ),
            (
                "StartWorkflowExecution",
                json!({"domain": d, "workflowId": "alice-1", "workflowType": {"name": "wf", "version": "1"}}),
            ),
            (
                "RegisterActivityType",
                json!({"domain": d, "name": "a2", "version": "1"}),
            ),
            (
                "DeprecateWorkflowType",
                json!({"domain": d, "workflowType": {"name": "nope", "version": "1"}}),
            ),
            ("DeprecateDomain", json!({"name": d})),
        ]
    };
    for d in ["beta", "gamma"] {
        for (action, body) in per_domain(d) {
            swf(&swfd, &alice(), action, body).await.denied(
                "alice",
                &format!("swf:{action}"),
                &domain_arn(d),
            );
            refused += 1;
        }
    }
    // In alpha Alice gets each action's own answer (allowed: not AccessDenied).
    for (action, body) in per_domain("alpha") {
        if action == "DeprecateDomain" {
            continue;
        }
        let a = swf(&swfd, &alice(), action, body).await;
        assert_ne!(a.code(), "AccessDeniedException", "{action}: {a:?}");
    }
    // The Deny of another policy wins over the Allow.
    swf(
        &swfd,
        &alice(),
        "TerminateWorkflowExecution",
        json!({"domain": "alpha", "workflowId": "a-1"}),
    )
    .await
    .denied(
        "alice",
        "swf:TerminateWorkflowExecution",
        &domain_arn("alpha"),
    );
    refused += 1;
    // Alice may not list or register domains (resource `/domain/*` and the new name).
    swf(
        &swfd,
        &alice(),
        "ListDomains",
        json!({"registrationStatus": "REGISTERED"}),
    )
    .await
    .denied("alice", "swf:ListDomains", &domain_arn("*"));
    swf(
        &swfd,
        &alice(),
        "RegisterDomain",
        json!({"name": "delta", "workflowExecutionRetentionPeriodInDays": "1"}),
    )
    .await
    .denied("alice", "swf:RegisterDomain", &domain_arn("delta"));
    refused += 2;
    // Tag calls: the resource is the ARN in the request.
    swf(
        &swfd,
        &alice(),
        "ListTagsForResource",
        json!({"resourceArn": domain_arn("beta")}),
    )
    .await
    .denied("alice", "swf:ListTagsForResource", &domain_arn("beta"));
    refused += 1;
    swf(
        &swfd,
        &alice(),
        "ListTagsForResource",
        json!({"resourceArn": domain_arn("alpha")}),
    )
    .await
    .ok();

    // A principal without policies may do nothing.
    for (action, body) in per_domain("alpha").into_iter().take(6) {
        swf(&swfd, &nobody(), action, body).await.denied(
            "nobody",
            &format!("swf:{action}"),
            &domain_arn("alpha"),
        );
        refused += 1;
    }

    // Bob: conditions on SWF's keys, with the registered default where the call leaves it out.
    swf(
        &swfd,
        &bob(),
        "ListDomains",
        json!({"registrationStatus": "REGISTERED"}),
    )
    .await
    .ok();
    swf(&swfd, &bob(), "DescribeDomain", json!({"name": "gamma"}))
        .await
        .ok();
    // Explicit task list.
    swf(
        &swfd,
        &bob(),
        "StartWorkflowExecution",
        json!({"domain": "gamma", "workflowId": "bob-1",
        "workflowType": {"name": "wf", "version": "1"}, "taskList": {"name": "bob-list"}}),
    )
    .await
    .ok();
    swf(
        &swfd,
        &bob(),
        "StartWorkflowExecution",
        json!({"domain": "gamma", "workflowId": "bob-2",
        "workflowType": {"name": "wf", "version": "1"}, "taskList": {"name": "elsewhere"}}),
    )
    .await
    .denied("bob", "swf:StartWorkflowExecution", &domain_arn("gamma"));
    refused += 1;
    // No task list: beta's type defaults to bob-list (allowed), gamma's to other-list (denied).
    swf(
        &swfd,
        &bob(),
        "StartWorkflowExecution",
        json!({"domain": "beta", "workflowId": "bob-3",
        "workflowType": {"name": "wf", "version": "1"}}),
    )
    .await
    .ok();
    swf(
        &swfd,
        &bob(),
        "StartWorkflowExecution",
        json!({"domain": "gamma", "workflowId": "bob-4",
        "workflowType": {"name": "wf", "version": "1"}}),
    )
    .await
    .denied("bob", "swf:StartWorkflowExecution", &domain_arn("gamma"));
    refused += 1;
    // StringLike on the polled task list.
    let poll = |tl: &str| json!({"domain": "gamma", "taskList": {"name": tl}});
    swf(&swfd, &bob(), "PollForDecisionTask", poll("bob-list"))
        .await
        .ok();
    swf(&swfd, &bob(), "PollForDecisionTask", poll("alice-list"))
        .await
        .denied("bob", "swf:PollForDecisionTask", &domain_arn("gamma"));
    refused += 1;
    swf(&swfd, &bob(), "PollForActivityTask", poll("bob-list"))
        .await
        .denied("bob", "swf:PollForActivityTask", &domain_arn("gamma"));
    refused += 1;
    // swf:defaultTaskList.name on registration.
    swf(
        &swfd,
        &bob(),
        "RegisterWorkflowType",
        json!({"domain": "gamma", "name": "bw", "version": "1",
        "defaultTaskList": {"name": "bob-list"}}),
    )
    .await
    .ok();
    swf(
        &swfd,
        &bob(),
        "RegisterWorkflowType",
        json!({"domain": "gamma", "name": "bw", "version": "2",
        "defaultTaskList": {"name": "other"}}),
    )
    .await
    .denied("bob", "swf:RegisterWorkflowType", &domain_arn("gamma"));
    swf(
        &swfd,
        &bob(),
        "RegisterWorkflowType",
        json!({"domain": "gamma", "name": "bw", "version": "3"}),
    )
    .await
    .denied("bob", "swf:RegisterWorkflowType", &domain_arn("gamma"));
    refused += 2;
    // swf:tagFilter.tag.
    let open = |tag: Option<&str>| {
        let mut b = json!({"domain": "gamma", "startTimeFilter": {"oldestDate": 0}});
        if let Some(t) = tag {
            b["tagFilter"] = json!({"tag": t});
        }
        b
    };
    swf(
        &swfd,
        &bob(),
        "ListOpenWorkflowExecutions",
        open(Some("bob")),
    )
    .await
    .ok();
    for tag in [Some("alice"), None] {
        swf(&swfd, &bob(), "ListOpenWorkflowExecutions", open(tag))
            .await
            .denied(
                "bob",
                "swf:ListOpenWorkflowExecutions",
                &domain_arn("gamma"),
            );
        refused += 1;
    }
    // Actions Bob was never given.
    for (action, body) in [
        (
            "TerminateWorkflowExecution",
            json!({"domain": "gamma", "workflowId": "bob-1"}),
        ),
        (
            "SignalWorkflowExecution",
            json!({"domain": "gamma", "workflowId": "bob-1", "signalName": "s"}),
        ),
        ("DeprecateDomain", json!({"name": "gamma"})),
        (
            "RegisterDomain",
            json!({"name": "bobs", "workflowExecutionRetentionPeriodInDays": "1"}),
        ),
    ] {
        let resource = if action == "RegisterDomain" {
            domain_arn("bobs")
        } else {
            domain_arn("gamma")
        };
        swf(&swfd, &bob(), action, body)
            .await
            .denied("bob", &format!("swf:{action}"), &resource);
        refused += 1;
    }
    // Task-token calls are authorised on the token's domain: Alice completing a task of beta.
    let task = swf(
        &swfd,
        &Signer::e2e(),
        "PollForDecisionTask",
        json!({"domain": "beta", "taskList": {"name": "bob-list"}}),
    )
    .await;
    task.ok();
    let token = task.body["taskToken"].as_str().unwrap().to_string();
    swf(
        &swfd,
        &alice(),
        "RespondDecisionTaskCompleted",
        json!({"taskToken": token, "decisions": []}),
    )
    .await
    .denied(
        "alice",
        "swf:RespondDecisionTaskCompleted",
        &domain_arn("beta"),
    );
    refused += 1;
    // Step Functions: actions on their ARNs.
    let sfn = Signer {
        service: "states".into(),
        ..signer("AKIDSFN", "sfn-secret")
    };
    let call_sfn = |action: &str, body: Value| {
        let swfd = &swfd;
        let sfn = sfn.clone();
        let target = format!("AWSStepFunctions.{action}");
        async move { call_with(swfd, Some(&sfn), &target, &body, |_| {}).await }
    };
    call_sfn("ListActivities", json!({})).await.ok();
    let created = call_sfn("CreateActivity", json!({"name": "open-1"})).await;
    created.ok();
    call_sfn("CreateActivity", json!({"name": "secret-1"}))
        .await
        .denied_sfn(
            "sfn",
            "states:CreateActivity",
            "arn:aws:states:us-east-1:000000000000:activity:secret-1",
        );
    call_sfn(
        "DeleteActivity",
        json!({"activityArn": created.body["activityArn"]}),
    )
    .await
    .denied_sfn(
        "sfn",
        "states:DeleteActivity",
        created.body["activityArn"].as_str().unwrap(),
    );
    call_sfn("ListStateMachines", json!({})).await.denied_sfn(
        "sfn",
        "states:ListStateMachines",
        "*",
    );
    refused += 3;

    println!("principal_action_domain_matrix: {refused} refused cases");
    assert!(refused >= 45, "{refused}");
    Ok(())
}

trait DeniedSfn {
    fn denied_sfn(&self, user: &str, action: &str, resource: &str);
}

impl DeniedSfn for Answer {
    fn denied_sfn(&self, user: &str, action: &str, resource: &str) {
        self.denied(user, action, resource);
    }
}

/// The decisions of one response, by pseudo-action name: a decision of each type.
fn decision(kind: &str) -> Value {
    let attrs = match kind {
        "ScheduleActivityTask" => {
            json!({"activityType": {"name": "act", "version": "1"}, "activityId": "a1"})
        }
        "RequestCancelActivityTask" => json!({"activityId": "a0"}),
        "RecordMarker" => json!({"markerName": "m"}),
        "StartTimer" => json!({"timerId": "t1", "startToFireTimeout": "60"}),
        "CancelTimer" => json!({"timerId": "t0"}),
        "SignalExternalWorkflowExecution" => {
            json!({"workflowId": "other", "signalName": "s", "control": "c"})
        }
        "RequestCancelExternalWorkflowExecution" => json!({"workflowId": "other"}),
        "StartChildWorkflowExecution" => {
            json!({"workflowType": {"name": "wf", "version": "1"}, "workflowId": "child-1"})
        }
        "CompleteWorkflowExecution" => json!({"result": "r"}),
        "FailWorkflowExecution" => json!({"reason": "r"}),
        "CancelWorkflowExecution" => json!({}),
        "ContinueAsNewWorkflowExecution" => json!({}),
        _ => unreachable!(),
    };
    let mut field = kind.to_string();
    field[..1].make_ascii_lowercase();
    json!({"decisionType": kind, format!("{field}DecisionAttributes"): attrs})
}

/// The `...Failed` event type of a refused decision.
fn failed_event(kind: &str) -> String {
    format!("{kind}Failed")
}

const PSEUDO: [&str; 12] = [
    "ScheduleActivityTask",
    "RequestCancelActivityTask",
    "RecordMarker",
    "StartTimer",
    "CancelTimer",
    "SignalExternalWorkflowExecution",
    "RequestCancelExternalWorkflowExecution",
    "StartChildWorkflowExecution",
    "CompleteWorkflowExecution",
    "FailWorkflowExecution",
    "CancelWorkflowExecution",
    "ContinueAsNewWorkflowExecution",
];

fn decider_config(denied: &[&str]) -> String {
    let actions: Vec<String> = denied.iter().map(|d| format!("\"swf:{d}\"")).collect();
    format!(
        r#"{}
[[principal]]
name = "decider"
access_key_id = "AKIDDECIDER"
secret_access_key = "decider-secret"
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Effect":"Allow","Action":"swf:*","Resource":"*"}},
  {{"Effect":"Deny","Action":[{}],"Resource":"*"}}]}}'''
"#,
        config(),
        if actions.is_empty() {
            "\"swf:None\"".to_string()
        } else {
            actions.join(",")
        }
    )
}

async fn history(swfd: &swf_e2e::Swfd, domain: &str, id: &str, run: &str) -> Vec<Value> {
    let a = swf(
        swfd,
        &Signer::e2e(),
        "GetWorkflowExecutionHistory",
        json!({"domain": domain,
        "execution": {"workflowId": id, "runId": run}}),
    )
    .await;
    a.ok();
    a.body["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_pseudo_action_is_refused_as_operation_not_permitted() -> anyhow::Result<()>
{
    let swfd = swf_e2e::Swfd::start_with_auth_files(
        &decider_config(&PSEUDO),
        &[("filer.secret", "filer-secret\n")],
        &[],
    )
    .await?;
    setup(&swfd, "dec", "dec-list").await;
    let run = start_run(&swfd, "dec", "d-1").await;
    let decider = signer("AKIDDECIDER", "decider-secret");
    // The non-closing decisions in one response, then each close decision in a response of its own
    // (a refused close leaves the run open and schedules a new decision task).
    let mut rounds: Vec<Vec<&str>> = vec![PSEUDO[..8].to_vec()];
    rounds.extend(PSEUDO[8..].iter().map(|d| vec![*d]));
    let mut refused = 0;
    for round in rounds {
        let task = swf(
            &swfd,
            &decider,
            "PollForDecisionTask",
            json!({"domain": "dec", "taskList": {"name": "dec-list"}}),
        )
        .await;
        task.ok();
        let token = task.body["taskToken"]
            .as_str()
            .expect("a decision task")
            .to_string();
        let decisions: Vec<Value> = round.iter().map(|d| decision(d)).collect();
        // The call itself succeeds.
        swf(
            &swfd,
            &decider,
            "RespondDecisionTaskCompleted",
            json!({"taskToken": token, "decisions": decisions}),
        )
        .await
        .ok();
        let events = history(&swfd, "dec", "d-1", &run).await;
        for kind in &round {
            let name = failed_event(kind);
            let ev = events
                .iter()
                .rev()
                .find(|e| e["eventType"] == name.as_str())
                .unwrap_or_else(|| panic!("no {name} in {events:#?}"));
            let mut field = name.clone();
            field[..1].make_ascii_lowercase();
            assert_eq!(
                ev[format!("{field}EventAttributes")]["cause"],
                "OPERATION_NOT_PERMITTED",
                "{ev:#}"
            );
            refused += 1;
        }
    }
    // Nothing the refused decisions would have done happened: no activity, timer, child, marker,
    // signal; the run is still open with a new decision task.
    let events = history(&swfd, "dec", "d-1", &run).await;
    for forbidden in [
        "ActivityTaskScheduled",
        "TimerStarted",
        "MarkerRecorded",
        "StartChildWorkflowExecutionInitiated",
        "SignalExternalWorkflowExecutionInitiated",
        "WorkflowExecutionCompleted",
        "WorkflowExecutionContinuedAsNew",
    ] {
        assert!(
            !events.iter().any(|e| e["eventType"] == forbidden),
            "{forbidden} in {events:#?}"
        );
    }
    assert_eq!(events.last().unwrap()["eventType"], "DecisionTaskScheduled");
    assert_eq!(refused, 12);

    // Only the denied ones fail: allow all but StartTimer; a marker and a timer in one response.
    swfd.write_auth_config(&decider_config(&["StartTimer"]))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let task = swf(
            &swfd,
            &decider,
            "PollForDecisionTask",
            json!({"domain": "dec", "taskList": {"name": "dec-list"}}),
        )
        .await;
        let token = task.body["taskToken"]
            .as_str()
            .expect("a decision task")
            .to_string();
        swf(
            &swfd,
            &decider,
            "RespondDecisionTaskCompleted",
            json!({"taskToken": token,
            "decisions": [decision("RecordMarker"), decision("StartTimer")]}),
        )
        .await
        .ok();
        let events = history(&swfd, "dec", "d-1", &run).await;
        if events.iter().any(|e| e["eventType"] == "MarkerRecorded") {
            let last_failed = events
                .iter()
                .rev()
                .find(|e| e["eventType"] == "StartTimerFailed")
                .unwrap();
            assert_eq!(
                last_failed["startTimerFailedEventAttributes"]["cause"],
                "OPERATION_NOT_PERMITTED"
            );
            assert!(!events.iter().any(|e| e["eventType"] == "TimerStarted"));
            break;
        }
        assert!(Instant::now() < deadline, "the new policy never applied");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_changes_and_revocations_apply_without_restart() -> anyhow::Result<()> {
    let swfd = start(&[]).await?;
    let pid = swfd.pid();
    let list = json!({"registrationStatus": "REGISTERED"});
    let carol = signer("AKIDCAROL", "carol-secret");
    let with_carol = |policy: &str| {
        format!(
            "{}\n[[principal]]\nname = \"carol\"\naccess_key_id = \"AKIDCAROL\"\nsecret_access_key = \"carol-secret\"\npolicy = '''{policy}'''\n",
            config()
        )
    };
    let allow =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let deny_list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"swf:ListDomains","Resource":"*"}]}"#;
    // Unknown until added.
    swf(&swfd, &carol, "ListDomains", list.clone()).await.is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    // Added: allowed once the file is read again (on change).
    swfd.write_auth_config(&with_carol(allow))?;
    wait_for(&swfd, &carol, &list, |a| a.status == 200).await;
    // Policy changed: denied.
    swfd.write_auth_config(&with_carol(deny_list))?;
    wait_for(&swfd, &carol, &list, |a| {
        a.code() == "AccessDeniedException"
    })
    .await;
    swf(&swfd, &carol, "ListDomains", list.clone())
        .await
        .denied("carol", "swf:ListDomains", &domain_arn("*"));
    // Revoked: unknown again.
    swfd.write_auth_config(&config())?;
    wait_for(&swfd, &carol, &list, |a| {
        a.code() == "UnrecognizedClientException"
    })
    .await;
    // A file that does not parse leaves the configuration in force.
    swfd.write_auth_config("[[principal]\nbroken")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !swfd.log().contains("the previous one stays in force") {
        assert!(Instant::now() < deadline, "{}", swfd.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    swf(&swfd, &Signer::e2e(), "ListDomains", list.clone())
        .await
        .ok();
    // SIGHUP reads it again at once (same file contents as the last good one plus carol).
    swfd.write_auth_config(&with_carol(allow))?;
    swfd.sighup()?;
    wait_for(&swfd, &carol, &list, |a| a.status == 200).await;
    assert_eq!(swfd.pid(), pid, "no restart");
    Ok(())
}

async fn wait_for(swfd: &swf_e2e::Swfd, s: &Signer, body: &Value, done: impl Fn(&Answer) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let a = swf(swfd, s, "ListDomains", body.clone()).await;
        if done(&a) {
            return;
        }
        assert!(Instant::now() < deadline, "not applied in time: {a:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
