//! The leader's executor: runs one SWF action. Writes are stamped with the leader's clock (and a run id
//! for starts) and proposed to Raft; the answer, success or fault, is the outcome of applying the
//! committed entry, so a write is applied once per replica and never also dry-run here (a faulty call's
//! entry writes nothing). Reads are answered from applied state after a linearizable read barrier.
//! Polls wait in the task matcher; a task start for a waiting poll is dry-run first (`start_task`).

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openraft::Raft;
use rand::RngCore;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use swf_core::command::{DomainAction, TypeAction};
use swf_core::query::{self, HistoryCursor};
use swf_core::state::{Lookup, TaskKind};
use swf_core::visibility;
use swf_core::{Command, Limits, Op, Reply};
use swf_store::{StateReader, TypeConfig};
use swf_types::actions::SwfAction;
use swf_types::shapes::*;
use swf_types::Fault;

use crate::clock::ClusterClock;
use crate::matcher::{ClaimGuard, ListKey, Matcher};
use crate::proposer::Proposer;

// Step Functions actions: a child module, so it shares the executor's write path, read barrier and
// long polls without widening their visibility.
#[path = "sfn_executor.rs"]
mod sfn;
// The cluster's token keyring: created by the leader when missing, rotated on the admin's request.
#[path = "token_key.rs"]
mod token_key;

/// Runs SWF actions on the leader.
pub struct Executor {
    raft: Raft<TypeConfig>,
    reader: StateReader,
    limits: Limits,
    pub(crate) matcher: Arc<Matcher>,
    long_poll: Duration,
    /// The cluster time the leader stamps (see `clock`).
    clock: Arc<ClusterClock>,
    /// Stamps and proposes commands, in batches under load.
    proposer: Proposer,
    /// Set once the token keyring is known to exist (it is never removed), see `token_key`.
    token_key_ready: std::sync::atomic::AtomicBool,
}

/// The call decision-task page tokens are bound to.
const DECISION_PAGE_CALL: &str = "PollForDecisionTask";

/// A decision task's history page token: where the history continues and the task it belongs to.
#[derive(Serialize, Deserialize)]
struct DecisionPage {
    c: HistoryCursor,
    t: String,
    p: i64,
}

