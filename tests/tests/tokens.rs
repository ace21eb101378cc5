//! Unforgeable tokens through the real swfd (issue 16): task tokens carry a MAC under the cluster's
//! replicated key, so a token rebuilt from a history (what the unsigned tokens of earlier releases
//! allowed), altered or made up is refused with SWF's `UnknownResourceFault` / Step Functions'
//! `InvalidToken`; page tokens are signed and bound to the call and domain that issued them, so one of
//! another domain's run is refused (SWF's ValidationException for a page token it does not take: its
//! API reference says an expired token gets "a 400 error", and aws-swf issue #57 shows
//! `ValidationException: Specified token has exceeded its maximum lifetime`); tokens survive a restart,
//! key rotations (the retired keys are kept, up to a bound) and a leader change.

mod sfn_support;

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{EventType, WorkflowExecution};
use serde_json::json;
use sfn_support::{activity, machine, raw, sfn_client, start, take};
use swf_e2e::{
    agreed_leader, poll_activity, poll_decision, schedule_activity, service_error, setup_domain,
    start_execution, Swfd,
};

/// base64url without padding, as the unsigned tokens of earlier releases were written.
fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The token of an earlier release for a task, rebuilt from what the history shows.
fn rebuilt(kind: &str, scheduled: i64, started: i64, run_id: &str) -> String {
    b64url(format!("1:{kind}:{scheduled}:{started}:{run_id}").as_bytes())
}

