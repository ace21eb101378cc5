//! The create-time checks of a Distributed Map's fields (`distributed`): which fields a Map may carry
//! in each mode, `ItemReader` / `ResultWriter` refused (they need Amazon S3), and the parsing of
//! `ProcessorConfig.ExecutionType`, `Label`, `ItemBatcher` and `ToleratedFailure...`.

use serde_json::{Map, Value};

use super::{pointer, Checker, MAX_INT_FIELD, SCHEMA};
use crate::distributed::{Batcher, Distributed, MAX_BATCH_BYTES};

/// The fields only a Distributed Map may carry.
const DISTRIBUTED_ONLY: [&str; 6] = [
    "ItemBatcher",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
];

/// Whether a Map state's ItemProcessor runs in DISTRIBUTED mode.
fn is_distributed(obj: &Map<String, Value>) -> bool {
    obj.get("ItemProcessor")
        .and_then(|p| p.get("ProcessorConfig"))
        .and_then(|c| c.get("Mode"))
        .and_then(Value::as_str)
        == Some("DISTRIBUTED")
}

/// Refuses `ItemReader` / `ResultWriter`, and the Distributed Map fields in an inline Map.
pub(super) fn check_fields(c: &mut Checker, obj: &Map<String, Value>, loc: &str) {
    for f in ["ItemReader", "ResultWriter"] {
        if obj.contains_key(f) {
            c.err(
                SCHEMA,
                format!("The field \"{f}\" reads or writes Amazon S3, which has no on-prem counterpart: a Distributed Map runs over inline items (ItemsPath) here"),
                &pointer(loc, f),
            );
        }
    }
    if !is_distributed(obj) {
        for f in DISTRIBUTED_ONLY {
            if obj.contains_key(f) {
                c.err(
                    SCHEMA,
                    format!("The field \"{f}\" is supported only in a Map state whose ItemProcessor's ProcessorConfig.Mode is DISTRIBUTED"),
                    &pointer(loc, f),
                );
            }
        }
    }
}

fn exclusive(c: &mut Checker, obj: &Map<String, Value>, a: &str, b: &str, loc: &str) {
    if obj.contains_key(a) && obj.contains_key(b) {
        c.err(
            SCHEMA,
            format!("Only one of the fields [{a}, {b}] may be present"),
            loc,
        );
    }
}

/// The Distributed Map fields of a Map state (`None` for an inline Map).
pub(super) fn parse(
    c: &mut Checker,
    obj: &Map<String, Value>,
    loc: &str,
) -> Option<Box<Distributed>> {
    if !is_distributed(obj) {
        return None;
    }
    let execution_type = obj
        .get("ItemProcessor")
        .and_then(|p| p.get("ProcessorConfig"))
        .and_then(|p| p.get("ExecutionType"))
        .and_then(Value::as_str)
        .unwrap_or("STANDARD")
        .to_string();
    let label = c.string(obj, "Label", loc);
    if let Some(l) = &label {
        let ok = (1..=40).contains(&l.chars().count())
            && !l.chars().any(|ch| {
                ch.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(ch) || ch.is_control()
            });
        if !ok {
            c.err(
                SCHEMA,
                "The value of 'Label' must be 1 to 40 characters, without whitespace, control characters or any of < > { } [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : /",
                &pointer(loc, "Label"),
            );
        }
    }
    exclusive(
        c,
        obj,
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        loc,
    );
    exclusive(
        c,
        obj,
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        loc,
    );
    let tolerated_percentage = match obj.get("ToleratedFailurePercentage") {
        None => None,
        Some(v) => match v.as_f64().filter(|f| (0.0..=100.0).contains(f)) {
            Some(f) => Some(f),
            None => {
                c.err(
                    SCHEMA,
                    "Expected value of type: Number, in range [0, 100]",
                    &pointer(loc, "ToleratedFailurePercentage"),
                );
                None
            }
        },
    };
    let tolerated_count = c.uint(obj, "ToleratedFailureCount", loc, 0, MAX_INT_FIELD);
    let batcher = match obj.get("ItemBatcher") {
        None => None,
        Some(b) => {
            let l = pointer(loc, "ItemBatcher");
            let o = c.object(b, &l)?;
            c.allowed(
                o,
                &[
                    "MaxItemsPerBatch",
                    "MaxItemsPerBatchPath",
                    "MaxInputBytesPerBatch",
                    "MaxInputBytesPerBatchPath",
                    "BatchInput",
                ],
                &l,
            );
            exclusive(c, o, "MaxItemsPerBatch", "MaxItemsPerBatchPath", &l);
            exclusive(
                c,
                o,
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
                &l,
            );
            let batcher = Batcher {
                max_items: c.uint(o, "MaxItemsPerBatch", &l, 1, MAX_INT_FIELD),
                max_items_path: c.opt_ref_path(o, "MaxItemsPerBatchPath", &l),
                max_bytes: c.uint(o, "MaxInputBytesPerBatch", &l, 1, MAX_BATCH_BYTES),
                max_bytes_path: c.opt_ref_path(o, "MaxInputBytesPerBatchPath", &l),
                batch_input: c.template(o, "BatchInput", &l),
            };
            if [
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
            ]
            .iter()
            .all(|k| !o.contains_key(*k))
            {
                c.err(
                    SCHEMA,
                    "An ItemBatcher needs at least one of [MaxItemsPerBatch, MaxItemsPerBatchPath, MaxInputBytesPerBatch, MaxInputBytesPerBatchPath]",
                    &l,
                );
            }
            Some(batcher)
        }
    };
    Some(Box::new(Distributed {
        execution_type,
        label,
        batcher,
        tolerated_percentage,
        tolerated_percentage_path: c.opt_ref_path(obj, "ToleratedFailurePercentagePath", loc),
        tolerated_count,
        tolerated_count_path: c.opt_ref_path(obj, "ToleratedFailureCountPath", loc),
    }))
}
