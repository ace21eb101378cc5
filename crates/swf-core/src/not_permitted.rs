//! A decision the decider's policies do not allow (SWF's decision pseudo-actions, checked by the
//! leader before it proposes, see `docs/security.md`): it is not carried out; its `...Failed` event
//! is recorded with cause `OPERATION_NOT_PERMITTED`, and the decider gets a new decision task, as for
//! any failed decision. The leader names the refused decisions by index in
//! `Op::RespondDecisionTaskCompletedChecked`, so apply decides nothing about policy itself and stays
//! a pure function of the command.

use swf_types::shapes::*;

use crate::ctx::Ctx;
use crate::execution::Exec;
use crate::state::Lookup;

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// Records decision `d` as not permitted; it needs a new decision task.
    pub(crate) fn not_permitted(&mut self, exec: &mut Exec, d: &Decision, completed: i64) -> bool {
        let now = self.now;
        let c = completed;
        match d.decision_type {
            DecisionType::ScheduleActivityTask => {
                let a = d.schedule_activity_task_decision_attributes.as_deref();
                exec.add_event(
                    now,
                    ScheduleActivityTaskFailedEventAttributes {
                        activity_type: a.map(|a| a.activity_type.clone()).unwrap_or_default(),
                        activity_id: a.map(|a| a.activity_id.clone()).unwrap_or_default(),
                        cause: ScheduleActivityTaskFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::RequestCancelActivityTask => {
                let a = d
                    .request_cancel_activity_task_decision_attributes
                    .as_deref();
                exec.add_event(
                    now,
                    RequestCancelActivityTaskFailedEventAttributes {
                        activity_id: a.map(|a| a.activity_id.clone()).unwrap_or_default(),
                        cause: RequestCancelActivityTaskFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::CompleteWorkflowExecution => {
                exec.add_event(
                    now,
                    CompleteWorkflowExecutionFailedEventAttributes {
                        cause: CompleteWorkflowExecutionFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::FailWorkflowExecution => {
                exec.add_event(
                    now,
                    FailWorkflowExecutionFailedEventAttributes {
                        cause: FailWorkflowExecutionFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::CancelWorkflowExecution => {
                exec.add_event(
                    now,
                    CancelWorkflowExecutionFailedEventAttributes {
                        cause: CancelWorkflowExecutionFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::ContinueAsNewWorkflowExecution => {
                exec.add_event(
                    now,
                    ContinueAsNewWorkflowExecutionFailedEventAttributes {
                        cause: ContinueAsNewWorkflowExecutionFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::RecordMarker => {
                let a = d.record_marker_decision_attributes.as_deref();
                exec.add_event(
                    now,
                    RecordMarkerFailedEventAttributes {
                        marker_name: a.map(|a| a.marker_name.clone()).unwrap_or_default(),
                        cause: RecordMarkerFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::StartTimer => {
                let a = d.start_timer_decision_attributes.as_deref();
                exec.add_event(
                    now,
                    StartTimerFailedEventAttributes {
                        timer_id: a.map(|a| a.timer_id.clone()).unwrap_or_default(),
                        cause: StartTimerFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::CancelTimer => {
                let a = d.cancel_timer_decision_attributes.as_deref();
                exec.add_event(
                    now,
                    CancelTimerFailedEventAttributes {
                        timer_id: a.map(|a| a.timer_id.clone()).unwrap_or_default(),
                        cause: CancelTimerFailedCause::OperationNotPermitted,
                        decision_task_completed_event_id: c,
                    },
                );
            }
            DecisionType::SignalExternalWorkflowExecution => {
                let a = d
                    .signal_external_workflow_execution_decision_attributes
                    .as_deref();
                exec.add_event(
                    now,
                    SignalExternalWorkflowExecutionFailedEventAttributes {
                        workflow_id: a.map(|a| a.workflow_id.clone()).unwrap_or_default(),
                        run_id: a.and_then(|a| a.run_id.clone()),
                        cause: SignalExternalWorkflowExecutionFailedCause::OperationNotPermitted,
                        initiated_event_id: 0,
                        decision_task_completed_event_id: c,
                        control: a.and_then(|a| a.control.clone()),
                    },
                );
            }
            DecisionType::RequestCancelExternalWorkflowExecution => {
                let a = d
                    .request_cancel_external_workflow_execution_decision_attributes
                    .as_deref();
                exec.add_event(
                    now,
                    RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                        workflow_id: a.map(|a| a.workflow_id.clone()).unwrap_or_default(),
                        run_id: a.and_then(|a| a.run_id.clone()),
                        cause:
                            RequestCancelExternalWorkflowExecutionFailedCause::OperationNotPermitted,
                        initiated_event_id: 0,
                        decision_task_completed_event_id: c,
                        control: a.and_then(|a| a.control.clone()),
                    },
                );
            }
            DecisionType::StartChildWorkflowExecution => {
                let a = d
                    .start_child_workflow_execution_decision_attributes
                    .as_deref();
                exec.add_event(
                    now,
                    StartChildWorkflowExecutionFailedEventAttributes {
                        workflow_type: a.map(|a| a.workflow_type.clone()).unwrap_or_default(),
                        cause: StartChildWorkflowExecutionFailedCause::OperationNotPermitted,
                        workflow_id: a.map(|a| a.workflow_id.clone()).unwrap_or_default(),
                        initiated_event_id: 0,
                        decision_task_completed_event_id: c,
                        control: a.and_then(|a| a.control.clone()),
                    },
                );
            }
            DecisionType::ScheduleLambdaFunction => {
                let a = d.schedule_lambda_function_decision_attributes.as_deref();
                exec.add_event(
                    now,
                    ScheduleLambdaFunctionFailedEventAttributes {
                        id: a.map(|a| a.id.clone()).unwrap_or_default(),
                        name: a.map(|a| a.name.clone()).unwrap_or_default(),
                        // Not a pseudo-action (SWF's cause list for it has no
                        // OPERATION_NOT_PERMITTED); never refused, so never here.
                        cause: ScheduleLambdaFunctionFailedCause::LambdaServiceNotAvailableInRegion,
                        decision_task_completed_event_id: c,
                    },
                );
            }
        }
        true
    }
}
