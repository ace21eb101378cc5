//! The task matcher: long polls wait here, in the leader's memory, per task list. Queued tasks are not
//! copied here; they live in applied state (the `queues` column family) and this module only wakes the
//! pollers of a task list when an applied entry queues a task there, and keeps two pollers from
//! proposing the same task at once (`claim`). A task is handed to a poller only after its "started"
//! command commits, so a task attempt goes to at most one poller.
//!
//! A poll whose client goes away is dropped, and its registration with it. If it goes while its task
//! start is in flight (proposed, not yet applied), the started task is handed over (`hand_over`) to a
//! poller waiting on the same list, which takes it (`take_handoff`) before looking at the queue; with
//! no poller waiting it is dropped, and the task's start-to-close (or heartbeat) timeout recovers it,
//! as SWF's would.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swf_core::state::{QueuedTask, TaskKind};
use swf_core::Reply;
use swf_types::Fault;
use tokio::sync::Notify;
use tokio::time::Instant;

/// A task list: domain, kind of task, name.
pub type ListKey = (String, TaskKind, String);

/// How long a handed-over task waits for a poller to take it. A waiting poller takes it at once; one
/// left over (its taker went away too) is dropped after this, and the task's timeout recovers it.
const HANDOFF_TTL: Duration = Duration::from_secs(2);

/// Most poller identities remembered per task list; past it the one that polled least recently is
/// forgotten.
pub const MAX_IDENTITIES: usize = 32;

/// What the console shows of a task list (see [`Matcher::lists_of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ListView {
    pub kind: TaskKind,
    pub name: String,
    /// Pollers waiting (or proposing a start) now.
    pub pollers: usize,
    /// The identities that polled the list (the SWF `identity`, the Step Functions `workerName`;
    /// `""` when none was given) and how long ago each last did, most recent first.
    pub identities: Vec<(String, Duration)>,
}

impl ListView {
    /// `decision` or `activity`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            TaskKind::Decision => "decision",
            TaskKind::Activity => "activity",
        }
    }
}

/// The pollers of one task list.
#[derive(Default)]
pub struct ListWaiters {
    /// The identities that polled, with when they last did (at most [`MAX_IDENTITIES`]).
    seen: Mutex<HashMap<String, Instant>>,
    /// Woken when a task is queued on the list (or handed over).
    pub notify: Notify,
    pollers: AtomicUsize,
    /// Registered pollers not proposing a start of their own: those that would take a handoff.
    idle: AtomicUsize,
    /// Started tasks whose poller went away while the start was in flight, oldest first.
    handoffs: Mutex<VecDeque<(Instant, Reply)>>,
}

/// Long-poll bookkeeping for all task lists.
pub struct Matcher {
    lists: Mutex<HashMap<ListKey, Arc<ListWaiters>>>,
    claims: Arc<Mutex<HashSet<(String, i64)>>>,
    max_pollers: usize,
    /// Set when the node shuts down: waiting polls answer empty at once.
    closed: AtomicBool,
}

/// A registered poller; unregisters on drop (also when the client goes away mid-poll).
pub struct PollerGuard {
    pub waiters: Arc<ListWaiters>,
}

impl Drop for PollerGuard {
    fn drop(&mut self) {
        self.waiters.idle.fetch_sub(1, Ordering::SeqCst);
        self.waiters.pollers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PollerGuard {
    /// A started task handed over from a poller that went away, if one is waiting for a taker.
    pub fn take_handoff(&self) -> Option<Reply> {
        let mut handoffs = self.waiters.handoffs.lock().expect("handoffs lock");
        while let Some((at, reply)) = handoffs.pop_front() {
            if at.elapsed() < HANDOFF_TTL {
                return Some(reply);
            }
        }
        None
    }

    /// Marks the poller busy (proposing a start) until the returned guard is dropped: a busy poller
    /// does not count as one that would take a handoff.
    pub fn busy(&self) -> BusyGuard<'_> {
        self.waiters.idle.fetch_sub(1, Ordering::SeqCst);
        BusyGuard(&self.waiters)
    }
}

/// See [`PollerGuard::busy`].
pub struct BusyGuard<'a>(&'a ListWaiters);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.idle.fetch_add(1, Ordering::SeqCst);
    }
}

/// A claim on one queued task while its start is being proposed. It owns what it needs, so it can
/// travel with the proposal and be released when the proposal is done, whether or not the poller that
/// claimed the task is still there.
pub struct ClaimGuard {
    claims: Arc<Mutex<HashSet<(String, i64)>>>,
    key: (String, i64),
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        self.claims.lock().expect("claims lock").remove(&self.key);
    }
}

impl Matcher {
    /// A matcher allowing `max_pollers` concurrent pollers per task list.
    pub fn new(max_pollers: usize) -> Matcher {
        Matcher {
            lists: Mutex::new(HashMap::new()),
            claims: Arc::new(Mutex::new(HashSet::new())),
            max_pollers,
            closed: AtomicBool::new(false),
        }
    }

