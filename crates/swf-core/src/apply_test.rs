//! Table-style unit tests of the core: every transition of `apply` and every fault it answers, run
//! against `MemState` through a small harness that checks history, decision-task, queue and open-run
//! invariants after each step; plus paging and counts of the reads in `query`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use swf_types::shapes::*;
use swf_types::{Fault, FaultKind, Timestamp};

use crate::apply;
use crate::command::{Command, Op, Outcome, Reply};
use crate::limits::Limits;
use crate::memstate::MemState;
use crate::query;
use crate::state::*;
use crate::token::TaskToken;

const D: &str = "dom";
const DECISIONS: &str = "decisions";
const ACTIVITIES: &str = "activities";

// ---------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------

/// Applied state, the log index and the leader's clock; every command goes through `run`.
struct H {
    s: MemState,
    index: u64,
    clock: i64,
    limits: Limits,
    runs: u32,
    /// Every command run, with its outcome (for replaying them as batches).
    log: Vec<(Command, Outcome)>,
    /// The log index every command is applied at, when set (as in one batched entry).
    fixed_index: Option<u64>,
}

impl H {
    fn new() -> H {
        H::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> H {
        H {
            s: MemState::default(),
            index: 0,
            clock: 1_700_000_000_000,
            limits,
            runs: 0,
            log: Vec::new(),
            fixed_index: None,
        }
    }

    /// A domain `D` with workflow type wf/1 and activity type act/1, both with every default.
    fn ready() -> H {
        let mut h = H::new();
        h.setup();
        h
    }

    fn setup(&mut self) {
        self.ok(Op::RegisterDomain(domain_input(D)));
        self.ok(Op::RegisterWorkflowType(wf_type_input("wf", "1")));
        self.ok(Op::RegisterActivityType(act_type_input("act", "1")));
    }

    /// Applies `op` as the next log entry and commits its writes. Checks that `apply` is
    /// deterministic, that a fault writes nothing and leaves the state as it was, and the invariants.
    fn run(&mut self, op: Op) -> Outcome {
        self.index += 1;
        self.clock += 1_000;
        // Like the leader, stamp fresh run ids for runs the command may start.
        let fresh_ids = (0..4).map(|i| format!("run-{}-{i}", self.index)).collect();
        let cmd = Command {
            now: Timestamp(self.clock),
            op,
            fresh_ids,
            request_id: Some(format!("req-{}", self.index)),
        };
        let index = self.fixed_index.unwrap_or(self.index);
        let applied = apply(&self.s, index, &cmd, &self.limits).expect("MemState never fails");
        let again = apply(&self.s, index, &cmd, &self.limits).expect("MemState never fails");
        assert_eq!(applied.outcome, again.outcome, "apply is not deterministic");
        assert_eq!(applied.writes, again.writes, "apply is not deterministic");
        let before = format!("{:?}", self.s);
        let failed = applied.outcome.is_err();
        if failed {
            assert!(
                applied.writes.is_empty(),
                "a fault must write nothing: {:?}",
                applied.writes
            );
        }
        self.s.write(applied.writes);
        if failed {
            assert_eq!(before, format!("{:?}", self.s), "a fault changed the state");
        }
        check_invariants(&self.s);
        self.log.push((cmd, applied.outcome.clone()));
        applied.outcome
    }

    /// Runs `op`, which must succeed.
    fn ok(&mut self, op: Op) -> Reply {
        let name = op.name();
        match self.run(op) {
            Ok(r) => r,
            Err(f) => panic!("{name} failed: {f}"),
        }
    }

    /// Runs `op`, which must fail; returns the fault.
    fn fault(&mut self, op: Op) -> Fault {
        let name = op.name();
        match self.run(op) {
            Ok(r) => panic!("{name} succeeded with {r:?}, expected a fault"),
            Err(f) => f,
        }
    }

    /// Runs `op` and reduces the outcome to the fault kind, for tables.
    fn kind(&mut self, op: Op) -> Result<(), FaultKind> {
        self.run(op).map(|_| ()).map_err(|f| f.kind)
    }

    /// Starts workflow `wid` of wf/1 in `D`; returns the run id.
    fn start(&mut self, wid: &str) -> String {
        self.start_with(start_input(wid))
    }

    fn start_with(&mut self, input: StartWorkflowExecutionInput) -> String {
        self.runs += 1;
        let run_id = format!("run-{}", self.runs);
        let reply = self.ok(Op::StartWorkflowExecution {
            input,
            run_id: run_id.clone(),
        });
        assert_eq!(
            reply,
            Reply::Started {
                run_id: run_id.clone()
            }
        );
        run_id
    }

    fn start_op(&mut self, input: StartWorkflowExecutionInput) -> Op {
        self.runs += 1;
        Op::StartWorkflowExecution {
            input,
            run_id: format!("run-{}", self.runs),
        }
    }

    fn rec(&self, run: &str) -> ExecutionRecord {
        self.s.record(run).expect("a record")
    }

    fn history(&self, run: &str) -> Vec<HistoryEvent> {
        self.s
            .history
            .iter()
            .filter(|((r, _), _)| r == run)
            .map(|(_, e)| e.clone())
            .collect()
    }

    fn types(&self, run: &str) -> Vec<EventType> {
        self.history(run).iter().map(|e| e.event_type).collect()
    }

    fn event(&self, run: &str, id: i64) -> HistoryEvent {
        self.s.history[&(run.to_string(), id)].clone()
    }

    fn last(&self, run: &str) -> HistoryEvent {
        self.history(run).pop().expect("history is not empty")
    }

    /// The last event of `run` of type `t`.
    fn last_of(&self, run: &str, t: EventType) -> HistoryEvent {
        self.history(run)
            .into_iter()
            .rev()
            .find(|e| e.event_type == t)
            .unwrap_or_else(|| panic!("no {t:?} in {run}"))
    }

    /// The scheduled event id of the queued decision task.
    fn scheduled_decision(&self, run: &str) -> i64 {
        match self.rec(run).decision {
            DecisionSlot::Scheduled {
                scheduled_event_id, ..
            } => scheduled_event_id,
            other => panic!("no decision task scheduled: {other:?}"),
        }
    }

    /// Starts the scheduled decision task; returns its token.
    fn start_decision(&mut self, run: &str) -> String {
        let scheduled_event_id = self.scheduled_decision(run);
        match self.ok(Op::StartDecisionTask {
            run_id: run.into(),
            scheduled_event_id,
            identity: Some("decider".into()),
        }) {
            Reply::DecisionTaskStarted { task_token, .. } => task_token,
            r => panic!("{r:?}"),
        }
    }

    /// Completes a decision task with `decisions`.
    fn respond(&mut self, token: &str, decisions: Vec<Decision>) {
        assert_eq!(self.ok(respond_op(token, decisions)), Reply::Done);
    }

    /// Starts the scheduled decision task and completes it with `decisions`.
    fn round(&mut self, run: &str, decisions: Vec<Decision>) {
        let token = self.start_decision(run);
        self.respond(&token, decisions);
    }

    /// The scheduled event id of the open activity `activity_id`.
    fn activity(&self, run: &str, activity_id: &str) -> i64 {
        self.rec(run)
            .activities
            .values()
            .find(|a| a.activity_id == activity_id)
            .unwrap_or_else(|| panic!("no open activity {activity_id}"))
            .scheduled_event_id
    }

    /// Starts the queued activity `activity_id`; returns its token.
    fn start_activity(&mut self, run: &str, activity_id: &str) -> String {
        let scheduled_event_id = self.activity(run, activity_id);
        match self.ok(Op::StartActivityTask {
            run_id: run.into(),
            scheduled_event_id,
            identity: Some("worker".into()),
        }) {
            Reply::ActivityTaskStarted { task_token, .. } => task_token,
            r => panic!("{r:?}"),
        }
    }

    fn queue(&self, kind: TaskKind, task_list: &str) -> Vec<QueuedTask> {
        self.s.queue(D, kind, task_list)
    }
}

// ---------------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------------

/// The JSON object of an event's attributes member.
fn attrs(e: &HistoryEvent) -> Value {
    let v = serde_json::to_value(e).unwrap();
    let t = e.event_type.as_str();
    let member = format!("{}{}EventAttributes", t[..1].to_lowercase(), &t[1..]);
    v[member.as_str()].clone()
}

fn id_of(v: &Value, member: &str) -> i64 {
    v[member]
        .as_i64()
        .unwrap_or_else(|| panic!("no {member} in {v}"))
}

/// Checks everything that must hold of any applied state.
fn check_invariants(s: &MemState) {
    let model = swf_types::model::model();
    let mut expected_queue: BTreeSet<QueuedTask> = BTreeSet::new();
    for (run_id, _) in s.items.keys() {
        assert!(
            s.executions.contains_key(run_id),
            "open item of unknown run {run_id}"
        );
    }
    for (run_id, rec) in &s.records() {
        assert_eq!(run_id, &rec.run_id);
        let events: Vec<&HistoryEvent> = s
            .history
            .range((run_id.clone(), i64::MIN)..=(run_id.clone(), i64::MAX))
            .map(|(_, e)| e)
            .collect();
        // Ids contiguous from 1, next id right after the last, time never goes back.
        for (i, e) in events.iter().enumerate() {
            assert_eq!(
                e.event_id,
                i as i64 + 1,
                "{run_id}: event ids not contiguous"
            );
        }
        assert_eq!(rec.next_event_id, events.len() as i64 + 1, "{run_id}");
        assert!(events
            .windows(2)
            .all(|w| w[0].event_timestamp <= w[1].event_timestamp));
        assert_eq!(
            events.first().map(|e| e.event_type),
            Some(EventType::WorkflowExecutionStarted)
        );
        // Each event is valid per the model and carries exactly its own attributes member.
        for e in &events {
            let v = serde_json::to_value(e).unwrap();
            if let Err(f) = swf_types::model::validate_shape(model, "HistoryEvent", &v, "") {
                panic!("{run_id}: event {v} is invalid: {f}");
            }
            let t = e.event_type.as_str();
            let want = format!("{}{}EventAttributes", t[..1].to_lowercase(), &t[1..]);
            let members: Vec<&String> = v
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.ends_with("EventAttributes"))
                .collect();
            assert_eq!(members, vec![&want], "{run_id}: event {v}");
        }
        let owned: Vec<HistoryEvent> = events.iter().map(|e| (*e).clone()).collect();
        let violations = crate::validate::validate_history(&owned);
        assert!(violations.is_empty(), "{run_id}: {violations:?}");
        // Decision tasks (as real SWF records them): at most one scheduled and one started at any
        // point, a scheduled one starts only once the started one ended, each started one refers to
        // the scheduled one, each completed one to the started one.
        let mut scheduled: Option<i64> = None;
        let mut started: Option<(i64, i64)> = None;
        for e in &events {
            let a = attrs(e);
            match e.event_type {
                EventType::DecisionTaskScheduled => {
                    assert!(
                        scheduled.is_none(),
                        "{run_id}: a second decision task scheduled at event {}",
                        e.event_id
                    );
                    scheduled = Some(e.event_id);
                }
                EventType::DecisionTaskStarted => {
                    assert!(
                        started.is_none(),
                        "{run_id}: a second decision task started at event {}",
                        e.event_id
                    );
                    assert_eq!(scheduled.take(), Some(id_of(&a, "scheduledEventId")));
                    started = Some((id_of(&a, "scheduledEventId"), e.event_id));
                }
                EventType::DecisionTaskCompleted | EventType::DecisionTaskTimedOut => {
                    assert_eq!(
                        started.take(),
                        Some((id_of(&a, "scheduledEventId"), id_of(&a, "startedEventId")))
                    );
                }
                _ => {}
            }
        }
        match &rec.decision {
            // A run closed from outside (terminated, timed out) may leave a decision task it never ran.
            DecisionSlot::None => assert!(
                !rec.is_open() || (scheduled.is_none() && started.is_none()),
                "{run_id}"
            ),
            DecisionSlot::Scheduled {
                scheduled_event_id,
                queued,
            } => {
                assert!(rec.is_open(), "{run_id}: closed with a decision task");
                assert_eq!(started, None, "{run_id}");
                assert_eq!(scheduled, Some(*scheduled_event_id));
                assert_eq!(queued.kind, TaskKind::Decision);
                assert_eq!(queued.scheduled_event_id, *scheduled_event_id);
                assert_eq!(queued.run_id, *run_id);
                assert_eq!(queued.task_list, rec.config.task_list);
                expected_queue.insert(queued.clone());
            }
            DecisionSlot::Started {
                scheduled_event_id,
                started_event_id,
                pending,
                ..
            } => {
                assert!(rec.is_open(), "{run_id}: closed with a decision task");
                assert_eq!(started, Some((*scheduled_event_id, *started_event_id)));
                // The one scheduled behind it is not queued until it ends.
                assert_eq!(scheduled, *pending, "{run_id}");
            }
        }
        // Activities: every start and close refers to a scheduled activity; the open ones are exactly
        // those of the record.
        let mut act_scheduled: BTreeMap<i64, String> = BTreeMap::new();
        let mut act_started: BTreeMap<i64, i64> = BTreeMap::new();
        let mut act_closed: BTreeSet<i64> = BTreeSet::new();
        for e in &events {
            let a = attrs(e);
            match e.event_type {
                EventType::ActivityTaskScheduled => {
                    let id = a["activityId"].as_str().unwrap().to_string();
                    act_scheduled.insert(e.event_id, id);
                }
                EventType::ActivityTaskStarted => {
                    let sched = id_of(&a, "scheduledEventId");
                    assert!(act_scheduled.contains_key(&sched), "{run_id}: {a}");
                    assert!(
                        !act_closed.contains(&sched),
                        "{run_id}: started after close"
                    );
                    assert!(act_started.insert(sched, e.event_id).is_none());
                }
                EventType::ActivityTaskCompleted
                | EventType::ActivityTaskFailed
                | EventType::ActivityTaskCanceled
                | EventType::ActivityTaskTimedOut => {
                    let sched = id_of(&a, "scheduledEventId");
                    let st = id_of(&a, "startedEventId");
                    assert!(act_scheduled.contains_key(&sched), "{run_id}: {a}");
                    assert_eq!(act_started.get(&sched).copied().unwrap_or(0), st, "{a}");
                    assert!(act_closed.insert(sched), "{run_id}: closed twice");
                }
                EventType::ActivityTaskCancelRequested => {
                    let id = a["activityId"].as_str().unwrap();
                    assert!(act_scheduled
                        .iter()
                        .any(|(s, aid)| aid == id && !act_closed.contains(s)));
                }
                _ => {}
            }
        }
        if rec.is_open() {
            let open: BTreeSet<i64> = act_scheduled
                .keys()
                .filter(|s| !act_closed.contains(s))
                .copied()
                .collect();
            assert_eq!(
                rec.activities.keys().copied().collect::<BTreeSet<_>>(),
                open,
                "{run_id}: open activities"
            );
            let ids: BTreeSet<&String> = rec.activities.values().map(|a| &a.activity_id).collect();
            assert_eq!(
                ids.len(),
                rec.activities.len(),
                "{run_id}: activity id reused"
            );
            for (sched, a) in &rec.activities {
                assert_eq!(a.scheduled_event_id, *sched);
                assert_eq!(&act_scheduled[sched], &a.activity_id);
                assert_eq!(a.started_event_id, act_started.get(sched).copied());
                assert_eq!(a.queued.is_some(), a.started_event_id.is_none());
                if let Some(q) = &a.queued {
                    assert_eq!(q.kind, TaskKind::Activity);
                    assert_eq!(q.scheduled_event_id, *sched);
                    assert_eq!(q.run_id, *run_id);
                    expected_queue.insert(q.clone());
                }
            }
            assert_eq!(
                s.open_runs
                    .get(&(rec.domain.clone(), rec.workflow_id.clone())),
                Some(run_id),
                "{run_id}: open run not indexed"
            );
        } else {
            assert!(rec.activities.is_empty());
            assert!(rec.close_status.is_some());
            let last = events.last().unwrap().event_type;
            assert!(
                matches!(
                    last,
                    EventType::WorkflowExecutionCompleted
                        | EventType::WorkflowExecutionFailed
                        | EventType::WorkflowExecutionCanceled
                        | EventType::WorkflowExecutionTerminated
                        | EventType::WorkflowExecutionTimedOut
                        | EventType::WorkflowExecutionContinuedAsNew
                ),
                "{run_id}: closed but last event is {last:?}"
            );
        }
    }
    for ((domain, wid), run) in &s.open_runs {
        let rec = &s.records()[run];
        assert!(rec.is_open(), "open run {run} is closed");
        assert_eq!((&rec.domain, &rec.workflow_id), (domain, wid));
    }
    let queued: BTreeSet<QueuedTask> = s.queues.values().cloned().collect();
    assert_eq!(
        queued, expected_queue,
        "queues differ from the open tasks of the records"
    );
    for (name, d) in &s.domains {
        assert_eq!(name, &d.detail.domain_info.name);
        let wf = s.workflow_types.keys().filter(|k| &k.0 == name).count();
        let act = s.activity_types.keys().filter(|k| &k.0 == name).count();
        assert_eq!(d.workflow_types as usize, wf, "{name}: workflow type count");
        assert_eq!(
            d.activity_types as usize, act,
            "{name}: activity type count"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------

fn tl(name: &str) -> Option<Box<TaskList>> {
    Some(Box::new(TaskList { name: name.into() }))
}

fn s(v: &str) -> Option<String> {
    Some(v.into())
}

fn domain_input(name: &str) -> RegisterDomainInput {
    RegisterDomainInput {
        name: name.into(),
        workflow_execution_retention_period_in_days: "1".into(),
        ..Default::default()
    }
}

fn wf_type() -> WorkflowType {
    WorkflowType {
        name: "wf".into(),
        version: "1".into(),
    }
}

fn act_type() -> ActivityType {
    ActivityType {
        name: "act".into(),
        version: "1".into(),
    }
}

/// A workflow type with every default.
fn wf_type_input(name: &str, version: &str) -> RegisterWorkflowTypeInput {
    RegisterWorkflowTypeInput {
        domain: D.into(),
        name: name.into(),
        version: version.into(),
        default_task_list: tl(DECISIONS),
        default_execution_start_to_close_timeout: s("3600"),
        default_task_start_to_close_timeout: s("60"),
        default_child_policy: Some(ChildPolicy::Terminate),
        ..Default::default()
    }
}

/// An activity type with every default.
fn act_type_input(name: &str, version: &str) -> RegisterActivityTypeInput {
    RegisterActivityTypeInput {
        domain: D.into(),
        name: name.into(),
        version: version.into(),
        default_task_list: tl(ACTIVITIES),
        default_task_schedule_to_close_timeout: s("300"),
        default_task_schedule_to_start_timeout: s("100"),
        default_task_start_to_close_timeout: s("200"),
        default_task_heartbeat_timeout: s("30"),
        default_task_priority: s("5"),
        ..Default::default()
    }
}

fn start_input(wid: &str) -> StartWorkflowExecutionInput {
    StartWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: wid.into(),
        workflow_type: Box::new(wf_type()),
        input: s("in"),
        ..Default::default()
    }
}

fn respond_op(token: &str, decisions: Vec<Decision>) -> Op {
    Op::RespondDecisionTaskCompleted(RespondDecisionTaskCompletedInput {
        task_token: token.into(),
        decisions: Some(decisions),
        ..Default::default()
    })
}

fn complete_op(token: &str) -> Op {
    Op::RespondActivityTaskCompleted(RespondActivityTaskCompletedInput {
        task_token: token.into(),
        result: s("result"),
    })
}

fn fail_op(token: &str) -> Op {
    Op::RespondActivityTaskFailed(RespondActivityTaskFailedInput {
        task_token: token.into(),
        reason: s("reason"),
        details: s("details"),
    })
}

fn canceled_op(token: &str) -> Op {
    Op::RespondActivityTaskCanceled(RespondActivityTaskCanceledInput {
        task_token: token.into(),
        details: s("canceled"),
    })
}

fn heartbeat_op(token: &str) -> Op {
    Op::RecordActivityTaskHeartbeat(RecordActivityTaskHeartbeatInput {
        task_token: token.into(),
        details: s("50%"),
    })
}

// Decisions.

fn schedule(id: &str) -> Decision {
    schedule_with(id, |_| {})
}

fn schedule_with(
    id: &str,
    f: impl FnOnce(&mut ScheduleActivityTaskDecisionAttributes),
) -> Decision {
    let mut a = ScheduleActivityTaskDecisionAttributes {
        activity_id: id.into(),
        activity_type: Box::new(act_type()),
        input: s("activity input"),
        ..Default::default()
    };
    f(&mut a);
    Decision {
        decision_type: DecisionType::ScheduleActivityTask,
        schedule_activity_task_decision_attributes: Some(Box::new(a)),
        ..Default::default()
    }
}

fn complete_wf() -> Decision {
    Decision {
        decision_type: DecisionType::CompleteWorkflowExecution,
        complete_workflow_execution_decision_attributes: Some(Box::new(
            CompleteWorkflowExecutionDecisionAttributes { result: s("done") },
        )),
        ..Default::default()
    }
}

fn fail_wf() -> Decision {
    Decision {
        decision_type: DecisionType::FailWorkflowExecution,
        fail_workflow_execution_decision_attributes: Some(Box::new(
            FailWorkflowExecutionDecisionAttributes {
                reason: s("why"),
                details: s("how"),
            },
        )),
        ..Default::default()
    }
}

fn cancel_wf() -> Decision {
    Decision {
        decision_type: DecisionType::CancelWorkflowExecution,
        cancel_workflow_execution_decision_attributes: Some(Box::new(
            CancelWorkflowExecutionDecisionAttributes { details: s("bye") },
        )),
        ..Default::default()
    }
}

fn marker(name: &str) -> Decision {
    Decision {
        decision_type: DecisionType::RecordMarker,
        record_marker_decision_attributes: Some(Box::new(RecordMarkerDecisionAttributes {
            marker_name: name.into(),
            details: s("marker details"),
        })),
        ..Default::default()
    }
}

fn cancel_activity(id: &str) -> Decision {
    Decision {
        decision_type: DecisionType::RequestCancelActivityTask,
        request_cancel_activity_task_decision_attributes: Some(Box::new(
            RequestCancelActivityTaskDecisionAttributes {
                activity_id: id.into(),
            },
        )),
        ..Default::default()
    }
}

fn cancel_timer(id: &str) -> Decision {
    Decision {
        decision_type: DecisionType::CancelTimer,
        cancel_timer_decision_attributes: Some(Box::new(CancelTimerDecisionAttributes {
            timer_id: id.into(),
        })),
        ..Default::default()
    }
}

fn start_timer(id: &str, fire: &str) -> Decision {
    Decision {
        decision_type: DecisionType::StartTimer,
        start_timer_decision_attributes: Some(Box::new(StartTimerDecisionAttributes {
            timer_id: id.into(),
            start_to_fire_timeout: fire.into(),
            control: None,
        })),
        ..Default::default()
    }
}

/// One decision of every kind the core does not implement yet.
fn unimplemented_decisions() -> Vec<(Decision, EventType, &'static str)> {
    vec![(
        Decision {
            decision_type: DecisionType::ScheduleLambdaFunction,
            schedule_lambda_function_decision_attributes: Some(Box::new(
                ScheduleLambdaFunctionDecisionAttributes {
                    id: "l1".into(),
                    name: "fn".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        },
        EventType::ScheduleLambdaFunctionFailed,
        "LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION",
    )]
}

use EventType as E;

// ---------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------

#[test]
fn register_domain_table() {
    let tags = |n: usize| -> Option<Vec<ResourceTag>> {
        Some(
            (0..n)
                .map(|i| ResourceTag {
                    key: format!("k{i}"),
                    value: s("v"),
                })
                .collect(),
        )
    };
    let with = |name: &str, days: &str| RegisterDomainInput {
        name: name.into(),
        workflow_execution_retention_period_in_days: days.into(),
        description: s("a domain"),
        ..Default::default()
    };
    let cases: Vec<(&str, RegisterDomainInput, Result<(), FaultKind>)> = vec![
        ("new", with("new", "1"), Ok(())),
        ("zero days", with("new", "0"), Ok(())),
        ("max days", with("new", "90"), Ok(())),
        ("NONE days", with("new", "NONE"), Ok(())),
        (
            "existing",
            with("taken", "1"),
            Err(FaultKind::DomainAlreadyExists),
        ),
        (
            "days over max",
            with("new", "91"),
            Err(FaultKind::Validation),
        ),
        (
            "negative days",
            with("new", "-1"),
            Err(FaultKind::Validation),
        ),
        ("text days", with("new", "ten"), Err(FaultKind::Validation)),
        ("empty days", with("new", ""), Err(FaultKind::Validation)),
        (
            "lowercase none",
            with("new", "none"),
            Err(FaultKind::Validation),
        ),
        (
            "50 tags",
            RegisterDomainInput {
                tags: tags(50),
                ..with("new", "1")
            },
            Ok(()),
        ),
        (
            "51 tags",
            RegisterDomainInput {
                tags: tags(51),
                ..with("new", "1")
            },
            Err(FaultKind::TooManyTags),
        ),
    ];
    for (name, input, want) in cases {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(domain_input("taken")));
        let got = h.kind(Op::RegisterDomain(input.clone()));
        assert_eq!(got, want, "case {name}");
        if want.is_ok() {
            let d = &h.s.domains[&input.name];
            assert_eq!(d.detail.domain_info.status, RegistrationStatus::Registered);
            assert_eq!(d.detail.domain_info.description, input.description);
            assert_eq!(
                d.detail.domain_info.arn.as_deref(),
                Some("arn:aws:swf:us-east-1:000000000000:/domain/new")
            );
            assert_eq!(
                d.detail
                    .configuration
                    .workflow_execution_retention_period_in_days,
                input.workflow_execution_retention_period_in_days
            );
            assert_eq!(d.tags, input.tags.clone().unwrap_or_default());
            assert_eq!(d.created, Timestamp(h.clock));
            let described = query::describe_domain(&h.s, &input.name).unwrap();
            assert_eq!(described, d.detail);
        }
    }
}

#[test]
fn register_domain_limit() {
    let mut h = H::with_limits(Limits {
        max_domains: 3,
        ..Limits::default()
    });
    for name in ["a", "b", "c"] {
        h.ok(Op::RegisterDomain(domain_input(name)));
    }
    let cases = [
        ("fourth domain", "d", FaultKind::LimitExceeded),
        (
            "existing is reported first",
            "a",
            FaultKind::DomainAlreadyExists,
        ),
    ];
    for (case, name, want) in cases {
        assert_eq!(
            h.fault(Op::RegisterDomain(domain_input(name))).kind,
            want,
            "{case}"
        );
    }
    assert_eq!(h.s.domains.len(), 3);
}

#[test]
fn register_workflow_type_table() {
    type Case = (
        &'static str,
        fn(&mut RegisterWorkflowTypeInput),
        Result<(), FaultKind>,
    );
    let cases: Vec<Case> = vec![
        ("ok", |_| {}, Ok(())),
        ("new version", |i| i.version = "2".into(), Ok(())),
        (
            "no defaults",
            |i| {
                *i = RegisterWorkflowTypeInput {
                    domain: D.into(),
                    name: "bare".into(),
                    version: "1".into(),
                    ..Default::default()
                }
            },
            Ok(()),
        ),
        (
            "NONE task timeout",
            |i| {
                i.name = "n".into();
                i.default_task_start_to_close_timeout = s("NONE")
            },
            Ok(()),
        ),
        (
            "duplicate",
            |i| i.name = "taken".into(),
            Err(FaultKind::TypeAlreadyExists),
        ),
        (
            "unknown domain",
            |i| i.domain = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "deprecated domain",
            |i| i.domain = "old".into(),
            Err(FaultKind::DomainDeprecated),
        ),
        (
            "bad task timeout",
            |i| i.default_task_start_to_close_timeout = s("1.5"),
            Err(FaultKind::Validation),
        ),
        (
            "bad execution timeout",
            |i| i.default_execution_start_to_close_timeout = s("-3"),
            Err(FaultKind::Validation),
        ),
        (
            "empty execution timeout",
            |i| i.default_execution_start_to_close_timeout = s(""),
            Err(FaultKind::Validation),
        ),
        (
            "bad priority",
            |i| i.default_task_priority = s("high"),
            Err(FaultKind::Validation),
        ),
        (
            "priority out of range",
            |i| i.default_task_priority = s("2147483648"),
            Err(FaultKind::Validation),
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(domain_input(D)));
        h.ok(Op::RegisterDomain(domain_input("old")));
        h.s.domains
            .get_mut("old")
            .unwrap()
            .detail
            .domain_info
            .status = RegistrationStatus::Deprecated;
        h.ok(Op::RegisterWorkflowType(wf_type_input("taken", "1")));
        let mut input = wf_type_input("new", "1");
        edit(&mut input);
        assert_eq!(
            h.kind(Op::RegisterWorkflowType(input.clone())),
            want,
            "case {name}"
        );
        if want.is_ok() {
            let t = WorkflowType {
                name: input.name.clone(),
                version: input.version.clone(),
            };
            let detail = query::describe_workflow_type(&h.s, D, &t).unwrap();
            assert_eq!(detail.type_info.status, RegistrationStatus::Registered);
            assert_eq!(detail.type_info.creation_date, Timestamp(h.clock));
            let c = &detail.configuration;
            assert_eq!(c.default_task_list, input.default_task_list, "{name}");
            assert_eq!(c.default_child_policy, input.default_child_policy, "{name}");
            assert_eq!(
                c.default_task_start_to_close_timeout,
                input.default_task_start_to_close_timeout
            );
            assert_eq!(h.s.domains[D].workflow_types, 2, "{name}");
        } else {
            assert_eq!(h.s.domains[D].workflow_types, 1, "{name}");
        }
    }
}

#[test]
fn register_activity_type_table() {
    type Case = (
        &'static str,
        fn(&mut RegisterActivityTypeInput),
        Result<(), FaultKind>,
    );
    let cases: Vec<Case> = vec![
        ("ok", |_| {}, Ok(())),
        ("new version", |i| i.version = "2".into(), Ok(())),
        (
            "no defaults",
            |i| {
                *i = RegisterActivityTypeInput {
                    domain: D.into(),
                    name: "bare".into(),
                    version: "1".into(),
                    ..Default::default()
                }
            },
            Ok(()),
        ),
        (
            "NONE timeouts",
            |i| {
                i.default_task_heartbeat_timeout = s("NONE");
                i.default_task_schedule_to_close_timeout = s("NONE")
            },
            Ok(()),
        ),
        (
            "duplicate",
            |i| i.name = "taken".into(),
            Err(FaultKind::TypeAlreadyExists),
        ),
        (
            "unknown domain",
            |i| i.domain = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "deprecated domain",
            |i| i.domain = "old".into(),
            Err(FaultKind::DomainDeprecated),
        ),
        (
            "bad start-to-close",
            |i| i.default_task_start_to_close_timeout = s("x"),
            Err(FaultKind::Validation),
        ),
        (
            "bad heartbeat",
            |i| i.default_task_heartbeat_timeout = s("1m"),
            Err(FaultKind::Validation),
        ),
        (
            "bad schedule-to-start",
            |i| i.default_task_schedule_to_start_timeout = s(" 1"),
            Err(FaultKind::Validation),
        ),
        (
            "bad schedule-to-close",
            |i| i.default_task_schedule_to_close_timeout = s("none"),
            Err(FaultKind::Validation),
        ),
        (
            "bad priority",
            |i| i.default_task_priority = s("1.0"),
            Err(FaultKind::Validation),
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(domain_input(D)));
        h.ok(Op::RegisterDomain(domain_input("old")));
        h.s.domains
            .get_mut("old")
            .unwrap()
            .detail
            .domain_info
            .status = RegistrationStatus::Deprecated;
        h.ok(Op::RegisterActivityType(act_type_input("taken", "1")));
        let mut input = act_type_input("new", "1");
        edit(&mut input);
        assert_eq!(
            h.kind(Op::RegisterActivityType(input.clone())),
            want,
            "case {name}"
        );
        if want.is_ok() {
            let t = ActivityType {
                name: input.name.clone(),
                version: input.version.clone(),
            };
            let detail = query::describe_activity_type(&h.s, D, &t).unwrap();
            assert_eq!(detail.type_info.status, RegistrationStatus::Registered);
            let c = &detail.configuration;
            assert_eq!(c.default_task_list, input.default_task_list, "{name}");
            assert_eq!(
                c.default_task_heartbeat_timeout,
                input.default_task_heartbeat_timeout
            );
            assert_eq!(
                c.default_task_schedule_to_close_timeout,
                input.default_task_schedule_to_close_timeout
            );
            assert_eq!(h.s.domains[D].activity_types, 2, "{name}");
        } else {
            assert_eq!(h.s.domains[D].activity_types, 1, "{name}");
        }
    }
}

#[test]
fn types_per_domain_limit() {
    let mut h = H::with_limits(Limits {
        max_types_per_domain: 1,
        ..Limits::default()
    });
    h.setup();
    let cases = [
        (
            "second workflow type",
            Op::RegisterWorkflowType(wf_type_input("wf", "2")),
            FaultKind::LimitExceeded,
        ),
        (
            "second activity type",
            Op::RegisterActivityType(act_type_input("act", "2")),
            FaultKind::LimitExceeded,
        ),
        (
            "duplicate is reported first",
            Op::RegisterWorkflowType(wf_type_input("wf", "1")),
            FaultKind::TypeAlreadyExists,
        ),
    ];
    for (case, op, want) in cases {
        assert_eq!(h.fault(op).kind, want, "{case}");
    }
}

// ---------------------------------------------------------------------------------------------------
// StartWorkflowExecution
// ---------------------------------------------------------------------------------------------------

#[test]
fn start_workflow_execution_ok() {
    let mut h = H::ready();
    let run = h.start("w1");
    assert_eq!(
        h.types(&run),
        [E::WorkflowExecutionStarted, E::DecisionTaskScheduled]
    );
    let started = h.event(&run, 1);
    let a = started
        .workflow_execution_started_event_attributes
        .as_deref()
        .unwrap();
    assert_eq!(a.input.as_deref(), Some("in"));
    assert_eq!(a.task_list.name, DECISIONS);
    assert_eq!(a.execution_start_to_close_timeout.as_deref(), Some("3600"));
    assert_eq!(a.task_start_to_close_timeout.as_deref(), Some("60"));
    assert_eq!(a.child_policy, ChildPolicy::Terminate);
    assert_eq!(*a.workflow_type, wf_type());
    assert_eq!(started.event_timestamp, Timestamp(h.clock));
    let sched = h.event(&run, 2);
    let sa = sched
        .decision_task_scheduled_event_attributes
        .as_deref()
        .unwrap();
    assert_eq!(sa.task_list.name, DECISIONS);
    assert_eq!(sa.start_to_close_timeout.as_deref(), Some("60"));

    let q = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].run_id.as_str(), q[0].scheduled_event_id),
        (run.as_str(), 2)
    );
    assert_eq!(q[0].seq, h.index);
    assert_eq!(h.s.open_runs[&(D.to_string(), "w1".to_string())], run);
    let rec = h.rec(&run);
    assert!(rec.is_open());
    assert_eq!(rec.started, Timestamp(h.clock));
    assert_eq!(rec.next_event_id, 3);

    // A second workflow id runs alongside, in the same queue, after the first.
    let run2 = h.start("w2");
    let q = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(
        q.iter().map(|t| t.run_id.as_str()).collect::<Vec<_>>(),
        [run.as_str(), run2.as_str()]
    );
}

#[test]
fn start_workflow_execution_overrides_defaults() {
    let mut h = H::ready();
    let run = h.start_with(StartWorkflowExecutionInput {
        task_list: tl("mine"),
        execution_start_to_close_timeout: s("10"),
        task_start_to_close_timeout: s("NONE"),
        child_policy: Some(ChildPolicy::Abandon),
        task_priority: s("7"),
        tag_list: Some(vec!["t".into()]),
        ..start_input("w")
    });
    let rec = h.rec(&run);
    assert_eq!(rec.config.task_list, "mine");
    assert_eq!(rec.config.task_priority, 7);
    assert_eq!(rec.config.execution_start_to_close_timeout, "10");
    assert_eq!(rec.config.task_start_to_close_timeout, "NONE");
    assert_eq!(rec.config.child_policy, ChildPolicy::Abandon);
    assert_eq!(rec.tag_list, ["t"]);
    let q = h.queue(TaskKind::Decision, "mine");
    assert_eq!((q.len(), q[0].priority), (1, 7));
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
}

#[test]
fn start_workflow_execution_faults() {
    type Case = (
        &'static str,
        fn(&mut StartWorkflowExecutionInput),
        Result<(), FaultKind>,
    );
    let cases: Vec<Case> = vec![
        ("ok", |_| {}, Ok(())),
        (
            "already started",
            |i| i.workflow_id = "running".into(),
            Err(FaultKind::WorkflowExecutionAlreadyStarted),
        ),
        (
            "unknown type version",
            |i| i.workflow_type.version = "9".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "unknown type name",
            |i| i.workflow_type.name = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "unknown domain",
            |i| i.domain = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "deprecated type",
            |i| i.workflow_type.name = "old".into(),
            Err(FaultKind::TypeDeprecated),
        ),
        (
            "bad execution timeout",
            |i| i.execution_start_to_close_timeout = s("1h"),
            Err(FaultKind::Validation),
        ),
        (
            "NONE execution timeout",
            |i| i.execution_start_to_close_timeout = s("NONE"),
            Err(FaultKind::Validation),
        ),
        (
            "bad task timeout",
            |i| i.task_start_to_close_timeout = s("-"),
            Err(FaultKind::Validation),
        ),
        (
            "bad priority",
            |i| i.task_priority = s("p"),
            Err(FaultKind::Validation),
        ),
        // A type without defaults: everything given works; each missing one is DefaultUndefined.
        ("bare, all given", |i| bare_all(i), Ok(())),
        (
            "bare, no task list",
            |i| {
                bare_all(i);
                i.task_list = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, no execution timeout",
            |i| {
                bare_all(i);
                i.execution_start_to_close_timeout = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, no task timeout",
            |i| {
                bare_all(i);
                i.task_start_to_close_timeout = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, no child policy",
            |i| {
                bare_all(i);
                i.child_policy = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, nothing",
            |i| {
                bare_all(i);
                i.task_list = None;
                i.execution_start_to_close_timeout = None;
                i.task_start_to_close_timeout = None;
                i.child_policy = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
    ];
    fn bare_all(i: &mut StartWorkflowExecutionInput) {
        *i.workflow_type = WorkflowType {
            name: "bare".into(),
            version: "1".into(),
        };
        i.task_list = tl("t");
        i.execution_start_to_close_timeout = s("100");
        i.task_start_to_close_timeout = s("10");
        i.child_policy = Some(ChildPolicy::RequestCancel);
    }
    for (name, edit, want) in cases {
        let mut h = H::ready();
        h.ok(Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
            domain: D.into(),
            name: "bare".into(),
            version: "1".into(),
            ..Default::default()
        }));
        h.ok(Op::RegisterWorkflowType(wf_type_input("old", "1")));
        h.s.workflow_types
            .get_mut(&(D.into(), "old".into(), "1".into()))
            .unwrap()
            .type_info
            .status = RegistrationStatus::Deprecated;
        h.start("running");
        let mut input = start_input("new");
        edit(&mut input);
        let op = h.start_op(input);
        assert_eq!(h.kind(op), want, "case {name}");
        let runs = if want.is_ok() { 2 } else { 1 };
        assert_eq!(h.s.executions.len(), runs, "case {name}");
        assert_eq!(h.s.open_runs.len(), runs, "case {name}");
    }
}

#[test]
fn same_workflow_id_in_another_domain_or_after_close() {
    let mut h = H::ready();
    h.ok(Op::RegisterDomain(domain_input("other")));
    h.ok(Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
        domain: "other".into(),
        ..wf_type_input("wf", "1")
    }));
    let run = h.start("w");
    h.start_with(StartWorkflowExecutionInput {
        domain: "other".into(),
        ..start_input("w")
    });
    h.round(&run, vec![complete_wf()]);
    let again = h.start("w");
    assert_ne!(again, run);
    assert_eq!(h.s.open_runs[&(D.to_string(), "w".to_string())], again);
}

// ---------------------------------------------------------------------------------------------------
// Starting tasks
// ---------------------------------------------------------------------------------------------------

#[test]
fn start_decision_task() {
    let mut h = H::ready();
    let run = h.start("w");
    let reply = h.ok(Op::StartDecisionTask {
        run_id: run.clone(),
        scheduled_event_id: 2,
        identity: s("me"),
    });
    let Reply::DecisionTaskStarted {
        task_token,
        started_event_id,
        previous_started_event_id,
        ..
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!((started_event_id, previous_started_event_id), (3, 0));
    assert_eq!(
        TaskToken::decode(&task_token),
        Some(TaskToken {
            kind: TaskKind::Decision,
            run_id: run.clone(),
            scheduled_event_id: 2,
            started_event_id: 3,
        })
    );
    let e = h.last(&run);
    assert_eq!(e.event_type, E::DecisionTaskStarted);
    let a = e.decision_task_started_event_attributes.unwrap();
    assert_eq!(
        (a.identity.as_deref(), a.scheduled_event_id),
        (Some("me"), 2)
    );
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());

    // A task attempt is handed out once; other ids and runs are unknown.
    let cases = [
        ("second start", run.as_str(), 2),
        ("started event id", run.as_str(), 3),
        ("never scheduled", run.as_str(), 7),
        ("unknown run", "nope", 2),
    ];
    for (case, run_id, scheduled_event_id) in cases {
        let f = h.fault(Op::StartDecisionTask {
            run_id: run_id.into(),
            scheduled_event_id,
            identity: None,
        });
        assert_eq!(f.kind, FaultKind::UnknownResource, "{case}");
    }

    // previousStartedEventId is the started event of the last completed decision task.
    h.respond(&task_token, vec![cancel_activity("nope")]);
    let scheduled_event_id = h.scheduled_decision(&run);
    let reply = h.ok(Op::StartDecisionTask {
        run_id: run.clone(),
        scheduled_event_id,
        identity: None,
    });
    assert!(
        matches!(
            reply,
            Reply::DecisionTaskStarted {
                previous_started_event_id: 3,
                ..
            }
        ),
        "{reply:?}"
    );
}

#[test]
fn start_activity_task() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]);
    let sched = h.activity(&run, "a");
    assert_eq!(h.queue(TaskKind::Activity, ACTIVITIES).len(), 1);
    let reply = h.ok(Op::StartActivityTask {
        run_id: run.clone(),
        scheduled_event_id: sched,
        identity: s("worker-1"),
    });
    let Reply::ActivityTaskStarted {
        task_token,
        started_event_id,
        activity_id,
        input,
        ..
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!(started_event_id, sched + 1);
    assert_eq!(activity_id, "a");
    assert_eq!(input.as_deref(), Some("activity input"));
    assert_eq!(
        TaskToken::decode(&task_token),
        Some(TaskToken {
            kind: TaskKind::Activity,
            run_id: run.clone(),
            scheduled_event_id: sched,
            started_event_id,
        })
    );
    let e = h.last(&run);
    assert_eq!(e.event_type, E::ActivityTaskStarted);
    let a = e.activity_task_started_event_attributes.unwrap();
    assert_eq!(
        (a.identity.as_deref(), a.scheduled_event_id),
        (Some("worker-1"), sched)
    );
    assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
    // Starting an activity needs no decision.
    assert_eq!(h.rec(&run).decision, DecisionSlot::None);

    let cases = [
        ("second start", run.as_str(), sched),
        ("not an activity", run.as_str(), 2),
        ("never scheduled", run.as_str(), 99),
        ("unknown run", "nope", sched),
    ];
    for (case, run_id, scheduled_event_id) in cases {
        let f = h.fault(Op::StartActivityTask {
            run_id: run_id.into(),
            scheduled_event_id,
            identity: None,
        });
        assert_eq!(f.kind, FaultKind::UnknownResource, "{case}");
    }
}

// ---------------------------------------------------------------------------------------------------
// RespondDecisionTaskCompleted
// ---------------------------------------------------------------------------------------------------

#[test]
fn schedule_activity_task_resolves_defaults() {
    type Case = (
        &'static str,
        fn(&mut ScheduleActivityTaskDecisionAttributes),
        [&'static str; 6],
    );
    // Expected: task list, schedule-to-close, schedule-to-start, start-to-close, heartbeat, priority.
    let cases: Vec<Case> = vec![
        (
            "type defaults",
            |_| {},
            [ACTIVITIES, "300", "100", "200", "30", "5"],
        ),
        (
            "decision values",
            |a| {
                a.task_list = tl("fast");
                a.schedule_to_close_timeout = s("9");
                a.schedule_to_start_timeout = s("8");
                a.start_to_close_timeout = s("7");
                a.heartbeat_timeout = s("NONE");
                a.task_priority = s("-3");
            },
            ["fast", "9", "8", "7", "NONE", "-3"],
        ),
        (
            "some of each",
            |a| {
                a.start_to_close_timeout = s("NONE");
                a.task_priority = s("0");
            },
            [ACTIVITIES, "300", "100", "NONE", "30", "0"],
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        let token = h.start_decision(&run);
        h.respond(
            &token,
            vec![schedule_with("a", |a| {
                a.control = s("ctl");
                edit(a)
            })],
        );
        assert_eq!(
            h.types(&run),
            [
                E::WorkflowExecutionStarted,
                E::DecisionTaskScheduled,
                E::DecisionTaskStarted,
                E::DecisionTaskCompleted,
                E::ActivityTaskScheduled
            ],
            "{name}"
        );
        let completed = h.event(&run, 4);
        let c = completed.decision_task_completed_event_attributes.unwrap();
        assert_eq!((c.scheduled_event_id, c.started_event_id), (2, 3));
        let e = h.event(&run, 5);
        let a = e.activity_task_scheduled_event_attributes.unwrap();
        assert_eq!(a.activity_id, "a");
        assert_eq!(*a.activity_type, act_type());
        assert_eq!(a.input.as_deref(), Some("activity input"));
        assert_eq!(a.control.as_deref(), Some("ctl"));
        assert_eq!(a.decision_task_completed_event_id, 4);
        let got = [
            a.task_list.name.as_str(),
            a.schedule_to_close_timeout.as_deref().unwrap(),
            a.schedule_to_start_timeout.as_deref().unwrap(),
            a.start_to_close_timeout.as_deref().unwrap(),
            a.heartbeat_timeout.as_deref().unwrap(),
            a.task_priority.as_deref().unwrap(),
        ];
        assert_eq!(got, want, "{name}");
        let q = h.queue(TaskKind::Activity, want[0]);
        assert_eq!(q.len(), 1, "{name}");
        assert_eq!(q[0].scheduled_event_id, 5);
        assert_eq!(q[0].priority.to_string(), want[5]);
        // Scheduling an activity needs no new decision task.
        assert_eq!(h.rec(&run).decision, DecisionSlot::None, "{name}");
        assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
        assert_eq!(h.rec(&run).previous_started_event_id, 3);
        assert_eq!(
            h.rec(&run).latest_activity_task_timestamp,
            Some(Timestamp(h.clock))
        );
    }
}

#[test]
fn schedule_activity_task_failures() {
    use ScheduleActivityTaskFailedCause as C;
    let bare = ActivityType {
        name: "bare".into(),
        version: "1".into(),
    };
    let on_bare = |id: &str, f: fn(&mut ScheduleActivityTaskDecisionAttributes)| {
        let bare = bare.clone();
        schedule_with(id, move |a| {
            *a.activity_type = bare;
            f(a)
        })
    };
    // Each case: the decisions of one response; the last one fails with the cause.
    let cases: Vec<(&str, Vec<Decision>, C)> = vec![
        (
            "unknown type",
            vec![schedule_with("a", |a| a.activity_type.name = "nope".into())],
            C::ActivityTypeDoesNotExist,
        ),
        (
            "unknown version",
            vec![schedule_with("a", |a| a.activity_type.version = "2".into())],
            C::ActivityTypeDoesNotExist,
        ),
        (
            "deprecated type",
            vec![schedule_with("a", |a| a.activity_type.name = "old".into())],
            C::ActivityTypeDeprecated,
        ),
        (
            "id in use",
            vec![schedule("a"), schedule("a")],
            C::ActivityIdAlreadyInUse,
        ),
        (
            "open activities limit",
            vec![schedule("a"), schedule("b"), schedule("c")],
            C::OpenActivitiesLimitExceeded,
        ),
        (
            "no task list",
            vec![on_bare("a", |_| {})],
            C::DefaultTaskListUndefined,
        ),
        (
            "no schedule-to-close",
            vec![on_bare("a", |a| a.task_list = tl("x"))],
            C::DefaultScheduleToCloseTimeoutUndefined,
        ),
        (
            "no schedule-to-start",
            vec![on_bare("a", |a| {
                a.task_list = tl("x");
                a.schedule_to_close_timeout = s("10");
            })],
            C::DefaultScheduleToStartTimeoutUndefined,
        ),
        (
            "no start-to-close",
            vec![on_bare("a", |a| {
                a.task_list = tl("x");
                a.schedule_to_close_timeout = s("10");
                a.schedule_to_start_timeout = s("10");
            })],
            C::DefaultStartToCloseTimeoutUndefined,
        ),
    ];
    for (name, decisions, cause) in cases {
        let mut h = H::with_limits(Limits {
            max_open_activities: 2,
            ..Limits::default()
        });
        h.setup();
        h.ok(Op::RegisterActivityType(RegisterActivityTypeInput {
            domain: D.into(),
            name: "bare".into(),
            version: "1".into(),
            ..Default::default()
        }));
        h.ok(Op::RegisterActivityType(act_type_input("old", "1")));
        h.s.activity_types
            .get_mut(&(D.into(), "old".into(), "1".into()))
            .unwrap()
            .type_info
            .status = RegistrationStatus::Deprecated;
        let run = h.start("w");
        let token = h.start_decision(&run);
        let ok_before = decisions.len() - 1;
        let last = decisions.last().unwrap().clone();
        h.respond(&token, decisions);
        let mut want = vec![
            E::WorkflowExecutionStarted,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::DecisionTaskCompleted,
        ];
        want.extend(vec![E::ActivityTaskScheduled; ok_before]);
        want.extend([E::ScheduleActivityTaskFailed, E::DecisionTaskScheduled]);
        assert_eq!(h.types(&run), want, "{name}");
        let failed = h.event(&run, 5 + ok_before as i64);
        let f = failed
            .schedule_activity_task_failed_event_attributes
            .unwrap();
        let la = last.schedule_activity_task_decision_attributes.unwrap();
        assert_eq!(f.cause, cause, "{name}");
        assert_eq!(f.activity_id, la.activity_id, "{name}");
        assert_eq!(f.activity_type, la.activity_type, "{name}");
        assert_eq!(f.decision_task_completed_event_id, 4, "{name}");
        // The failure gets the decider a new decision task.
        assert_eq!(h.rec(&run).activities.len(), ok_before, "{name}");
        assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1, "{name}");
        assert_eq!(h.scheduled_decision(&run), 6 + ok_before as i64);
    }
}

#[test]
fn bare_activity_type_with_everything_given() {
    let mut h = H::ready();
    h.ok(Op::RegisterActivityType(RegisterActivityTypeInput {
        domain: D.into(),
        name: "bare".into(),
        version: "1".into(),
        ..Default::default()
    }));
    let run = h.start("w");
    h.round(
        &run,
        vec![schedule_with("a", |a| {
            a.activity_type.name = "bare".into();
            a.task_list = tl("x");
            a.schedule_to_close_timeout = s("10");
            a.schedule_to_start_timeout = s("10");
            a.start_to_close_timeout = s("10");
        })],
    );
    let a = h
        .last(&run)
        .activity_task_scheduled_event_attributes
        .unwrap();
    assert_eq!(a.heartbeat_timeout.as_deref(), Some("NONE"));
    // Neither the decision nor the type set a priority: SWF leaves the member out.
    assert_eq!(a.task_priority, None);
    assert_eq!(h.queue(TaskKind::Activity, "x").len(), 1);
}

#[test]
fn close_decisions() {
    type Check = fn(&HistoryEvent);
    let cases: Vec<(&str, Decision, EventType, CloseStatus, Check)> = vec![
        (
            "complete",
            complete_wf(),
            E::WorkflowExecutionCompleted,
            CloseStatus::Completed,
            |e| {
                let a = e
                    .workflow_execution_completed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(a.result.as_deref(), Some("done"));
                assert_eq!(a.decision_task_completed_event_id, 4);
            },
        ),
        (
            "fail",
            fail_wf(),
            E::WorkflowExecutionFailed,
            CloseStatus::Failed,
            |e| {
                let a = e
                    .workflow_execution_failed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(
                    (a.reason.as_deref(), a.details.as_deref()),
                    (Some("why"), Some("how"))
                );
                assert_eq!(a.decision_task_completed_event_id, 4);
            },
        ),
        (
            "cancel",
            cancel_wf(),
            E::WorkflowExecutionCanceled,
            CloseStatus::Canceled,
            |e| {
                let a = e
                    .workflow_execution_canceled_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(a.details.as_deref(), Some("bye"));
                assert_eq!(a.decision_task_completed_event_id, 4);
            },
        ),
        (
            "complete without attributes",
            Decision {
                decision_type: DecisionType::CompleteWorkflowExecution,
                ..Default::default()
            },
            E::WorkflowExecutionCompleted,
            CloseStatus::Completed,
            |e| {
                let a = e
                    .workflow_execution_completed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(a.result, None);
            },
        ),
    ];
    for (name, close, event, status, check) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        // Another run's tasks stay queued.
        let other = h.start("other");
        let token = h.start_decision(&run);
        // An activity scheduled in the same response leaves its queue when the run closes.
        h.respond(&token, vec![schedule("a"), close]);
        assert_eq!(
            h.types(&run),
            [
                E::WorkflowExecutionStarted,
                E::DecisionTaskScheduled,
                E::DecisionTaskStarted,
                E::DecisionTaskCompleted,
                E::ActivityTaskScheduled,
                event
            ],
            "{name}"
        );
        check(&h.last(&run));
        let rec = h.rec(&run);
        assert!(!rec.is_open(), "{name}");
        assert_eq!(rec.closed, Some(Timestamp(h.clock)));
        assert_eq!(rec.close_status, Some(status), "{name}");
        assert_eq!(rec.decision, DecisionSlot::None);
        assert!(!h
            .s
            .open_runs
            .contains_key(&(D.to_string(), "w".to_string())));
        assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty(), "{name}");
        let q = h.queue(TaskKind::Decision, DECISIONS);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].run_id, other);

        // Nothing can start or respond on the closed run.
        let f = h.fault(Op::StartActivityTask {
            run_id: run.clone(),
            scheduled_event_id: 5,
            identity: None,
        });
        assert_eq!(f.kind, FaultKind::UnknownResource, "{name}");
        assert_eq!(
            h.fault(respond_op(&token, vec![])).kind,
            FaultKind::UnknownResource,
            "{name}"
        );
    }
}

