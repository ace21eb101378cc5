//! Timers and every timeout kind through aws-sdk-swf, with 1–2 s durations: TimerFired, the four
//! activity timeouts (the heartbeat one carrying the last heartbeat details), the decision task
//! timeout (a new decision task follows), the workflow timeout (the run closes TIMED_OUT), and a timer
//! that survives `kill -9`. Each firing is checked never to be early by the history's own timestamps.

use std::time::Duration;

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{
    ActivityTaskTimeoutType, CloseStatus, Decision, DecisionType, EventType, HistoryEvent,
    ScheduleActivityTaskDecisionAttributes, StartTimerDecisionAttributes,
};
use aws_sdk_swf::Client;
use swf_e2e::{
    full_history, poll_activity, poll_decision, setup_domain, start_execution, Fixture, Swfd,
};

fn start_timer(id: &str, secs: u32) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::StartTimer)
        .start_timer_decision_attributes(
            StartTimerDecisionAttributes::builder()
                .timer_id(id)
                .start_to_fire_timeout(secs.to_string())
                .build()
                .expect("timer"),
        )
        .build()
        .expect("decision")
}

/// ScheduleActivityTask with explicit timeouts (seconds as strings).
fn schedule(
    fx: &Fixture,
    id: &str,
    s2s: &str,
    s2c: &str,
    start_to_close: &str,
    heartbeat: &str,
) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::ScheduleActivityTask)
        .schedule_activity_task_decision_attributes(
            ScheduleActivityTaskDecisionAttributes::builder()
                .activity_type(fx.activity_type.clone())
                .activity_id(id)
                .schedule_to_start_timeout(s2s)
                .schedule_to_close_timeout(s2c)
                .start_to_close_timeout(start_to_close)
                .heartbeat_timeout(heartbeat)
                .build()
                .expect("attributes"),
        )
        .build()
        .expect("decision")
}

fn secs(e: &HistoryEvent) -> f64 {
    e.event_timestamp().as_secs_f64()
}

/// Polls decision tasks until one whose new events include `t`; returns the full history then.
async fn wait_for_event(
    c: &Client,
    fx: &Fixture,
    run: &aws_sdk_swf::types::WorkflowExecution,
    t: EventType,
) -> anyhow::Result<Vec<HistoryEvent>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let history = full_history(c, &fx.domain, run).await?;
        if history.iter().any(|e| e.event_type() == &t) {
            return Ok(history);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no {t:?} in {:?}",
            history
                .iter()
                .map(|e| e.event_type().clone())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn find(events: &[HistoryEvent], t: EventType) -> &HistoryEvent {
    events
        .iter()
        .find(|e| e.event_type() == &t)
        .unwrap_or_else(|| panic!("no {t:?}"))
}

#[tokio::test]
async fn timer_fires_on_time_and_wakes_the_decider() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "10"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "timer").await?;
    start_execution(&c, &fx, "t", "").await?;
    let task = poll_decision(&c, &fx).await?;
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(start_timer("t1", 1))
        .send()
        .await?;

    // A waiting poll is woken by the TimerFired decision task.
    let task = poll_decision(&c, &fx).await?;
    let fired = find(task.events(), EventType::TimerFired);
    let started = find(task.events(), EventType::TimerStarted);
    let late = secs(fired) - secs(started) - 1.0;
    assert!(late >= 0.0, "fired {late:.3}s early");
    assert!(late < 1.0, "fired {late:.3}s late");
    assert_eq!(
        fired.timer_fired_event_attributes().map(|a| a.timer_id()),
        Some("t1")
    );
    Ok(())
}

