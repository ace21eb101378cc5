//! Parsed definitions, cached: every step of an execution needs its definition, and parsing and
//! validating the stored text each time costs more than the step. The cache maps the exact text to
//! its parse (compared in full, so two texts never share an entry); it only saves work, so apply
//! stays a pure function of state and command on every replica.
//!
//! A second cache maps a stored definition's content id (`stored_definitions`) to its text, so a
//! step of an execution that names its definition by id does not read the stored copy again. An id
//! names one text for ever (it is the text's hash, and a colliding text is kept inline instead), so
//! a hit is always what the store would have returned.

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
    static TEXTS: RefCell<HashMap<String, Rc<str>>> = RefCell::new(HashMap::new());
}

/// The text stored under content id `id`, if this thread has read it before.
pub(crate) fn text_of(id: &str) -> Option<Rc<str>> {
    TEXTS.with(|t| t.borrow().get(id).cloned())
}

/// Remembers the text stored under content id `id`.
pub(crate) fn remember_text(id: &str, text: &str) {
    TEXTS.with(|t| {
        let mut t = t.borrow_mut();
        if t.len() >= CAPACITY {
            t.clear();
        }
        t.insert(id.to_owned(), Rc::from(text));
    });
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

    #[test]
    fn texts_are_remembered_by_content_id() {
        assert!(text_of("0123").is_none());
        remember_text("0123", "{}");
        assert_eq!(text_of("0123").as_deref(), Some("{}"));
        for i in 0..(CAPACITY + 5) {
            remember_text(&i.to_string(), "x");
        }
        assert!(TEXTS.with(|t| t.borrow().len()) <= CAPACITY);
    }
}