#[test]
fn closing_the_run_drops_started_activities_and_their_tokens() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&tb));
    h.round(&run, vec![complete_wf()]);
    assert!(!h.rec(&run).is_open());
    type MkOp = fn(&str) -> Op;
    let ops: [(&str, MkOp); 4] = [
        ("heartbeat", heartbeat_op),
        ("completed", complete_op),
        ("failed", fail_op),
        ("canceled", canceled_op),
    ];
    for (name, op) in ops {
        assert_eq!(h.fault(op(&ta)).kind, FaultKind::UnknownResource, "{name}");
    }
}

#[test]
fn record_marker() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![marker("m1"), marker("m2")]);
    assert_eq!(h.types(&run)[4..], [E::MarkerRecorded, E::MarkerRecorded]);
    let a = h.event(&run, 5).marker_recorded_event_attributes.unwrap();
    assert_eq!(a.marker_name, "m1");
    assert_eq!(a.details.as_deref(), Some("marker details"));
    assert_eq!(a.decision_task_completed_event_id, 4);
    // A marker needs no decision.
    assert_eq!(h.rec(&run).decision, DecisionSlot::None);
}

#[test]
fn execution_context_and_task_list_of_a_response() {
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    h.ok(Op::RespondDecisionTaskCompleted(
        RespondDecisionTaskCompletedInput {
            task_token: token,
            execution_context: s("ctx"),
            task_list: tl("next"),
            decisions: Some(vec![cancel_activity("nope")]),
            ..Default::default()
        },
    ));
    let rec = h.rec(&run);
    assert_eq!(rec.latest_execution_context.as_deref(), Some("ctx"));
    let c = h
        .event(&run, 4)
        .decision_task_completed_event_attributes
        .unwrap();
    assert_eq!(c.execution_context.as_deref(), Some("ctx"));
    // The next decision task goes to the task list the decider asked for.
    assert_eq!(h.queue(TaskKind::Decision, "next").len(), 1);
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
    let sa = h
        .last(&run)
        .decision_task_scheduled_event_attributes
        .unwrap();
    assert_eq!(sa.task_list.name, "next");
}

