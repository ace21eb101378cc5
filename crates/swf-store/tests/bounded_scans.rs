//! Prefix scans of the store are bounded to their prefix (`iterate_lower_bound` / `iterate_upper_bound`)
//! and still return what an unbounded scan returned: forward and reverse, from the start or strictly
//! after a key, with a limit, next to neighbouring prefixes that are live or deleted. (Unbounded, a scan
//! walked on after its last key over the tombstones of purged neighbours, one step per deleted key.)

use swf_core::sfn::query::SfnRead;
use swf_store::db::CF_SFN;
use swf_store::{open_db, StateReader};

/// One scan and what it returns: prefix, after, limit, reverse, the keys.
type Case = (
    &'static str,
    Option<&'static str>,
    usize,
    bool,
    &'static [&'static str],
);

#[test]
fn sfn_scans_stay_in_their_prefix_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path()).unwrap();
    let cf = db.cf_handle(CF_SFN).unwrap();
    for k in ["ea", "eb1", "eb2", "eb3", "ec", "ed1", "ed2"] {
        db.put_cf(cf, k, k).unwrap();
    }
    // A purged neighbour on each side of `eb`: deleted keys, as a purge leaves them.
    for k in ["ea", "ec"] {
        db.delete_cf(cf, k).unwrap();
    }
    let reader = StateReader::new(db.clone());
    // (prefix, after, limit, reverse, expected keys)
    let cases: &[Case] = &[
        ("eb", None, 10, false, &["eb1", "eb2", "eb3"]),
        ("eb", None, 2, false, &["eb1", "eb2"]),
        ("eb", Some("eb1"), 10, false, &["eb2", "eb3"]),
        ("eb", Some("eb3"), 10, false, &[]),
        ("eb", None, 10, true, &["eb3", "eb2", "eb1"]),
        ("eb", None, 1, true, &["eb3"]),
        ("eb", Some("eb3"), 10, true, &["eb2", "eb1"]),
        ("eb", Some("eb1"), 10, true, &[]),
        ("ed", None, 10, true, &["ed2", "ed1"]),
        ("ec", None, 10, false, &[]),
        ("ec", None, 10, true, &[]),
        ("e", None, 10, false, &["eb1", "eb2", "eb3", "ed1", "ed2"]),
        ("", None, 2, true, &["ed2", "ed1"]),
    ];
    for (prefix, after, limit, reverse, want) in cases {
        let got: Vec<String> = reader
            .sfn_scan(
                prefix.as_bytes(),
                after.map(str::as_bytes),
                *limit,
                *reverse,
            )
            .unwrap()
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(
            &got, want,
            "prefix {prefix:?} after {after:?} limit {limit} reverse {reverse}"
        );
    }
}
