//! Keys of the Step Functions keyspace (the store's `sfn` column family). One leading byte names the
//! kind of record; text is length-prefixed and numbers big-endian, so keys sort as their parts do.

/// Activity records, by name.
pub const ACTIVITY: u8 = b'a';
/// State machine records, by name.
pub const STATE_MACHINE: u8 = b'm';
/// Execution records, by execution ARN.
pub const EXECUTION: u8 = b'e';
/// The per-state-machine execution index: newest first.
pub const EXECUTION_INDEX: u8 = b'x';
/// History events, by execution ARN and event id.
pub const HISTORY: u8 = b'h';
/// Published versions, by state machine name and number.
pub const VERSION: u8 = b'v';
/// Aliases, by state machine name and alias name.
pub const ALIAS: u8 = b'l';
/// The one record of resource counts (the quotas): `[COUNTS]`.
pub const COUNTS: u8 = b'n';
/// Definitions that executions run, stored once and shared (`stored_definitions`), by content id.
pub const DEFINITION: u8 = b'd';
/// Map Runs, by Map Run ARN.
pub const MAP_RUN: u8 = b'r';
/// The per-execution Map Run index: the execution's runs in the order they started.
pub const MAP_RUN_INDEX: u8 = b'q';
/// The one record of the cluster's apply version (`crate::apply_version`): `[APPLY_VERSION]`. (The
/// token keyring's one record is `k`, `crate::keyring`.)
pub const APPLY_VERSION: u8 = b'V';

fn push_str(key: &mut Vec<u8>, s: &str) {
    key.extend_from_slice(&(s.len() as u32).to_be_bytes());
    key.extend_from_slice(s.as_bytes());
}

/// The key of the resource counts.
pub fn counts() -> Vec<u8> {
    vec![COUNTS]
}

/// The key of an activity.
pub fn activity(name: &str) -> Vec<u8> {
    let mut k = vec![ACTIVITY];
    push_str(&mut k, name);
    k
}

/// The key of a state machine.
pub fn state_machine(name: &str) -> Vec<u8> {
    let mut k = vec![STATE_MACHINE];
    push_str(&mut k, name);
    k
}

/// The prefix of one state machine's versions.
pub fn version_prefix(sm_name: &str) -> Vec<u8> {
    let mut k = vec![VERSION];
    push_str(&mut k, sm_name);
    k
}

/// The key of a version: oldest first within its state machine.
pub fn version(sm_name: &str, number: u64) -> Vec<u8> {
    let mut k = version_prefix(sm_name);
    k.extend_from_slice(&number.to_be_bytes());
    k
}

/// The prefix of one state machine's aliases.
pub fn alias_prefix(sm_name: &str) -> Vec<u8> {
    let mut k = vec![ALIAS];
    push_str(&mut k, sm_name);
    k
}

/// The key of an alias.
pub fn alias(sm_name: &str, name: &str) -> Vec<u8> {
    let mut k = alias_prefix(sm_name);
    push_str(&mut k, name);
    k
}

/// The key of an execution.
pub fn execution(arn: &str) -> Vec<u8> {
    let mut k = vec![EXECUTION];
    push_str(&mut k, arn);
    k
}

/// The execution ARN an execution record's key names (`None` for any other key).
pub fn execution_arn_of(key: &[u8]) -> Option<&str> {
    let rest = key.strip_prefix(&[EXECUTION])?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let arn = rest.get(4..)?;
    (arn.len() == len)
        .then(|| std::str::from_utf8(arn).ok())
        .flatten()
}

/// The prefix of one state machine's execution index.
pub fn execution_index_prefix(state_machine_arn: &str) -> Vec<u8> {
    let mut k = vec![EXECUTION_INDEX];
    push_str(&mut k, state_machine_arn);
    k
}

/// An execution's entry in its state machine's index: newest start first, then by name.
pub fn execution_index(state_machine_arn: &str, start_ms: i64, name: &str) -> Vec<u8> {
    let mut k = execution_index_prefix(state_machine_arn);
    k.extend_from_slice(&(u64::MAX - start_ms.max(0) as u64).to_be_bytes());
    push_str(&mut k, name);
    k
}

/// The key of a Map Run.
pub fn map_run(arn: &str) -> Vec<u8> {
    let mut k = vec![MAP_RUN];
    push_str(&mut k, arn);
    k
}

/// The prefix of one execution's Map Run index.
pub fn map_run_index_prefix(execution_arn: &str) -> Vec<u8> {
    let mut k = vec![MAP_RUN_INDEX];
    push_str(&mut k, execution_arn);
    k
}

/// An execution's Map Run started by event `run_id` (its MapRunStarted): the run's ARN.
pub fn map_run_index(execution_arn: &str, run_id: u64) -> Vec<u8> {
    let mut k = map_run_index_prefix(execution_arn);
    k.extend_from_slice(&run_id.to_be_bytes());
    k
}

/// The prefix of an execution's history.
pub fn history_prefix(arn: &str) -> Vec<u8> {
    let mut k = vec![HISTORY];
    push_str(&mut k, arn);
    k
}

/// The key of one history event.
pub fn history(arn: &str, id: u64) -> Vec<u8> {
    let mut k = history_prefix(arn);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The key of a stored definition.
pub fn definition(id: &str) -> Vec<u8> {
    let mut k = vec![DEFINITION];
    push_str(&mut k, id);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_sorts_newest_first_and_history_by_id() {
        assert!(execution_index("sm", 2000, "a") < execution_index("sm", 1000, "a"));
        assert!(history("e", 2) < history("e", 10));
        assert!(!history("e", 1).starts_with(&history_prefix("e1")));
        assert_eq!(execution_arn_of(&execution("arn:x")), Some("arn:x"));
        assert_eq!(execution_arn_of(&history("arn:x", 1)), None);
        assert_eq!(execution_arn_of(&[EXECUTION, 0, 0]), None);
    }
}