/// `token` with one character changed.
fn altered(token: &str, at: usize) -> String {
    let mut b = token.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// The (scheduled, started) event ids of the last `started` event of a history.
async fn last_started(
    swfd: &Swfd,
    domain: &str,
    run: &WorkflowExecution,
    started: EventType,
) -> anyhow::Result<(i64, i64)> {
    let h = swf_e2e::full_history(&swfd.client(), domain, run).await?;
    let e = h
        .iter()
        .rev()
        .find(|e| *e.event_type() == started)
        .expect("a started event");
    let scheduled = e
        .decision_task_started_event_attributes()
        .map(|a| a.scheduled_event_id())
        .or_else(|| {
            e.activity_task_started_event_attributes()
                .map(|a| a.scheduled_event_id())
        })
        .expect("started attributes");
    Ok((scheduled, e.event_id()))
}

#[tokio::test]
async fn task_tokens_rebuilt_from_a_history_or_altered_are_refused() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "tok").await?;
    let run = start_execution(&client, &fx, "wf-1", "").await?;
    let task = poll_decision(&client, &fx).await?;
    let token = task.task_token().to_string();

    // The history names everything the unsigned form held: rebuilt, it is refused.
    let (scheduled, started) =
        last_started(&swfd, "tok", &run, EventType::DecisionTaskStarted).await?;
    assert_eq!(started, task.started_event_id());
    let forged = [
        rebuilt("d", scheduled, started, run.run_id()),
        altered(&token, 3),
        altered(&token, token.len() - 3),
        altered(&token, token.find('.').unwrap() + 1),
        format!("{}.1.{}", token.split('.').next().unwrap(), "A".repeat(43)),
    ];
    for bad in &forged {
        let e = service_error(
            client
                .respond_decision_task_completed()
                .task_token(bad)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("UnknownResourceFault"), "{bad}");
        assert_eq!(
            e.message(),
            Some("Unknown task token: not a decision task token"),
            "{bad}"
        );
    }
    // The real token works.
    client
        .respond_decision_task_completed()
        .task_token(&token)
        .decisions(schedule_activity(&fx, "a1", "x"))
        .send()
        .await?;

    let act = poll_activity(&client, &fx).await?;
    let (scheduled, started) =
        last_started(&swfd, "tok", &run, EventType::ActivityTaskStarted).await?;
    let bad = rebuilt("a", scheduled, started, run.run_id());
    let e = service_error(
        client
            .respond_activity_task_completed()
            .task_token(&bad)
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));
    assert_eq!(
        e.message(),
        Some("Unknown task token: not an activity task token")
    );
    let e = service_error(
        client
            .record_activity_task_heartbeat()
            .task_token(altered(act.task_token(), 5))
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));
    client
        .respond_activity_task_completed()
        .task_token(act.task_token())
        .result("done")
        .send()
        .await?;
    let h = swf_e2e::full_history(&client, "tok", &run).await?;
    assert_eq!(
        h.iter()
            .filter(|e| *e.event_type() == EventType::ActivityTaskCompleted)
            .count(),
        1,
        "completed once, by the real token"
    );

    // Step Functions: the token named the execution ARN and the ActivityScheduled event id.
    let sfn = sfn_client(&swfd);
    let act_arn = activity(&sfn, "work").await?;
    let sm = machine(
        &sfn,
        "m",
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act_arn, "End": true}}}),
    )
    .await?;
    let exec = start(&sfn, &sm, "e1", "{}").await?;
    let (sfn_token, _) = take(&sfn, &act_arn).await?;
    let scheduled = sfn_support::history(&sfn, &exec)
        .await?
        .iter()
        .find(|e| e.r#type().as_str() == "ActivityScheduled")
        .map(|e| e.id())
        .expect("ActivityScheduled");
    for bad in [
        rebuilt("a", scheduled, 0, &exec),
        altered(&sfn_token, 4),
        altered(&sfn_token, sfn_token.len() - 2),
    ] {
        let (status, body) = raw(
            &swfd,
            "SendTaskSuccess",
            &json!({"taskToken": bad, "output": "{}"}).to_string(),
        )
        .await?;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"__type": "com.amazonaws.swf.service.v2.model#InvalidToken",
                "message": "Invalid Token: 'Invalid token'"})
        );
    }
    sfn.send_task_success()
        .task_token(&sfn_token)
        .output("{}")
        .send()
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_page_token_of_another_domains_run_is_refused() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    let mine = setup_domain(&client, "mine").await?;
    let theirs = setup_domain(&client, "theirs").await?;
    let their_run = start_execution(&client, &theirs, "secret", "secret input").await?;
    start_execution(&client, &mine, "wf", "").await?;

    // Their decision task, paged: its page token works in their domain only.
    let task = client
        .poll_for_decision_task()
        .domain("theirs")
        .task_list(theirs.decision_task_list())
        .maximum_page_size(1)
        .send()
        .await?;
    let page = task.next_page_token().expect("a second page").to_string();
    let e = service_error(
        client
            .poll_for_decision_task()
            .domain("mine")
            .task_list(mine.decision_task_list())
            .next_page_token(&page)
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("ValidationException"));
    // What the probe sent: the earlier release's unsigned page token, naming their run.
    let made_up = b64url(
        json!({"c": {"r": their_run.run_id(), "n": 1}, "t": "x", "p": 0})
            .to_string()
            .as_bytes(),
    );
    for bad in [made_up, altered(&page, 2)] {
        let e = service_error(
            client
                .poll_for_decision_task()
                .domain("mine")
                .task_list(mine.decision_task_list())
                .next_page_token(&bad)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ValidationException"), "{bad}");
    }
    let second = client
        .poll_for_decision_task()
        .domain("theirs")
        .task_list(theirs.decision_task_list())
        .next_page_token(&page)
        .send()
        .await?;
    assert_eq!(
        second.events().len(),
        2,
        "the rest of their history, to them"
    );

    // History and visibility pages: bound to the call and the domain too.
    let hist = client
        .get_workflow_execution_history()
        .domain("theirs")
        .execution(their_run.clone())
        .maximum_page_size(1)
        .send()
        .await?;
    let hist_page = hist.next_page_token().expect("more events").to_string();
    let (status, body) = swfd
        .raw_call(
            "ListOpenWorkflowExecutions",
            json!({"domain": "mine", "startTimeFilter": {"oldestDate": 0},
                "nextPageToken": hist_page})
            .to_string(),
        )
        .await?;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("com.amazon.coral.validate#ValidationException")),
        "{body}"
    );
    start_execution(&client, &theirs, "secret-2", "").await?;
    let list = |domain: &str, token: Option<&str>| {
        let mut body = json!({"domain": domain, "startTimeFilter": {"oldestDate": 0},
            "maximumPageSize": 1});
        if let Some(t) = token {
            body["nextPageToken"] = json!(t);
        }
        swfd.raw_call("ListOpenWorkflowExecutions", body.to_string())
    };
    let (_, first) = list("theirs", None).await?;
    let their_page = first["nextPageToken"]
        .as_str()
        .expect("two runs")
        .to_string();
    let (status, body) = list("mine", Some(&their_page)).await?;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("com.amazon.coral.validate#ValidationException")),
        "{body}"
    );
    let (status, body) = list("theirs", Some(&their_page)).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["executionInfos"].as_array().map(Vec::len), Some(1));
    Ok(())
}

/// POST /cluster/token-key/rotate on the admin listener; the new generation.
async fn rotate(swfd: &Swfd) -> anyhow::Result<u64> {
    let (status, r) = swfd
        .admin_post("/cluster/token-key/rotate", &serde_json::json!({}))
        .await?;
    anyhow::ensure!(status == 200, "rotation refused: {status} {r}");
    Ok(r["generation"].as_u64().expect("a generation"))
}

