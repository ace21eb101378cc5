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
    /// The same commands applied at this build's apply version (`s` stays at the base version, as
    /// every test reads it): after each, both must answer alike and hold the same executions, whatever
    /// form each stores them in (see `same_state`). `None` for a test that edits `s` by hand.
    shadow: Option<MemState>,
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
            shadow: Some(at_version(crate::apply_version::APPLY_VERSION)),
        }
    }

    /// Edits the applied state by hand (and the shadow's alike).
    fn edit(&mut self, f: impl Fn(&mut MemState)) {
        f(&mut self.s);
        if let Some(shadow) = &mut self.shadow {
            f(shadow);
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
        if let Some(shadow) = &mut self.shadow {
            let at_latest = apply(shadow, index, &cmd, &self.limits).expect("MemState never fails");
            assert_eq!(
                at_latest.outcome,
                applied.outcome,
                "{}: the latest apply version answers otherwise",
                cmd.op.name()
            );
            shadow.write(at_latest.writes);
        }
        self.s.write(applied.writes);
        if let Some(shadow) = &self.shadow {
            same_state(&self.s, shadow);
        }
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

/// Fresh state at apply version `version`.
fn at_version(version: u32) -> MemState {
    let mut s = MemState::default();
    let raise = Command {
        now: Timestamp(1),
        op: Op::RaiseApplyVersion { version },
        fresh_ids: Vec::new(),
        request_id: None,
    };
    let applied = apply(&s, 0, &raise, &Limits::default()).expect("MemState never fails");
    assert!(applied.outcome.is_ok());
    s.write(applied.writes);
    s
}

/// `base` and `latest` (applied at the base and the latest apply version) hold the same state but for
/// where an execution's open items are stored; `latest` keeps a run's items in its record exactly
/// when the `items` rules say so, and never under keys as well.
fn same_state(base: &MemState, latest: &MemState) {
    assert_eq!(base.domains, latest.domains);
    assert_eq!(base.workflow_types, latest.workflow_types);
    assert_eq!(base.activity_types, latest.activity_types);
    assert_eq!(base.open_runs, latest.open_runs);
    let assembled = |s: &MemState| -> BTreeMap<String, ExecutionRecord> {
        let mut recs = s.records();
        for r in recs.values_mut() {
            r.items_keyed = false;
        }
        recs
    };
    assert_eq!(
        assembled(base),
        assembled(latest),
        "the executions differ between apply versions"
    );
    assert_eq!(base.history, latest.history);
    assert_eq!(base.queues, latest.queues);
    assert_eq!(base.visibility, latest.visibility);
    assert_eq!(base.deadlines, latest.deadlines);
    assert_eq!(base.requests, latest.requests);
    assert_eq!(base.requests_forgotten, latest.requests_forgotten);
    let without_version = |s: &MemState| {
        let mut sfn = s.sfn.clone();
        sfn.remove(crate::apply_version::APPLY_VERSION_KEY);
        sfn
    };
    assert_eq!(without_version(base), without_version(latest));
    for (run_id, rec) in &latest.executions {
        let keyed = latest.items.keys().filter(|(r, _)| r == run_id).count();
        if rec.items_keyed {
            assert_eq!(
                rec.item_count(),
                0,
                "{run_id}: keyed items stored in the record"
            );
            assert!(
                keyed > crate::items::EMBED_RETURN,
                "{run_id}: {keyed} keyed items"
            );
        } else {
            assert_eq!(keyed, 0, "{run_id}: embedded items under keys too");
            assert!(rec.item_count() <= crate::items::EMBED_MAX, "{run_id}");
        }
    }
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

// Helpers shared by the scenario tests.

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

fn signal_op(wid: &str, run: Option<&str>) -> Op {
    Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: wid.into(),
        run_id: run.map(str::to_string),
        signal_name: "go".into(),
        input: s("payload"),
    })
}

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

// The scenario tests, by area.
mod children;
mod decisions;
mod external;
#[path = "history_limit_test.rs"]
mod history_limit;
mod limits;
mod queries;
/// What real SWF records and answers, compared with public recordings (`apply_test/recorded.rs`).
mod recorded;
mod registry;
mod start;
mod tasks;
mod timeouts;
