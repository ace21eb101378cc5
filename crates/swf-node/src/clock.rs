//! `ClusterClock`: the time the leader stamps into commands, safe against nodes whose clocks are wrong.
//!
//! The rule (docs/architecture.md, "Time: skewed clocks"):
//! - **Cluster time** is the lower median of the voters' clocks as this node reads them: its own wall
//!   clock, and each other voter's wall clock from its latest answer to the quorum watch's probe
//!   (`Cluster.Ping` carries the answering node's wall clock) advanced by this node's *monotonic* time
//!   since the answer came. A majority of the voters' readings (its own included, each other voter's
//!   no older than `FRESH`) is needed; without it there is no cluster time and nothing is stamped.
//!   One node whose clock is off, by any amount and in either direction, or that jumps, moves the
//!   median by nothing; a jump of this node's own clock moves only its own reading.
//! - **The stamp** is the cluster time, but never below the last stamp applied to the state (kept in
//!   replicated state by the store, so a new leader knows it) nor below the last stamp this node gave:
//!   history time never goes backwards, across leader changes and restarts too.
//! - **Deadlines** are judged by the same time: the timer service reads what is due at cluster time,
//!   and applying a firing checks that its stamp has reached the due time. A leader whose own clock is
//!   ahead therefore fires nothing early; the peer readings are taken when the answer *arrives*, so they
//!   err late by the one-way delay, never early.
//! - **The margin.** Erring late is not enough on its own: a deadline armed under a stamp that erred
//!   late by more than the stamp that judges it is due (a slower link to the median voter then, a
//!   faster one now) would fire early by the difference. So the timer service fires a deadline only
//!   once cluster time has passed it by `uncertainty_ms`, the longest probe round trip of the last
//!   `UNCERTAINTY_WINDOW` (a bound of any reading's one-way delay in that window); on a single node
//!   there are no readings and no margin. A deadline armed longer ago than the window under a slower
//!   link than any since may still fire early by the difference (docs/architecture.md).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use swf_types::Timestamp;

/// A peer's reading counts only if its answer is this recent (the quorum watch probes every 100 ms).
pub(crate) const FRESH: Duration = Duration::from_secs(1);
/// How long a probe's round trip counts towards the firing margin (`ClusterClock::uncertainty_ms`).
pub(crate) const UNCERTAINTY_WINDOW: Duration = Duration::from_secs(120);

/// This process's wall clock, ms since the Unix epoch.
pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The cluster's time from `readings` (one per voter that has one: this node's wall clock and the
/// fresh peer readings, in ms): their lower median, the later of the two middle ones never taken. `None`
/// when fewer than a majority of `voters` have a reading.
pub(crate) fn cluster_time(readings: &[i64], voters: usize) -> Option<i64> {
    let majority = voters / 2 + 1;
    if readings.is_empty() || readings.len() < majority {
        return None;
    }
    let mut sorted = readings.to_vec();
    sorted.sort_unstable();
    Some(sorted[(sorted.len() - 1) / 2])
}

/// The stamp for cluster time `cluster`: never below the last applied stamp nor this node's last stamp.
pub(crate) fn stamp(cluster: i64, last_applied: i64, last_given: i64) -> i64 {
    cluster.max(last_applied).max(last_given)
}

/// A peer's clock as read from its latest probe answer.
#[derive(Clone, Copy)]
struct Reading {
    /// `None` from a node of a release before clock probes: it counts as agreeing with this node's own
    /// clock (a mixed-version cluster during a rolling upgrade stamps as that release did).
    wall_ms: Option<i64>,
    /// When the answer arrived (monotonic).
    at: Instant,
}

#[derive(Default)]
struct Inner {
    /// How many voters the cluster has (`None` until the quorum watch has said).
    voters: Option<usize>,
    /// The other voters.
    others: Vec<u64>,
    readings: HashMap<u64, Reading>,
    /// The longest probe round trip of each second of the last `UNCERTAINTY_WINDOW` that had one
    /// (when the second began, the longest), oldest first.
    round_trips: std::collections::VecDeque<(Instant, Duration)>,
    /// The last stamp this node gave.
    last_given: i64,
}

/// The leader's clock; see the module doc.
pub struct ClusterClock {
    /// The last stamp applied to the state (written by the store).
    last_applied: Arc<AtomicI64>,
    inner: Mutex<Inner>,
}