/// The typed input of an action, read from its parsed and validated JSON (one parse per call).
fn parse<T: DeserializeOwned>(input: &Value) -> Result<T, Fault> {
    T::deserialize(input).map_err(|e| Fault::validation(format!("Invalid request: {e}")))
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, Fault> {
    serde_json::to_vec(v).map_err(|e| Fault::internal(e.to_string()))
}

/// A new run id: 32 bytes in base64 (44 characters, like SWF's): the time in milliseconds (6 bytes,
/// big-endian), then 26 random bytes. Opaque to clients, unique by its random part; the time in front
/// puts the runs started in the same minutes next to each other in every column family keyed by run
/// (executions, histories, open items), so RocksDB's memtable inserts land near the previous one
/// instead of at a random place in a skiplist of hundreds of thousands of keys (12–18% of a cluster
/// node's CPU at peak went to those searches with fully random ids; docs/benchmarks.md).
fn new_run_id() -> String {
    run_id_at(crate::clock::wall_ms().max(0) as u64)
}

/// `new_run_id` at the time `ms` (ms since the Unix epoch).
fn run_id_at(ms: u64) -> String {
    let mut bytes = [0u8; 32];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    rand::thread_rng().fill_bytes(&mut bytes[6..]);
    STANDARD.encode(bytes)
}

/// The type action an action name asks for (Deprecate*, Undeprecate*, Delete*).
fn type_action(action: &str) -> TypeAction {
    if action.starts_with("Deprecate") {
        TypeAction::Deprecate
    } else if action.starts_with("Undeprecate") {
        TypeAction::Undeprecate
    } else {
        TypeAction::Delete
    }
}

/// The answer of an action without output: HTTP 200 with an empty body, as SWF answers (the
/// `TerminateWorkflowExecution` responses recorded in simpleflow's cassettes have `content-length: 0`).
fn empty() -> Vec<u8> {
    Vec::new()
}

impl Executor {
    /// An executor proposing to `raft` and reading through `reader`, stamping `clock`'s time, refusing
    /// writes while `disk` says the data directory is low on space.
    pub fn new(
        raft: Raft<TypeConfig>,
        reader: StateReader,
        limits: Limits,
        matcher: Arc<Matcher>,
        long_poll: Duration,
        clock: Arc<ClusterClock>,
        disk: Arc<crate::disk::DiskGuard>,
    ) -> Executor {
        Executor {
            reader,
            limits,
            matcher,
            long_poll,
            proposer: Proposer::start(raft.clone(), clock.clone(), disk),
            raft,
            clock,
            token_key_ready: Default::default(),
        }
    }

    /// The cluster time this node stamps when it leads.
    pub fn clock(&self) -> &ClusterClock {
        &self.clock
    }

    /// Proposes a command of the leader's own (no client request id: it is not de-duplicated) and
    /// waits until it is applied.
    pub(crate) async fn propose_own(&self, cmd: Command) -> Result<(), Fault> {
        self.proposer.propose(cmd, 0).await?.map(|_| ())
    }

    /// Proposes `op` and returns the applied outcome; `size` is the size of the call's input (it bounds
    /// how many calls share one log entry).
    ///
    /// No dry run first: a dry run on the leader cost a whole second apply of every write (4-5 % of a
    /// cluster's throughput, docs/benchmarks.md, session 23) to spare a faulty call its log entry, and
    /// its fault was an answer only after a read barrier (a deposed leader reads stale state, see
    /// `tests/stall.rs`). The fault from the committed entry's apply is always current.
    async fn write(&self, size: usize, op: Op) -> Result<Reply, Fault> {
        // Runs a decision may start (continue-as-new, children) get ids generated here, on the leader.
        let fresh_ids = match &op {
            Op::RespondDecisionTaskCompleted(i)
            | Op::RespondDecisionTaskCompletedChecked { input: i, .. } => i
                .decisions
                .iter()
                .flatten()
                .filter(|d| {
                    matches!(
                        d.decision_type,
                        DecisionType::ContinueAsNewWorkflowExecution
                            | DecisionType::StartChildWorkflowExecution
                    )
                })
                .map(|_| new_run_id())
                .collect(),
            _ => Vec::new(),
        };
        let cmd = Command {
            now: self.clock.estimate(),
            op,
            fresh_ids,
            request_id: crate::request::current_request_id(),
        };
        // The proposer stamps the time again when it proposes (never earlier than this estimate).
        self.proposer.propose(cmd, size).await?
    }

    /// Fires a due deadline (the timer service calls this on the leader).
    pub(crate) async fn fire(
        &self,
        deadlines: Vec<swf_core::state::Deadline>,
    ) -> Result<(), Fault> {
        self.write(0, Op::FireDeadlines(deadlines))
            .await
            .map(|_| ())
    }

    /// Waits until this node's applied state includes everything committed before the call.
    async fn read_barrier(&self) -> Result<&StateReader, Fault> {
        self.raft
            .ensure_linearizable()
            .await
            .map_err(|e| Fault::unavailable(format!("Read barrier failed: {e}")))?;
        Ok(&self.reader)
    }

    /// Runs `action` of `api` (SWF or Step Functions) with its JSON `input`.
    pub async fn execute_api(
        &self,
        api: crate::router::Api,
        action: &str,
        input: &[u8],
    ) -> Result<Vec<u8>, Fault> {
        match api {
            crate::router::Api::Swf => self.execute(action, input).await,
            crate::router::Api::Sfn => self.execute_sfn(action, input).await,
        }
    }

    /// Runs `action` with its (model-validated) JSON `input`; returns the JSON output.
    pub async fn execute(&self, action: &str, input: &[u8]) -> Result<Vec<u8>, Fault> {
        // Only the model's actions, dispatched by an exhaustive match: an action added to the model
        // does not compile until it is handled here.
        let Some(a) = SwfAction::from_name(action) else {
            return Err(Fault::unknown_operation(action));
        };
        // Validated here, where the call is executed, whatever path it came by (the HTTP gateway of
        // any node, or the internal gRPC `Execute`): lengths, patterns, enums and required members of
        // the model, and the request size.
        let size = input.len();
        let body = swf_types::model::parse_request(action, input)?;
        // Authorised here too, before anything is proposed (nothing when auth is off).
        let not_permitted = crate::authorize::swf(&self.reader, action, &body)?;
        // Each path boxed on its own: an async fn's future is as large as its largest arm, and a long
        // poll holds its future for up to a minute, so 10,000 idle polls would each pin the size of
        // the largest action's state (measured 6.6 KB) instead of the poll's.
        match a {
            // The parsed request (a JSON tree, ~1 KB of small allocations) is dropped before the
            // poll waits: the typed input is all it needs.
            SwfAction::PollForDecisionTask => {
                let input = parse(&body)?;
                drop(body);
                crate::boxed_sized!("PollForDecisionTask", self.poll_for_decision_task(input)).await
            }
            SwfAction::PollForActivityTask => {
                let input = parse(&body)?;
                drop(body);
                crate::boxed_sized!("PollForActivityTask", self.poll_for_activity_task(input)).await
            }
            _ => Box::pin(self.execute_call(a, size, &body, not_permitted)).await,
        }
    }

    /// Runs an action that is not a long poll (see [`Executor::execute`]).
    async fn execute_call(
        &self,
        a: SwfAction,
        size: usize,
        input: &Value,
        not_permitted: Vec<u32>,
    ) -> Result<Vec<u8>, Fault> {
        let action = a.name();
        match a {
            SwfAction::RegisterDomain => self
                .write(size, Op::RegisterDomain(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::RegisterWorkflowType => self
                .write(size, Op::RegisterWorkflowType(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::RegisterActivityType => self
                .write(size, Op::RegisterActivityType(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::StartWorkflowExecution => {
                let op = Op::StartWorkflowExecution {
                    input: parse(input)?,
                    run_id: new_run_id(),
                };
                match self.write(size, op).await? {
                    Reply::Started { run_id } => json(&Run {
                        run_id: Some(run_id),
                    }),
                    other => Err(Fault::internal(format!("unexpected reply {other:?}"))),
                }
            }
            SwfAction::RespondDecisionTaskCompleted => {
                let input = parse(input)?;
                let op = if not_permitted.is_empty() {
                    Op::RespondDecisionTaskCompleted(input)
                } else {
                    Op::RespondDecisionTaskCompletedChecked {
                        input,
                        not_permitted,
                    }
                };
                self.write(size, op).await.map(|_| empty())
            }
            SwfAction::RespondActivityTaskCompleted => self
                .write(size, Op::RespondActivityTaskCompleted(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::RespondActivityTaskFailed => self
                .write(size, Op::RespondActivityTaskFailed(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::RespondActivityTaskCanceled => self
                .write(size, Op::RespondActivityTaskCanceled(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::RecordActivityTaskHeartbeat => match self
                .write(size, Op::RecordActivityTaskHeartbeat(parse(input)?))
                .await?
            {
                Reply::Heartbeat { cancel_requested } => {
                    json(&ActivityTaskStatus { cancel_requested })
                }
                other => Err(Fault::internal(format!("unexpected reply {other:?}"))),
            },
            SwfAction::DescribeDomain => {
                let i: DescribeDomainInput = parse(input)?;
                json(&query::describe_domain(
                    self.read_barrier().await?,
                    &i.name,
                )?)
            }
            SwfAction::ListDomains => json(&query::list_domains(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::DescribeWorkflowType => {
                let i: DescribeWorkflowTypeInput = parse(input)?;
                json(&query::describe_workflow_type(
                    self.read_barrier().await?,
                    &i.domain,
                    &i.workflow_type,
                )?)
            }
            SwfAction::DescribeActivityType => {
                let i: DescribeActivityTypeInput = parse(input)?;
                json(&query::describe_activity_type(
                    self.read_barrier().await?,
                    &i.domain,
                    &i.activity_type,
                )?)
            }
            SwfAction::ListWorkflowTypes => json(&query::list_workflow_types(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::ListActivityTypes => json(&query::list_activity_types(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::GetWorkflowExecutionHistory => json(&query::get_history(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::DescribeWorkflowExecution => {
                let i: DescribeWorkflowExecutionInput = parse(input)?;
                json(&query::describe_execution(
                    self.read_barrier().await?,
                    &i.domain,
                    &i.execution,
                )?)
            }
            SwfAction::DeprecateDomain => {
                let i: DeprecateDomainInput = parse(input)?;
                self.write(
                    size,
                    Op::ChangeDomain {
                        name: i.name,
                        action: DomainAction::Deprecate,
                    },
                )
                .await
                .map(|_| empty())
            }
            SwfAction::UndeprecateDomain => {
                let i: UndeprecateDomainInput = parse(input)?;
                self.write(
                    size,
                    Op::ChangeDomain {
                        name: i.name,
                        action: DomainAction::Undeprecate,
                    },
                )
                .await
                .map(|_| empty())
            }
            SwfAction::DeprecateWorkflowType
            | SwfAction::UndeprecateWorkflowType
            | SwfAction::DeleteWorkflowType => {
                let i: DeprecateWorkflowTypeInput = parse(input)?;
                let op = Op::ChangeWorkflowType {
                    domain: i.domain,
                    workflow_type: *i.workflow_type,
                    action: type_action(action),
                };
                self.write(size, op).await.map(|_| empty())
            }
            SwfAction::DeprecateActivityType
            | SwfAction::UndeprecateActivityType
            | SwfAction::DeleteActivityType => {
                let i: DeprecateActivityTypeInput = parse(input)?;
                let op = Op::ChangeActivityType {
                    domain: i.domain,
                    activity_type: *i.activity_type,
                    action: type_action(action),
                };
                self.write(size, op).await.map(|_| empty())
            }
            SwfAction::SignalWorkflowExecution => self
                .write(size, Op::SignalWorkflowExecution(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::RequestCancelWorkflowExecution => self
                .write(size, Op::RequestCancelWorkflowExecution(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::TerminateWorkflowExecution => self
                .write(size, Op::TerminateWorkflowExecution(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::TagResource => self
                .write(size, Op::TagResource(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::UntagResource => self
                .write(size, Op::UntagResource(parse(input)?))
                .await
                .map(|_| empty()),
            SwfAction::ListTagsForResource => {
                let i: ListTagsForResourceInput = parse(input)?;
                json(&query::list_tags(
                    self.read_barrier().await?,
                    &i.resource_arn,
                    &self.limits,
                )?)
            }
            SwfAction::CountPendingDecisionTasks | SwfAction::CountPendingActivityTasks => {
                let i: CountPendingDecisionTasksInput = parse(input)?;
                let kind = if action == "CountPendingDecisionTasks" {
                    TaskKind::Decision
                } else {
                    TaskKind::Activity
                };
                json(&query::count_pending(
                    self.read_barrier().await?,
                    &i.domain,
                    kind,
                    &i.task_list.name,
                )?)
            }
            SwfAction::ListOpenWorkflowExecutions => json(&visibility::list_open(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::ListClosedWorkflowExecutions => json(&visibility::list_closed(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::CountOpenWorkflowExecutions => json(&visibility::count_open(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::CountClosedWorkflowExecutions => json(&visibility::count_closed(
                self.read_barrier().await?,
                &parse(input)?,
            )?),
            SwfAction::PollForDecisionTask | SwfAction::PollForActivityTask => Err(
                Fault::internal("a long poll is dispatched by Executor::execute"),
            ),
        }
    }

    /// Waits (up to the long-poll time) for a queued task on a list and starts it with the command
    /// `start` makes for it; returns the started task's reply, or `None` (answer empty).
    ///
    /// Dropping the returned future (the client went away) withdraws the poll: its registration goes
    /// with it, a start not yet proposed is never proposed, and a start in flight is handed to another
    /// poller of the list when it commits (see `matcher`).
    async fn poll(
        &self,
        domain: &str,
        kind: TaskKind,
        task_list: &str,
        identity: Option<&str>,
        start: impl Fn(&swf_core::state::QueuedTask) -> Op,
    ) -> Result<Option<Reply>, Fault> {
        // No read barrier on the common path: what a poll hands out is settled by its own Raft write
        // (StartDecisionTask / StartActivityTask), which fails on a deposed leader or a task already
        // taken, and a registered domain never disappears from applied state. Only an unknown domain
        // waits for the barrier (a new leader may not have applied its registration yet) before the
        // fault. This saves a quorum round trip per poll in a cluster.
        let known = |reader: &StateReader| {
            reader
                .domain(domain)
                .map(|d| d.is_some())
                .map_err(|e| Fault::internal(e.to_string()))
        };
        if !known(&self.reader)? && !known(self.read_barrier().await?)? {
            return Err(Fault::unknown_resource(format!("Unknown domain: {domain}")));
        }
        let list = (domain.to_string(), kind, task_list.to_string());
        self.matcher.polled(&list, identity);
        self.poll_list(list, start).await
    }

    /// Waits (up to the long-poll time) for a queued task of `list` and starts it with the command
    /// `start` makes for it (see [`Executor::poll`]; the list's owner is known to exist).
    async fn poll_list(
        &self,
        list: ListKey,
        start: impl Fn(&swf_core::state::QueuedTask) -> Op,
    ) -> Result<Option<Reply>, Fault> {
        // Tasks are handed signed tokens: a cluster without a keyring gets one first. Boxed, and only
        // until the keyring is known: a held poll does not carry the write's state.
        if !self
            .token_key_ready
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            Box::pin(self.ensure_token_key()).await?;
        }
        let guard = self.matcher.register(list.clone())?;
        let began = tokio::time::Instant::now();
        let mut waited = Duration::ZERO;
        let result = self
            .poll_registered(&list, &guard, &start, &mut waited)
            .await;
        let outcome = match &result {
            Ok(Some(_)) => "task",
            Ok(None) => "empty",
            Err(_) => "fault",
        };
        crate::metrics::METRICS
            .poll_wait
            .with_label_values(&[crate::metrics::kind_label(list.1), outcome])
            .observe(began.elapsed().as_secs_f64());
        if let Some(times) = crate::call_timing::current() {
            times.add_poll_wait(waited);
        }
        result
    }

    /// `poll_list` once registered; `waited` sums the time spent waiting for a task to be queued.
    async fn poll_registered(
        &self,
        list: &ListKey,
        guard: &crate::matcher::PollerGuard,
        start: &impl Fn(&swf_core::state::QueuedTask) -> Op,
        waited: &mut Duration,
    ) -> Result<Option<Reply>, Fault> {
        let (domain, kind, task_list) = (list.0.as_str(), list.1, list.2.as_str());
        let deadline = tokio::time::Instant::now() + self.long_poll;
        loop {
            let notified = guard.waiters.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.matcher.is_closed() {
                return Ok(None);
            }
            // A task started for a poller that left meanwhile comes first: it is started already.
            if let Some(reply) = guard.take_handoff() {
                return Ok(Some(reply));
            }
            let queued = self
                .reader
                .queued_tasks(domain, kind, task_list, 64)
                .map_err(|e| Fault::internal(e.to_string()))?;
            for task in queued {
                let Some(claim) = self.matcher.claim(&task) else {
                    continue;
                };
                let busy = guard.busy();
                // Boxed: the start's state (a Raft write) is not part of the waiting poll's future.
                let started = Box::pin(self.start_task(list, start(&task), claim)).await;
                drop(busy);
                match started {
                    Ok(reply) => return Ok(Some(reply)),
                    // Taken or gone meanwhile: try the next one.
                    Err(f) if f.kind == swf_types::FaultKind::UnknownResource => continue,
                    // Not the leader any more: answer empty, the client polls again.
                    Err(f) if f.kind == swf_types::FaultKind::ServiceUnavailable => {
                        return Ok(None)
                    }
                    Err(f) => return Err(f),
                }
            }
            let wait_began = tokio::time::Instant::now();
            let timed_out = tokio::select! {
                _ = &mut notified => false,
                _ = tokio::time::sleep_until(deadline) => true,
            };
            *waited += wait_began.elapsed();
            if timed_out {
                return Ok(None);
            }
        }
    }

    /// Starts a claimed task for a waiting poll: a dry run, then a proposal that is dropped if the
    /// poll is gone by the time it would be proposed. If the poll goes while the start is in flight,
    /// the started task is handed to another poller of `list` (or, with none waiting, left to its
    /// timeout). The claim is held until the proposal is done with.
    async fn start_task(&self, list: &ListKey, op: Op, claim: ClaimGuard) -> Result<Reply, Fault> {
        let cmd = Command {
            now: self.clock.estimate(),
            op,
            fresh_ids: Vec::new(),
            // Task starts are not client writes: the state machine starts a task once anyway.
            request_id: None,
        };
        let dry = swf_core::apply(&self.reader, 0, &cmd, &self.limits)
            .map_err(|e| Fault::internal(e.to_string()))?;
        dry.outcome?;
        let matcher = self.matcher.clone();
        let list = list.clone();
        let orphan = Box::new(move |outcome: swf_core::Outcome| {
            let _claim = claim;
            if let Ok(reply) = outcome {
                if matcher.hand_over(&list, reply) {
                    tracing::debug!(task_list = %list.2, "a poller left during its task start: handed over");
                } else {
                    tracing::info!(task_list = %list.2, "a poller left during its task start and none waits: its timeout will recover the task");
                }
            }
        });
        let answer = self.proposer.propose_unless_gone(cmd, 0, orphan)?;
        answer
            .await
            .map_err(|_| Fault::unavailable("The node is shutting down"))??
    }

    async fn poll_for_decision_task(
        &self,
        input: PollForDecisionTaskInput,
    ) -> Result<Vec<u8>, Fault> {
        if let Some(token) = &input.next_page_token {
            return self.decision_page(&input.domain, token, input.maximum_page_size);
        }
        let task_list = input.task_list.name.clone();
        let identity = input.identity.clone();
        let task = self
            .poll(
                &input.domain,
                TaskKind::Decision,
                &task_list,
                identity.as_deref(),
                |q| Op::StartDecisionTask {
                    run_id: q.run_id.clone(),
                    scheduled_event_id: q.scheduled_event_id,
                    identity: identity.clone(),
                },
            )
            .await?;
        let Some(Reply::DecisionTaskStarted {
            task_token,
            started_event_id,
            previous_started_event_id,
            workflow_execution,
            workflow_type,
        }) = task
        else {
            return Ok(br#"{"previousStartedEventId":0,"startedEventId":0}"#.to_vec());
        };
        let reverse = input.reverse_order.unwrap_or(false);
        let mut cursor = HistoryCursor {
            run_id: workflow_execution.run_id.clone(),
            next: if reverse { started_event_id } else { 1 },
            last: Some(started_event_id),
            reverse,
        };
        if input.start_at_previous_started_event == Some(true)
            && !reverse
            && previous_started_event_id > 0
        {
            cursor.next = previous_started_event_id;
        }
        self.decision_response(
            &input.domain,
            workflow_execution,
            workflow_type,
            cursor,
            task_token,
            previous_started_event_id,
            input.maximum_page_size,
        )
    }

    /// The next page of a decision task's history. The page token is signed and bound to this call
    /// and the domain it was issued in (`swf_core::page_token`), so a token of another domain's run,
    /// or one made up, is refused.
    fn decision_page(
        &self,
        domain: &str,
        token: &str,
        size: Option<i32>,
    ) -> Result<Vec<u8>, Fault> {
        let page: DecisionPage =
            query::decode_page_token(&self.reader, DECISION_PAGE_CALL, domain, token)?;
        let rec = self
            .reader
            .execution(&page.c.run_id)
            .map_err(|e| Fault::internal(e.to_string()))?
            .filter(|rec| rec.domain == domain)
            .ok_or_else(query::bad_page_token)?;
        let execution = WorkflowExecution {
            workflow_id: rec.workflow_id.clone(),
            run_id: rec.run_id.clone(),
        };
        self.decision_response(
            domain,
            execution,
            rec.workflow_type,
            page.c,
            page.t,
            page.p,
            size,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn decision_response(
        &self,
        domain: &str,
        workflow_execution: WorkflowExecution,
        workflow_type: WorkflowType,
        cursor: HistoryCursor,
        task_token: String,
        previous: i64,
        size: Option<i32>,
    ) -> Result<Vec<u8>, Fault> {
        let started = cursor.last.unwrap_or(0);
        let (events, next) = query::history_page(&self.reader, &cursor, size)?;
        let next_page_token = next
            .map(|c| {
                let page = DecisionPage {
                    c,
                    t: task_token.clone(),
                    p: previous,
                };
                query::encode_page_token(&self.reader, DECISION_PAGE_CALL, domain, &page)
            })
            .transpose()?;
        json(&DecisionTask {
            task_token,
            started_event_id: started,
            workflow_execution: Box::new(workflow_execution),
            workflow_type: Box::new(workflow_type),
            events,
            next_page_token,
            previous_started_event_id: Some(previous),
        })
    }

    async fn poll_for_activity_task(
        &self,
        input: PollForActivityTaskInput,
    ) -> Result<Vec<u8>, Fault> {
        let identity = input.identity.clone();
        let task = self
            .poll(
                &input.domain,
                TaskKind::Activity,
                &input.task_list.name,
                identity.as_deref(),
                |q| Op::StartActivityTask {
                    run_id: q.run_id.clone(),
                    scheduled_event_id: q.scheduled_event_id,
                    identity: identity.clone(),
                },
            )
            .await?;
        let Some(Reply::ActivityTaskStarted {
            task_token,
            started_event_id,
            activity_id,
            input,
            workflow_execution,
            activity_type,
        }) = task
        else {
            return Ok(br#"{"startedEventId":0}"#.to_vec());
        };
        json(&ActivityTask {
            task_token,
            activity_id,
            started_event_id,
            workflow_execution: Box::new(workflow_execution),
            activity_type: Box::new(activity_type),
            input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_is_44_characters_of_base64_with_the_time_in_front() {
        let ms = 1_796_063_875_123u64;
        let a = run_id_at(ms);
        let b = run_id_at(ms);
        assert_eq!(a.len(), 44, "{a}");
        assert_ne!(a, b, "the random part makes ids unique");
        for id in [&a, &b] {
            let bytes = STANDARD.decode(id).unwrap();
            assert_eq!(bytes.len(), 32);
            let mut time = [0u8; 8];
            time[2..].copy_from_slice(&bytes[..6]);
            assert_eq!(u64::from_be_bytes(time), ms);
        }
        // Runs started in the same stretch of time share their first characters, so their keys sit
        // together in RocksDB (the first 6 bytes are 8 base64 characters; a few ms apart, 6 match).
        let c = run_id_at(ms + 3);
        assert_eq!(a[..6], c[..6]);
        assert!(new_run_id().len() == 44);
    }
}
