//! Invariant 5, liveness: after the faults are healed every workflow closes, within a bound.

use serde_json::json;

use super::{etype, is_close, ts_ms, FinalState, Verdict};

const NAME: &str = "liveness";

pub fn check(fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    let limit = fs.healed_ms + fs.liveness_bound_s * 1000.0;
    for (run, h) in &fs.histories {
        v.checked += 1;
        match h.events.iter().find(|e| is_close(etype(e))) {
            None => v.flag(NAME, json!({"run_id": run, "workflow_id": h.workflow_id,
                "problem": format!("still open {} s after healing", fs.liveness_bound_s),
                "last_event": h.events.last()})),
            Some(e) if ts_ms(e) > limit => v.flag(NAME, json!({"run_id": run, "workflow_id": h.workflow_id,
                "problem": format!("closed {:.1} s after healing (bound {} s)", (ts_ms(e) - fs.healed_ms) / 1000.0, fs.liveness_bound_s)})),
            Some(_) => {}
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;

    #[test]
    fn closed_runs_pass_open_or_late_ones_fail() {
        let fs = state_with(vec![("r1", "w1", good_run())]);
        assert!(check(&fs).anomalies.is_empty());
        let mut open = good_run();
        open.truncate(7);
        let mut fs = state_with(vec![("r1", "w1", good_run()), ("r2", "w2", open)]);
        assert_eq!(check(&fs).anomalies.len(), 1);
        fs.healed_ms = -100_000.0;
        fs.liveness_bound_s = 1.0;
        assert_eq!(
            check(&fs).anomalies.len(),
            2,
            "the closed one closed too late too"
        );
    }
}
