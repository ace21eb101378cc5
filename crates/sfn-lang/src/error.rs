//! Runtime errors of the States Language, each carrying the AWS error name (`States.Runtime`, ...) and a
//! cause text worded like AWS's, so the engine can write them into `ExecutionFailed` / `...Failed`
//! events and match them against `Retry` / `Catch`.

/// An error raised while evaluating a state. `name()` is the AWS error name, `cause()` the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatesError {
    /// `States.Runtime`: a path that does not resolve, a value of the wrong type. Not caught by `States.ALL`.
    #[error("States.Runtime: {0}")]
    Runtime(String),
    /// `States.IntrinsicFailure`: an intrinsic function failed.
    #[error("States.IntrinsicFailure: {0}")]
    IntrinsicFailure(String),
    /// `States.ParameterPathFailure`: a `.$` field of a payload template could not be resolved.
    #[error("States.ParameterPathFailure: {0}")]
    ParameterPathFailure(String),
    /// `States.ResultPathMatchFailure`: ResultPath could not be applied to the state's input.
    #[error("States.ResultPathMatchFailure: {0}")]
    ResultPathMatchFailure(String),
    /// `States.NoChoiceMatched`: no Choice rule matched and there is no Default.
    #[error("States.NoChoiceMatched: {0}")]
    NoChoiceMatched(String),
    /// `States.DataLimitExceeded`: a payload exceeded 256 KiB. Not caught by `States.ALL`.
    #[error("States.DataLimitExceeded: {0}")]
    DataLimitExceeded(String),
    /// `States.QueryEvaluationError`: a JSONata expression failed or gave nothing; `location` is the
    /// field (`Output`, `Assign/name`, `Arguments/key`), written into the `EvaluationFailed` event.
    #[error("States.QueryEvaluationError: {cause}")]
    QueryEvaluation { location: String, cause: String },
}

impl StatesError {
    /// The AWS error name, as written into history events and matched by `ErrorEquals`.
    pub fn name(&self) -> &'static str {
        match self {
            StatesError::Runtime(_) => "States.Runtime",
            StatesError::IntrinsicFailure(_) => "States.IntrinsicFailure",
            StatesError::ParameterPathFailure(_) => "States.ParameterPathFailure",
            StatesError::ResultPathMatchFailure(_) => "States.ResultPathMatchFailure",
            StatesError::NoChoiceMatched(_) => "States.NoChoiceMatched",
            StatesError::DataLimitExceeded(_) => "States.DataLimitExceeded",
            StatesError::QueryEvaluation { .. } => "States.QueryEvaluationError",
        }
    }

    /// The cause text.
    pub fn cause(&self) -> &str {
        match self {
            StatesError::Runtime(c)
            | StatesError::IntrinsicFailure(c)
            | StatesError::ParameterPathFailure(c)
            | StatesError::ResultPathMatchFailure(c)
            | StatesError::NoChoiceMatched(c)
            | StatesError::DataLimitExceeded(c) => c,
            StatesError::QueryEvaluation { cause, .. } => cause,
        }
    }

    /// The cause as AWS words it in a failure event: prefixed with the state and the event id it was
    /// entered at, e.g. `An error occurred while executing the state 'X' (entered at the event id #2). ...`.
    pub fn cause_in_state(&self, state: &str, entered_event_id: u64) -> String {
        format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {}",
            self.cause()
        )
    }
}

/// Compact JSON text of a value, as AWS quotes inputs in cause texts.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
