//! Authorisation on the leader, before anything is proposed: the caller that travelled with the call
//! (`request::current_caller`, absent when auth is off) is asked the call's question
//! (`swf_auth::swf_context`, `sfn_context`: action, resource ARN, condition keys with the registered
//! defaults read from the leader's applied state). A refused call is answered AccessDeniedException
//! and never proposed. For RespondDecisionTaskCompleted each decision is asked as SWF's
//! pseudo-action, and the indexes of the refused ones go into the command
//! (`Op::RespondDecisionTaskCompletedChecked`), so apply records their `OPERATION_NOT_PERMITTED`
//! failures deterministically on every replica.

use serde_json::Value;
use swf_auth::swf_context::{self, SwfState, TokenRun};
use swf_auth::{sfn_context, Caller};
use swf_core::state::Lookup;
use swf_core::token::TaskToken;
use swf_store::StateReader;
use swf_types::shapes::{ActivityType, WorkflowType};
use swf_types::Fault;

/// The leader's applied state, as the question of a call needs it.
struct State<'a>(&'a StateReader);

impl SwfState for State<'_> {
    fn token_run(&self, token: &str) -> Option<TokenRun> {
        // Signed tokens (under the replicated keyring) and the unsigned ones of earlier releases.
        let ring = swf_core::keyring::Keyring::load(self.0).ok()?;
        let t = TaskToken::check(token, ring.as_ref())?.token().clone();
        let rec = self.0.execution(&t.run_id).ok()??;
        Some(TokenRun {
            domain: rec.domain,
            workflow_name: rec.workflow_type.name,
            workflow_version: rec.workflow_type.version,
            task_list: rec.config.task_list,
        })
    }

    fn workflow_default_task_list(
        &self,
        domain: &str,
        name: &str,
        version: &str,
    ) -> Option<String> {
        let t = WorkflowType {
            name: name.to_string(),
            version: version.to_string(),
        };
        let d = self.0.workflow_type(domain, &t).ok()??;
        d.configuration.default_task_list.map(|t| t.name)
    }

    fn activity_default_task_list(
        &self,
        domain: &str,
        name: &str,
        version: &str,
    ) -> Option<String> {
        let t = ActivityType {
            name: name.to_string(),
            version: version.to_string(),
        };
        let d = self.0.activity_type(domain, &t).ok()??;
        d.configuration.default_task_list.map(|t| t.name)
    }
}

/// Authorises an SWF call; for RespondDecisionTaskCompleted, the indexes of the decisions the caller
/// may not make (empty for every other call, and when auth is off).
pub(crate) fn swf(reader: &StateReader, action: &str, body: &Value) -> Result<Vec<u32>, Fault> {
    let Some(caller) = crate::request::current_caller() else {
        return Ok(Vec::new());
    };
    let state = State(reader);
    let Some(q) = swf_context::question(action, body, &caller, &state) else {
        return Ok(Vec::new());
    };
    q.ask(&caller).map_err(|e| e.fault())?;
    if action != "RespondDecisionTaskCompleted" {
        return Ok(Vec::new());
    }
    Ok(refused_decisions(&caller, body, &state))
}

fn refused_decisions(caller: &Caller, body: &Value, state: &State<'_>) -> Vec<u32> {
    let Some(Value::Array(list)) = body.get("decisions") else {
        return Vec::new();
    };
    let token = body.get("taskToken").and_then(Value::as_str).unwrap_or("");
    let Some(run) = state.token_run(token) else {
        return Vec::new();
    };
    swf_context::decisions(list, &run, caller, state)
        .iter()
        .enumerate()
        .filter(|(_, q)| q.as_ref().is_some_and(|q| !q.allowed(caller)))
        .map(|(i, _)| i as u32)
        .collect()
}

/// Authorises a Step Functions call.
pub(crate) fn sfn(action: &str, body: &Value) -> Result<(), Fault> {
    let Some(caller) = crate::request::current_caller() else {
        return Ok(());
    };
    sfn_context::question(action, body, &caller)
        .ask(&caller)
        .map_err(|e| e.fault())
}
