//! `Fault`: every error the SWF API can return, with the exact `__type` code clients parse.

use serde::{Deserialize, Serialize};

/// The kind of a fault; `code()` is the name after `#` in the wire `__type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    UnknownResource,
    TypeAlreadyExists,
    DomainAlreadyExists,
    DomainDeprecated,
    TypeDeprecated,
    TypeNotDeprecated,
    DefaultUndefined,
    WorkflowExecutionAlreadyStarted,
    LimitExceeded,
    OperationNotPermitted,
    TooManyTags,
    Validation,
    UnknownOperation,
    Serialization,
    Throttling,
    /// The service cannot answer now (no leader, shutting down); clients retry.
    ServiceUnavailable,
    /// A bug or a storage failure; clients retry.
    Internal,
    /// Step Functions' `ActivityDoesNotExist`.
    ActivityDoesNotExist,
    /// Step Functions' `ActivityLimitExceeded`.
    ActivityLimitExceeded,
    /// Step Functions' `ActivityWorkerLimitExceeded`.
    ActivityWorkerLimitExceeded,
    /// Step Functions' `ExecutionAlreadyExists`.
    ExecutionAlreadyExists,
    /// Step Functions' `ExecutionDoesNotExist`.
    ExecutionDoesNotExist,
    /// Step Functions' `ExecutionLimitExceeded`.
    ExecutionLimitExceeded,
    /// Step Functions' `InvalidArn`.
    InvalidArn,
    /// Step Functions' `InvalidDefinition`.
    InvalidDefinition,
    /// Step Functions' `InvalidExecutionInput`.
    InvalidExecutionInput,
    /// Step Functions' `InvalidName`.
    InvalidName,
    /// Step Functions' `InvalidOutput`.
    InvalidOutput,
    /// Step Functions' `InvalidToken`.
    InvalidToken,
    /// Step Functions' `StateMachineAlreadyExists`.
    StateMachineAlreadyExists,
    /// Step Functions' `StateMachineDoesNotExist`.
    StateMachineDoesNotExist,
    /// Step Functions' `StateMachineLimitExceeded`.
    StateMachineLimitExceeded,
    /// Step Functions' `StateMachineTypeNotSupported`.
    StateMachineTypeNotSupported,
    /// Step Functions' `TaskDoesNotExist`.
    TaskDoesNotExist,
    /// Step Functions' `TaskTimedOut`.
    TaskTimedOut,
    /// Step Functions' `TooManyTags`.
    SfnTooManyTags,
    /// Step Functions' `ResourceNotFound`.
    ResourceNotFound,
    /// Step Functions' `ConflictException`.
    Conflict,
    /// Step Functions' `ServiceQuotaExceededException`.
    ServiceQuotaExceeded,
    /// `MissingAuthenticationTokenException`: a call without an `Authorization` header (auth on).
    MissingAuthenticationToken,
    /// `IncompleteSignatureException`: the `Authorization` header or the date lacks something.
    IncompleteSignature,
    /// `InvalidSignatureException`: expired, scoped wrong, `host` unsigned, or a mismatch.
    InvalidSignature,
    /// `UnrecognizedClientException`: an unknown access key or session token.
    UnrecognizedClient,
    /// `ExpiredTokenException`: a temporary key past its expiry.
    ExpiredToken,
    /// `AccessDeniedException`: the caller's policies do not allow the call.
    AccessDenied,
    /// Step Functions' `ExecutionNotRedrivable`.
    ExecutionNotRedrivable,
}

