//! Page tokens (`nextPageToken` of SWF, `nextToken` of Step Functions): where a listing continues,
//! signed with the cluster's token keyring (`crate::keyring`) and bound to the call and the scope
//! (domain, state machine or execution) that issued it. A client cannot make one up, alter one to
//! point into another domain's data, or use one issued by another call or for another domain: each
//! is refused as a bad token (ValidationException for SWF, InvalidToken for Step Functions).
//!
//! Wire form: `base64url(position) "." <key generation> "." base64url(HMAC-SHA256(label, call, scope,
//! position))`. Before a cluster has a keyring its page tokens are signed as generation 0 under an
//! empty key (see `keyring::sign_or_unkeyed`); a token outlives one key rotation, like task tokens.
//! Tokens of earlier releases (unsigned) are refused: a client starts its listing again.

use crate::keyring::{join_signed, sign_or_unkeyed, split_signed, verify_or_unkeyed, Keyring};
use crate::state::{Lookup, ReadError};

const LABEL: &str = "swfd page token";

/// Signs `position` for the next call `call` in `scope`.
pub fn seal<S: Lookup + ?Sized>(
    s: &S,
    call: &str,
    scope: &str,
    position: &[u8],
) -> Result<String, ReadError> {
    let ring = Keyring::load(s)?;
    let (generation, mac) = sign_or_unkeyed(
        ring.as_ref(),
        LABEL,
        &[call.as_bytes(), scope.as_bytes(), position],
    );
    Ok(join_signed(position, generation, &mac))
}

/// The position a token signed by [`seal`] for `call` in `scope` holds; `None` for anything else.
pub fn open<S: Lookup + ?Sized>(
    s: &S,
    call: &str,
    scope: &str,
    token: &str,
) -> Result<Option<Vec<u8>>, ReadError> {
    let Some((position, generation, mac)) = split_signed(token) else {
        return Ok(None);
    };
    let ring = Keyring::load(s)?;
    let parts: [&[u8]; 3] = [call.as_bytes(), scope.as_bytes(), &position];
    Ok(verify_or_unkeyed(ring.as_ref(), generation, LABEL, &parts, &mac).then_some(position))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memstate::MemState;

    #[test]
    fn a_token_opens_only_for_its_call_and_scope() {
        let s = MemState::default();
        let t = seal(&s, "ListOpenWorkflowExecutions", "d1", b"pos").unwrap();
        let open = |call: &str, scope: &str, token: &str| open(&s, call, scope, token).unwrap();
        assert_eq!(
            open("ListOpenWorkflowExecutions", "d1", &t),
            Some(b"pos".to_vec())
        );
        assert_eq!(open("ListOpenWorkflowExecutions", "d2", &t), None);
        assert_eq!(open("ListClosedWorkflowExecutions", "d1", &t), None);
        // The position changed, the signature kept: refused.
        let (_, g, mac) = split_signed(&t).unwrap();
        let forged = join_signed(b"other", g, &mac);
        assert_eq!(open("ListOpenWorkflowExecutions", "d1", &forged), None);
        for garbage in ["", "cG9z", "cG9z.0.", "!.0.!"] {
            assert_eq!(open("ListOpenWorkflowExecutions", "d1", garbage), None);
        }
    }
}