/// Runs w to the point where decision task 2 is started and activity b completed meanwhile.
fn with_unhandled_event(h: &mut H) -> (String, String) {
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&ta));
    let token = h.start_decision(&run);
    let before = h.history(&run).len();
    h.ok(complete_op(&tb));
    // As real SWF records it (simpleflow's `test_unrequested_signal` cassette: `DecisionTaskStarted
    // (9) · ActivityTaskCompleted (10) · DecisionTaskScheduled (11) · DecisionTaskCompleted (12)`),
    // the next decision task is scheduled at once, but not queued while one is started.
    assert_eq!(h.history(&run).len(), before + 2);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 2..],
        [E::ActivityTaskCompleted, E::DecisionTaskScheduled]
    );
    assert!(matches!(
        h.rec(&run).decision,
        DecisionSlot::Started {
            unhandled_events: true,
            pending: Some(p),
            ..
        } if p == n as i64
    ));
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
    (run, token)
}

#[test]
fn unhandled_decision() {
    let cases: Vec<(&str, Decision, EventType, &str)> = vec![
        (
            "complete",
            complete_wf(),
            E::CompleteWorkflowExecutionFailed,
            "completeWorkflowExecutionFailedEventAttributes",
        ),
        (
            "fail",
            fail_wf(),
            E::FailWorkflowExecutionFailed,
            "failWorkflowExecutionFailedEventAttributes",
        ),
        (
            "cancel",
            cancel_wf(),
            E::CancelWorkflowExecutionFailed,
            "cancelWorkflowExecutionFailedEventAttributes",
        ),
    ];
    for (name, close, failed, member) in cases {
        let mut h = H::ready();
        let (run, token) = with_unhandled_event(&mut h);
        h.respond(&token, vec![close]);
        let events = h.history(&run);
        let n = events.len();
        // The decision task scheduled while it ran is the next one: no second DecisionTaskScheduled.
        assert_eq!(
            [
                events[n - 3].event_type,
                events[n - 2].event_type,
                events[n - 1].event_type
            ],
            [E::DecisionTaskScheduled, E::DecisionTaskCompleted, failed],
            "{name}"
        );
        let v = serde_json::to_value(&events[n - 1]).unwrap();
        assert_eq!(v[member]["cause"], "UNHANDLED_DECISION", "{name}");
        assert_eq!(
            v[member]["decisionTaskCompletedEventId"],
            events[n - 2].event_id,
            "{name}"
        );
        assert!(matches!(
            h.rec(&run).decision,
            DecisionSlot::Scheduled { scheduled_event_id, .. } if scheduled_event_id == events[n - 3].event_id
        ));
        assert!(h.rec(&run).is_open(), "{name}");
        assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1, "{name}");
        // The next decision task can close it.
        h.round(&run, vec![complete_wf()]);
        assert!(!h.rec(&run).is_open(), "{name}");
    }
}

