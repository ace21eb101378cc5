//! The auth configuration file (`--auth-config`), TOML:
//!
//! ```toml
//! account = "123456789012"          # optional; the account of user and resource ARNs
//!                                   # (default: swfd's --account-id)
//!
//! [[principal]]
//! name = "deployer"
//! access_key_id = "AKIA..."
//! secret_access_key = "..."         # or secret_access_key_file = "path" (relative to this file)
//! session_token = "..."             # optional: a temporary key, with
//! expires = "2026-12-01T00:00:00Z"  # its expiry (RFC 3339)
//! admin = false                     # may call the admin API
//! policy = '''{"Version": "2012-10-17", "Statement": [...]}'''   # or policies = ["name", ...]
//!
//! [policy.workers]
//! document = '''{...}'''
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::policy::Policy;
use crate::sigv4::SigningKeyCache;
use crate::store::{Principal, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    account: Option<String>,
    #[serde(default, rename = "principal")]
    principals: Vec<PrincipalEntry>,
    #[serde(default)]
    policy: BTreeMap<String, PolicyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalEntry {
    name: String,
    access_key_id: String,
    secret_access_key: Option<String>,
    secret_access_key_file: Option<PathBuf>,
    session_token: Option<String>,
    expires: Option<toml::Value>,
    #[serde(default)]
    admin: bool,
    policy: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyEntry {
    document: String,
}

/// The bytes a configuration depends on (the file and every secret file), to tell a change.
pub fn inputs(path: &Path) -> Vec<u8> {
    let mut out = std::fs::read(path).unwrap_or_default();
    if let Ok(text) = std::str::from_utf8(&out) {
        if let Ok(file) = toml::from_str::<File>(text) {
            let dir = path.parent().unwrap_or(Path::new("."));
            let extra: Vec<u8> = file
                .principals
                .iter()
                .filter_map(|p| p.secret_access_key_file.as_ref())
                .flat_map(|f| std::fs::read(dir.join(f)).unwrap_or_default())
                .collect();
            out.extend(extra);
        }
    }
    out
}

/// Reads and checks the configuration at `path`; ARNs name `account` unless the file names one.
pub fn load(path: &Path, account: &str) -> Result<Store, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text, path.parent().unwrap_or(Path::new(".")), account)
}

/// Parses a configuration; secret files are read relative to `dir`.
pub fn parse(text: &str, dir: &Path, account: &str) -> Result<Store, String> {
    let file: File = toml::from_str(text).map_err(|e| format!("auth config: {e}"))?;
    let account = file.account.unwrap_or_else(|| account.to_string());
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("auth config: account must be digits".into());
    }
    let mut named: HashMap<&str, (String, Arc<Policy>)> = HashMap::new();
    for (name, p) in &file.policy {
        let compiled =
            Policy::parse(&p.document).map_err(|e| format!("auth config: policy.{name}: {e}"))?;
        named.insert(name, (p.document.clone(), Arc::new(compiled)));
    }
    let mut principals = HashMap::new();
    for p in file.principals {
        let who = format!("auth config: principal {}", p.name);
        if p.name.is_empty() || p.access_key_id.is_empty() {
            return Err(format!("{who}: name and access_key_id are required"));
        }
        let secret = match (&p.secret_access_key, &p.secret_access_key_file) {
            (Some(s), None) => s.clone(),
            (None, Some(f)) => std::fs::read_to_string(dir.join(f))
                .map_err(|e| format!("{who}: cannot read {}: {e}", f.display()))?
                .trim()
                .to_string(),
            _ => {
                return Err(format!(
                    "{who}: exactly one of secret_access_key and secret_access_key_file"
                ))
            }
        };
        if secret.is_empty() {
            return Err(format!("{who}: the secret access key is empty"));
        }
        let expires = match &p.expires {
            None => None,
            Some(v) => {
                let s = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Datetime(d) => d.to_string(),
                    _ => return Err(format!("{who}: expires must be an RFC 3339 time")),
                };
                Some(
                    crate::time::parse_rfc3339(&s)
                        .ok_or_else(|| format!("{who}: expires must be an RFC 3339 time"))?,
                )
            }
        };
        if expires.is_some() && p.session_token.is_none() {
            return Err(format!(
                "{who}: expires is for temporary keys (with session_token)"
            ));
        }
        let mut documents = Vec::new();
        let mut policies = Vec::new();
        if let Some(doc) = &p.policy {
            policies.push(Policy::parse(doc).map_err(|e| format!("{who}: policy: {e}"))?);
            documents.push(doc.clone());
        }
        for name in &p.policies {
            let (doc, compiled) = named
                .get(name.as_str())
                .ok_or_else(|| format!("{who}: no [policy.{name}]"))?;
            policies.push((**compiled).clone());
            documents.push(doc.clone());
        }
        let principal = Principal {
            arn: format!("arn:aws:iam::{account}:user/{}", p.name),
            name: p.name,
            access_key_id: p.access_key_id.clone(),
            secret,
            session_token: p.session_token,
            expires,
            admin: p.admin,
            documents: Arc::new(documents),
            policies: Arc::new(policies),
            cache: SigningKeyCache::default(),
        };
        if principals
            .insert(p.access_key_id.clone(), Arc::new(principal))
            .is_some()
        {
            return Err(format!(
                "auth config: access key {} is given twice",
                p.access_key_id
            ));
        }
    }
    Ok(Store {
        account,
        principals,
    })
}
