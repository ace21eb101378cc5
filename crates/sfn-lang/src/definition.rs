//! The typed model of a state machine definition (JSONPath states, and JSONata states whose expression
//! fields are kept in [`crate::jsonata::JsonataFields`]): the machine, its states
//! with all their fields, Retry and Catch. Built only by [`Definition::parse`], which validates first
//! (see `validate`), so a `Definition` in hand is one AWS would have accepted.

use crate::choice::Choice;
use crate::path::Path;
use crate::validate::{self, Diagnostic};
use crate::wait::WaitSpec;
use serde_json::Value;
use std::collections::BTreeMap;

/// A state machine, or a Parallel branch, or a Map's ItemProcessor (same shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub comment: Option<String>,
    pub start_at: String,
    /// By name; lookups only, so a BTreeMap (order never reaches an output).
    pub states: BTreeMap<String, State>,
    /// Top level only.
    pub timeout_seconds: Option<u64>,
    pub version: Option<String>,
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
    /// Choice, Succeed and Fail states carry no Next/End.
    None,
}

/// An InputPath / OutputPath / ResultPath field: absent (the default `$`), `null`, or a path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathField {
    Default,
    Null,
    Path(Path),
}

/// `JitterStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

/// One entry of `Retry`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    /// Default 1.
    pub interval_seconds: u64,
    /// Default 3; 0 means never retry.
    pub max_attempts: u64,
    /// Default 2.0.
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

/// One entry of `Catch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: PathField,
    /// Variables to set from the error output.
    pub assign: Option<Value>,
    /// JSONata: the handler's input (default: the error output).
    pub output: Option<Value>,
}

/// A Task state's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// An activity ARN (the only resource served on-prem).
    pub resource: String,
    /// `None`: AWS's default, 99,999,999 s (no practical limit); the engine arms no timeout.
    pub timeout_seconds: Option<u64>,
    pub timeout_seconds_path: Option<Path>,
    pub heartbeat_seconds: Option<u64>,
    pub heartbeat_seconds_path: Option<Path>,
}

/// A Fail state's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail {
    pub error: Option<String>,
    pub error_path: Option<String>,
    pub cause: Option<String>,
    pub cause_path: Option<String>,
}

/// A Map state's own fields (inline mode).
#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    pub items_path: Option<Path>,
    /// `ItemSelector`, or the older `Parameters` of a Map.
    pub item_selector: Option<Value>,
    /// `ItemProcessor`, or the older `Iterator`.
    pub processor: Box<Definition>,
    /// 0 = no limit.
    pub max_concurrency: u64,
    pub max_concurrency_path: Option<Path>,
    /// The Distributed Map fields, for `ProcessorConfig.Mode: DISTRIBUTED` (`None`: inline).
    pub distributed: Option<Box<crate::distributed::Distributed>>,
}

/// The state types.
#[derive(Debug, Clone, PartialEq)]
pub enum StateKind {
    Task(Task),
    Pass {
        result: Option<Value>,
    },
    Choice {
        choices: Vec<Choice>,
        default: Option<String>,
    },
    Wait(WaitSpec),
    Succeed,
    Fail(Fail),
    Parallel {
        branches: Vec<Definition>,
    },
    Map(MapState),
}

/// A state with the fields common to the types that have them (absent ones are defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub kind: StateKind,
    pub transition: Transition,
    pub input_path: PathField,
    pub output_path: PathField,
    pub result_path: PathField,
    /// The Parameters payload template (not a Map's, which is `MapState::item_selector`).
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// `Assign`: variables set when the state is done (see `variables`).
    pub assign: Option<Value>,
    /// Set for a state whose query language is JSONata: its expression fields (see `jsonata`).
    pub jsonata: Option<Box<crate::jsonata::JsonataFields>>,
}

impl State {
    /// The AWS type name (`Task`, `Pass`, ...), as history event types are prefixed.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            StateKind::Task(_) => "Task",
            StateKind::Pass { .. } => "Pass",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// A refused definition: the diagnostics, and the message AWS's CreateStateMachine gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", validate::invalid_definition_message(.diagnostics))]
pub struct InvalidDefinition {
    pub diagnostics: Vec<Diagnostic>,
}

impl Definition {
    /// Parses and validates a definition's JSON text. Warnings do not refuse it.
    pub fn parse(text: &str) -> Result<Definition, InvalidDefinition> {
        let (def, diagnostics) = validate::check(text);
        match def {
            Some(d)
                if !diagnostics
                    .iter()
                    .any(|d| d.severity == validate::Severity::Error) =>
            {
                Ok(d)
            }
            _ => Err(InvalidDefinition { diagnostics }),
        }
    }

    /// The state named `name`.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }
}
