//! The task matcher: long polls wait here, in the leader's memory, per task list. Queued tasks are not
//! copied here; they live in applied state (the `queues` column family) and this module only wakes the
//! pollers of a task list when an applied entry queues a task there, and keeps two pollers from
//! proposing the same task at once (`claim`). A task is handed to a poller only after its "started"
//! command commits, so a task attempt goes to at most one poller.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use swf_core::state::{QueuedTask, TaskKind};
use swf_types::Fault;
use tokio::sync::Notify;

/// A task list: domain, kind of task, name.
pub type ListKey = (String, TaskKind, String);

/// The pollers of one task list.
#[derive(Default)]
pub struct ListWaiters {
    /// Woken when a task is queued on the list.
    pub notify: Notify,
    pollers: AtomicUsize,
}

/// Long-poll bookkeeping for all task lists.
pub struct Matcher {
    lists: Mutex<HashMap<ListKey, Arc<ListWaiters>>>,
    claims: Mutex<HashSet<(String, i64)>>,
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
        self.waiters.pollers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A claim on one queued task while its start is being proposed.
pub struct ClaimGuard<'a> {
    matcher: &'a Matcher,
    key: (String, i64),
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        self.matcher
            .claims
            .lock()
            .expect("claims lock")
            .remove(&self.key);
    }
}

impl Matcher {
    /// A matcher allowing `max_pollers` concurrent pollers per task list.
    pub fn new(max_pollers: usize) -> Matcher {
        Matcher {
            lists: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashSet::new()),
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
        Ok(PollerGuard { waiters })
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
    pub fn claim(&self, task: &QueuedTask) -> Option<ClaimGuard<'_>> {
        let key = (task.run_id.clone(), task.scheduled_event_id);
        if self.claims.lock().expect("claims lock").insert(key.clone()) {
            Some(ClaimGuard { matcher: self, key })
        } else {
            None
        }
    }
}
