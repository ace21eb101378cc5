//! Distributed Map over inline items (`ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED`): the fields
//! of such a Map (`ExecutionType`, `Label`, `ItemBatcher`, `ToleratedFailure...`), their parsing
//! from a definition, and the pure steps the interpreter takes with them: the children's inputs
//! (items, or batches of items with `BatchInput`) and the failure tolerance. The run itself (child
//! executions, the MapRun resource) is the engine's (`swf_core::sfn::map_runs`).
//! `ItemReader` and `ResultWriter` read and write Amazon S3, which has no on-prem counterpart: they are
//! refused at create.

use serde_json::{Map, Value};

use crate::dataflow::apply_template;
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use crate::path::Path;

/// `ItemBatcher`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batcher {
    pub max_items: Option<u64>,
    pub max_items_path: Option<Path>,
    pub max_bytes: Option<u64>,
    pub max_bytes_path: Option<Path>,
    /// `BatchInput`: a payload template, merged into each batch's input beside `Items`.
    pub batch_input: Option<Value>,
}

/// The Distributed Map fields of a Map state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Distributed {
    /// `STANDARD` or `EXPRESS` (child executions run as STANDARD on this server).
    pub execution_type: String,
    pub label: Option<String>,
    pub batcher: Option<Batcher>,
    pub tolerated_percentage: Option<f64>,
    pub tolerated_percentage_path: Option<Path>,
    pub tolerated_count: Option<u64>,
    pub tolerated_count_path: Option<Path>,
}

/// Largest `MaxInputBytesPerBatch` (256 KiB, AWS's payload limit).
pub const MAX_BATCH_BYTES: u64 = 262_144;

/// The failure tolerance of a run: how many failed children it accepts (`count`) and which share
/// (`percentage`, 0–100).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub percentage: f64,
    pub count: u64,
}

impl Tolerance {
    /// Whether `failed` failures out of `total` children exceed the tolerance.
    pub fn exceeded(&self, failed: u64, total: u64) -> bool {
        if failed == 0 {
            return false;
        }
        let share = if total == 0 {
            0.0
        } else {
            failed as f64 * 100.0 / total as f64
        };
        failed > self.count && share > self.percentage
    }
}

/// The error and cause a run that exceeded its tolerance fails with.
pub const THRESHOLD_ERROR: &str = "States.ExceedToleratedFailureThreshold";
pub const THRESHOLD_CAUSE: &str = "The specified tolerated failure threshold was exceeded";

fn read_path(p: &Path, input: &Value, context: &Value, field: &str) -> Result<Value, StatesError> {
    p.query(input, context).ok_or_else(|| {
        StatesError::Runtime(format!(
            "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
            p.text,
            json_text(input)
        ))
    })
}

/// The tolerance, with the `...Path` forms read from the Map's effective input.
pub fn tolerance(
    d: &Distributed,
    input: &Value,
    context: &Value,
) -> Result<Tolerance, StatesError> {
    let percentage = match &d.tolerated_percentage_path {
        Some(p) => {
            let v = read_path(p, input, context, "ToleratedFailurePercentagePath")?;
            v.as_f64()
                .filter(|f| (0.0..=100.0).contains(f))
                .ok_or_else(|| {
                    StatesError::Runtime(format!(
                        "The value of ToleratedFailurePercentagePath '{}' must be a number from 0 to 100, but was {}",
                        p.text,
                        json_text(&v)
                    ))
                })?
        }
        None => d.tolerated_percentage.unwrap_or(0.0),
    };
    let count = match &d.tolerated_count_path {
        Some(p) => {
            let v = read_path(p, input, context, "ToleratedFailureCountPath")?;
            v.as_u64().ok_or_else(|| {
                StatesError::Runtime(format!(
                    "The value of ToleratedFailureCountPath '{}' must be a non-negative integer, but was {}",
                    p.text,
                    json_text(&v)
                ))
            })?
        }
        None => d.tolerated_count.unwrap_or(0),
    };
    Ok(Tolerance { percentage, count })
}

/// The children's inputs: one per item, or with an `ItemBatcher` one per batch,
/// `{"BatchInput": ..., "Items": [...]}` (BatchInput only when given), batches cut at
/// `MaxItemsPerBatch` items and before `MaxInputBytesPerBatch` bytes of items.
pub fn child_inputs(
    d: &Distributed,
    items: Vec<Value>,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Vec<Value>, StatesError> {
    let Some(b) = &d.batcher else {
        return Ok(items);
    };
    let max_items = match &b.max_items_path {
        Some(p) => read_path(p, input, context, "MaxItemsPerBatchPath")?
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                StatesError::Runtime("MaxItemsPerBatchPath must name a positive integer".into())
            })?,
        None => b.max_items.unwrap_or(0),
    };
    let max_bytes = match &b.max_bytes_path {
        Some(p) => read_path(p, input, context, "MaxInputBytesPerBatchPath")?
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                StatesError::Runtime(
                    "MaxInputBytesPerBatchPath must name a positive integer".into(),
                )
            })?,
        None => b.max_bytes.unwrap_or(0),
    }
    .min(MAX_BATCH_BYTES);
    let max_bytes = if max_bytes == 0 {
        MAX_BATCH_BYTES
    } else {
        max_bytes
    };
    let batch_input = match &b.batch_input {
        Some(t) => Some(apply_template(t, input, context, entropy)?),
        None => None,
    };
    let mut batches: Vec<Vec<Value>> = Vec::new();
    let mut bytes = 0u64;
    for item in items {
        let size = json_text(&item).len() as u64;
        let full = batches.last().is_none_or(|last| {
            (max_items > 0 && last.len() as u64 >= max_items)
                || (!last.is_empty() && bytes + size > max_bytes)
        });
        if full {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(last) = batches.last_mut() {
            last.push(item);
        }
    }
    Ok(batches
        .into_iter()
        .map(|items| {
            let mut m = Map::new();
            if let Some(bi) = &batch_input {
                m.insert("BatchInput".into(), bi.clone());
            }
            m.insert("Items".into(), Value::Array(items));
            Value::Object(m)
        })
        .collect())
}
