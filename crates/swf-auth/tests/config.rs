//! The auth configuration file: what loads (secret files, temporary keys, named policies, the
//! account), what is refused (and leaves the configuration in force on reload), and the admin
//! check the admin listener uses (`Auth::authenticate_admin`), with requests signed by `aws-sigv4`.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use swf_auth::sigv4::Request;
use swf_auth::{Auth, AuthError};

const NOW: i64 = 1_764_460_800;
const ALLOW: &str = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

fn config() -> String {
    format!(
        r#"
[[principal]]
name = "root"
access_key_id = "AKIDROOT"
secret_access_key_file = "root.secret"
admin = true
policy = '{ALLOW}'

[[principal]]
name = "user"
access_key_id = "AKIDUSER"
secret_access_key = "user-secret"
policies = ["all"]

[[principal]]
name = "temp"
access_key_id = "AKIDTEMP"
secret_access_key = "temp-secret"
session_token = "tok"
expires = 2030-01-01T00:00:00Z

[policy.all]
document = '{ALLOW}'
"#
    )
}

/// Headers of a request signed by the SDK's signer.
fn signed(key: &str, secret: &str, service: &str) -> Vec<(String, String)> {
    let identity = Credentials::new(key, secret, None, None, "t").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let base = [("host", "admin.local:7952")];
    let signable = SignableRequest::new(
        "POST",
        "http://admin.local:7952/cluster/members/remove",
        base.iter().copied(),
        SignableBody::Bytes(b"{}"),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut h: Vec<(String, String)> = base
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    h.extend(
        instructions
            .headers()
            .map(|(n, v)| (n.to_string(), v.to_string())),
    );
    h
}

fn admin_check(auth: &Auth, headers: &[(String, String)]) -> Result<String, AuthError> {
    let fields: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let req = Request {
        method: "POST",
        target: "/cluster/members/remove",
        headers: &fields,
        body: b"{}",
    };
    auth.authenticate_admin(&req, "swfd", NOW, "swfd:RemoveMember", "*")
        .map(|p| p.name.clone())
}

#[test]
fn a_configuration_loads_and_the_admin_check_tells_admins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.secret"), "root-secret\n").unwrap();
    let path = dir.path().join("auth.toml");
    std::fs::write(&path, config()).unwrap();
    let auth = Auth::load(&path, "us-east-1", "123456789012").unwrap();
    let store = auth.store();
    assert_eq!(store.principals.len(), 3);
    assert_eq!(
        store.principals["AKIDUSER"].arn,
        "arn:aws:iam::123456789012:user/user"
    );
    assert_eq!(store.principals["AKIDTEMP"].expires, Some(1_893_456_000));
    assert_eq!(
        admin_check(&auth, &signed("AKIDROOT", "root-secret", "swfd")),
        Ok("root".into())
    );
    assert_eq!(
        admin_check(&auth, &signed("AKIDUSER", "user-secret", "swfd")),
        Err(AuthError::AccessDenied(
            "User: arn:aws:iam::123456789012:user/user is not authorized to perform: swfd:RemoveMember on resource: *".into()
        ))
    );
    assert_eq!(
        admin_check(&auth, &signed("AKIDROOT", "wrong", "swfd")),
        Err(AuthError::InvalidSignature(
            swf_auth::error::SIGNATURE_MISMATCH.into()
        ))
    );

    // Reload: unchanged → nothing; a bad file → error, the old store stays; a good one → in force.
    assert_eq!(auth.reload(false), Ok(false));
    std::fs::write(&path, "[[principal]]\nname = 1\n").unwrap();
    assert!(auth.reload(false).is_err());
    assert_eq!(auth.store().principals.len(), 3);
    std::fs::write(&path, config().replace("AKIDUSER", "AKIDUSER2")).unwrap();
    assert_eq!(auth.reload(false), Ok(true));
    assert!(auth.store().principals.contains_key("AKIDUSER2"));
    assert!(!auth.store().principals.contains_key("AKIDUSER"));
    // A changed secret file is a change too.
    std::fs::write(dir.path().join("root.secret"), "new-root-secret\n").unwrap();
    assert_eq!(auth.reload(false), Ok(true));
    assert_eq!(
        admin_check(&auth, &signed("AKIDROOT", "new-root-secret", "swfd")),
        Ok("root".into())
    );
}

#[test]
fn malformed_configurations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let one =
        |extra: &str| format!("[[principal]]\nname = \"a\"\naccess_key_id = \"AKIDA\"\n{extra}\n");
    for (text, why) in [
        (one("secret_access_key = \"s\"\nbogus = 1"), "unknown key"),
        (one(""), "no secret"),
        (
            one("secret_access_key = \"s\"\nsecret_access_key_file = \"f\""),
            "two secrets",
        ),
        (
            one("secret_access_key_file = \"missing\""),
            "missing secret file",
        ),
        (one("secret_access_key = \"\""), "empty secret"),
        (
            one("secret_access_key = \"s\"\nexpires = \"2030-01-01T00:00:00Z\""),
            "expires without a token",
        ),
        (
            one("secret_access_key = \"s\"\nsession_token = \"t\"\nexpires = \"soon\""),
            "bad expiry",
        ),
        (
            one("secret_access_key = \"s\"\npolicy = \"{}\""),
            "policy without Statement",
        ),
        (
            one("secret_access_key = \"s\"\npolicies = [\"nope\"]"),
            "unknown named policy",
        ),
        (
            format!(
                "{}{}",
                one("secret_access_key = \"s\""),
                one("secret_access_key = \"t\"")
            ),
            "key twice",
        ),
        ("account = \"abc\"\n".to_string(), "account not digits"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, &text).unwrap();
        assert!(
            Auth::load(&path, "us-east-1", "1").is_err(),
            "{why}: {text}"
        );
    }
}
