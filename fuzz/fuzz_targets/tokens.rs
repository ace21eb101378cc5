//! Task-token and page-token decoding: any string is refused or names a task, never a panic; nothing
//! made up passes as signed, and a page token opens only for the call and scope that signed it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swf_core::keyring::{encode_key, Keyring, TokenKey};
use swf_core::memstate::MemState;
use swf_core::token::{Checked, TaskToken};
use swf_types::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ring = Keyring {
        keys: vec![TokenKey {
            generation: 1,
            key: encode_key(&[42; 32]),
            created: Timestamp(0),
        }],
    };
    match TaskToken::check(text, Some(&ring)) {
        Some(Checked::Signed(t)) => {
            // Only what the key signed verifies: the fuzzer cannot find a MAC, so this must be a
            // token signed here (none is in the corpus under this key unless made by `sign`).
            assert_eq!(t.sign(&ring), text, "a signed token that is not ours");
        }
        Some(Checked::Unsigned(t)) => assert!(!t.run_id.is_empty()),
        None => {}
    }
    let _ = TaskToken::decode(text);
    let state = MemState::default();
    if let Ok(Some(position)) = swf_core::page_token::open(&state, "ListDomains", "", text) {
        let resealed = swf_core::page_token::seal(&state, "ListDomains", "", &position).unwrap();
        assert_eq!(resealed, text, "a page token that is not ours");
        let other = swf_core::page_token::open(&state, "ListDomains", "d", text).unwrap();
        assert_eq!(other, None, "a page token opened for another scope");
    }
});
