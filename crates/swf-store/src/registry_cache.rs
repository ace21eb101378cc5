//! Decoded copies of the small records nearly every command reads: domains, workflow and activity
//! types, the single records of the `sfn` keyspace (the token keyring, the apply version) and the
//! de-duplication table's forgotten-below marker. Each was a RocksDB look-up and a JSON decode per
//! read, several per command on every replica (about 3 % of a cluster's CPU, docs/benchmarks.md,
//! session 23), for records that change only when a domain or type is registered or a key rotated.
//!
//! Coherence, as for the record cache (`hot_index`): RocksDB stays the source of truth. A reader that
//! misses reads RocksDB and fills the cache only if no applied entry touched a cached keyspace since
//! its look-up began (an epoch, bumped by every such entry right after its batch is written, under
//! the same lock), so a reader racing with the state machine cannot leave an old value behind. The
//! state machine drops each key an entry writes before anyone is told of the entry; between the batch
//! write and that, a reader may still see the previous value, which only a read that need not be
//! current does (reads that must be current run after the entry's apply returned). Absent records are
//! cached too (a look-up of a name nobody registered); the cache is emptied when it holds more than
//! [`MOST`] keys, and after a snapshot install.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use swf_core::state::Write;

use crate::db::{CF_DOMAINS, CF_REQUESTS, CF_SFN, CF_TYPES};
use crate::keys;

/// Most keys cached before the cache starts again empty.
pub const MOST: usize = 4096;

type Value = Option<Arc<dyn Any + Send + Sync>>;

/// Whether a key of column family `cf` is one this cache holds.
pub fn cacheable(cf: &str, key: &[u8]) -> bool {
    match cf {
        CF_DOMAINS | CF_TYPES => true,
        // The keyspace's single records (one-byte keys), not its executions, histories and the like.
        CF_SFN => key.len() == 1,
        CF_REQUESTS => key == keys::REQUESTS_FORGOTTEN_KEY,
        _ => false,
    }
}

/// A look-up's answer: the cached value, or a miss with the epoch to fill it at.
pub enum Cached<T> {
    Hit(Option<T>),
    Miss(u64),
}

#[derive(Default)]
struct Inner {
    epoch: u64,
    /// By column family, then key (a hit looks up a borrowed key, no allocation).
    values: HashMap<&'static str, HashMap<Vec<u8>, Value>>,
    /// Keys held, over every column family (the bound `MOST` applies to).
    len: usize,
}

/// The cache of one database (held by its `Mirror`).
#[derive(Default)]
pub struct RegistryCache {
    inner: Mutex<Inner>,
}

impl RegistryCache {
    /// The cached value of `key` in `cf`, or the epoch a fill after reading RocksDB must name.
    pub fn get<T: Clone + 'static>(&self, cf: &'static str, key: &[u8]) -> Cached<T> {
        let Ok(inner) = self.inner.lock() else {
            return Cached::Miss(u64::MAX);
        };
        match inner.values.get(cf).and_then(|values| values.get(key)) {
            Some(None) => Cached::Hit(None),
            Some(Some(v)) => match v.downcast_ref::<T>() {
                Some(v) => Cached::Hit(Some(v.clone())),
                None => Cached::Miss(inner.epoch),
            },
            None => Cached::Miss(inner.epoch),
        }
    }

    /// Caches `value` (read from RocksDB after a miss at `epoch`), unless an entry touched the cached
    /// keyspaces since.
    pub fn fill<T: Send + Sync + 'static>(
        &self,
        epoch: u64,
        cf: &'static str,
        key: &[u8],
        value: Option<T>,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.epoch != epoch {
            return;
        }
        if inner.len >= MOST {
            inner.values.clear();
            inner.len = 0;
        }
        let value: Value = value.map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>);
        if inner
            .values
            .entry(cf)
            .or_default()
            .insert(key.to_vec(), value)
            .is_none()
        {
            inner.len += 1;
        }
    }

    /// Drops the keys an applied entry wrote (call right after its batch is written).
    pub fn applied(&self, writes: &[Write]) {
        let touched: Vec<(&'static str, Vec<u8>)> = writes.iter().filter_map(touched).collect();
        if touched.is_empty() {
            return;
        }
        if let Ok(mut inner) = self.inner.lock() {
            inner.epoch += 1;
            for (cf, key) in &touched {
                let removed = inner.values.get_mut(cf).and_then(|v| v.remove(key));
                if removed.is_some() {
                    inner.len -= 1;
                }
            }
        }
    }

    /// Forgets everything (the state was replaced).
    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.epoch += 1;
            inner.values.clear();
            inner.len = 0;
        }
    }
}