/// `token` with its key generation (the middle part of `body.generation.mac`) replaced.
fn with_generation(token: &str, generation: u32) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a signed token: {token}");
    format!("{}.{generation}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn tokens_survive_a_restart_and_key_rotations_up_to_the_bound() -> anyhow::Result<()> {
    let mut swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "keep").await?;
    start_execution(&client, &fx, "wf", "").await?;
    let task = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule_activity(&fx, "a1", "x"))
        .decisions(schedule_activity(&fx, "a2", "x"))
        .decisions(schedule_activity(&fx, "a3", "x"))
        .send()
        .await?;
    let first = poll_activity(&client, &fx).await?;
    let second = poll_activity(&client, &fx).await?;
    let third = poll_activity(&client, &fx).await?;

    // A restart: the key is replicated state, read back from the data directory.
    swfd.restart().await?;
    let client = swfd.client();
    client
        .record_activity_task_heartbeat()
        .task_token(first.task_token())
        .send()
        .await?;

    // One rotation: tokens signed under the previous key still work.
    assert_eq!(rotate(&swfd).await?, 2);
    client
        .respond_activity_task_completed()
        .task_token(first.task_token())
        .send()
        .await?;
    // Two rotations: the retired keys are kept, so a task open from before both still completes.
    assert_eq!(rotate(&swfd).await?, 3);
    client
        .respond_activity_task_completed()
        .task_token(second.task_token())
        .send()
        .await?;
    // A token naming a key generation that does not exist (or another existing one) is refused.
    for generation in [0, 2, 3, 77] {
        let e = service_error(
            client
                .record_activity_task_heartbeat()
                .task_token(with_generation(third.task_token(), generation))
                .send()
                .await,
        );
        assert_eq!(
            e.code(),
            Some("UnknownResourceFault"),
            "generation {generation}"
        );
    }
    // The bound: the first key is dropped by the rotation that makes generation KEEP + 1, and the
    // tokens signed under it with it (docs/security.md: rotate no more often than the longest task
    // runs divided by KEEP - 1).
    let keep = swf_core::keyring::KEEP as u64;
    for generation in 4..=keep {
        assert_eq!(rotate(&swfd).await?, generation);
    }
    client
        .record_activity_task_heartbeat()
        .task_token(third.task_token())
        .send()
        .await?;
    assert_eq!(rotate(&swfd).await?, keep + 1);
    let e = service_error(
        client
            .respond_activity_task_completed()
            .task_token(third.task_token())
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));
    // A decision task started now gets a token under the newest key.
    let task = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(task.task_token())
        .send()
        .await?;
    Ok(())
}

#[tokio::test]
async fn tokens_survive_a_leader_change() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "2"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let follower = (0..3).find(|i| *i != leader_ix).unwrap();
    let a = nodes[follower].client();
    let fx = setup_domain(&a, "ha").await?;
    start_execution(&a, &fx, "wf", "").await?;
    let task = a
        .poll_for_decision_task()
        .domain("ha")
        .task_list(fx.decision_task_list())
        .maximum_page_size(1)
        .send()
        .await?;
    let page = task.next_page_token().expect("a second page").to_string();
    a.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule_activity(&fx, "a1", "x"))
        .send()
        .await?;
    let act = poll_activity(&a, &fx).await?;

    nodes[leader_ix].kill9();
    let survivors: Vec<&Swfd> = (0..3)
        .filter(|i| *i != leader_ix)
        .map(|i| &nodes[i])
        .collect();
    assert_ne!(agreed_leader(&survivors, Some(leader)).await?, leader);
    let b = survivors[1].client();
    // The page token issued by the old leader still pages on the new one.
    let rest = b
        .poll_for_decision_task()
        .domain("ha")
        .task_list(fx.decision_task_list())
        .next_page_token(&page)
        .send()
        .await?;
    assert!(!rest.events().is_empty());
    // And the task token completes the activity.
    b.respond_activity_task_completed()
        .task_token(act.task_token())
        .result("ok")
        .send()
        .await?;
    let e = service_error(
        b.respond_activity_task_completed()
            .task_token(altered(act.task_token(), 6))
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));

    // Rotation through any node runs on the leader, once per call: a token minted before two
    // rotations (through both survivors, whichever leads) still works, since the retired keys are
    // kept; a token naming a generation that does not exist is refused.
    let next = poll_decision(&b, &fx).await?;
    b.respond_decision_task_completed()
        .task_token(next.task_token())
        .decisions(schedule_activity(&fx, "a2", "x"))
        .send()
        .await?;
    let act2 = poll_activity(&b, &fx).await?;
    assert_eq!(rotate(survivors[0]).await?, 2);
    b.record_activity_task_heartbeat()
        .task_token(act2.task_token())
        .send()
        .await?;
    assert_eq!(rotate(survivors[1]).await?, 3);
    let e = service_error(
        b.record_activity_task_heartbeat()
            .task_token(with_generation(act2.task_token(), 4))
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));
    b.respond_activity_task_completed()
        .task_token(act2.task_token())
        .send()
        .await?;
    Ok(())
}