#[tokio::test]
async fn activity_timeouts_of_every_kind() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "acts").await?;
    // (activity id, schedule-to-start, schedule-to-close, start-to-close, heartbeat, worker starts it, expected)
    let cases = [
        (
            "s2s",
            "1",
            "30",
            "30",
            "30",
            false,
            ActivityTaskTimeoutType::ScheduleToStart,
        ),
        (
            "s2c",
            "30",
            "2",
            "30",
            "30",
            true,
            ActivityTaskTimeoutType::ScheduleToClose,
        ),
        (
            "stc",
            "30",
            "30",
            "1",
            "30",
            true,
            ActivityTaskTimeoutType::StartToClose,
        ),
        (
            "hb",
            "30",
            "30",
            "30",
            "1",
            true,
            ActivityTaskTimeoutType::Heartbeat,
        ),
    ];
    for (id, s2s, s2c, stc, hb, start, expected) in cases {
        let run = start_execution(&c, &fx, id, "").await?;
        let task = poll_decision(&c, &fx).await?;
        c.respond_decision_task_completed()
            .task_token(task.task_token())
            .decisions(schedule(&fx, id, s2s, s2c, stc, hb))
            .send()
            .await?;
        let token = if start {
            let a = poll_activity(&c, &fx).await?;
            c.record_activity_task_heartbeat()
                .task_token(a.task_token())
                .details(format!("{id} progress"))
                .send()
                .await?;
            Some(a.task_token().to_string())
        } else {
            None
        };
        let history = wait_for_event(&c, &fx, &run, EventType::ActivityTaskTimedOut).await?;
        let timed_out = find(&history, EventType::ActivityTaskTimedOut);
        let attrs = timed_out
            .activity_task_timed_out_event_attributes()
            .expect("attributes");
        assert_eq!(attrs.timeout_type(), &expected, "{id}");
        if start {
            assert_eq!(
                attrs.details(),
                Some(format!("{id} progress").as_str()),
                "{id}: last heartbeat details"
            );
            let late = c
                .respond_activity_task_completed()
                .task_token(token.expect("token"))
                .send()
                .await;
            assert_eq!(
                late.unwrap_err().code(),
                Some("UnknownResourceFault"),
                "{id}"
            );
        }
        // The decider hears about it.
        let task = poll_decision(&c, &fx).await?;
        assert!(
            task.events()
                .iter()
                .any(|e| e.event_type() == &EventType::ActivityTaskTimedOut),
            "{id}"
        );
        c.terminate_workflow_execution()
            .domain(&fx.domain)
            .workflow_id(id)
            .send()
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn decision_and_workflow_timeouts() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "dwt").await?;
    let run = c
        .start_workflow_execution()
        .domain("dwt")
        .workflow_id("slow-decider")
        .workflow_type(fx.workflow_type.clone())
        .task_start_to_close_timeout("1")
        .execution_start_to_close_timeout("3")
        .send()
        .await?;
    let run = aws_sdk_swf::types::WorkflowExecution::builder()
        .workflow_id("slow-decider")
        .run_id(run.run_id().unwrap_or_default())
        .build()?;
    let first = poll_decision(&c, &fx).await?;
    // The decider sits on its task: it times out and a new one is scheduled.
    let history = wait_for_event(&c, &fx, &run, EventType::DecisionTaskTimedOut).await?;
    let timed_out = find(&history, EventType::DecisionTaskTimedOut);
    assert!(secs(timed_out) - secs(find(&history, EventType::DecisionTaskStarted)) >= 1.0);
    assert_eq!(
        history.last().map(|e| e.event_type()),
        Some(&EventType::DecisionTaskScheduled)
    );
    let late = c
        .respond_decision_task_completed()
        .task_token(first.task_token())
        .send()
        .await;
    assert_eq!(late.unwrap_err().code(), Some("UnknownResourceFault"));

    // Then the whole run times out.
    let history = wait_for_event(&c, &fx, &run, EventType::WorkflowExecutionTimedOut).await?;
    let closed = history.last().expect("events");
    assert_eq!(closed.event_type(), &EventType::WorkflowExecutionTimedOut);
    assert!(secs(closed) - secs(&history[0]) >= 3.0, "never early");
    let info = c
        .describe_workflow_execution()
        .domain("dwt")
        .execution(run)
        .send()
        .await?;
    assert_eq!(
        info.execution_info().and_then(|i| i.close_status()),
        Some(&CloseStatus::TimedOut)
    );
    Ok(())
}

#[tokio::test]
async fn timer_survives_kill_9() -> anyhow::Result<()> {
    let mut swfd = Swfd::start_with(&["--long-poll-secs", "5"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "durable").await?;
    let run = start_execution(&c, &fx, "t", "").await?;
    let task = poll_decision(&c, &fx).await?;
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(start_timer("t1", 2))
        .send()
        .await?;

    swfd.kill9();
    swfd.restart().await?;
    let c = swfd.client();
    let history = wait_for_event(&c, &fx, &run, EventType::TimerFired).await?;
    let late = secs(find(&history, EventType::TimerFired))
        - secs(find(&history, EventType::TimerStarted))
        - 2.0;
    assert!(late >= 0.0, "fired {late:.3}s early");
    let task = poll_decision(&c, &fx).await?;
    assert!(task
        .events()
        .iter()
        .any(|e| e.event_type() == &EventType::TimerFired));
    Ok(())
}

/// Fires 100 one-second timers at once and reports how late each fired (from the history's own
/// timestamps: TimerFired minus TimerStarted minus the duration). None may be early; the distribution
/// is printed (run with `--nocapture`) and recorded in docs/benchmarks.md.
#[tokio::test]
async fn timer_lateness_distribution() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "5"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "late").await?;
    let run = start_execution(&c, &fx, "many-timers", "").await?;
    let task = poll_decision(&c, &fx).await?;
    let timers: Vec<Decision> = (0..100).map(|i| start_timer(&format!("t{i}"), 1)).collect();
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .set_decisions(Some(timers))
        .send()
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let history = loop {
        let h = full_history(&c, "late", &run).await?;
        if h.iter()
            .filter(|e| e.event_type() == &EventType::TimerFired)
            .count()
            == 100
        {
            break h;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timers did not all fire"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let started: std::collections::HashMap<&str, f64> = history
        .iter()
        .filter_map(|e| {
            e.timer_started_event_attributes()
                .map(|a| (a.timer_id(), secs(e)))
        })
        .collect();
    let mut late_ms: Vec<f64> = history
        .iter()
        .filter_map(|e| {
            e.timer_fired_event_attributes()
                .map(|a| (secs(e) - started[a.timer_id()] - 1.0) * 1000.0)
        })
        .collect();
    late_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| late_ms[((late_ms.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "timer lateness over {} timers (ms): min {:.0} p50 {:.0} p90 {:.0} p99 {:.0} max {:.0}",
        late_ms.len(),
        late_ms[0],
        pct(0.5),
        pct(0.9),
        pct(0.99),
        late_ms[late_ms.len() - 1]
    );
    assert!(late_ms[0] >= 0.0, "a timer fired early");
    assert!(pct(0.5) < 500.0, "median lateness {:.0} ms", pct(0.5));
    Ok(())
}
