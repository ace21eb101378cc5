//! Amazon States Language definitions: parsing and validation of any text gives a definition or
//! diagnostics, never a panic; a definition that validates cleanly also parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (def, diags) = sfn_lang::validate::check(text);
    if diags.is_empty() {
        assert!(def.is_some(), "valid without a definition");
    } else {
        let _ = sfn_lang::validate::invalid_definition_message(&diags);
    }
    let _ = sfn_lang::definition::Definition::parse(text);
});
