//! Definitions stored once per content, not copied into every execution record. An execution record
//! is rewritten on every transition; with the definition inside, each transition wrote the whole
//! definition again on every replica (the largest part of a Step Functions write, and so of the
//! memtable flushes behind the cluster's p99 spikes, see docs/benchmarks.md). Now the record names
//! the definition by a content id (SHA-256 of the text, first 16 bytes in hex) and the text lives
//! under `keys::definition`, counted by the executions that refer to it; the last purge removes it.
//!
//! In memory an `Execution` always carries the text: `fill` puts it back on load and `store` leaves
//! it out of the stored form, so the engine and the queries read `definition` as before. Records
//! written before this form (the text inline, no id) load and store as they were.

use sha2::{Digest, Sha256};

use super::records::{Execution, StoredDefinition};
use super::{definitions, get, keys, put};
use crate::ctx::Ctx;
use crate::state::{Lookup, ReadError};

/// The content id of a definition text.
pub(crate) fn id_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a new execution refer to the stored copy of its definition (stored now if it is the first).
/// A different text under the same id (a hash collision) keeps the definition inline.
pub(crate) fn attach<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
) -> Result<(), ReadError> {
    let id = id_of(&exec.definition);
    let key = keys::definition(&id);
    let mut stored = match get::<StoredDefinition, S>(ctx, &key)? {
        Some(d) if d.text != exec.definition => return Ok(()),
        Some(d) => d,
        None => StoredDefinition {
            text: exec.definition.clone(),
            refs: 0,
        },
    };
    stored.refs += 1;
    put(ctx, key, &stored);
    exec.definition_id = Some(id);
    Ok(())
}

/// Puts the text back into a loaded record that refers to the stored copy.
pub(crate) fn fill<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    exec: &mut Execution,
) -> Result<(), ReadError> {
    if let (true, Some(id)) = (exec.definition.is_empty(), &exec.definition_id) {
        if let Some(text) = definitions::text_of(id) {
            exec.definition = text.to_string();
        } else if let Some(d) = get::<StoredDefinition, S>(ctx, &keys::definition(id))? {
            definitions::remember_text(id, &d.text);
            exec.definition = d.text;
        }
    }
    Ok(())
}

/// Stores an execution record, leaving the text out when it is stored apart.
pub(crate) fn store<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, exec: &mut Execution) {
    let key = keys::execution(&exec.arn);
    if exec.definition_id.is_some() {
        let text = std::mem::take(&mut exec.definition);
        put(ctx, key, &*exec);
        exec.definition = text;
    } else {
        put(ctx, key, &*exec);
    }
}

/// Drops a purged execution's reference; the last one removes the stored copy.
pub(crate) fn release<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &Execution,
) -> Result<(), ReadError> {
    let Some(id) = &exec.definition_id else {
        return Ok(());
    };
    let key = keys::definition(id);
    if let Some(mut d) = get::<StoredDefinition, S>(ctx, &key)? {
        d.refs = d.refs.saturating_sub(1);
        if d.refs == 0 {
            super::delete(ctx, key);
        } else {
            put(ctx, key, &d);
        }
    }
    Ok(())
}
