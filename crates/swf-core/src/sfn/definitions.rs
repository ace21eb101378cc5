//! Parsed definitions, cached: every step of an execution needs its definition, and parsing and
//! validating the stored text each time costs more than the step. The cache maps the exact text to
//! its parse (compared in full, so two texts never share an entry); it only saves work, so apply
//! stays a pure function of state and command on every replica.

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use sfn_lang::{Definition, InvalidDefinition};

/// Most definitions kept per thread.
const CAPACITY: usize = 256;

type Entry = (Rc<str>, Rc<Definition>);

thread_local! {
    static CACHE: RefCell<HashMap<u64, Entry>> = RefCell::new(HashMap::new());
}

/// `Definition::parse(text)`, from the cache when the same text was parsed before.
pub(crate) fn parse(text: &str) -> Result<Rc<Definition>, InvalidDefinition> {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    let key = h.finish();
    let hit = CACHE.with(|c| {
        c.borrow()
            .get(&key)
            .filter(|(t, _)| &**t == text)
            .map(|(_, d)| d.clone())
    });
    if let Some(d) = hit {
        return Ok(d);
    }
    let def = Rc::new(Definition::parse(text)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            // Whole-cache eviction: simple, and a working set over the capacity is rare.
            c.clear();
        }
        c.insert(key, (Rc::from(text), def.clone()));
    });
    Ok(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_parse_and_bad_text_refused() {
        let text = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
        let a = parse(text).unwrap();
        let b = parse(text).unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        assert!(parse(r#"{"StartAt": "X", "States": {}}"#).is_err());
        for i in 0..(CAPACITY + 5) {
            let t = format!(
                r#"{{"Comment": "{i}", "StartAt": "P", "States": {{"P": {{"Type": "Pass", "End": true}}}}}}"#
            );
            assert_eq!(
                parse(&t).unwrap().comment.as_deref(),
                Some(i.to_string().as_str())
            );
        }
    }
}
