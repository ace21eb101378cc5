//! The principals in force (`Store`, one parse of the configuration file) and `Auth`, which holds the
//! current store behind a lock taken only to clone an `Arc`, and swaps in a new one when the file
//! changes: a key revoked or a policy changed applies to the next call, without a restart. A file
//! that no longer parses leaves the previous store in force (and the error is reported).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::caller::Caller;
use crate::error::AuthError;
use crate::policy::Policy;
use crate::sigv4::{self, Expect, KeyRef, Keys, Request, SigningKeyCache};

/// One configured principal (an IAM user, or a temporary key of one).
#[derive(Debug)]
pub struct Principal {
    pub name: String,
    /// `arn:aws:iam::ACCOUNT:user/NAME`.
    pub arn: String,
    pub access_key_id: String,
    pub(crate) secret: String,
    pub session_token: Option<String>,
    /// Expiry of a temporary key, seconds since the epoch.
    pub expires: Option<i64>,
    /// May call the admin API.
    pub admin: bool,
    pub documents: Arc<Vec<String>>,
    pub policies: Arc<Vec<Policy>>,
    pub(crate) cache: SigningKeyCache,
}

/// The principals of one configuration, by access key id.
#[derive(Debug, Default)]
pub struct Store {
    pub account: String,
    pub principals: HashMap<String, Arc<Principal>>,
}

impl Keys for Store {
    fn key(&self, access_key_id: &str) -> Option<KeyRef<'_>> {
        self.principals.get(access_key_id).map(|p| KeyRef {
            secret: &p.secret,
            session_token: p.session_token.as_deref(),
            expires: p.expires,
            cache: &p.cache,
        })
    }
}

/// The auth configuration in force, reloadable.
pub struct Auth {
    path: PathBuf,
    region: String,
    account: String,
    current: RwLock<Arc<Store>>,
    /// The bytes the store in force was read from (the file and its secret files).
    inputs: Mutex<Vec<u8>>,
}

impl Auth {
    /// Loads the configuration at `path` for a server of `region` whose ARNs name `account`
    /// (unless the file names another).
    pub fn load(path: &Path, region: &str, account: &str) -> Result<Auth, String> {
        let inputs = crate::config::inputs(path);
        let store = crate::config::load(path, account)?;
        Ok(Auth {
            path: path.to_path_buf(),
            region: region.to_string(),
            account: account.to_string(),
            current: RwLock::new(Arc::new(store)),
            inputs: Mutex::new(inputs),
        })
    }

    /// The file this configuration comes from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The region signatures must be scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The store in force.
    pub fn store(&self) -> Arc<Store> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the file again if it (or a secret file) changed, or always with `force`; `Ok(true)`
    /// when a new store is in force. On error the store in force stays.
    pub fn reload(&self, force: bool) -> Result<bool, String> {
        let inputs = crate::config::inputs(&self.path);
        let mut last = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
        if !force && *last == inputs {
            return Ok(false);
        }
        *last = inputs;
        let store = crate::config::load(&self.path, &self.account)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(store);
        Ok(true)
    }

    /// Verifies a request's SigV4 signature for `service` (`swf`, `states`, or what the admin API
    /// chooses) at time `now`; the principal who signed it.
    pub fn authenticate(
        &self,
        req: &Request<'_>,
        service: &str,
        now: i64,
    ) -> Result<Arc<Principal>, AuthError> {
        let store = self.store();
        let verified = sigv4::verify(
            req,
            &*store,
            &Expect {
                region: &self.region,
                service,
                now,
            },
        )?;
        store
            .principals
            .get(&verified.access_key_id)
            .cloned()
            .ok_or(AuthError::UnrecognizedClient)
    }

    /// [`Auth::authenticate`] for the admin API: the principal must also be an admin
    /// (`admin = true`), else AccessDeniedException naming `action` (e.g. `swfd:RemoveMember`) on
    /// `resource`.
    pub fn authenticate_admin(
        &self,
        req: &Request<'_>,
        service: &str,
        now: i64,
        action: &str,
        resource: &str,
    ) -> Result<Arc<Principal>, AuthError> {
        let p = self.authenticate(req, service, now)?;
        if !p.admin {
            return Err(AuthError::denied(&p.arn, action, resource));
        }
        Ok(p)
    }

    /// The caller a principal makes, to authorise its call.
    pub fn caller(&self, p: &Principal) -> Caller {
        Caller {
            user_arn: p.arn.clone(),
            account: self.store().account.clone(),
            region: self.region.clone(),
            documents: p.documents.clone(),
            policies: p.policies.clone(),
        }
    }
}
