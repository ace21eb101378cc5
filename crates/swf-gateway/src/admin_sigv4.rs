//! The admin API's SigV4 credential ([`SigV4Admin`]): a request signed (for service
//! [`ADMIN_SERVICE`]) by a principal of the auth configuration with `admin = true`. It sits next to
//! the bearer token (`AnyOf`): a request whose `Authorization` is not SigV4 is none of its business
//! (`Missing`); a SigV4 one that does not verify gets AWS's error (`IncompleteSignatureException`,
//! `InvalidSignatureException`, `UnrecognizedClientException`, `ExpiredTokenException`, 403), and
//! a principal without `admin = true` gets `AccessDeniedException` (403) in AWS's form, naming the
//! admin action ([`admin_action`]) and the cluster's ARN.

use std::sync::Arc;

use swf_auth::sigv4::{Request, ALGORITHM};
use swf_auth::{Auth, AuthError};

use crate::admin::{AdminAuth, AdminRequest, AdminVerdict};

/// The SigV4 service name admin calls are signed for (`swfd admin` signs with it).
pub const ADMIN_SERVICE: &str = "swfd";

/// The action an admin request performs, as a denial names it (`swfd:<Action>`).
pub fn admin_action(method: &axum::http::Method, path: &str) -> &'static str {
    let post = method == axum::http::Method::POST;
    match (post, path) {
        (false, "/cluster/status") => "swfd:GetClusterStatus",
        (false, "/cluster/digest") => "swfd:GetClusterDigest",
        (true, "/cluster/members") => "swfd:AddMember",
        (true, "/cluster/members/remove") => "swfd:RemoveMember",
        (true, "/cluster/transfer-leader") => "swfd:TransferLeader",
        (true, "/cluster/token-key/rotate") => "swfd:RotateTokenKey",
        _ => "swfd:Admin",
    }
}

/// What a request's date is judged against: seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Accepts a request SigV4-signed by an admin principal of the auth configuration in force.
pub struct SigV4Admin {
    auth: Arc<Auth>,
    /// The resource a denial names: `arn:aws:swfd:REGION:ACCOUNT:cluster`.
    resource: String,
    /// The time a signature's date is judged by (the cluster's, once the node runs).
    clock: Clock,
}

impl SigV4Admin {
    /// The check against `auth` (the same configuration the SWF port verifies with, reloaded the
    /// same way); `region` and `account` name the cluster in a denial.
    pub fn new(auth: Arc<Auth>, region: &str, account: &str) -> SigV4Admin {
        SigV4Admin {
            auth,
            resource: format!("arn:aws:swfd:{region}:{account}:cluster"),
            clock: Arc::new(swf_auth::time::now),
        }
    }

    /// Judges a signature's date (±15 minutes) by `clock` instead of this process's clock: swfd gives
    /// the cluster's time (`Node::cluster_now_secs`), as the SWF port uses.
    pub fn with_clock(mut self, clock: Clock) -> SigV4Admin {
        self.clock = clock;
        self
    }
}

fn refused(e: &AuthError) -> AdminVerdict {
    let fault = e.fault();
    AdminVerdict::Refused {
        status: if matches!(e, AuthError::MissingToken) {
            401
        } else {
            403
        },
        code: fault.code(),
        message: fault.message,
    }
}

impl AdminAuth for SigV4Admin {
    fn check(&self, request: &AdminRequest<'_>) -> AdminVerdict {
        let sigv4 = request
            .headers
            .get_all(axum::http::header::AUTHORIZATION)
            .iter()
            .any(|v| {
                v.as_bytes()
                    .trim_ascii_start()
                    .starts_with(ALGORITHM.as_bytes())
            });
        if !sigv4 {
            return AdminVerdict::Missing;
        }
        let headers: Vec<(&str, &[u8])> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let target = request
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let action = admin_action(request.method, request.uri.path());
        match self.auth.authenticate_admin(
            &Request {
                method: request.method.as_str(),
                target,
                headers: &headers,
                body: request.body,
            },
            ADMIN_SERVICE,
            (self.clock)(),
            action,
            &self.resource,
        ) {
            Ok(_) => AdminVerdict::Allowed,
            Err(e) => refused(&e),
        }
    }
}
