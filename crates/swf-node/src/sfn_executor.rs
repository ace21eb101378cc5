//! The leader's Step Functions actions (`AWSStepFunctions.<Action>`), a child module of the executor:
//! each call is validated against the Step Functions model where it is executed, writes go through
//! the same group commit and de-duplication as SWF's (`Op::Sfn`, leader-stamped time,
//! execution names and randomness seeds), reads run after the linearizable read barrier, and
//! GetActivityTask waits in the same task matcher as SWF's polls, on the activity's own list.

use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use swf_core::sfn::command::*;
use swf_core::sfn::{query, SfnOp, TASKS_DOMAIN};
use swf_core::state::TaskKind;
use swf_core::{Op, Reply};
use swf_types::actions::SfnAction;
use swf_types::{Fault, FaultKind};

use super::{json, parse, Executor};

/// A random version-4 UUID (lower-case, hyphenated): the default execution name.
fn new_uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmPage {
    state_machine_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListExecutionsIn {
    state_machine_arn: Option<String>,
    status_filter: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    map_run_arn: Option<String>,
    redrive_filter: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MapRunIn {
    map_run_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMapRunsIn {
    execution_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryIn {
    execution_arn: String,
    max_results: Option<i64>,
    reverse_order: Option<bool>,
    next_token: Option<String>,
    include_execution_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetActivityTaskIn {
    activity_arn: String,
    worker_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateIn {
    definition: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceIn {
    resource_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestStateIn {
    definition: String,
    state_name: Option<String>,
    input: Option<String>,
    inspection_level: Option<String>,
    context: Option<String>,
    variables: Option<String>,
    mock: Option<MockIn>,
    state_configuration: Option<StateConfigurationIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MockIn {
    result: Option<String>,
    error_output: Option<MockErrorIn>,
}

#[derive(Deserialize)]
struct MockErrorIn {
    error: Option<String>,
    cause: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateConfigurationIn {
    retrier_retry_count: Option<u32>,
}

/// TestState: one state run against an input, nothing written (`sfn_lang::test_state`). The time
/// and the random seed are this node's: nothing replicated depends on them.
fn test_state(i: TestStateIn) -> Result<Value, Fault> {
    use sfn_lang::test_state::{Level, Mock, Refusal, Request};
    let level = match i.inspection_level.as_deref() {
        Some("DEBUG") => Level::Debug,
        Some("TRACE") => Level::Trace,
        _ => Level::Info,
    };
    let mock = match i.mock {
        None => None,
        Some(MockIn {
            result: Some(r),
            error_output: None,
        }) => Some(Mock::Result(r)),
        Some(MockIn {
            result: None,
            error_output: Some(e),
        }) => Some(Mock::Error {
            error: e.error.unwrap_or_default(),
            cause: e.cause.unwrap_or_default(),
        }),
        Some(_) => {
            return Err(Fault::validation(
                "A mock must have exactly one of result and errorOutput",
            ))
        }
    };
    let req = Request {
        definition: &i.definition,
        state_name: i.state_name.as_deref(),
        input: i.input.as_deref(),
        level,
        mock,
        context: i.context.as_deref(),
        retrier_retry_count: i
            .state_configuration
            .and_then(|c| c.retrier_retry_count)
            .unwrap_or(0),
        now_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        variables: i.variables.as_deref(),
    };
    let mut entropy = sfn_lang::Entropy::new(rand::thread_rng().next_u64());
    sfn_lang::test_state::test_state(&req, &mut entropy).map_err(|r| match r {
        Refusal::InvalidDefinition(m) => Fault {
            kind: FaultKind::InvalidDefinition,
            message: m,
        },
        Refusal::InvalidExecutionInput(m) => Fault {
            kind: FaultKind::InvalidExecutionInput,
            message: m,
        },
        Refusal::Validation(m) => Fault::validation(m),
    })
}

impl Executor {
    /// Proposes a Step Functions command and returns the action's JSON output.
    async fn write_sfn(&self, size: usize, op: SfnOp) -> Result<Vec<u8>, Fault> {
        match self.write(size, Op::Sfn(op)).await? {
            Reply::Sfn(v) => json(&v),
            other => Err(Fault::internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// Runs one Step Functions action with its JSON `input`.
    pub(crate) async fn execute_sfn(&self, action: &str, input: &[u8]) -> Result<Vec<u8>, Fault> {
        // Only the model's actions, dispatched by an exhaustive match (a new action must be handled).
        let Some(a) = SfnAction::from_name(action) else {
            return Err(Fault::unknown_operation(action));
        };
        let n = input.len();
        let body =
            swf_types::model::parse_request_in(swf_types::model::sfn_model(), action, input)?;
        crate::authorize::sfn(action, &body)?;
        // Boxed apart, as in `Executor::execute`: a held GetActivityTask keeps only its own state.
        match a {
            SfnAction::GetActivityTask => {
                let input = parse(&body)?;
                drop(body);
                crate::boxed_sized!("GetActivityTask", self.get_activity_task(input)).await
            }
            _ => Box::pin(self.execute_sfn_call(a, n, &body)).await,
        }
    }

    /// Runs a Step Functions action that is not a long poll.
    async fn execute_sfn_call(
        &self,
        a: SfnAction,
        n: usize,
        input: &Value,
    ) -> Result<Vec<u8>, Fault> {
        let l = &self.limits;
        match a {
            SfnAction::CreateActivity => {
                self.write_sfn(n, SfnOp::CreateActivity(parse(input)?))
                    .await
            }
            SfnAction::DeleteActivity => {
                self.write_sfn(n, SfnOp::DeleteActivity(parse(input)?))
                    .await
            }
            SfnAction::CreateStateMachine => {
                self.write_sfn(n, SfnOp::CreateStateMachine(parse(input)?))
                    .await
            }
            SfnAction::UpdateStateMachine => {
                let mut i: UpdateStateMachineInput = parse(input)?;
                // The id of the revision this update may make (whatever the caller sent).
                i.stamped_revision_id = Some(new_uuid());
                self.write_sfn(n, SfnOp::UpdateStateMachine(i)).await
            }
            SfnAction::PublishStateMachineVersion => {
                self.write_sfn(n, SfnOp::PublishStateMachineVersion(parse(input)?))
                    .await
            }
            SfnAction::DeleteStateMachineVersion => {
                self.write_sfn(n, SfnOp::DeleteStateMachineVersion(parse(input)?))
                    .await
            }
            SfnAction::CreateStateMachineAlias => {
                self.write_sfn(n, SfnOp::CreateStateMachineAlias(parse(input)?))
                    .await
            }
            SfnAction::UpdateStateMachineAlias => {
                self.write_sfn(n, SfnOp::UpdateStateMachineAlias(parse(input)?))
                    .await
            }
            SfnAction::DeleteStateMachineAlias => {
                self.write_sfn(n, SfnOp::DeleteStateMachineAlias(parse(input)?))
                    .await
            }
            SfnAction::DescribeStateMachineAlias => {
                let i: AliasArnInput = parse(input)?;
                json(&query::describe_state_machine_alias(
                    self.read_barrier().await?,
                    l,
                    &i.state_machine_alias_arn,
                )?)
            }
            SfnAction::ListStateMachineVersions => {
                let i: SmPage = parse(input)?;
                json(&query::list_state_machine_versions(
                    self.read_barrier().await?,
                    l,
                    &i.state_machine_arn,
                    i.max_results,
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::ListStateMachineAliases => {
                let i: SmPage = parse(input)?;
                json(&query::list_state_machine_aliases(
                    self.read_barrier().await?,
                    l,
                    &i.state_machine_arn,
                    i.max_results,
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::DeleteStateMachine => {
                self.write_sfn(n, SfnOp::DeleteStateMachine(parse(input)?))
                    .await
            }
            SfnAction::StartExecution => {
                let op = SfnOp::StartExecution {
                    input: parse(input)?,
                    default_name: new_uuid(),
                    seed: rand::thread_rng().next_u64(),
                };
                self.write_sfn(n, op).await
            }
            SfnAction::StartSyncExecution => {
                // The start only: the node that took the call waits for the close
                // (`crate::express`).
                let op = SfnOp::StartSyncExecution {
                    input: parse(input)?,
                    default_name: new_uuid(),
                    seed: rand::thread_rng().next_u64(),
                };
                self.write_sfn(n, op).await
            }
            SfnAction::StopExecution => {
                self.write_sfn(n, SfnOp::StopExecution(parse(input)?)).await
            }
            SfnAction::SendTaskSuccess => {
                self.write_sfn(n, SfnOp::SendTaskSuccess(parse(input)?))
                    .await
            }
            SfnAction::SendTaskFailure => {
                self.write_sfn(n, SfnOp::SendTaskFailure(parse(input)?))
                    .await
            }
            SfnAction::SendTaskHeartbeat => {
                self.write_sfn(n, SfnOp::SendTaskHeartbeat(parse(input)?))
                    .await
            }
            SfnAction::TagResource => self.write_sfn(n, SfnOp::TagResource(parse(input)?)).await,
            SfnAction::UntagResource => {
                self.write_sfn(n, SfnOp::UntagResource(parse(input)?)).await
            }
            SfnAction::DescribeActivity => {
                let i: ArnInput = parse(input)?;
                json(&query::describe_activity(
                    self.read_barrier().await?,
                    l,
                    &i.arn,
                )?)
            }
            SfnAction::ListActivities => {
                let i: Page = parse(input)?;
                json(&query::list_activities(
                    self.read_barrier().await?,
                    i.max_results,
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::DescribeStateMachine => {
                let i: ArnInput = parse(input)?;
                json(&query::describe_state_machine(
                    self.read_barrier().await?,
                    l,
                    &i.arn,
                )?)
            }
            SfnAction::ListStateMachines => {
                let i: Page = parse(input)?;
                json(&query::list_state_machines(
                    self.read_barrier().await?,
                    i.max_results,
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::DescribeExecution => {
                let i: ArnInput = parse(input)?;
                // The redrive window is judged at the cluster time (`redriveStatus`).
                json(&query::describe_execution_at(
                    self.read_barrier().await?,
                    l,
                    &i.arn,
                    Some(self.clock().estimate().0),
                )?)
            }
            SfnAction::DescribeStateMachineForExecution => {
                let i: ArnInput = parse(input)?;
                json(&query::describe_state_machine_for_execution(
                    self.read_barrier().await?,
                    l,
                    &i.arn,
                )?)
            }
            SfnAction::ListExecutions => {
                let i: ListExecutionsIn = parse(input)?;
                // A Map Run ARN lists the run's children (`query::list_executions`).
                let sm = match (i.state_machine_arn, i.map_run_arn) {
                    (Some(_), Some(_)) => {
                        return Err(Fault::validation(
                            "Only one of stateMachineArn and mapRunArn may be specified",
                        ))
                    }
                    (Some(sm), None) | (None, Some(sm)) => sm,
                    (None, None) => {
                        return Err(Fault::validation(
                            "Must specify either stateMachineArn or mapRunArn",
                        ))
                    }
                };
                // PENDING_REDRIVE is a Map Run's child status: with a state machine ARN the model
                // says the call is a validation error.
                if i.status_filter.as_deref() == Some("PENDING_REDRIVE") {
                    return Err(Fault::validation(
                        "statusFilter PENDING_REDRIVE requires a mapRunArn",
                    ));
                }
                json(&query::list_executions_filtered(
                    self.read_barrier().await?,
                    l,
                    &sm,
                    i.status_filter.as_deref(),
                    i.redrive_filter.as_deref(),
                    i.max_results,
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::GetExecutionHistory => {
                let i: HistoryIn = parse(input)?;
                json(&query::get_execution_history(
                    self.read_barrier().await?,
                    l,
                    &i.execution_arn,
                    i.max_results,
                    i.reverse_order.unwrap_or(false),
                    i.include_execution_data.unwrap_or(true),
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::ListTagsForResource => {
                let i: ResourceIn = parse(input)?;
                json(&query::list_tags(
                    self.read_barrier().await?,
                    l,
                    &i.resource_arn,
                )?)
            }
            SfnAction::ValidateStateMachineDefinition => {
                let i: ValidateIn = parse(input)?;
                let mut diagnostics = Vec::new();
                if i.kind.as_deref() == Some("EXPRESS") {
                    diagnostics = swf_core::sfn::express::diagnostics(&i.definition);
                }
                diagnostics.extend(sfn_lang::validate::validate(&i.definition));
                let failed = diagnostics
                    .iter()
                    .any(|d| d.severity == sfn_lang::validate::Severity::Error);
                json(&json!({
                    "result": if failed { "FAIL" } else { "OK" },
                    "diagnostics": diagnostics,
                    "truncated": false,
                }))
            }
            SfnAction::GetActivityTask => Err(Fault::internal(
                "a long poll is dispatched by Executor::execute_sfn",
            )),
            SfnAction::TestState => json(&test_state(parse(input)?)?),
            SfnAction::RedriveExecution => {
                self.write_sfn(n, SfnOp::RedriveExecution(parse(input)?))
                    .await
            }
            SfnAction::DescribeMapRun => {
                let i: MapRunIn = parse(input)?;
                json(&swf_core::sfn::map_runs::describe(
                    self.read_barrier().await?,
                    l,
                    &i.map_run_arn,
                )?)
            }
            SfnAction::ListMapRuns => {
                let i: ListMapRunsIn = parse(input)?;
                json(&swf_core::sfn::map_runs::list(
                    self.read_barrier().await?,
                    l,
                    &i.execution_arn,
                    i.max_results,
                    i.next_token.as_deref(),
                )?)
            }
            SfnAction::UpdateMapRun => self.write_sfn(n, SfnOp::UpdateMapRun(parse(input)?)).await,
        }
    }

    /// GetActivityTask: a long poll on the activity's task list; `{}` when none came in time.
    async fn get_activity_task(&self, i: GetActivityTaskIn) -> Result<Vec<u8>, Fault> {
        // An activity never known here is looked up again after the read barrier (a new leader may
        // not have applied its creation yet).
        if query::activity(&self.reader, &self.limits, &i.activity_arn).is_err() {
            query::activity(self.read_barrier().await?, &self.limits, &i.activity_arn)?;
        }
        let list = (
            TASKS_DOMAIN.to_string(),
            TaskKind::Activity,
            i.activity_arn.clone(),
        );
        let worker = i.worker_name.clone();
        self.matcher.polled(&list, worker.as_deref());
        let task = self
            .poll_list(list, |q| {
                Op::Sfn(SfnOp::StartTask {
                    execution_arn: q.run_id.clone(),
                    task_id: q.scheduled_event_id as u64,
                    worker_name: worker.clone(),
                })
            })
            .await
            .map_err(|f| match f.kind {
                // The model's description of the error (AWS's own text was not found).
                FaultKind::LimitExceeded => Fault {
                    kind: FaultKind::ActivityWorkerLimitExceeded,
                    message: "The maximum number of workers concurrently polling for activity tasks has been reached.".into(),
                },
                _ => f,
            })?;
        match task {
            Some(Reply::Sfn(v)) => json(&v),
            Some(other) => Err(Fault::internal(format!("unexpected reply {other:?}"))),
            None => json(&Value::Object(Default::default())),
        }
    }
}