#[test]
fn the_task_scheduled_while_one_ran_is_queued_when_it_completes() {
    let mut h = H::ready();
    let (run, token) = with_unhandled_event(&mut h);
    let pending = h.history(&run).len() as i64;
    // A failed decision would also need a decision task: the pending one serves, none is added.
    h.respond(&token, vec![marker("m"), cancel_activity("nope")]);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 5..],
        [
            E::ActivityTaskCompleted,
            E::DecisionTaskScheduled,
            E::DecisionTaskCompleted,
            E::MarkerRecorded,
            E::RequestCancelActivityTaskFailed,
        ]
    );
    let queued = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].scheduled_event_id, pending);
    // It starts with scheduledEventId = the pending one, previousStartedEventId = the completed one.
    let started_before = h
        .event(&run, n as i64 - 2)
        .decision_task_completed_event_attributes
        .unwrap()
        .started_event_id;
    h.start_decision(&run);
    let started = h.last(&run).decision_task_started_event_attributes.unwrap();
    assert_eq!(started.scheduled_event_id, pending);
    assert_eq!(h.rec(&run).previous_started_event_id, started_before);
}

#[test]
fn closing_from_outside_with_a_task_scheduled_behind_the_started_one() {
    // Terminate, and the workflow timeout: neither the started task nor the one scheduled behind it
    // stays anywhere (the harness checks the queues against the records after every step).
    for how in ["terminate", "timeout"] {
        let mut h = H::ready();
        let run = h.start("w");
        h.start_decision(&run);
        h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            signal_name: "s".into(),
            ..Default::default()
        }));
        assert!(matches!(
            h.rec(&run).decision,
            DecisionSlot::Started {
                pending: Some(_),
                ..
            }
        ));
        if how == "terminate" {
            h.ok(Op::TerminateWorkflowExecution(
                TerminateWorkflowExecutionInput {
                    domain: D.into(),
                    workflow_id: "w".into(),
                    ..Default::default()
                },
            ));
        } else {
            let d = h.deadline(&run, |k| *k == DeadlineKind::WorkflowStartToClose);
            h.fire(d);
        }
        let rec = h.rec(&run);
        assert!(!rec.is_open(), "{how}");
        assert_eq!(rec.decision, DecisionSlot::None, "{how}");
        assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty(), "{how}");
        assert!(
            !h.s.deadlines
                .iter()
                .any(|d| d.kind == DeadlineKind::DecisionStartToClose),
            "{how}"
        );
    }
}

