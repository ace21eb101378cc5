//! When this node last heard from each other node: an answer to one of the quorum watch's probes
//! (`elections`), or a Raft message the other node sent it (`service::RaftServer`: the leader's
//! heartbeats, a candidate's vote request, a snapshot chunk). Either proves the two can talk now.
//!
//! The heartbeats matter under load. A loaded node answers a probe late, and on a busy 2-core
//! machine a probe's answer was seen to take 500–700 ms, past the probe's deadline, now from one peer
//! and now from another; a follower that judged on probes alone then counted itself cut off for a
//! moment and refused calls it could have forwarded. A leader's heartbeats arrive every 50 ms, over
//! the Raft connection, so a follower that hears them knows its leader is in reach even while the
//! probes are slow. (Partitions are symmetric here: a peer whose messages arrive can be reached.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The last time this node heard from each other node.
#[derive(Default)]
pub struct Heard {
    last: Mutex<HashMap<u64, Instant>>,
}

impl Heard {
    /// This node heard from `node` just now.
    pub fn record(&self, node: u64) {
        self.record_at(node, Instant::now());
    }

    /// This node heard from `node` at `at` (a later record wins over an earlier one).
    pub fn record_at(&self, node: u64, at: Instant) {
        let mut last = self.last.lock().expect("heard lock");
        let t = last.entry(node).or_insert(at);
        *t = (*t).max(at);
    }

    /// The nodes of `nodes` this node has not heard from within `window`.
    pub fn silent_of(&self, nodes: &[u64], window: Duration) -> Vec<u64> {
        let last = self.last.lock().expect("heard lock");
        nodes
            .iter()
            .filter(|n| last.get(n).is_none_or(|t| t.elapsed() >= window))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_never_heard_from_is_silent() {
        let heard = Heard::default();
        assert_eq!(heard.silent_of(&[2, 3], Duration::from_secs(60)), [2, 3]);
    }

    #[test]
    fn an_earlier_record_does_not_undo_a_later_one() {
        let heard = Heard::default();
        heard.record(2);
        heard.record_at(2, Instant::now() - Duration::from_secs(10));
        assert!(heard.silent_of(&[2], Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn a_node_heard_from_is_in_reach_for_the_window_only() {
        let heard = Heard::default();
        heard.record(2);
        assert_eq!(heard.silent_of(&[2, 3], Duration::from_secs(60)), [3]);
        // Any time at all is past an empty window.
        assert_eq!(heard.silent_of(&[2, 3], Duration::ZERO), [2, 3]);
    }
}
