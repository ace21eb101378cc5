//! StartWorkflowExecution: a new run of a registered, live workflow type, with its settings resolved
//! from the request and the type's defaults (`runs::resolve`).

use swf_types::shapes::*;
use swf_types::{parse_duration, Fault};

use crate::command::{Outcome, Reply};
use crate::ctx::{check_duration, check_priority, fault, Ctx};
use crate::runs::{resolve, NewRun, Requested};
use crate::state::*;

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    pub(crate) fn start_workflow_execution(
        &mut self,
        input: &StartWorkflowExecutionInput,
        run_id: &str,
    ) -> Result<Outcome, ReadError> {
        fault!(check_duration(
            "executionStartToCloseTimeout",
            &input.execution_start_to_close_timeout
        ));
        fault!(check_duration(
            "taskStartToCloseTimeout",
            &input.task_start_to_close_timeout
        ));
        fault!(check_priority("taskPriority", &input.task_priority));
        // A deprecated domain takes no new executions; the model's fault for that is UnknownResourceFault.
        fault!(self
            .live_domain(&input.domain)?
            .map_err(|f| Fault::unknown_resource(f.message)));
        let wt: &WorkflowType = &input.workflow_type;
        let Some(detail) = self.state.workflow_type(&input.domain, wt)? else {
            return Ok(Err(Fault::unknown_resource(format!(
                "Unknown type: WorkflowType=[name={}, version={}]",
                wt.name, wt.version
            ))));
        };
        if detail.type_info.status == RegistrationStatus::Deprecated {
            return Ok(Err(Fault::type_deprecated(format!(
                "WorkflowType is deprecated: [{}, {}]",
                wt.name, wt.version
            ))));
        }
        if self
            .state
            .open_run(&input.domain, &input.workflow_id)?
            .is_some()
        {
            return Ok(Err(Fault::already_started(format!(
                "Workflow execution already started: {}",
                input.workflow_id
            ))));
        }
        let requested = Requested {
            task_list: input.task_list.as_deref(),
            execution_timeout: input.execution_start_to_close_timeout.clone(),
            task_timeout: input.task_start_to_close_timeout.clone(),
            child_policy: input.child_policy,
            priority: input.task_priority.clone(),
            lambda_role: input.lambda_role.clone(),
        };
        let (config, priority_text) = match resolve(&detail.configuration, requested) {
            Ok(r) => r,
            Err(missing) => {
                return Ok(Err(Fault::default_undefined(format!(
                    "No default {} was registered for the workflow type and none was given",
                    missing.describe()
                ))))
            }
        };
        if parse_duration(&config.execution_start_to_close_timeout) == Ok(None) {
            return Ok(Err(Fault::validation(
                "executionStartToCloseTimeout may not be NONE",
            )));
        }
        let exec = self.new_run(NewRun {
            domain: input.domain.clone(),
            workflow_id: input.workflow_id.clone(),
            run_id: run_id.to_string(),
            workflow_type: wt.clone(),
            config,
            priority_text,
            tag_list: input.tag_list.clone(),
            input: input.input.clone(),
            parent: None,
            continued_from: None,
        });
        self.commit(exec)?;
        Ok(Ok(Reply::Started {
            run_id: run_id.to_string(),
        }))
    }
}