    /// Registers a poller on a task list, or LimitExceededFault when the list has too many.
    pub fn register(&self, key: ListKey) -> Result<PollerGuard, Fault> {
        let waiters = self
            .lists
            .lock()
            .expect("lists lock")
            .entry(key)
            .or_default()
            .clone();
        if waiters.pollers.fetch_add(1, Ordering::SeqCst) >= self.max_pollers {
            waiters.pollers.fetch_sub(1, Ordering::SeqCst);
            return Err(Fault::limit_exceeded(format!(
                "Too many pollers on this task list (limit {})",
                self.max_pollers
            )));
        }
        waiters.idle.fetch_add(1, Ordering::SeqCst);
        Ok(PollerGuard { waiters })
    }

    /// Hands a started task whose poller went away to a poller waiting on its list; false (the task
    /// is dropped, and its timeout will recover it) when none waits.
    pub fn hand_over(&self, key: &ListKey, reply: Reply) -> bool {
        let Some(waiters) = self.lists.lock().expect("lists lock").get(key).cloned() else {
            return false;
        };
        if waiters.idle.load(Ordering::SeqCst) == 0 {
            return false;
        }
        waiters
            .handoffs
            .lock()
            .expect("handoffs lock")
            .push_back((Instant::now(), reply));
        waiters.notify.notify_waiters();
        true
    }

    /// Pollers registered on a task list (waiting or proposing a start).
    pub fn pollers(&self, key: &ListKey) -> usize {
        self.lists
            .lock()
            .expect("lists lock")
            .get(key)
            .map_or(0, |w| w.pollers.load(Ordering::SeqCst))
    }

    /// Records that `identity` polled the task list `key` now (for the console; the list must be
    /// known to exist, as for [`Matcher::register`]).
    pub fn polled(&self, key: &ListKey, identity: Option<&str>) {
        let waiters = self
            .lists
            .lock()
            .expect("lists lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let mut seen = waiters.seen.lock().expect("seen lock");
        let identity = identity.unwrap_or("");
        if !seen.contains_key(identity) && seen.len() >= MAX_IDENTITIES {
            if let Some(oldest) = seen.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone()) {
                seen.remove(&oldest);
            }
        }
        seen.insert(identity.to_string(), Instant::now());
    }

    /// The task lists of `domain` that have been polled on this node, by kind and name, with their
    /// pollers now and the identities that polled them.
    pub fn lists_of(&self, domain: &str) -> Vec<ListView> {
        let lists: BTreeMap<(TaskKind, String), Arc<ListWaiters>> = self
            .lists
            .lock()
            .expect("lists lock")
            .iter()
            .filter(|((d, _, _), _)| d == domain)
            .map(|((_, kind, name), w)| ((*kind, name.clone()), w.clone()))
            .collect();
        let now = Instant::now();
        lists
            .into_iter()
            .map(|((kind, name), w)| {
                let mut identities: Vec<(String, Duration)> = w
                    .seen
                    .lock()
                    .expect("seen lock")
                    .iter()
                    .map(|(id, at)| (id.clone(), now.saturating_duration_since(*at)))
                    .collect();
                identities.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                ListView {
                    kind,
                    name,
                    pollers: w.pollers.load(Ordering::SeqCst),
                    identities,
                }
            })
            .collect()
    }

    /// Pollers registered on each task list that has any (the pollers metric).
    pub fn pollers_by_list(&self) -> Vec<(ListKey, usize)> {
        self.lists
            .lock()
            .expect("lists lock")
            .iter()
            .map(|(k, w)| (k.clone(), w.pollers.load(Ordering::SeqCst)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Pollers registered on all task lists (`pollers` in `GET /cluster/status`; only a leader holds
    /// any).
    pub fn total_pollers(&self) -> usize {
        self.lists
            .lock()
            .expect("lists lock")
            .values()
            .map(|w| w.pollers.load(Ordering::SeqCst))
            .sum()
    }

    /// Wakes the pollers of the task lists these newly queued tasks are on.
    pub fn notify(&self, tasks: &[QueuedTask]) {
        let lists = self.lists.lock().expect("lists lock");
        for t in tasks {
            if let Some(w) = lists.get(&(t.domain.clone(), t.kind, t.task_list.clone())) {
                w.notify.notify_waiters();
            }
        }
    }

    /// Ends every waiting poll (empty answer) and refuses to hold new ones: the node is stopping.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Whether the node is stopping.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Wakes every poller (after a leadership change, so each re-checks where it stands).
    pub fn wake_all(&self) {
        for w in self.lists.lock().expect("lists lock").values() {
            w.notify.notify_waiters();
        }
    }

    /// Claims a task for one poller, or `None` if another poller is proposing it right now.
    pub fn claim(&self, task: &QueuedTask) -> Option<ClaimGuard> {
        let key = (task.run_id.clone(), task.scheduled_event_id);
        if self.claims.lock().expect("claims lock").insert(key.clone()) {
            Some(ClaimGuard {
                claims: self.claims.clone(),
                key,
            })
        } else {
            None
        }
    }
}
