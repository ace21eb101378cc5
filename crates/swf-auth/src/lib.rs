//! Authentication and authorisation for swfd, as AWS does them: SigV4 request verification
//! (`sigv4`, over the canonical request of `canonical`), the principals and policies of the auth
//! configuration file (`config`, reloadable: `Auth` holds the current one), IAM-style policy
//! evaluation (`policy`, `condition`, `wildcard`), and the request context of every SWF and Step
//! Functions action, decisions included (`swf_context`, `sfn_context`): which action, which resource
//! ARN, which condition keys. Pure: no I/O but reading the configuration file, no clock (the caller
//! passes the time). The gateway authenticates with it, the leader authorises with it, and the admin
//! listener can verify an admin principal's request with [`Auth::authenticate_admin`]; `signer`
//! signs a request the same way (for `swfd admin`).

pub mod caller;
pub mod canonical;
pub mod condition;
pub mod config;
pub mod error;
pub mod policy;
pub mod sfn_context;
pub mod signer;
pub mod sigv4;
pub mod store;
pub mod swf_context;
pub mod time;
pub mod wildcard;

pub use caller::Caller;
pub use error::AuthError;
pub use store::{Auth, Principal};