#[test]
fn decision_slot_stored_forms() {
    // The stored forms are forever: a started task without one behind it is written exactly as
    // before `pending` existed, and that form still reads.
    let old =
        r#"{"Started":{"scheduled_event_id":2,"started_event_id":3,"unhandled_events":true}}"#;
    let read: DecisionSlot = serde_json::from_str(old).unwrap();
    assert_eq!(
        read,
        DecisionSlot::Started {
            scheduled_event_id: 2,
            started_event_id: 3,
            unhandled_events: true,
            pending: None
        }
    );
    assert_eq!(serde_json::to_string(&read).unwrap(), old);
    let new = DecisionSlot::Started {
        scheduled_event_id: 2,
        started_event_id: 3,
        unhandled_events: true,
        pending: Some(5),
    };
    let form = r#"{"Started":{"scheduled_event_id":2,"started_event_id":3,"unhandled_events":true,"pending":5}}"#;
    assert_eq!(serde_json::to_string(&new).unwrap(), form);
    assert_eq!(serde_json::from_str::<DecisionSlot>(form).unwrap(), new);
}

#[test]
fn a_record_from_before_pending_reschedules_on_completion() {
    // Releases before `pending` kept `unhandled_events` only and scheduled the next task on
    // completion; such a record (read with `pending` defaulted) still gets its decision task.
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    let mut stored = h.s.executions[&run].clone();
    let mut v = serde_json::to_value(&stored.decision).unwrap();
    assert!(v["Started"].get("pending").is_none(), "{v}");
    v["Started"]["unhandled_events"] = true.into();
    stored.decision = serde_json::from_value(v).unwrap();
    h.s.executions.insert(run.clone(), stored);
    h.respond(&token, vec![marker("m")]);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 3..],
        [
            E::DecisionTaskCompleted,
            E::MarkerRecorded,
            E::DecisionTaskScheduled
        ]
    );
    assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1);
}

#[test]
fn request_cancel_activity_task() {
    // Queued activity: canceled at once and the decider hears of it.
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let sched_a = h.activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&tb));
    h.round(&run, vec![cancel_activity("a")]);
    let events = h.history(&run);
    let n = events.len();
    assert_eq!(
        h.types(&run)[n - 4..],
        [
            E::DecisionTaskCompleted,
            E::ActivityTaskCancelRequested,
            E::ActivityTaskCanceled,
            E::DecisionTaskScheduled
        ]
    );
    let completed = events[n - 4].event_id;
    let req = events[n - 3]
        .activity_task_cancel_requested_event_attributes
        .clone()
        .unwrap();
    assert_eq!(req.activity_id, "a");
    assert_eq!(req.decision_task_completed_event_id, completed);
    let c = events[n - 2]
        .activity_task_canceled_event_attributes
        .clone()
        .unwrap();
    assert_eq!(c.scheduled_event_id, sched_a);
    assert_eq!(c.started_event_id, 0);
    assert_eq!(
        c.latest_cancel_requested_event_id,
        Some(events[n - 3].event_id)
    );
    assert!(h.rec(&run).activities.is_empty());
    assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
    let f = h.fault(Op::StartActivityTask {
        run_id: run.clone(),
        scheduled_event_id: sched_a,
        identity: None,
    });
    assert_eq!(f.kind, FaultKind::UnknownResource);
    // The id is free again.
    h.round(&run, vec![schedule("a")]);
    assert_eq!(h.rec(&run).activities.len(), 1);
}

#[test]
fn request_cancel_started_activity_task() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    assert_eq!(
        h.ok(heartbeat_op(&ta)),
        Reply::Heartbeat {
            cancel_requested: false
        }
    );
    h.ok(complete_op(&tb));
    h.round(&run, vec![cancel_activity("a")]);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 2..],
        [E::DecisionTaskCompleted, E::ActivityTaskCancelRequested]
    );
    let requested = n as i64;
    // A started activity only gets the flag; no decision is needed yet.
    assert_eq!(h.rec(&run).decision, DecisionSlot::None);
    let a = &h.rec(&run).activities[&h.activity(&run, "a")];
    assert!(a.cancel_requested);
    assert_eq!(a.latest_cancel_requested_event_id, Some(requested));
    assert_eq!(
        h.ok(heartbeat_op(&ta)),
        Reply::Heartbeat {
            cancel_requested: true
        }
    );
    assert_eq!(
        h.rec(&run)
            .activities
            .values()
            .next()
            .unwrap()
            .heartbeat_details
            .as_deref(),
        Some("50%")
    );
    h.ok(canceled_op(&ta));
    let c = h.history(&run)[n]
        .activity_task_canceled_event_attributes
        .clone()
        .unwrap();
    assert_eq!(c.latest_cancel_requested_event_id, Some(requested));
    assert_eq!(
        c.started_event_id,
        TaskToken::decode(&ta).unwrap().started_event_id
    );
    assert_eq!(h.last(&run).event_type, E::DecisionTaskScheduled);
}

#[test]
fn request_cancel_unknown_activity() {
    let cases = [("never scheduled", "nope"), ("already closed", "b")];
    for (name, id) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        h.round(&run, vec![schedule("b")]);
        let tb = h.start_activity(&run, "b");
        h.ok(complete_op(&tb));
        h.round(&run, vec![cancel_activity(id)]);
        let events = h.history(&run);
        let n = events.len();
        assert_eq!(
            [
                events[n - 3].event_type,
                events[n - 2].event_type,
                events[n - 1].event_type
            ],
            [
                E::DecisionTaskCompleted,
                E::RequestCancelActivityTaskFailed,
                E::DecisionTaskScheduled
            ],
            "{name}"
        );
        let f = events[n - 2]
            .request_cancel_activity_task_failed_event_attributes
            .clone()
            .unwrap();
        assert_eq!(f.activity_id, id);
        assert_eq!(
            f.cause,
            RequestCancelActivityTaskFailedCause::ActivityIdUnknown
        );
        assert_eq!(f.decision_task_completed_event_id, events[n - 3].event_id);
    }
}

#[test]
fn unimplemented_decisions_fail_and_reschedule() {
    for (decision, failed, cause) in unimplemented_decisions() {
        let name = decision.decision_type.as_str();
        let mut h = H::ready();
        let run = h.start("w");
        h.round(&run, vec![decision]);
        assert_eq!(
            h.types(&run)[3..],
            [E::DecisionTaskCompleted, failed, E::DecisionTaskScheduled],
            "{name}"
        );
        let a = attrs(&h.event(&run, 5));
        assert_eq!(a["cause"], cause, "{name}");
        assert_eq!(a["decisionTaskCompletedEventId"], 4, "{name}");
        assert!(h.rec(&run).is_open());
    }
}

#[test]
fn invalid_decisions_are_rejected_whole() {
    let missing = |t: DecisionType| Decision {
        decision_type: t,
        ..Default::default()
    };
    let cases: Vec<(&str, Vec<Decision>)> = vec![
        (
            "ScheduleActivityTask",
            vec![missing(DecisionType::ScheduleActivityTask)],
        ),
        (
            "RequestCancelActivityTask",
            vec![missing(DecisionType::RequestCancelActivityTask)],
        ),
        ("RecordMarker", vec![missing(DecisionType::RecordMarker)]),
        ("StartTimer", vec![missing(DecisionType::StartTimer)]),
        ("CancelTimer", vec![missing(DecisionType::CancelTimer)]),
        (
            "SignalExternal",
            vec![missing(DecisionType::SignalExternalWorkflowExecution)],
        ),
        (
            "RequestCancelExternal",
            vec![missing(
                DecisionType::RequestCancelExternalWorkflowExecution,
            )],
        ),
        (
            "StartChild",
            vec![missing(DecisionType::StartChildWorkflowExecution)],
        ),
        (
            "ScheduleLambda",
            vec![missing(DecisionType::ScheduleLambdaFunction)],
        ),
        (
            "after a valid one",
            vec![
                marker("m"),
                complete_wf(),
                missing(DecisionType::RecordMarker),
            ],
        ),
        (
            "bad schedule-to-close",
            vec![schedule_with("a", |a| a.schedule_to_close_timeout = s("x"))],
        ),
        (
            "bad heartbeat",
            vec![schedule_with("a", |a| a.heartbeat_timeout = s("-1"))],
        ),
        (
            "bad priority",
            vec![schedule_with("a", |a| a.task_priority = s("top"))],
        ),
        ("bad timer duration", vec![start_timer("t", "soon")]),
    ];
    for (name, decisions) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        let token = h.start_decision(&run);
        let f = h.fault(respond_op(&token, decisions));
        assert_eq!(f.kind, FaultKind::Validation, "{name}: {f}");
        // The task is still started and the token still good.
        h.respond(&token, vec![complete_wf()]);
        assert!(!h.rec(&run).is_open(), "{name}");
    }
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    let f = h.fault(respond_op(
        &token,
        vec![missing(DecisionType::ScheduleActivityTask)],
    ));
    // Real SWF's wording (ericabouaf/aws-swf#2 quotes "StartTimerDecisionAttributes must be
    // specified for decision of type StartTimer").
    assert_eq!(
        f.message,
        "ScheduleActivityTaskDecisionAttributes must be specified for decision of type ScheduleActivityTask"
    );
    let f = h.fault(Op::RespondDecisionTaskCompleted(
        RespondDecisionTaskCompletedInput {
            task_token: token,
            task_list_schedule_to_start_timeout: s("x"),
            ..Default::default()
        },
    ));
    assert_eq!(f.kind, FaultKind::Validation);
}

#[test]
fn bad_decision_tokens() {
    let mut h = H::ready();
    let run = h.start("w");
    // Decision task 1 (events 2, 3) is answered with a failing decision, so 6 is scheduled.
    let replayed = h.start_decision(&run);
    h.respond(&replayed, vec![cancel_activity("nope")]);
    // Decision task 2 (events 6, 7) schedules activity a.
    let answered = h.start_decision(&run);
    h.respond(&answered, vec![schedule("a")]);
    let activity_token = h.start_activity(&run, "a");
    h.ok(complete_op(&activity_token));
    // Decision task 3 is live.
    let live = h.start_decision(&run);
    let lt = TaskToken::decode(&live).unwrap();
    let forge = |f: fn(&mut TaskToken)| {
        let mut t = lt.clone();
        f(&mut t);
        t.encode()
    };
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("garbage", "not a token".into()),
        ("base64 garbage", "aGVsbG8".into()),
        ("replayed", replayed),
        ("answered", answered),
        ("activity token", activity_token),
        ("unknown run", forge(|t| t.run_id = "nope".into())),
        ("wrong started id", forge(|t| t.started_event_id += 1)),
        ("earlier scheduled id", forge(|t| t.scheduled_event_id = 6)),
        ("activity kind", forge(|t| t.kind = TaskKind::Activity)),
    ];
    for (name, token) in cases {
        for decisions in [vec![], vec![complete_wf()]] {
            let f = h.fault(respond_op(&token, decisions));
            assert_eq!(f.kind, FaultKind::UnknownResource, "{name}");
        }
    }
    // The live token works, once.
    h.respond(&live, vec![complete_wf()]);
    assert!(!h.rec(&run).is_open());
    assert_eq!(
        h.fault(respond_op(&live, vec![])).kind,
        FaultKind::UnknownResource
    );
}

// ---------------------------------------------------------------------------------------------------
// Activity responses
// ---------------------------------------------------------------------------------------------------

#[test]
fn activity_task_ends() {
    type Check = fn(&HistoryEvent, i64, i64);
    type MkOp = fn(&str) -> Op;
    let cases: Vec<(&str, MkOp, EventType, Check)> = vec![
        (
            "completed",
            complete_op,
            E::ActivityTaskCompleted,
            |e, sched, started| {
                let a = e
                    .activity_task_completed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!((a.scheduled_event_id, a.started_event_id), (sched, started));
                assert_eq!(a.result.as_deref(), Some("result"));
            },
        ),
        (
            "failed",
            fail_op,
            E::ActivityTaskFailed,
            |e, sched, started| {
                let a = e.activity_task_failed_event_attributes.as_deref().unwrap();
                assert_eq!((a.scheduled_event_id, a.started_event_id), (sched, started));
                assert_eq!(
                    (a.reason.as_deref(), a.details.as_deref()),
                    (Some("reason"), Some("details"))
                );
            },
        ),
        (
            "canceled",
            canceled_op,
            E::ActivityTaskCanceled,
            |e, sched, started| {
                let a = e
                    .activity_task_canceled_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!((a.scheduled_event_id, a.started_event_id), (sched, started));
                assert_eq!(a.details.as_deref(), Some("canceled"));
                assert_eq!(a.latest_cancel_requested_event_id, None);
            },
        ),
    ];
    let seconds: [(&str, MkOp); 4] = [
        ("completed", complete_op),
        ("failed", fail_op),
        ("canceled", canceled_op),
        ("heartbeat", heartbeat_op),
    ];
    for (name, op, event, check) in cases {
        for (second, again) in seconds {
            let mut h = H::ready();
            let run = h.start("w");
            h.round(&run, vec![schedule("a")]);
            let sched = h.activity(&run, "a");
            let token = h.start_activity(&run, "a");
            let started = sched + 1;
            assert_eq!(h.ok(op(&token)), Reply::Done);
            assert_eq!(
                h.types(&run)[sched as usize - 1..],
                [
                    E::ActivityTaskScheduled,
                    E::ActivityTaskStarted,
                    event,
                    E::DecisionTaskScheduled
                ],
                "{name}"
            );
            check(&h.event(&run, started + 1), sched, started);
            assert!(h.rec(&run).activities.is_empty(), "{name}");
            assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1, "{name}");
            // The attempt is over: any second call with its token is unknown and changes nothing.
            assert_eq!(
                h.fault(again(&token)).kind,
                FaultKind::UnknownResource,
                "{name} then {second}"
            );
        }
    }
}

#[test]
fn activity_end_while_a_decision_is_scheduled_adds_no_decision_task() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&ta));
    let scheduled = h.scheduled_decision(&run);
    h.ok(fail_op(&tb));
    assert_eq!(h.scheduled_decision(&run), scheduled);
    assert_eq!(h.last(&run).event_type, E::ActivityTaskFailed);
    assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1);
}

#[test]
fn bad_activity_tokens() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("queued")]);
    let token = h.start_activity(&run, "a");
    let t = TaskToken::decode(&token).unwrap();
    let queued = h.activity(&run, "queued");
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("garbage", "%%%".into()),
        (
            "decision kind",
            TaskToken {
                kind: TaskKind::Decision,
                ..t.clone()
            }
            .encode(),
        ),
        (
            "unknown run",
            TaskToken {
                run_id: "nope".into(),
                ..t.clone()
            }
            .encode(),
        ),
        (
            "wrong started id",
            TaskToken {
                started_event_id: t.started_event_id + 1,
                ..t.clone()
            }
            .encode(),
        ),
        (
            "not started",
            TaskToken {
                scheduled_event_id: queued,
                started_event_id: 0,
                ..t.clone()
            }
            .encode(),
        ),
        (
            "not an activity",
            TaskToken {
                scheduled_event_id: 2,
                started_event_id: 3,
                ..t.clone()
            }
            .encode(),
        ),
    ];
    type MkOp = fn(&str) -> Op;
    let ops: [MkOp; 4] = [complete_op, fail_op, canceled_op, heartbeat_op];
    for (name, bad) in cases {
        for op in ops {
            assert_eq!(h.fault(op(&bad)).kind, FaultKind::UnknownResource, "{name}");
        }
    }
    assert_eq!(
        h.ok(heartbeat_op(&token)),
        Reply::Heartbeat {
            cancel_requested: false
        }
    );
    let a = &h.rec(&run).activities[&t.scheduled_event_id];
    assert_eq!(a.heartbeat_details.as_deref(), Some("50%"));
    assert_eq!(a.last_heartbeat, Some(Timestamp(h.clock)));
    // A heartbeat writes no history and needs no decision.
    assert_eq!(h.last(&run).event_type, E::ActivityTaskStarted);
}

