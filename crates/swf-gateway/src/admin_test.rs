//! Unit tests of the admin credential checks (`BearerToken`, `AnyOf`).

use super::*;

fn verdict(auth: &dyn AdminAuth, header: Option<&str>) -> AdminVerdict {
    let mut headers = http::HeaderMap::new();
    if let Some(h) = header {
        headers.insert(http::header::AUTHORIZATION, h.parse().unwrap());
    }
    auth.check(&AdminRequest {
        method: &http::Method::GET,
        uri: &"/cluster/status".parse().unwrap(),
        headers: &headers,
        body: b"",
    })
}

#[test]
fn bearer_token_from_a_file_reloaded_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "0123456789abcdef-one\n").unwrap();
    let auth = BearerToken::from_file(path.clone()).unwrap();
    for (header, want) in [
        (None, AdminVerdict::Missing),
        (Some("Basic abc"), AdminVerdict::Missing),
        (Some("Bearer 0123456789abcdef-one"), AdminVerdict::Allowed),
        (
            Some("bearer   0123456789abcdef-one "),
            AdminVerdict::Allowed,
        ),
        (
            Some("Bearer 0123456789abcdef-onf"),
            AdminVerdict::Denied("wrong admin token".into()),
        ),
        (
            Some("Bearer 0123456789abcdef-on"),
            AdminVerdict::Denied("wrong admin token".into()),
        ),
    ] {
        assert_eq!(verdict(&auth, header), want, "{header:?}");
    }
    // Rotated: a different length, so the change is seen whatever the clock's resolution.
    std::fs::write(&path, "0123456789abcdef-second\n").unwrap();
    assert_eq!(
        verdict(&auth, Some("Bearer 0123456789abcdef-second")),
        AdminVerdict::Allowed
    );
    assert!(matches!(
        verdict(&auth, Some("Bearer 0123456789abcdef-one")),
        AdminVerdict::Denied(_)
    ));
    // A broken file keeps the last good token.
    std::fs::write(&path, "short\n").unwrap();
    assert_eq!(
        verdict(&auth, Some("Bearer 0123456789abcdef-second")),
        AdminVerdict::Allowed
    );
    std::fs::write(&path, "").unwrap();
    assert!(BearerToken::from_file(path).is_err());
}

struct Fixed(AdminVerdict);

impl AdminAuth for Fixed {
    fn check(&self, _: &AdminRequest<'_>) -> AdminVerdict {
        self.0.clone()
    }
}

#[test]
fn any_of_accepts_what_one_accepts() {
    use AdminVerdict::*;
    let denied = || Denied("no".into());
    let refused = || Refused {
        status: 403,
        code: "AccessDeniedException",
        message: "no".into(),
    };
    for (verdicts, want) in [
        (vec![], Missing),
        (vec![Missing, Missing], Missing),
        (vec![Missing, denied()], denied()),
        (vec![denied(), Allowed], Allowed),
        (vec![Allowed, Missing], Allowed),
        (vec![Missing, refused()], refused()),
        (vec![refused(), denied()], refused()),
        (vec![refused(), Allowed], Allowed),
    ] {
        let any = AnyOf(
            verdicts
                .iter()
                .map(|v| Arc::new(Fixed(v.clone())) as Arc<dyn AdminAuth>)
                .collect(),
        );
        assert_eq!(verdict(&any, None), want, "{verdicts:?}");
    }
}