impl ClusterClock {
    /// A clock that knows the last applied stamp from `last_applied` (the store's).
    pub fn new(last_applied: Arc<AtomicI64>) -> ClusterClock {
        ClusterClock {
            last_applied,
            inner: Mutex::default(),
        }
    }

    /// A clock for a single-voter cluster (tests).
    #[cfg(test)]
    pub(crate) fn single() -> ClusterClock {
        let clock = ClusterClock::new(Arc::default());
        clock.set_voters(1, Vec::new());
        clock
    }

    /// The quorum watch tells how many voters there are and which are the others.
    pub(crate) fn set_voters(&self, voters: usize, others: Vec<u64>) {
        let mut inner = self.inner.lock().expect("clock lock");
        inner.readings.retain(|id, _| others.contains(id));
        inner.voters = Some(voters);
        inner.others = others;
    }

    /// Voter `node` answered a probe with its wall clock `wall_ms` (0: it does not tell), just now,
    /// `round_trip` after the probe was sent.
    pub(crate) fn record(&self, node: u64, wall_ms: i64, round_trip: Duration) {
        let now = Instant::now();
        let reading = Reading {
            wall_ms: (wall_ms > 0).then_some(wall_ms),
            at: now,
        };
        let mut inner = self.inner.lock().expect("clock lock");
        inner.readings.insert(node, reading);
        let trips = &mut inner.round_trips;
        match trips.back_mut() {
            Some((began, longest)) if now.duration_since(*began) < Duration::from_secs(1) => {
                *longest = (*longest).max(round_trip);
            }
            _ => trips.push_back((now, round_trip)),
        }
        while trips
            .front()
            .is_some_and(|(began, _)| now.duration_since(*began) > UNCERTAINTY_WINDOW)
        {
            trips.pop_front();
        }
    }

    /// How far past a deadline cluster time must be before it is fired (ms): the longest probe
    /// round trip of the last `UNCERTAINTY_WINDOW`, a bound of how late any reading in that window
    /// erred (see the module doc); 0 without peer readings.
    pub(crate) fn uncertainty_ms(&self) -> i64 {
        let inner = self.inner.lock().expect("clock lock");
        let now = Instant::now();
        inner
            .round_trips
            .iter()
            .filter(|(began, _)| now.duration_since(*began) <= UNCERTAINTY_WINDOW)
            .map(|(_, rtt)| rtt.as_millis() as i64 + 1)
            .max()
            .unwrap_or(0)
    }

    /// The last stamp applied to the state.
    pub(crate) fn last_applied(&self) -> i64 {
        self.last_applied.load(Ordering::SeqCst)
    }

    fn cluster_now_of(inner: &Inner) -> Option<i64> {
        let voters = inner.voters?;
        let now = Instant::now();
        let own = wall_ms();
        let mut readings = vec![own];
        for id in &inner.others {
            if let Some(r) = inner.readings.get(id) {
                let age = now.saturating_duration_since(r.at);
                if age < FRESH {
                    readings.push(r.wall_ms.map_or(own, |w| w + age.as_millis() as i64));
                }
            }
        }
        cluster_time(&readings, voters)
    }

    /// The time to stamp into a command now (see the module doc), or `None` without a majority of the
    /// voters' readings.
    pub(crate) fn now(&self) -> Option<Timestamp> {
        let mut inner = self.inner.lock().expect("clock lock");
        let cluster = Self::cluster_now_of(&inner)?;
        let t = stamp(cluster, self.last_applied(), inner.last_given);
        inner.last_given = t;
        Some(Timestamp(t))
    }

    /// The best guess of the stamp for a dry run or a log line: `now` when there is a cluster time,
    /// else this node's wall clock (never below the last stamps). Never stamped into a command.
    /// The cluster time now (ms since the epoch) for judging a client's clock: the lower median of
    /// the voters' readings, without the floors of a stamp (the last applied stamp could be ahead of
    /// the true time by a former leader's error); this node's own wall clock without a majority.
    pub fn cluster_now_ms(&self) -> i64 {
        let inner = self.inner.lock().expect("clock lock");
        Self::cluster_now_of(&inner).unwrap_or_else(wall_ms)
    }