impl FaultKind {
    /// The error code as clients see it.
    pub fn code(self) -> &'static str {
        match self {
            FaultKind::UnknownResource => "UnknownResourceFault",
            FaultKind::TypeAlreadyExists => "TypeAlreadyExistsFault",
            FaultKind::DomainAlreadyExists => "DomainAlreadyExistsFault",
            FaultKind::DomainDeprecated => "DomainDeprecatedFault",
            FaultKind::TypeDeprecated => "TypeDeprecatedFault",
            FaultKind::TypeNotDeprecated => "TypeNotDeprecatedFault",
            FaultKind::DefaultUndefined => "DefaultUndefinedFault",
            FaultKind::WorkflowExecutionAlreadyStarted => "WorkflowExecutionAlreadyStartedFault",
            FaultKind::LimitExceeded => "LimitExceededFault",
            FaultKind::OperationNotPermitted => "OperationNotPermittedFault",
            FaultKind::TooManyTags => "TooManyTagsFault",
            FaultKind::Validation => "ValidationException",
            FaultKind::UnknownOperation => "UnknownOperationException",
            FaultKind::Serialization => "SerializationException",
            FaultKind::Throttling => "ThrottlingException",
            FaultKind::ServiceUnavailable => "ServiceUnavailableException",
            FaultKind::Internal => "InternalFailure",
            FaultKind::ActivityDoesNotExist => "ActivityDoesNotExist",
            FaultKind::ActivityLimitExceeded => "ActivityLimitExceeded",
            FaultKind::ActivityWorkerLimitExceeded => "ActivityWorkerLimitExceeded",
            FaultKind::ExecutionAlreadyExists => "ExecutionAlreadyExists",
            FaultKind::ExecutionDoesNotExist => "ExecutionDoesNotExist",
            FaultKind::ExecutionLimitExceeded => "ExecutionLimitExceeded",
            FaultKind::InvalidArn => "InvalidArn",
            FaultKind::InvalidDefinition => "InvalidDefinition",
            FaultKind::InvalidExecutionInput => "InvalidExecutionInput",
            FaultKind::InvalidName => "InvalidName",
            FaultKind::InvalidOutput => "InvalidOutput",
            FaultKind::InvalidToken => "InvalidToken",
            FaultKind::StateMachineAlreadyExists => "StateMachineAlreadyExists",
            FaultKind::StateMachineDoesNotExist => "StateMachineDoesNotExist",
            FaultKind::StateMachineLimitExceeded => "StateMachineLimitExceeded",
            FaultKind::StateMachineTypeNotSupported => "StateMachineTypeNotSupported",
            FaultKind::TaskDoesNotExist => "TaskDoesNotExist",
            FaultKind::TaskTimedOut => "TaskTimedOut",
            FaultKind::SfnTooManyTags => "TooManyTags",
            FaultKind::ResourceNotFound => "ResourceNotFound",
            FaultKind::Conflict => "ConflictException",
            FaultKind::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            FaultKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            FaultKind::IncompleteSignature => "IncompleteSignatureException",
            FaultKind::InvalidSignature => "InvalidSignatureException",
            FaultKind::UnrecognizedClient => "UnrecognizedClientException",
            FaultKind::ExpiredToken => "ExpiredTokenException",
            FaultKind::AccessDenied => "AccessDeniedException",
            FaultKind::ExecutionNotRedrivable => "ExecutionNotRedrivable",
        }
    }

    /// The namespace AWS puts before `#` in `__type`.
    fn namespace(self) -> &'static str {
        match self {
            FaultKind::Validation => "com.amazon.coral.validate",
            FaultKind::UnknownOperation
            | FaultKind::Serialization
            | FaultKind::Throttling
            | FaultKind::ServiceUnavailable
            | FaultKind::Internal => "com.amazon.coral.service",
            k if k.is_auth() => "com.amazon.coral.service",
            k if k.is_sfn() => "com.amazonaws.swf.service.v2.model",
            _ => "com.amazonaws.swf.base.model",
        }
    }

    /// HTTP status of the error response: 400 for the caller's faults, 5xx (retried by SDKs) for ours.
    pub fn http_status(self) -> u16 {
        match self {
            FaultKind::ServiceUnavailable => 503,
            FaultKind::Internal => 500,
            _ => 400,
        }
    }

    /// Whether the kind is one of Step Functions' own error shapes (AWS writes their `__type` in the
    /// `com.amazonaws.swf.service.v2.model` namespace).
    pub fn is_sfn(self) -> bool {
        FaultKind::SFN.contains(&self)
    }

    /// Step Functions' own error shapes.
    /// Whether this is one of the authentication and authorisation errors AWS's front end returns
    /// (the same for SWF and Step Functions).
    pub fn is_auth(self) -> bool {
        FaultKind::AUTH.contains(&self)
    }

    /// The authentication and authorisation errors, in the order AWS checks for them.
    pub const AUTH: [FaultKind; 6] = [
        FaultKind::MissingAuthenticationToken,
        FaultKind::IncompleteSignature,
        FaultKind::InvalidSignature,
        FaultKind::UnrecognizedClient,
        FaultKind::ExpiredToken,
        FaultKind::AccessDenied,
    ];

    pub const SFN: [FaultKind; 23] = [
        FaultKind::ActivityDoesNotExist,
        FaultKind::ActivityLimitExceeded,
        FaultKind::ActivityWorkerLimitExceeded,
        FaultKind::ExecutionAlreadyExists,
        FaultKind::ExecutionDoesNotExist,
        FaultKind::ExecutionLimitExceeded,
        FaultKind::InvalidArn,
        FaultKind::InvalidDefinition,
        FaultKind::InvalidExecutionInput,
        FaultKind::InvalidName,
        FaultKind::InvalidOutput,
        FaultKind::InvalidToken,
        FaultKind::StateMachineAlreadyExists,
        FaultKind::StateMachineDoesNotExist,
        FaultKind::StateMachineLimitExceeded,
        FaultKind::StateMachineTypeNotSupported,
        FaultKind::TaskDoesNotExist,
        FaultKind::TaskTimedOut,
        FaultKind::SfnTooManyTags,
        FaultKind::ResourceNotFound,
        FaultKind::Conflict,
        FaultKind::ServiceQuotaExceeded,
        FaultKind::ExecutionNotRedrivable,
    ];

    /// Every fault kind.
    pub const ALL: [FaultKind; 17] = [
        FaultKind::UnknownResource,
        FaultKind::TypeAlreadyExists,
        FaultKind::DomainAlreadyExists,
        FaultKind::DomainDeprecated,
        FaultKind::TypeDeprecated,
        FaultKind::TypeNotDeprecated,
        FaultKind::DefaultUndefined,
        FaultKind::WorkflowExecutionAlreadyStarted,
        FaultKind::LimitExceeded,
        FaultKind::OperationNotPermitted,
        FaultKind::TooManyTags,
        FaultKind::Validation,
        FaultKind::UnknownOperation,
        FaultKind::Serialization,
        FaultKind::Throttling,
        FaultKind::ServiceUnavailable,
        FaultKind::Internal,
    ];

    /// Parses a code produced by [`FaultKind::code`] (used when a fault crosses gRPC).
    pub fn from_code(code: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .chain(FaultKind::SFN)
            .chain(FaultKind::AUTH)
            .find(|k| k.code() == code)
    }
}

