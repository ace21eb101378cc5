//! The id a call retried by its client is de-duplicated by.
//!
//! AWS SDKs (botocore and so boto3 and the AWS CLI, the AWS SDK for Rust, Java, Go, ...) send
//! `amz-sdk-invocation-id` with every request: one value for every attempt of one call. When a call
//! carries it, the id the leader de-duplicates by (`swf_core::dedup`, `Command::request_id`) is
//! derived from it, the caller, the target and the body, instead of this node's own request id. So an
//! attempt the SDK makes again after a timeout or a 5xx, whose first attempt may still commit (a
//! forward held up in a partition and delivered once it heals, say), gets the first attempt's answer
//! instead of applying a second time (a second run of one StartWorkflowExecution, a signal twice). The
//! same invocation id with another caller, target or body is another call. Long polls keep the node's
//! own request id: a poll changes nothing a retry could repeat, and a retried poll whose first attempt
//! is still held is a second poller.

use swf_auth::canonical::sha256_hex;

/// Longest invocation id taken (SDKs send a UUID); a longer value is ignored.
const MAX_LEN: usize = 128;

/// The value of the `amz-sdk-invocation-id` field of a raw request head (request line, fields, blank
/// line), if it has one of visible ASCII of a sensible length.
pub(crate) fn invocation_id(head: &[u8]) -> Option<String> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if !name.eq_ignore_ascii_case(b"amz-sdk-invocation-id") {
            return None;
        }
        let value = std::str::from_utf8(value).ok()?.trim();
        (!value.is_empty() && value.len() <= MAX_LEN && value.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| value.to_string())
    })
}

/// Whether calls of `action` are de-duplicated by their invocation id (every action but the polls).
pub(crate) fn applies_to(action: &str) -> bool {
    !matches!(
        action,
        "PollForDecisionTask" | "PollForActivityTask" | "GetActivityTask"
    )
}

/// The de-duplication id of a call: the invocation id bound to the caller (its user ARN; none
/// without auth), the target and the body. Each part is length-prefixed, so no two different calls
/// hash the same parts.
pub(crate) fn dedup_id(
    invocation: &str,
    caller: Option<&str>,
    target: &str,
    body: &[u8],
) -> String {
    let caller = caller.unwrap_or("");
    let mut bytes =
        Vec::with_capacity(32 + invocation.len() + caller.len() + target.len() + body.len());
    for part in [
        invocation.as_bytes(),
        caller.as_bytes(),
        target.as_bytes(),
        body,
    ] {
        bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bytes.extend_from_slice(part);
    }
    format!("inv-{}", &sha256_hex(&bytes)[..40])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invocation_id_is_read_from_the_head() {
        let head =
            |fields: &str| format!("POST / HTTP/1.1\r\nhost: x\r\n{fields}\r\n").into_bytes();
        // (fields, expected)
        let table: &[(&str, Option<&str>)] = &[
            ("amz-sdk-invocation-id: 6f1c-22\r\n", Some("6f1c-22")),
            ("AMZ-SDK-Invocation-Id:   abc  \r\n", Some("abc")),
            ("amz-sdk-request: attempt=2; max=3\r\n", None),
            ("amz-sdk-invocation-id: \r\n", None),
            ("amz-sdk-invocation-id: a b\r\n", None),
            ("x-amz-sdk-invocation-id: abc\r\n", None),
        ];
        for (fields, want) in table {
            assert_eq!(invocation_id(&head(fields)).as_deref(), *want, "{fields:?}");
        }
        let long = format!("amz-sdk-invocation-id: {}\r\n", "a".repeat(MAX_LEN + 1));
        assert_eq!(invocation_id(&head(&long)), None);
        // The request line is not a field.
        assert_eq!(invocation_id(b"amz-sdk-invocation-id: a\r\n\r\n"), None);
    }

    #[test]
    fn one_call_one_id_and_any_other_part_another() {
        let id = dedup_id("inv", Some("arn:u"), "T.Start", b"{}");
        assert_eq!(id, dedup_id("inv", Some("arn:u"), "T.Start", b"{}"));
        assert!(id.starts_with("inv-") && id.len() == 44, "{id}");
        for other in [
            dedup_id("inv2", Some("arn:u"), "T.Start", b"{}"),
            dedup_id("inv", Some("arn:v"), "T.Start", b"{}"),
            dedup_id("inv", None, "T.Start", b"{}"),
            dedup_id("inv", Some("arn:u"), "T.Signal", b"{}"),
            dedup_id("inv", Some("arn:u"), "T.Start", b"{ }"),
            // Parts are length-prefixed: moving a byte between two parts changes the id.
            dedup_id("in", Some("varn:u"), "T.Start", b"{}"),
        ] {
            assert_ne!(id, other);
        }
        assert!(!applies_to("PollForDecisionTask") && !applies_to("GetActivityTask"));
        assert!(applies_to("StartWorkflowExecution") && applies_to("StartExecution"));
    }
}
