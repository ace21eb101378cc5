//! Invariant 3, identical replicas: after healing and quiescence every node reaches the same applied
//! index, and at that index every node's state digest (all state column families, read at one
//! RocksDB snapshot, see `swf_store::digest`) is the same.

use serde_json::json;

use super::{FinalState, Verdict};

const NAME: &str = "replicas-identical";

pub fn check(fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    if fs.digests.is_empty() {
        v.flag(
            NAME,
            json!({"problem": "no digest could be read from any node"}),
        );
        return v;
    }
    v.checked = fs.digests.len() as u64;
    let missing: Vec<_> = fs.digests.iter().filter(|d| d.digest.is_none()).collect();
    if !missing.is_empty() {
        v.flag(
            NAME,
            json!({"problem": "digest not readable", "nodes": missing}),
        );
        return v;
    }
    let indexes: Vec<_> = fs.digests.iter().map(|d| d.last_applied).collect();
    if indexes.iter().any(|i| *i != indexes[0]) {
        v.flag(NAME, json!({"problem": "replicas did not reach the same applied index", "digests": fs.digests}));
        return v;
    }
    let first = &fs.digests[0];
    for d in &fs.digests[1..] {
        if d.digest != first.digest {
            v.flag(NAME, json!({
                "problem": format!("node {} and node {} differ at applied index {:?}", first.node, d.node, d.last_applied),
                "a": first, "b": d
            }));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::NodeDigest;
    use serde_json::Value;

    fn d(node: usize, index: u64, digest: &str) -> NodeDigest {
        NodeDigest {
            node,
            last_applied: Some(index),
            digest: Some(digest.into()),
            raw: Value::Null,
        }
    }

    #[test]
    fn equal_digests_pass() {
        let fs = FinalState {
            digests: vec![d(1, 10, "aa"), d(2, 10, "aa"), d(3, 10, "aa")],
            ..FinalState::default()
        };
        let v = check(&fs);
        assert_eq!(v.checked, 3);
        assert!(v.anomalies.is_empty());
    }

    #[test]
    fn catches_divergence_and_lag() {
        let fs = FinalState {
            digests: vec![d(1, 10, "aa"), d(2, 10, "bb"), d(3, 10, "aa")],
            ..FinalState::default()
        };
        assert_eq!(check(&fs).anomalies.len(), 1);
        let fs = FinalState {
            digests: vec![d(1, 10, "aa"), d(2, 9, "aa")],
            ..FinalState::default()
        };
        assert_eq!(check(&fs).anomalies.len(), 1);
        assert_eq!(check(&FinalState::default()).anomalies.len(), 1);
    }
}