// ---------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------

/// A run with a history of 12 events.
fn long_history(h: &mut H) -> String {
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), marker("m")]);
    let ta = h.start_activity(&run, "a");
    h.ok(complete_op(&ta));
    h.round(&run, vec![marker("n")]);
    assert_eq!(h.history(&run).len(), 12);
    run
}

fn history_input(wid: &str, run: &str) -> GetWorkflowExecutionHistoryInput {
    GetWorkflowExecutionHistoryInput {
        domain: D.into(),
        execution: Box::new(WorkflowExecution {
            workflow_id: wid.into(),
            run_id: run.into(),
        }),
        ..Default::default()
    }
}

#[test]
fn history_paging() {
    let mut h = H::ready();
    let run = long_history(&mut h);
    let all: Vec<i64> = (1..=12).collect();
    let cases: Vec<(Option<i32>, bool, Vec<usize>)> = vec![
        (None, false, vec![12]),
        (Some(0), false, vec![12]),
        (Some(1000), false, vec![12]),
        (Some(12), false, vec![12]),
        (Some(5), false, vec![5, 5, 2]),
        (Some(4), false, vec![4, 4, 4]),
        (Some(1), false, vec![1; 12]),
        (Some(5), true, vec![5, 5, 2]),
        (Some(6), true, vec![6, 6]),
        (None, true, vec![12]),
    ];
    for (size, reverse, pages) in cases {
        let mut input = GetWorkflowExecutionHistoryInput {
            maximum_page_size: size,
            reverse_order: Some(reverse),
            ..history_input("w", &run)
        };
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let page = query::get_history(&h.s, &input).unwrap();
            sizes.push(page.events.len());
            got.extend(page.events.iter().map(|e| e.event_id));
            match page.next_page_token {
                Some(t) => input.next_page_token = Some(t),
                None => break,
            }
        }
        let mut want = all.clone();
        if reverse {
            want.reverse();
        }
        assert_eq!(got, want, "size {size:?} reverse {reverse}");
        assert_eq!(sizes, pages, "size {size:?} reverse {reverse}");
    }
    // The history of a started decision task ends at its started event.
    let rec = h.rec(&run);
    let cursor = query::first_cursor(&rec, Some(7), false);
    let (events, next) = query::history_page(&h.s, &cursor, Some(5)).unwrap();
    assert_eq!(events.len(), 5);
    let (rest, next) = query::history_page(&h.s, &next.unwrap(), Some(5)).unwrap();
    assert_eq!(rest.iter().map(|e| e.event_id).collect::<Vec<_>>(), [6, 7]);
    assert!(next.is_none());
    let cursor = query::first_cursor(&rec, Some(7), true);
    let (events, _) = query::history_page(&h.s, &cursor, Some(3)).unwrap();
    assert_eq!(
        events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [7, 6, 5]
    );
}

#[test]
fn history_faults() {
    let mut h = H::ready();
    let run = long_history(&mut h);
    let other = h.start("x");
    let page = query::get_history(
        &h.s,
        &GetWorkflowExecutionHistoryInput {
            maximum_page_size: Some(1),
            ..history_input("x", &other)
        },
    )
    .unwrap();
    let other_token = page.next_page_token.unwrap();
    let cases: Vec<(&str, GetWorkflowExecutionHistoryInput, FaultKind)> = vec![
        (
            "token of another run",
            GetWorkflowExecutionHistoryInput {
                next_page_token: Some(other_token),
                ..history_input("w", &run)
            },
            FaultKind::Validation,
        ),
        (
            "garbage token",
            GetWorkflowExecutionHistoryInput {
                next_page_token: s("zzz"),
                ..history_input("w", &run)
            },
            FaultKind::Validation,
        ),
        (
            "unknown domain",
            GetWorkflowExecutionHistoryInput {
                domain: "nope".into(),
                ..history_input("w", &run)
            },
            FaultKind::UnknownResource,
        ),
        (
            "unknown run",
            history_input("w", "nope"),
            FaultKind::UnknownResource,
        ),
        (
            "wrong workflow id",
            history_input("x", &run),
            FaultKind::UnknownResource,
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(
            query::get_history(&h.s, &input).unwrap_err().kind,
            want,
            "{name}"
        );
    }
}

#[test]
fn describe_execution_open_counts() {
    let mut h = H::ready();
    let run = h.start("w");
    let exec = WorkflowExecution {
        workflow_id: "w".into(),
        run_id: run.clone(),
    };
    let counts = |h: &H| {
        let d = query::describe_execution(&h.s, D, &exec).unwrap();
        let c = d.open_counts;
        (
            d.execution_info.execution_status,
            c.open_decision_tasks,
            c.open_activity_tasks,
        )
    };
    use ExecutionStatus::{Closed, Open};
    assert_eq!(counts(&h), (Open, 1, 0), "scheduled decision");
    let token = h.start_decision(&run);
    assert_eq!(counts(&h), (Open, 1, 0), "started decision");
    h.respond(&token, vec![schedule("a"), schedule("b"), schedule("c")]);
    assert_eq!(counts(&h), (Open, 0, 3), "three activities");
    let ta = h.start_activity(&run, "a");
    assert_eq!(counts(&h), (Open, 0, 3), "one started");
    h.ok(complete_op(&ta));
    assert_eq!(counts(&h), (Open, 1, 2), "one completed");
    let d = query::describe_execution(&h.s, D, &exec).unwrap();
    assert_eq!(d.execution_configuration.task_list.name, DECISIONS);
    assert_eq!(d.execution_configuration.task_start_to_close_timeout, "60");
    assert_eq!(
        d.execution_configuration.execution_start_to_close_timeout,
        "3600"
    );
    assert_eq!(
        d.execution_configuration.child_policy,
        ChildPolicy::Terminate
    );
    assert_eq!(d.execution_info.cancel_requested, Some(false));
    assert!(d.latest_activity_task_timestamp.is_some());
    h.round(&run, vec![complete_wf()]);
    // b and c were still open when the run closed: SWF keeps counting them (see recorded.rs).
    assert_eq!(counts(&h), (Closed, 0, 2), "closed");
    let d = query::describe_execution(&h.s, D, &exec).unwrap();
    assert_eq!(d.execution_info.close_status, Some(CloseStatus::Completed));
    assert_eq!(d.execution_info.close_timestamp, Some(Timestamp(h.clock)));
    let wrong = [
        (
            D,
            WorkflowExecution {
                workflow_id: "x".into(),
                run_id: run.clone(),
            },
        ),
        (
            D,
            WorkflowExecution {
                workflow_id: "w".into(),
                run_id: "nope".into(),
            },
        ),
        ("nope", exec.clone()),
    ];
    for (domain, e) in wrong {
        assert_eq!(
            query::describe_execution(&h.s, domain, &e)
                .unwrap_err()
                .kind,
            FaultKind::UnknownResource
        );
    }
}

#[test]
fn list_domains_paging() {
    let mut h = H::new();
    for name in ["e", "b", "a", "d", "c"] {
        h.ok(Op::RegisterDomain(domain_input(name)));
    }
    h.s.domains.get_mut("d").unwrap().detail.domain_info.status = RegistrationStatus::Deprecated;
    type Case = (
        RegistrationStatus,
        Option<i32>,
        bool,
        Vec<Vec<&'static str>>,
    );
    let cases: Vec<Case> = vec![
        (
            RegistrationStatus::Registered,
            None,
            false,
            vec![vec!["a", "b", "c", "e"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(2),
            false,
            vec![vec!["a", "b"], vec!["c", "e"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(3),
            false,
            vec![vec!["a", "b", "c"], vec!["e"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(3),
            true,
            vec![vec!["e", "c", "b"], vec!["a"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(1),
            true,
            vec![vec!["e"], vec!["c"], vec!["b"], vec!["a"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(4),
            false,
            vec![vec!["a", "b", "c", "e"]],
        ),
        (
            RegistrationStatus::Deprecated,
            Some(1),
            false,
            vec![vec!["d"]],
        ),
    ];
    for (status, size, reverse, want) in cases {
        let mut input = ListDomainsInput {
            registration_status: status,
            maximum_page_size: size,
            reverse_order: Some(reverse),
            next_page_token: None,
        };
        let mut pages = Vec::new();
        loop {
            let page = query::list_domains(&h.s, &input).unwrap();
            pages.push(
                page.domain_infos
                    .iter()
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>(),
            );
            match page.next_page_token {
                Some(t) => input.next_page_token = Some(t),
                None => break,
            }
        }
        assert_eq!(pages, want, "{status:?} {size:?} {reverse}");
    }
    let bad = ListDomainsInput {
        next_page_token: s("!!"),
        ..Default::default()
    };
    assert_eq!(
        query::list_domains(&h.s, &bad).unwrap_err().kind,
        FaultKind::Validation
    );
}

#[test]
fn list_types_paging() {
    let mut h = H::ready();
    for (name, version) in [("wf", "2"), ("b", "1"), ("b", "2")] {
        h.ok(Op::RegisterWorkflowType(wf_type_input(name, version)));
    }
    let mut input = ListWorkflowTypesInput {
        domain: D.into(),
        maximum_page_size: Some(2),
        ..Default::default()
    };
    let mut got = Vec::new();
    loop {
        let page = query::list_workflow_types(&h.s, &input).unwrap();
        assert!(page.type_infos.len() <= 2);
        got.extend(
            page.type_infos
                .iter()
                .map(|t| format!("{}/{}", t.workflow_type.name, t.workflow_type.version)),
        );
        match page.next_page_token {
            Some(t) => input.next_page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(got, ["b/1", "b/2", "wf/1", "wf/2"]);
    let named = query::list_workflow_types(
        &h.s,
        &ListWorkflowTypesInput {
            domain: D.into(),
            name: s("b"),
            reverse_order: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let versions: Vec<&str> = named
        .type_infos
        .iter()
        .map(|t| t.workflow_type.version.as_str())
        .collect();
    assert_eq!(versions, ["2", "1"]);
    let acts = query::list_activity_types(
        &h.s,
        &ListActivityTypesInput {
            domain: D.into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(acts.type_infos.len(), 1);
    assert_eq!(
        query::list_workflow_types(
            &h.s,
            &ListWorkflowTypesInput {
                domain: "nope".into(),
                ..Default::default()
            }
        )
        .unwrap_err()
        .kind,
        FaultKind::UnknownResource
    );
}

#[test]
fn noop_changes_nothing() {
    let mut h = H::ready();
    h.start("w");
    let before = format!("{:?}", h.s);
    let applied = apply(
        &h.s,
        99,
        &Command {
            now: Timestamp(0),
            op: Op::Noop,
            fresh_ids: Vec::new(),
            request_id: None,
        },
        &h.limits,
    )
    .unwrap();
    assert_eq!(applied.outcome, Ok(Reply::Done));
    assert!(applied.writes.is_empty());
    assert_eq!(before, format!("{:?}", h.s));
}

// ---------------------------------------------------------------------------------------------------
// Signals, cancellation requests and termination from outside
// ---------------------------------------------------------------------------------------------------

fn signal_op(wid: &str, run: Option<&str>) -> Op {
    Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: wid.into(),
        run_id: run.map(str::to_string),
        signal_name: "go".into(),
        input: s("payload"),
    })
}

#[test]
fn signal_schedules_a_decision_or_marks_the_started_one() {
    let mut h = H::ready();
    let run = h.start("w");
    // A decision task is already scheduled: the signal adds its event only.
    h.ok(signal_op("w", Some(&run)));
    assert_eq!(
        h.types(&run),
        [
            EventType::WorkflowExecutionStarted,
            EventType::DecisionTaskScheduled,
            EventType::WorkflowExecutionSignaled
        ]
    );
    let signaled = attrs(&h.last(&run));
    assert_eq!(
        (signaled["signalName"].as_str(), signaled["input"].as_str()),
        (Some("go"), Some("payload"))
    );
    // While a decision task runs, a signal schedules the next one at once (real SWF: simpleflow's
    // `test_unrequested_signal` cassette), which makes the decider's close decision fail; that
    // pending task is the one queued next.
    let token = h.start_decision(&run);
    h.ok(signal_op("w", None));
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 2..],
        [
            EventType::WorkflowExecutionSignaled,
            EventType::DecisionTaskScheduled
        ]
    );
    h.ok(signal_op("w", None));
    assert_eq!(
        h.last(&run).event_type,
        EventType::WorkflowExecutionSignaled
    );
    h.respond(&token, vec![complete_wf()]);
    assert_eq!(
        h.last(&run).event_type,
        EventType::CompleteWorkflowExecutionFailed
    );
    assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1);

    for (wid, run_id, code) in [
        ("nobody", None, "UnknownResourceFault"),
        ("w", Some("other-run"), "UnknownResourceFault"),
    ] {
        assert_eq!(h.fault(signal_op(wid, run_id)).code(), code);
    }
}

#[test]
fn request_cancel_is_recorded_once_and_shown() {
    let mut h = H::ready();
    let run = h.start("w");
    let op = || {
        Op::RequestCancelWorkflowExecution(RequestCancelWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            run_id: None,
        })
    };
    h.ok(op());
    h.ok(op());
    let cancels = h
        .types(&run)
        .iter()
        .filter(|t| **t == EventType::WorkflowExecutionCancelRequested)
        .count();
    assert_eq!(cancels, 1);
    assert!(h.rec(&run).cancel_requested);
    let described = query::describe_execution(
        &h.s,
        D,
        &WorkflowExecution {
            workflow_id: "w".into(),
            run_id: run.clone(),
        },
    )
    .unwrap();
    assert_eq!(described.execution_info.cancel_requested, Some(true));
}

#[test]
fn terminate_closes_the_run_and_frees_the_workflow_id() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]);
    let activity_token = h.start_activity(&run, "a");
    h.ok(Op::TerminateWorkflowExecution(
        TerminateWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            run_id: Some(run.clone()),
            reason: s("operator"),
            details: None,
            child_policy: Some(ChildPolicy::Abandon),
        },
    ));
    let rec = h.rec(&run);
    assert_eq!(rec.close_status, Some(CloseStatus::Terminated));
    let terminated = attrs(&h.last(&run));
    assert_eq!(terminated["childPolicy"], "ABANDON");
    assert_eq!(terminated["cause"], "OPERATOR_INITIATED");
    assert_eq!(
        h.fault(complete_op(&activity_token)).code(),
        "UnknownResourceFault"
    );
    let again = Op::TerminateWorkflowExecution(TerminateWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        ..Default::default()
    });
    assert_eq!(h.fault(again).code(), "UnknownResourceFault");
    h.start("w");
}

// ---------------------------------------------------------------------------------------------------
// Timers and timeouts: durable deadlines fired by the leader
// ---------------------------------------------------------------------------------------------------

impl H {
    /// The armed deadline of `run` whose kind `which` selects.
    fn deadline(&self, run: &str, which: impl Fn(&DeadlineKind) -> bool) -> Deadline {
        self.s
            .deadlines
            .iter()
            .find(|d| d.run_id == run && which(&d.kind))
            .cloned()
            .unwrap_or_else(|| panic!("no such deadline armed for {run}: {:?}", self.s.deadlines))
    }

    /// Fires `d` exactly at its due time.
    fn fire(&mut self, d: Deadline) {
        self.clock = self.clock.max(d.due.0 - 1_000);
        assert_eq!(self.ok(Op::FireDeadline(d)), Reply::Done);
        self.check_deadlines();
    }

    /// The due-time index holds exactly the deadlines the executions armed.
    fn check_deadlines(&self) {
        let armed: BTreeSet<Deadline> = self
            .s
            .records()
            .values()
            .flat_map(|r| r.deadlines.clone())
            .collect();
        assert_eq!(
            armed, self.s.deadlines,
            "deadline index out of step with the executions"
        );
    }
}

#[test]
fn timers_start_fire_and_cancel() {
    let mut h = H::ready();
    let run = h.start("w");
    let before = h.clock;
    h.round(&run, vec![start_timer("t1", "5"), start_timer("t2", "50")]);
    let t1 = h.deadline(
        &run,
        |k| matches!(k, DeadlineKind::Timer { timer_id } if timer_id == "t1"),
    );
    assert_eq!(
        t1.due.0,
        before + 2_000 + 5_000,
        "armed 5 s after the decision was applied"
    );
    let started = h.rec(&run).timers["t1"].started_event_id;

    // Early: nothing happens and the timer stays armed.
    h.clock = t1.due.0 - 2_000;
    h.ok(Op::FireDeadline(t1.clone()));
    assert!(h.s.deadlines.contains(&t1));
    assert_eq!(h.last(&run).event_type, EventType::TimerStarted);

    h.fire(t1.clone());
    let types = h.types(&run);
    assert_eq!(
        types[types.len() - 2..],
        [EventType::TimerFired, EventType::DecisionTaskScheduled]
    );
    let fired = attrs(&h.event(&run, types.len() as i64 - 1));
    assert_eq!(
        (fired["timerId"].as_str(), id_of(&fired, "startedEventId")),
        (Some("t1"), started)
    );
    // A repeated firing changes nothing.
    let n = h.history(&run).len();
    h.fire(t1);
    assert_eq!(h.history(&run).len(), n);

    // Same id while open is refused; cancel works once, then the id is unknown.
    h.round(&run, vec![start_timer("t2", "5")]);
    assert_eq!(
        attrs(&h.last_of(&run, EventType::StartTimerFailed))["cause"],
        "TIMER_ID_ALREADY_IN_USE"
    );
    h.round(&run, vec![cancel_timer("t2"), cancel_timer("t2")]);
    assert!(h.types(&run).contains(&EventType::TimerCanceled));
    assert_eq!(
        attrs(&h.last_of(&run, EventType::CancelTimerFailed))["cause"],
        "TIMER_ID_UNKNOWN"
    );
    assert!(h.rec(&run).timers.is_empty());
    h.check_deadlines();
}

#[test]
fn activity_timeouts() {
    // (timeout kind, whether the worker starts the task, heartbeat details sent)
    let cases = [
        (
            DeadlineKind::ActivityScheduleToStart,
            false,
            None,
            "SCHEDULE_TO_START",
        ),
        (
            DeadlineKind::ActivityScheduleToClose,
            true,
            Some("50%"),
            "SCHEDULE_TO_CLOSE",
        ),
        (
            DeadlineKind::ActivityStartToClose,
            true,
            None,
            "START_TO_CLOSE",
        ),
        (
            DeadlineKind::ActivityHeartbeat,
            true,
            Some("half way"),
            "HEARTBEAT",
        ),
    ];
    for (kind, start, details, timeout_type) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        h.round(&run, vec![schedule("a")]);
        let scheduled = h.activity(&run, "a");
        let token = start.then(|| h.start_activity(&run, "a"));
        if let (Some(t), Some(d)) = (&token, details) {
            h.ok(Op::RecordActivityTaskHeartbeat(
                RecordActivityTaskHeartbeatInput {
                    task_token: t.clone(),
                    details: s(d),
                },
            ));
        }
        let d = h.deadline(&run, |k| *k == kind);
        assert_eq!(d.event_id, scheduled);
        h.fire(d);
        let timed_out = h.last_of(&run, EventType::ActivityTaskTimedOut);
        let a = attrs(&timed_out);
        assert_eq!(a["timeoutType"], timeout_type);
        assert_eq!(id_of(&a, "scheduledEventId"), scheduled);
        assert_eq!(a["details"].as_str(), details, "{timeout_type}");
        assert!(h.rec(&run).activities.is_empty(), "{timeout_type}");
        assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
        assert!(matches!(
            h.rec(&run).decision,
            DecisionSlot::Scheduled { .. }
        ));
        if let Some(t) = token {
            assert_eq!(
                h.fault(complete_op(&t)).code(),
                "UnknownResourceFault",
                "{timeout_type}"
            );
        }
    }
}

#[test]
fn heartbeats_push_the_heartbeat_deadline() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]);
    let token = h.start_activity(&run, "a");
    let first = h.deadline(&run, |k| *k == DeadlineKind::ActivityHeartbeat);
    h.clock += 10_000;
    h.ok(heartbeat_op(&token));
    let second = h.deadline(&run, |k| *k == DeadlineKind::ActivityHeartbeat);
    assert!(second.due > first.due);
    assert!(!h.s.deadlines.contains(&first));
    // The old deadline firing now is stale and changes nothing.
    let n = h.history(&run).len();
    h.fire(first);
    assert_eq!(h.history(&run).len(), n);
    assert_eq!(h.rec(&run).activities.len(), 1);
}

#[test]
fn decision_task_timeout_schedules_a_new_task() {
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    let d = h.deadline(&run, |k| *k == DeadlineKind::DecisionStartToClose);
    assert_eq!(d.due.0, h.clock + 60_000);
    h.fire(d);
    let types = h.types(&run);
    assert_eq!(
        types[types.len() - 2..],
        [
            EventType::DecisionTaskTimedOut,
            EventType::DecisionTaskScheduled
        ]
    );
    assert_eq!(
        attrs(&h.last_of(&run, EventType::DecisionTaskTimedOut))["timeoutType"],
        "START_TO_CLOSE"
    );
    assert_eq!(
        h.fault(respond_op(&token, vec![complete_wf()])).code(),
        "UnknownResourceFault"
    );
    // Completing a task in time disarms its timeout.
    let token = h.start_decision(&run);
    h.respond(&token, vec![marker("m")]);
    assert!(!h
        .s
        .deadlines
        .iter()
        .any(|d| d.kind == DeadlineKind::DecisionStartToClose));
}

#[test]
fn decision_task_timeout_hands_out_the_task_scheduled_behind_it() {
    // A signal while the task runs schedules the next one at once; when the started one times out,
    // that one becomes pollable and no second DecisionTaskScheduled is recorded.
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        signal_name: "s".into(),
        ..Default::default()
    }));
    let pending = h.history(&run).len() as i64;
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
    let d = h.deadline(&run, |k| *k == DeadlineKind::DecisionStartToClose);
    h.fire(d);
    let types = h.types(&run);
    assert_eq!(
        types[types.len() - 3..],
        [
            EventType::WorkflowExecutionSignaled,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskTimedOut
        ]
    );
    let queued = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].scheduled_event_id, pending);
    assert_eq!(
        h.fault(respond_op(&token, vec![complete_wf()])).code(),
        "UnknownResourceFault"
    );
    // A timed-out task is not "previous": the next one still reports 0.
    assert_eq!(h.rec(&run).previous_started_event_id, 0);
    h.start_decision(&run);
    assert_eq!(
        h.last(&run)
            .decision_task_started_event_attributes
            .unwrap()
            .scheduled_event_id,
        pending
    );
}