/// The cached key a write changes, if it changes one.
fn touched(w: &Write) -> Option<(&'static str, Vec<u8>)> {
    let (cf, key) = match w {
        Write::Domain(d) => (CF_DOMAINS, d.detail.domain_info.name.as_bytes().to_vec()),
        Write::WorkflowType { domain, detail } => {
            let t = &detail.type_info.workflow_type;
            (CF_TYPES, keys::type_key(domain, b'W', &t.name, &t.version))
        }
        Write::ActivityType { domain, detail } => {
            let t = &detail.type_info.activity_type;
            (CF_TYPES, keys::type_key(domain, b'A', &t.name, &t.version))
        }
        Write::DeleteWorkflowType {
            domain,
            workflow_type: t,
        } => (CF_TYPES, keys::type_key(domain, b'W', &t.name, &t.version)),
        Write::DeleteActivityType {
            domain,
            activity_type: t,
        } => (CF_TYPES, keys::type_key(domain, b'A', &t.name, &t.version)),
        Write::Sfn { key, .. } if cacheable(CF_SFN, key) => (CF_SFN, key.clone()),
        Write::ForgetRequests { .. } => (CF_REQUESTS, keys::REQUESTS_FORGOTTEN_KEY.to_vec()),
        _ => return None,
    };
    Some((cf, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_begun_before_a_write_of_the_keyspace_is_not_kept() {
        let cache = RegistryCache::default();
        let Cached::<u64>::Miss(epoch) = cache.get(CF_REQUESTS, b"") else {
            panic!("empty cache")
        };
        // An entry forgets requests meanwhile: the reader's (older) value must not stay.
        cache.applied(&[Write::ForgetRequests { below: 7 }]);
        cache.fill(epoch, CF_REQUESTS, b"", Some(3u64));
        assert!(matches!(
            cache.get::<u64>(CF_REQUESTS, b""),
            Cached::Miss(_)
        ));
        // Filled after: kept, and dropped again by the next write of that key.
        let Cached::<u64>::Miss(epoch) = cache.get(CF_REQUESTS, b"") else {
            panic!()
        };
        cache.fill(epoch, CF_REQUESTS, b"", Some(7u64));
        assert!(matches!(
            cache.get::<u64>(CF_REQUESTS, b""),
            Cached::Hit(Some(7))
        ));
        cache.applied(&[Write::ForgetRequests { below: 9 }]);
        assert!(matches!(
            cache.get::<u64>(CF_REQUESTS, b""),
            Cached::Miss(_)
        ));
    }

    #[test]
    fn absent_records_are_cached_and_other_keyspaces_are_not_touched() {
        let cache = RegistryCache::default();
        let Cached::<u64>::Miss(epoch) = cache.get(CF_SFN, b"k") else {
            panic!()
        };
        cache.fill::<u64>(epoch, CF_SFN, b"k", None);
        assert!(matches!(cache.get::<u64>(CF_SFN, b"k"), Cached::Hit(None)));
        // A Step Functions execution record is not a cached key: writing it changes nothing here.
        cache.applied(&[Write::Sfn {
            key: b"e-arn".to_vec(),
            value: Some(b"{}".to_vec()),
        }]);
        assert!(matches!(cache.get::<u64>(CF_SFN, b"k"), Cached::Hit(None)));
        cache.applied(&[Write::Sfn {
            key: b"k".to_vec(),
            value: Some(b"{}".to_vec()),
        }]);
        assert!(matches!(cache.get::<u64>(CF_SFN, b"k"), Cached::Miss(_)));
        assert!(!cacheable(CF_SFN, b"e-arn"));
        assert!(cacheable(CF_TYPES, b"anything"));
    }

    #[test]
    fn a_full_cache_starts_again() {
        let cache = RegistryCache::default();
        for i in 0..MOST + 10 {
            let key = format!("d{i}");
            let Cached::<u64>::Miss(epoch) = cache.get(CF_DOMAINS, key.as_bytes()) else {
                panic!()
            };
            cache.fill(epoch, CF_DOMAINS, key.as_bytes(), Some(i as u64));
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.len <= MOST);
        assert_eq!(
            inner.len,
            inner.values.values().map(HashMap::len).sum::<usize>()
        );
        drop(inner);
        assert!(matches!(
            cache.get::<u64>(CF_DOMAINS, format!("d{}", MOST + 9).as_bytes()),
            Cached::Hit(Some(_))
        ));
    }
}
