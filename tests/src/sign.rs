//! SigV4 signing for raw calls, with the AWS SDK for Rust's own signer (`aws-sigv4`): what the SDK
//! clients do, for tests that speak the wire protocol themselves. The e2e credentials
//! ([`E2E_KEY`], [`E2E_SECRET`]) are the ones every SDK client of the harness uses, and the ones the
//! harness's allow-all auth configuration ([`ALLOW_ALL`]) grants everything.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

/// The access key id of the harness's clients.
pub const E2E_KEY: &str = "AKIDE2E";
/// Its secret.
pub const E2E_SECRET: &str = "e2e-secret";

/// An auth configuration with one principal, the harness's clients, allowed everything.
pub const ALLOW_ALL: &str = r#"
[[principal]]
name = "e2e"
access_key_id = "AKIDE2E"
secret_access_key = "e2e-secret"
admin = true
policy = '''{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'''
"#;

/// Who signs, when and for what.
#[derive(Clone, Debug)]
pub struct Signer {
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
    pub region: String,
    /// `swf` or `states`.
    pub service: String,
    pub time: SystemTime,
}

impl Signer {
    /// The harness's credentials, now, for SWF in us-east-1.
    pub fn e2e() -> Signer {
        Signer {
            key: E2E_KEY.into(),
            secret: E2E_SECRET.into(),
            token: None,
            region: "us-east-1".into(),
            service: "swf".into(),
            time: SystemTime::now(),
        }
    }

    /// The headers signing adds (`authorization`, `x-amz-date`, and `x-amz-security-token` for a
    /// temporary key) to a `POST /` with these `headers` (which must include `host`) and `body`.
    pub fn sign(&self, headers: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
        self.sign_request("POST", "/", headers, body)
    }

    /// [`Signer::sign`] for any method and path (`/cluster/status`, with an optional `?query`).
    pub fn sign_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let creds = Credentials::new(
            self.key.clone(),
            self.secret.clone(),
            self.token.clone(),
            None,
            "swf-e2e",
        );
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.time)
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let host = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let signable = SignableRequest::new(
            method,
            format!("http://{host}{path}"),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .expect("signable request");
        let (instructions, _) = sign(signable, &params).expect("signing").into_parts();
        instructions
            .headers()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }
}