#[test]
fn workflow_timeout_closes_the_run() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), start_timer("t", "10")]);
    let d = h.deadline(&run, |k| *k == DeadlineKind::WorkflowStartToClose);
    h.fire(d);
    let rec = h.rec(&run);
    assert_eq!(rec.close_status, Some(CloseStatus::TimedOut));
    let last = attrs(&h.last(&run));
    assert_eq!(
        (last["timeoutType"].as_str(), last["childPolicy"].as_str()),
        (Some("START_TO_CLOSE"), Some("TERMINATE"))
    );
    let left: Vec<DeadlineKind> = h.s.deadlines.iter().map(|d| d.kind.clone()).collect();
    assert_eq!(
        left,
        [DeadlineKind::Retention],
        "closing disarms every deadline but retention"
    );
    assert!(h.s.queues.is_empty());
}

// ---------------------------------------------------------------------------------------------------
// Continue-as-new, child workflows and external decisions
// ---------------------------------------------------------------------------------------------------

fn decision_with(t: DecisionType, f: impl FnOnce(&mut Decision)) -> Decision {
    let mut d = Decision {
        decision_type: t,
        ..Default::default()
    };
    f(&mut d);
    d
}

fn start_child(wid: &str) -> Decision {
    decision_with(DecisionType::StartChildWorkflowExecution, |d| {
        d.start_child_workflow_execution_decision_attributes =
            Some(Box::new(StartChildWorkflowExecutionDecisionAttributes {
                workflow_type: Box::new(wf_type()),
                workflow_id: wid.into(),
                input: s("child input"),
                ..Default::default()
            }))
    })
}

impl H {
    /// The run id of the open execution `wid`.
    fn open_run(&self, wid: &str) -> String {
        self.s
            .open_runs
            .get(&(D.to_string(), wid.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("{wid} is not open"))
    }
}

#[test]
fn continue_as_new_starts_a_new_run_with_carried_settings() {
    continue_as_new(H::ready());
}

fn continue_as_new(mut h: H) -> H {
    let old = h.start_with(StartWorkflowExecutionInput {
        tag_list: Some(vec!["keep".into()]),
        ..start_input("w")
    });
    let can = decision_with(DecisionType::ContinueAsNewWorkflowExecution, |d| {
        d.continue_as_new_workflow_execution_decision_attributes =
            Some(Box::new(ContinueAsNewWorkflowExecutionDecisionAttributes {
                input: s("next"),
                ..Default::default()
            }))
    });
    h.round(&old, vec![can.clone()]);
    let old_rec = h.rec(&old);
    assert_eq!(old_rec.close_status, Some(CloseStatus::ContinuedAsNew));
    let continued = attrs(&h.last(&old));
    let new = h.open_run("w");
    assert_eq!(continued["newExecutionRunId"], new.as_str());
    assert_eq!(continued["tagList"], serde_json::json!(["keep"]));
    let started = attrs(&h.event(&new, 1));
    assert_eq!(started["continuedExecutionRunId"], old.as_str());
    assert_eq!(started["input"], "next");
    assert_eq!(h.rec(&new).config, old_rec.config, "settings carry over");
    assert_eq!(
        h.types(&new),
        [
            EventType::WorkflowExecutionStarted,
            EventType::DecisionTaskScheduled
        ]
    );

    // With events that arrived meanwhile it fails with UNHANDLED_DECISION; an unknown version too.
    let token = h.start_decision(&new);
    h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        signal_name: "s".into(),
        ..Default::default()
    }));
    h.respond(&token, vec![can]);
    assert_eq!(
        attrs(&h.last_of(&new, EventType::ContinueAsNewWorkflowExecutionFailed))["cause"],
        "UNHANDLED_DECISION"
    );
    let bad_version = decision_with(DecisionType::ContinueAsNewWorkflowExecution, |d| {
        d.continue_as_new_workflow_execution_decision_attributes =
            Some(Box::new(ContinueAsNewWorkflowExecutionDecisionAttributes {
                workflow_type_version: s("9"),
                ..Default::default()
            }))
    });
    h.round(&new, vec![bad_version]);
    assert_eq!(
        attrs(&h.last_of(&new, EventType::ContinueAsNewWorkflowExecutionFailed))["cause"],
        "WORKFLOW_TYPE_DOES_NOT_EXIST"
    );
    assert!(h.rec(&new).is_open());
    h
}

#[test]
fn child_workflow_lifecycle_reaches_the_parent() {
    child_workflow_lifecycle(H::ready());
}

fn child_workflow_lifecycle(mut h: H) -> H {
    let parent = h.start("p");
    h.round(&parent, vec![start_child("c1")]);
    let types = h.types(&parent);
    assert_eq!(
        types[4..],
        [
            EventType::StartChildWorkflowExecutionInitiated,
            EventType::ChildWorkflowExecutionStarted,
            EventType::DecisionTaskScheduled
        ]
    );
    let child = h.open_run("c1");
    let started = attrs(&h.event(&child, 1));
    assert_eq!(started["parentWorkflowExecution"]["runId"], parent.as_str());
    assert_eq!(id_of(&started, "parentInitiatedEventId"), 5);
    assert_eq!(h.rec(&parent).children.len(), 1);

    // Same workflow id again: WORKFLOW_ALREADY_RUNNING.
    h.round(&parent, vec![start_child("c1")]);
    assert_eq!(
        attrs(&h.last_of(&parent, EventType::StartChildWorkflowExecutionFailed))["cause"],
        "WORKFLOW_ALREADY_RUNNING"
    );

    // The child completes: the parent gets ChildWorkflowExecutionCompleted with the result.
    let ct = h.start_decision(&child);
    h.respond(&ct, vec![complete_wf()]);
    let done = attrs(&h.last_of(&parent, EventType::ChildWorkflowExecutionCompleted));
    assert_eq!(
        (
            id_of(&done, "initiatedEventId"),
            id_of(&done, "startedEventId")
        ),
        (5, 6)
    );
    assert_eq!(done["result"], attrs(&h.last(&child))["result"]);
    assert!(h.rec(&parent).children.is_empty());
    assert_eq!(h.describe_open_children(&parent), 0);
    h
}

impl H {
    fn describe_open_children(&self, run: &str) -> i32 {
        let rec = self.rec(run);
        query::describe_execution(
            &self.s,
            D,
            &WorkflowExecution {
                workflow_id: rec.workflow_id,
                run_id: run.into(),
            },
        )
        .unwrap()
        .open_counts
        .open_child_workflow_executions
    }
}

#[test]
fn child_policies_apply_when_the_parent_closes() {
    // (parent's child policy, expected child close status or cancel request)
    for policy in [
        ChildPolicy::Terminate,
        ChildPolicy::RequestCancel,
        ChildPolicy::Abandon,
    ] {
        let mut h = H::ready();
        let parent = h.start_with(StartWorkflowExecutionInput {
            child_policy: Some(policy),
            ..start_input("p")
        });
        h.round(&parent, vec![start_child("c"), start_child("c2")]);
        let children = [h.open_run("c"), h.open_run("c2")];
        h.round(&parent, vec![complete_wf()]);
        for child in &children {
            let rec = h.rec(child);
            match policy {
                ChildPolicy::Terminate => {
                    assert_eq!(rec.close_status, Some(CloseStatus::Terminated));
                    assert_eq!(attrs(&h.last(child))["cause"], "CHILD_POLICY_APPLIED");
                }
                ChildPolicy::RequestCancel => {
                    assert!(rec.is_open() && rec.cancel_requested);
                    assert_eq!(
                        attrs(&h.last_of(child, EventType::WorkflowExecutionCancelRequested))
                            ["cause"],
                        "CHILD_POLICY_APPLIED"
                    );
                }
                _ => assert!(rec.is_open() && !rec.cancel_requested),
            }
        }
        // The closed parent's history ends with its close event: children closing later add nothing.
        assert_eq!(
            h.last(&parent).event_type,
            EventType::WorkflowExecutionCompleted,
            "{policy:?}"
        );
    }
}