    pub(crate) fn estimate(&self) -> Timestamp {
        let inner = self.inner.lock().expect("clock lock");
        let cluster = Self::cluster_now_of(&inner).unwrap_or_else(wall_ms);
        Timestamp(stamp(cluster, self.last_applied(), inner.last_given))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    /// The cluster time is the lower median of a majority's readings: one clock off by an hour either
    /// way (or two, on opposite sides) moves nothing; too few readings give none.
    #[test]
    fn cluster_time_is_the_lower_median_of_a_majority() {
        let t = 1_700_000_000_000;
        let cases: &[(&[i64], usize, Option<i64>)] = &[
            (&[t], 1, Some(t)),
            (&[t - H, t, t + H], 3, Some(t)),
            (&[t + H, t - H, t], 3, Some(t)),
            (&[t + H, t, t + 5], 3, Some(t + 5)),
            (&[t - H, t, t + 5], 3, Some(t)),
            // Two readings of three voters: the earlier, so an ahead clock never wins.
            (&[t + H, t], 3, Some(t)),
            (&[t, t - H], 3, Some(t - H)),
            (&[t], 3, None),
            (&[], 1, None),
            (&[t - H, t, t + H, t + 1, t + 2], 5, Some(t + 1)),
            (&[t + H, t + H, t, t], 5, Some(t)),
            (&[t, t + 1], 5, None),
        ];
        for (readings, voters, want) in cases {
            assert_eq!(
                cluster_time(readings, *voters),
                *want,
                "readings {readings:?} of {voters} voters"
            );
        }
    }

    /// The stamp never goes below the last applied stamp or the node's last one: a new leader whose
    /// clock is behind stamps the last applied time, not its own.
    #[test]
    fn the_stamp_never_goes_backwards() {
        let t = 1_700_000_000_000;
        // (cluster time, last applied, last given, stamp)
        let cases = [
            (t, 0, 0, t),
            (t, t - 10, t - 20, t),
            (t - H, t, 0, t),
            (t - H, t - 5, t, t),
            (t + 7, t, t + 3, t + 7),
        ];
        for (cluster, applied, given, want) in cases {
            assert_eq!(
                stamp(cluster, applied, given),
                want,
                "cluster {cluster}, applied {applied}, given {given}"
            );
        }
    }

    /// Through the clock: no cluster time until the voters are known and a majority has read; a
    /// stale reading stops counting; the stamp keeps to the applied one.
    #[test]
    fn the_clock_needs_a_majority_of_fresh_readings() {
        let applied = Arc::new(AtomicI64::new(0));
        let clock = ClusterClock::new(applied.clone());
        assert_eq!(clock.now(), None, "voters not known yet");
        clock.set_voters(3, vec![2, 3]);
        assert_eq!(clock.now(), None, "only its own reading");
        let own = wall_ms();
        clock.record(2, own + H, Duration::from_millis(1));
        let t = clock.now().expect("two of three").0;
        assert!(
            t >= own && t < own + 1_000,
            "the earlier of own and +1h: {t}"
        );
        clock.record(3, own - H, Duration::from_millis(1));
        let t = clock.now().expect("three").0;
        assert!(t >= own && t < own + 1_000, "the median: {t}");
        applied.store(own + 2 * H, Ordering::SeqCst);
        assert_eq!(clock.now().unwrap().0, own + 2 * H, "never below applied");
        // A voter removed: its reading no longer counts.
        clock.set_voters(3, vec![2]);
        assert!(clock.now().is_some());
        clock.set_voters(3, vec![4]);
        assert_eq!(clock.now(), None);
        // A node of the release before clock probes counts as agreeing with this one.
        clock.record(4, 0, Duration::from_millis(1));
        assert!(clock.now().is_some());
    }

    /// The firing margin is the longest round trip of the window (plus 1 ms of rounding), none
    /// without readings.
    #[test]
    fn the_margin_is_the_longest_recent_round_trip() {
        let clock = ClusterClock::single();
        assert_eq!(
            clock.uncertainty_ms(),
            0,
            "one node: no readings, no margin"
        );
        let own = wall_ms();
        for (rtt, want) in [(3, 4), (40, 41), (7, 41)] {
            clock.record(2, own, Duration::from_millis(rtt));
            assert_eq!(clock.uncertainty_ms(), want, "after a {rtt} ms round trip");
        }
    }
}
