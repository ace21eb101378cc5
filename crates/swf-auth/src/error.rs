//! The errors of authentication and authorisation, as AWS JSON services return them (`__type` and
//! `message`, HTTP 400), in the order AWS checks: a missing token, an incomplete signature, an
//! invalid one (expired, wrong scope, unsigned `host`, mismatch), an unknown key, an expired
//! temporary key, and a call the caller's policies do not allow.

use swf_types::{Fault, FaultKind};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    MissingToken,
    /// The `Authorization` header or the date lacks something.
    Incomplete(String),
    /// The signature does not verify: expired, scoped wrong, `host` unsigned, or a mismatch.
    InvalidSignature(String),
    /// An unknown access key id, or a session token that does not belong to the key.
    UnrecognizedClient,
    /// A temporary key past its expiry.
    ExpiredToken,
    /// The caller's policies do not allow the action on the resource.
    AccessDenied(String),
}

/// SigV4's answer to any mismatch between the signature sent and the one computed.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the \
signature you provided. Check your AWS Secret Access Key and signing method. Consult the service \
documentation for details.";

impl AuthError {
    /// The fault as the wire carries it.
    pub fn fault(&self) -> Fault {
        let (kind, message) = match self {
            AuthError::MissingToken => (
                FaultKind::MissingAuthenticationToken,
                "Request is missing Authentication Token".to_string(),
            ),
            AuthError::Incomplete(m) => (FaultKind::IncompleteSignature, m.clone()),
            AuthError::InvalidSignature(m) => (FaultKind::InvalidSignature, m.clone()),
            AuthError::UnrecognizedClient => (
                FaultKind::UnrecognizedClient,
                "The security token included in the request is invalid.".to_string(),
            ),
            AuthError::ExpiredToken => (
                FaultKind::ExpiredToken,
                "The security token included in the request is expired".to_string(),
            ),
            AuthError::AccessDenied(m) => (FaultKind::AccessDenied, m.clone()),
        };
        Fault { kind, message }
    }

    /// The message of a refusal by policy, in AWS's form.
    pub fn denied(user_arn: &str, action: &str, resource: &str) -> AuthError {
        AuthError::AccessDenied(format!(
            "User: {user_arn} is not authorized to perform: {action} on resource: {resource}"
        ))
    }
}