#[test]
fn child_timeout_and_termination_reach_the_parent() {
    let mut h = H::ready();
    let parent = h.start("p");
    h.round(&parent, vec![start_child("c"), start_child("d")]);
    let c = h.open_run("c");
    let d = h.deadline(&c, |k| *k == DeadlineKind::WorkflowStartToClose);
    h.fire(d);
    assert_eq!(
        attrs(&h.last_of(&parent, EventType::ChildWorkflowExecutionTimedOut))["timeoutType"],
        "START_TO_CLOSE"
    );
    h.ok(Op::TerminateWorkflowExecution(
        TerminateWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "d".into(),
            ..Default::default()
        },
    ));
    assert!(h
        .types(&parent)
        .contains(&EventType::ChildWorkflowExecutionTerminated));
    assert!(h.rec(&parent).children.is_empty());
}

#[test]
fn external_signal_and_cancel_decisions() {
    let mut h = H::ready();
    let a = h.start("a");
    let b = h.start("b");
    let signal = |wid: &str| {
        decision_with(DecisionType::SignalExternalWorkflowExecution, |d| {
            d.signal_external_workflow_execution_decision_attributes = Some(Box::new(
                SignalExternalWorkflowExecutionDecisionAttributes {
                    workflow_id: wid.into(),
                    signal_name: "ping".into(),
                    input: s("hello"),
                    ..Default::default()
                },
            ))
        })
    };
    let cancel = |wid: &str| {
        decision_with(DecisionType::RequestCancelExternalWorkflowExecution, |d| {
            d.request_cancel_external_workflow_execution_decision_attributes = Some(Box::new(
                RequestCancelExternalWorkflowExecutionDecisionAttributes {
                    workflow_id: wid.into(),
                    ..Default::default()
                },
            ))
        })
    };
    h.round(
        &a,
        vec![signal("b"), cancel("b"), signal("nobody"), cancel("nobody")],
    );
    let got = attrs(&h.last_of(&b, EventType::WorkflowExecutionSignaled));
    assert_eq!(
        (got["signalName"].as_str(), got["input"].as_str()),
        (Some("ping"), Some("hello"))
    );
    assert_eq!(got["externalWorkflowExecution"]["runId"], a.as_str());
    assert!(h.rec(&b).cancel_requested);
    let types = h.types(&a);
    for t in [
        EventType::SignalExternalWorkflowExecutionInitiated,
        EventType::ExternalWorkflowExecutionSignaled,
        EventType::RequestCancelExternalWorkflowExecutionInitiated,
        EventType::ExternalWorkflowExecutionCancelRequested,
    ] {
        assert!(types.contains(&t), "{t:?} missing: {types:?}");
    }
    assert_eq!(
        attrs(&h.last_of(&a, EventType::SignalExternalWorkflowExecutionFailed))["cause"],
        "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    );
    assert_eq!(
        attrs(&h.last_of(&a, EventType::RequestCancelExternalWorkflowExecutionFailed))["cause"],
        "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    );
    // The outcomes need the decider: a new decision task is scheduled.
    assert!(matches!(h.rec(&a).decision, DecisionSlot::Scheduled { .. }));
}

fn signal_decision(wid: &str) -> Decision {
    decision_with(DecisionType::SignalExternalWorkflowExecution, |d| {
        d.signal_external_workflow_execution_decision_attributes = Some(Box::new(
            SignalExternalWorkflowExecutionDecisionAttributes {
                workflow_id: wid.into(),
                signal_name: "ping".into(),
                input: s("hello"),
                ..Default::default()
            },
        ))
    })
}

fn cancel_external_decision(wid: &str) -> Decision {
    decision_with(DecisionType::RequestCancelExternalWorkflowExecution, |d| {
        d.request_cancel_external_workflow_execution_decision_attributes = Some(Box::new(
            RequestCancelExternalWorkflowExecutionDecisionAttributes {
                workflow_id: wid.into(),
                ..Default::default()
            },
        ))
    })
}

#[test]
fn external_effects_follow_the_decisions_own_events() {
    // Issue 13, from real histories of a workflow signalling itself: the decision's own events come
    // first (`SignalExternalWorkflowExecutionInitiated, MarkerRecorded, TimerStarted`), then the
    // delivery (the target's WorkflowExecutionSignaled and the decision task it schedules, the
    // sender's ExternalWorkflowExecutionSignaled), all in the one command.
    use EventType as E;
    // (case, decisions, the sender's events after DecisionTaskCompleted, the target b's first new event)
    type Case = (&'static str, Vec<Decision>, Vec<E>, Option<E>);
    let cases: Vec<Case> = vec![
        (
            "signal self",
            vec![signal_decision("a"), marker("m"), start_timer("t", "60")],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::TimerStarted,
                E::WorkflowExecutionSignaled,
                E::DecisionTaskScheduled,
                E::ExternalWorkflowExecutionSignaled,
            ],
            None,
        ),
        (
            "signal another run",
            vec![signal_decision("b"), marker("m")],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::ExternalWorkflowExecutionSignaled,
                E::DecisionTaskScheduled,
            ],
            Some(E::WorkflowExecutionSignaled),
        ),
        (
            "signal nobody",
            vec![signal_decision("nobody"), marker("m")],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::SignalExternalWorkflowExecutionFailed,
                E::DecisionTaskScheduled,
            ],
            None,
        ),
        (
            "cancel self",
            vec![cancel_external_decision("a"), marker("m")],
            vec![
                E::RequestCancelExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::WorkflowExecutionCancelRequested,
                E::DecisionTaskScheduled,
                E::ExternalWorkflowExecutionCancelRequested,
            ],
            None,
        ),
        (
            "cancel another run",
            vec![cancel_external_decision("b"), marker("m")],
            vec![
                E::RequestCancelExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::ExternalWorkflowExecutionCancelRequested,
                E::DecisionTaskScheduled,
            ],
            Some(E::WorkflowExecutionCancelRequested),
        ),
        (
            "signal another run, then complete",
            vec![signal_decision("b"), complete_wf()],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::WorkflowExecutionCompleted,
            ],
            Some(E::WorkflowExecutionSignaled),
        ),
    ];
    for (name, decisions, want, in_b) in cases {
        let mut h = H::ready();
        let a = h.start("a");
        let b = h.start("b");
        let b_before = h.history(&b).len();
        h.round(&a, decisions);
        let events = h.history(&a);
        let completed = events
            .iter()
            .rposition(|e| e.event_type == E::DecisionTaskCompleted)
            .unwrap();
        let got: Vec<E> = events[completed + 1..]
            .iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(got, want, "{name}");
        let b_new: Vec<E> = h.types(&b)[b_before..].to_vec();
        assert_eq!(b_new.first().copied(), in_b, "{name}: {b_new:?}");
        // The delivered event names its initiating event.
        if let Some(t) = in_b {
            let delivered = attrs(&h.last_of(&b, t));
            assert_eq!(
                delivered["externalInitiatedEventId"],
                events[completed + 1].event_id,
                "{name}"
            );
        }
    }
}

#[test]
fn close_must_be_last_decision_in_list() {
    // Real SWF refuses the whole response (solambda/swiffer's integration tests against SWF:
    // MakeDecisionAfterCloseIT, RetryWithCancellationIT): nothing is applied and the decision task
    // stays started, so the decider can answer again.
    let can = || {
        decision_with(DecisionType::ContinueAsNewWorkflowExecution, |d| {
            d.continue_as_new_workflow_execution_decision_attributes = Some(Box::default())
        })
    };
    let cases: Vec<(&str, Vec<Decision>)> = vec![
        ("complete then marker", vec![complete_wf(), marker("m")]),
        ("two completes", vec![complete_wf(), complete_wf()]),
        ("fail then cancel", vec![fail_wf(), cancel_wf()]),
        ("cancel then activity", vec![cancel_wf(), schedule("a")]),
        (
            "continue-as-new then timer",
            vec![can(), start_timer("t", "5")],
        ),
        (
            "close in the middle",
            vec![marker("m"), complete_wf(), marker("n")],
        ),
    ];
    for (name, decisions) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        let token = h.start_decision(&run);
        let before = h.rec(&run);
        let f = h.fault(respond_op(&token, decisions));
        assert_eq!(
            (f.code(), f.message.as_str()),
            ("ValidationException", "Close must be last decision in list"),
            "{name}"
        );
        assert_eq!(h.rec(&run), before, "{name}");
        // The same task can still be answered.
        h.respond(&token, vec![marker("m"), complete_wf()]);
        assert_eq!(
            h.rec(&run).close_status,
            Some(CloseStatus::Completed),
            "{name}"
        );
    }
}

#[test]
fn history_event_limit_terminates_the_run() {
    let mut h = H::with_limits(Limits {
        max_history_events: 8,
        ..Limits::default()
    });
    h.setup();
    let run = h.start("w");
    for _ in 0..10 {
        if !h.rec(&run).is_open() {
            break;
        }
        h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            signal_name: "s".into(),
            ..Default::default()
        }));
    }
    // The limit's 8 events, then the termination.
    let events = h.history(&run);
    assert_eq!(events.len(), 9);
    let last = attrs(events.last().unwrap());
    assert_eq!(last["cause"], "EVENT_LIMIT_EXCEEDED");
    assert_eq!(h.rec(&run).close_status, Some(CloseStatus::Terminated));
}

#[test]
fn retention_purges_closed_runs() {
    for (days, wait_ms) in [("0", 0i64), ("2", 2 * 86_400_000)] {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(RegisterDomainInput {
            workflow_execution_retention_period_in_days: days.into(),
            ..domain_input(D)
        }));
        h.ok(Op::RegisterWorkflowType(wf_type_input("wf", "1")));
        h.ok(Op::RegisterActivityType(act_type_input("act", "1")));
        let run = h.start("w");
        h.round(&run, vec![complete_wf()]);
        let closed_at = h.clock;
        let d = h.deadline(&run, |k| *k == DeadlineKind::Retention);
        assert_eq!(d.due.0, closed_at + wait_ms, "retention of {days} days");
        assert!(!h.s.visibility.is_empty());
        h.fire(d);
        assert!(!h.s.executions.contains_key(&run), "{days}: record purged");
        assert!(h.history(&run).is_empty(), "{days}: history purged");
        assert!(h.s.visibility.is_empty(), "{days}: visibility purged");
        assert!(h.s.deadlines.is_empty());
        let gone = query::describe_execution(
            &h.s,
            D,
            &WorkflowExecution {
                workflow_id: "w".into(),
                run_id: run.clone(),
            },
        );
        assert_eq!(gone.unwrap_err().code(), "UnknownResourceFault");
    }
}

#[test]
fn a_burst_of_deadlines_fires_in_one_command() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(
        &run,
        vec![start_timer("a", "5"), start_timer("b", "5"), schedule("x")],
    );
    let a = h.deadline(
        &run,
        |k| matches!(k, DeadlineKind::Timer { timer_id } if timer_id == "a"),
    );
    let b = h.deadline(
        &run,
        |k| matches!(k, DeadlineKind::Timer { timer_id } if timer_id == "b"),
    );
    h.clock = a.due.0.max(b.due.0) - 1_000;
    h.ok(Op::FireDeadlines(vec![a, b]));
    h.check_deadlines();
    let types = h.types(&run);
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == EventType::TimerFired)
            .count(),
        2
    );
    // One decision task for both (the second firing saw the first one's scheduled task).
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == EventType::DecisionTaskScheduled)
            .count(),
        2
    );
    assert!(h.rec(&run).timers.is_empty());
}

#[test]
fn open_timer_and_child_limits() {
    let mut h = H::with_limits(Limits {
        max_open_timers: 2,
        max_open_children: 1,
        ..Limits::default()
    });
    h.setup();
    let run = h.start("w");
    h.round(
        &run,
        vec![
            start_timer("t1", "60"),
            start_timer("t2", "60"),
            start_timer("t3", "60"),
        ],
    );
    assert_eq!(
        attrs(&h.last_of(&run, EventType::StartTimerFailed))["cause"],
        "OPEN_TIMERS_LIMIT_EXCEEDED"
    );
    assert_eq!(h.rec(&run).timers.len(), 2);
    h.round(&run, vec![start_child("c1"), start_child("c2")]);
    assert_eq!(
        attrs(&h.last_of(&run, EventType::StartChildWorkflowExecutionFailed))["cause"],
        "OPEN_CHILDREN_LIMIT_EXCEEDED"
    );
    assert_eq!(h.rec(&run).children.len(), 1);
}

// ---------------------------------------------------------------------------------------------------
// Batches: commands proposed together in one log entry
// ---------------------------------------------------------------------------------------------------

impl H {
    /// A harness applying every command at one log index, as the commands of one batched entry are.
    fn batching() -> H {
        let mut h = H::new();
        h.fixed_index = Some(7);
        h.setup();
        h
    }

    /// Replays every command run so far through `apply_batch`, cut into entries of `size` commands, on
    /// fresh state: each outcome and the final state must be what applying them one by one gave.
    fn assert_batches_equivalent(&self, size: usize) {
        let index = self.fixed_index.expect("a batching harness");
        let mut s = MemState::default();
        let mut outcomes = Vec::new();
        for chunk in self.log.chunks(size) {
            let cmds: Vec<Command> = chunk.iter().map(|(c, _)| c.clone()).collect();
            let applied = crate::apply_batch(&s, index, &cmds, &self.limits).expect("MemState");
            assert_eq!(applied.outcomes.len(), cmds.len());
            outcomes.extend(applied.outcomes);
            s.write(applied.writes);
        }
        let expected: Vec<Outcome> = self.log.iter().map(|(_, o)| o.clone()).collect();
        assert_eq!(outcomes, expected, "batch of {size}: outcomes differ");
        assert_eq!(
            format!("{s:?}"),
            format!("{:?}", self.s),
            "batch of {size}: state differs"
        );
    }
}

/// Every way of cutting the log into entries gives the same outcomes and state.
fn check_all_batchings(h: &H) {
    for size in [1, 2, 3, 5, 8, h.log.len()] {
        h.assert_batches_equivalent(size);
    }
}

#[test]
fn batched_commands_see_the_writes_of_earlier_ones() {
    let mut h = H::batching();
    // Registrations that depend on each other, and their faults.
    h.ok(Op::RegisterDomain(domain_input("second")));
    assert_eq!(
        h.kind(Op::RegisterDomain(domain_input("second"))),
        Err(FaultKind::DomainAlreadyExists)
    );
    assert_eq!(
        h.kind(Op::RegisterWorkflowType(wf_type_input("wf", "1"))),
        Err(FaultKind::TypeAlreadyExists)
    );
    // A workflow id started twice, then a full workflow with an activity and a signal.
    let run = h.start("w");
    let again = h.start_op(start_input("w"));
    assert_eq!(
        h.kind(again),
        Err(FaultKind::WorkflowExecutionAlreadyStarted)
    );
    let token = h.start_decision(&run);
    h.respond(&token, vec![schedule("a1")]);
    let at = h.start_activity(&run, "a1");
    h.ok(Op::RespondActivityTaskCompleted(
        RespondActivityTaskCompletedInput {
            task_token: at.clone(),
            result: s("done"),
        },
    ));
    // The token of the task just completed is refused, as in separate entries.
    assert_eq!(
        h.kind(Op::RespondActivityTaskCompleted(
            RespondActivityTaskCompletedInput {
                task_token: at,
                result: None,
            }
        )),
        Err(FaultKind::UnknownResource)
    );
    h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        signal_name: "sig".into(),
        ..Default::default()
    }));
    h.round(&run, vec![complete_wf()]);
    assert!(!h.rec(&run).is_open());
    check_all_batchings(&h);
}

#[test]
fn batched_child_workflows_and_continue_as_new_match_separate_entries() {
    let h = child_workflow_lifecycle(H::batching());
    check_all_batchings(&h);
    let h = continue_as_new(H::batching());
    check_all_batchings(&h);
}

#[path = "history_limit_test.rs"]
mod history_limit;

/// What real SWF records and answers, compared with public recordings (`apply_test/recorded.rs`).
mod recorded;