/// An API error: a kind and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct Fault {
    pub kind: FaultKind,
    pub message: String,
}

macro_rules! ctor {
    ($($name:ident => $kind:ident),* $(,)?) => {
        impl Fault {
            $(
                #[doc = concat!("A `", stringify!($kind), "` fault.")]
                pub fn $name(message: impl Into<String>) -> Fault {
                    Fault { kind: FaultKind::$kind, message: message.into() }
                }
            )*
        }
    };
}

ctor! {
    unknown_resource => UnknownResource,
    type_already_exists => TypeAlreadyExists,
    domain_already_exists => DomainAlreadyExists,
    domain_deprecated => DomainDeprecated,
    type_deprecated => TypeDeprecated,
    type_not_deprecated => TypeNotDeprecated,
    default_undefined => DefaultUndefined,
    already_started => WorkflowExecutionAlreadyStarted,
    limit_exceeded => LimitExceeded,
    not_permitted => OperationNotPermitted,
    access_denied => AccessDenied,
    validation => Validation,
    serialization => Serialization,
    unavailable => ServiceUnavailable,
    internal => Internal,
}

impl Fault {
    /// An `UnknownOperationException` for an unknown `X-Amz-Target`.
    pub fn unknown_operation(target: &str) -> Fault {
        Fault {
            kind: FaultKind::UnknownOperation,
            message: format!("Unknown operation {target}"),
        }
    }

    /// The same fault with another message.
    pub fn with_message(self, message: impl Into<String>) -> Fault {
        Fault {
            message: message.into(),
            ..self
        }
    }

    /// The code clients parse (after `#`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The full `__type` value of the JSON error body.
    pub fn wire_type(&self) -> String {
        format!("{}#{}", self.kind.namespace(), self.kind.code())
    }

    /// The JSON error body.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "__type": self.wire_type(), "message": self.message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sfn_faults_are_the_model_shapes_in_aws_namespace() {
        let model = crate::model::sfn_model();
        for k in FaultKind::SFN {
            assert_eq!(FaultKind::from_code(k.code()), Some(k));
            assert!(model.shapes.contains_key(k.code()), "{k:?}");
            // As AWS writes it (the namespace recorded in AWS's own generated SFN clients, which
            // match `com.amazonaws.swf.service.v2.model#InvalidArn`, and in a test suite run
            // against AWS that reads `com.amazonaws.swf.service.v2.model#InvalidToken`).
            let f = Fault {
                kind: k,
                message: String::new(),
            };
            assert_eq!(
                f.wire_type(),
                format!("com.amazonaws.swf.service.v2.model#{}", k.code())
            );
        }
    }

    #[test]
    fn codes_round_trip_and_model_faults_are_known() {
        for k in FaultKind::ALL {
            assert_eq!(FaultKind::from_code(k.code()), Some(k));
        }
        // Every exception shape of the SWF model is a fault we can return.
        let model = crate::model::model();
        let exceptions = [
            "UnknownResourceFault",
            "TypeAlreadyExistsFault",
            "DomainAlreadyExistsFault",
            "DomainDeprecatedFault",
            "TypeDeprecatedFault",
            "TypeNotDeprecatedFault",
            "DefaultUndefinedFault",
            "WorkflowExecutionAlreadyStartedFault",
            "LimitExceededFault",
            "OperationNotPermittedFault",
            "TooManyTagsFault",
        ];
        for name in exceptions {
            assert!(
                model.shapes.contains_key(name),
                "{name} is not in the model"
            );
            assert!(FaultKind::from_code(name).is_some(), "{name}");
        }
    }
}
