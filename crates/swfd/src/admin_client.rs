//! The HTTP client of `swfd admin` (and of a `--join`ing node): every admin call carries an admin
//! credential, either a SigV4 signature of an admin principal's key (service `swfd`, the region of
//! the cluster) or the bearer token of a file.
//!
//! Which one: a token file given (`--token-file`, `SWFD_ADMIN_TOKEN_FILE`) wins; else keys
//! (`--access-key-id` / `--secret-access-key` / `--session-token`, or the AWS environment variables
//! of the same names, or `--profile` / `AWS_PROFILE` from the shared credentials file) sign; else the
//! default token file `swfd-data/admin-token`. A signed call refused with 401 (the node takes no
//! SigV4, because its auth is off) is sent again with the default token file when there is one, so
//! AWS variables exported for the quickstart do not get in the way. `https://` endpoints are
//! trusted with `--ca-cert` (the admin listener's CA); a `--join`ing node trusts its `--admin-ca`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use swf_auth::signer::{sign_request, Credentials, Outgoing};

/// Where the default token file is, relative to the working directory (the quickstart's data dir).
const DEFAULT_TOKEN_FILE: &str = "swfd-data/admin-token";

/// The key flags of `swfd admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// Access key id of an admin principal (`admin = true` in the node's --auth-config): the calls
    /// are SigV4-signed with it.
    #[arg(long, global = true, env = "AWS_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// Secret of --access-key-id.
    #[arg(
        long,
        global = true,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
    /// Session token of a temporary key.
    #[arg(long, global = true, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// A profile of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
    /// ~/.aws/credentials) to sign with.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The region the cluster serves (its --region).
    #[arg(long, global = true, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// PEM CA certificate(s) to trust for an https:// admin endpoint (--admin-tls-cert's CA).
    #[arg(long, global = true, env = "SWFD_ADMIN_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

enum Credential {
    Bearer(String),
    SigV4 {
        creds: Credentials,
        region: String,
        /// The token of the default token file, to fall back to when the node takes no SigV4.
        fallback: Option<String>,
    },
}

/// An admin API client with its credential.
pub struct AdminClient {
    http: reqwest::Client,
    credential: Credential,
}

/// `(key, secret, token)` of `profile` in the shared credentials file.
fn profile_keys(profile: &str) -> anyhow::Result<Credentials> {
    let path = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".aws/credentials")
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the credentials file {}", path.display()))?;
    let (mut section, mut key, mut secret, mut token) = (String::new(), None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = Some(v.trim().to_string());
            match k.trim() {
                "aws_access_key_id" => key = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    match (key, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: token,
        }),
        _ => bail!("profile {profile:?} has no keys in {}", path.display()),
    }
}

/// The admin token of `path` (its first line).
fn token_of(path: &Path) -> anyhow::Result<String> {
    crate::admin::read_token(path)
}

/// An HTTP client that trusts `ca_cert` (PEM, one certificate or more) besides the system's roots.
pub(crate) fn http_client(ca_cert: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    let builder = reqwest::Client::builder();
    let builder = match ca_cert {
        None => builder,
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading the CA certificate {}", path.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                roots
                    .add(cert.context("parsing the CA certificate")?)
                    .context("adding the CA certificate")?;
            }
            if roots.is_empty() {
                bail!("{} holds no PEM certificate", path.display());
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
            builder.use_preconfigured_tls(config)
        }
    };
    Ok(builder.build()?)
}

impl AdminClient {
    /// The client `swfd admin` uses, from its flags.
    pub fn new(token_file: Option<PathBuf>, keys: &KeyArgs) -> anyhow::Result<AdminClient> {
        let http = http_client(keys.ca_cert.as_deref())?;
        if let Some(path) = token_file {
            return Ok(AdminClient {
                http,
                credential: Credential::Bearer(token_of(&path)?),
            });
        }
        let creds = match (&keys.access_key_id, &keys.secret_access_key, &keys.profile) {
            (Some(id), Some(secret), _) => Some(Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: keys.session_token.clone(),
            }),
            (Some(_), None, _) | (None, Some(_), _) => {
                bail!("--access-key-id and --secret-access-key go together")
            }
            (None, None, Some(profile)) => Some(profile_keys(profile)?),
            (None, None, None) => None,
        };
        let default = Path::new(DEFAULT_TOKEN_FILE);
        let credential = match creds {
            Some(creds) => Credential::SigV4 {
                creds,
                region: keys.region.clone(),
                fallback: token_of(default).ok(),
            },
            None => Credential::Bearer(token_of(default)?),
        };
        Ok(AdminClient { http, credential })
    }

    /// A client with the bearer token `token` that trusts `ca_cert` for https:// endpoints (a
    /// `--join`ing node, with its `--admin-ca`).
    pub fn bearer(token: &str, ca_cert: Option<&Path>) -> anyhow::Result<AdminClient> {
        Ok(AdminClient {
            http: http_client(ca_cert)?,
            credential: Credential::Bearer(token.to_string()),
        })
    }

    /// Sends `method url` with an optional JSON body and the credential.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let body = body.map(|b| b.to_string().into_bytes());
        match &self.credential {
            Credential::Bearer(token) => self.bearer_send(method, url, body, token).await,
            Credential::SigV4 {
                creds,
                region,
                fallback,
            } => {
                let resp = self
                    .signed_send(method.clone(), url, body.clone(), creds, region)
                    .await?;
                match fallback {
                    Some(token) if resp.status() == reqwest::StatusCode::UNAUTHORIZED => {
                        self.bearer_send(method, url, body, token).await
                    }
                    _ => Ok(resp),
                }
            }
        }
    }

    async fn bearer_send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
        token: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the admin token is not valid header text")?;
        value.set_sensitive(true);
        let mut req = self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, value);
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        Ok(req.send().await?)
    }

    async fn signed_send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
        creds: &Credentials,
        region: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("parsing {url}"))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => bail!("{url} names no host"),
        };
        let target = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let mut headers = vec![("host", host.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let bytes = body.clone().unwrap_or_default();
        let added = sign_request(
            creds,
            region,
            swf_gateway::ADMIN_SERVICE,
            swf_auth::time::now(),
            &Outgoing {
                method: method.as_str(),
                target: &target,
                headers: &headers,
                body: &bytes,
            },
        );
        let mut req = self.http.request(method, parsed);
        for (name, value) in &headers {
            req = req.header(*name, *value);
        }
        for (name, value) in &added {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        Ok(req.send().await?)
    }
}
