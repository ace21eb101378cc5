//! The authenticated caller of one call, as it travels with the call to the leader (which
//! authorises it): the user ARN for AccessDenied messages, the account and region of the resource
//! ARNs, and the principal's policy documents. Forwarded between nodes as JSON (`to_wire`,
//! `from_wire`); the leader keeps the compiled policies of the documents it has seen, so a forwarded
//! call parses nothing twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::policy::Policy;

/// Who is calling, and what they may do.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `arn:aws:iam::ACCOUNT:user/NAME`.
    pub user_arn: String,
    pub account: String,
    pub region: String,
    /// The policy documents as configured (what travels).
    pub documents: Arc<Vec<String>>,
    /// The same, compiled.
    pub policies: Arc<Vec<Policy>>,
}

/// The JSON form, written from borrowed text.
#[derive(Serialize)]
struct WireOut<'a> {
    user: &'a str,
    account: &'a str,
    region: &'a str,
    policies: Vec<&'a str>,
}

/// The JSON form, read (owned: policy documents are full of quotes, which JSON escapes).
#[derive(Deserialize)]
struct WireIn {
    user: String,
    account: String,
    region: String,
    policies: Vec<String>,
}

/// Compiled policy sets by their documents.
type Compiled = Mutex<HashMap<Vec<String>, Arc<Vec<Policy>>>>;

/// Compiled policy sets by their documents, on the node that authorises forwarded calls.
fn compiled() -> &'static Compiled {
    static CACHE: OnceLock<Compiled> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl Caller {
    /// The caller as JSON, for forwarding.
    pub fn to_wire(&self) -> String {
        serde_json::to_string(&WireOut {
            user: &self.user_arn,
            account: &self.account,
            region: &self.region,
            policies: self.documents.iter().map(String::as_str).collect(),
        })
        .unwrap_or_default()
    }

    /// A caller from its JSON form; policies compiled once per distinct set.
    pub fn from_wire(text: &str) -> Result<Caller, String> {
        let w: WireIn = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let documents = w.policies;
        let mut cache = compiled().lock().unwrap_or_else(|p| p.into_inner());
        let policies = match cache.get(&documents) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(
                    documents
                        .iter()
                        .map(|d| Policy::parse(d))
                        .collect::<Result<Vec<_>, _>>()?,
                );
                if cache.len() >= 256 {
                    cache.clear();
                }
                cache.insert(documents.clone(), p.clone());
                p
            }
        };
        Ok(Caller {
            user_arn: w.user,
            account: w.account,
            region: w.region,
            documents: Arc::new(documents),
            policies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_travels_intact() {
        let doc = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "swf:*", "Resource": "*"}]}"#;
        let c = Caller {
            user_arn: "arn:aws:iam::1:user/a\"b".into(),
            account: "1".into(),
            region: "us-east-1".into(),
            documents: Arc::new(vec![doc.to_string()]),
            policies: Arc::new(vec![Policy::parse(doc).unwrap()]),
        };
        let back = Caller::from_wire(&c.to_wire()).unwrap();
        assert_eq!(back.user_arn, c.user_arn);
        assert_eq!(back.documents, c.documents);
        assert_eq!(back.policies.len(), 1);
        assert!(Caller::from_wire("{").is_err());
        assert!(Caller::from_wire(
            r#"{"user":"u","account":"1","region":"r","policies":["nope"]}"#
        )
        .is_err());
    }
}
