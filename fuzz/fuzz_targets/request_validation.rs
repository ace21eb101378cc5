//! Request validation of every SWF and Step Functions action against its model (what the leader runs
//! on every call): any body gives a value or a modelled fault, never a panic, and a body accepted once
//! is accepted again after a round trip through its parsed value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swf_types::model::{model, parse_request_in, sfn_model, Model};

fn operations(m: &'static Model) -> Vec<&'static str> {
    let mut ops: Vec<&str> = m.operations.keys().map(String::as_str).collect();
    ops.sort_unstable();
    ops
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (m, ops) = if pick & 0x80 == 0 {
        (model(), operations(model()))
    } else {
        (sfn_model(), operations(sfn_model()))
    };
    let op = ops[usize::from(pick & 0x7f) % ops.len()];
    if let Ok(value) = parse_request_in(m, op, body) {
        let again = serde_json::to_vec(&value).expect("a parsed value serializes");
        assert!(
            parse_request_in(m, op, &again).is_ok(),
            "{op}: accepted, then refused after a round trip"
        );
    }
});
