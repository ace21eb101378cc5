//! Measurement, not a pass/fail test (ignored by default; run with
//! `cargo test --release -p swf-store --test visibility_scale -- --ignored --nocapture`): index
//! 1,000,000 executions' visibility entries in RocksDB, then time a 100-item page of
//! ListOpenWorkflowExecutions (unfiltered, by tag, and the next page by token) and a count. Recorded in
//! docs/benchmarks.md.

use std::time::Instant;

use rocksdb::WriteBatch;
use swf_core::query::execution_info;
use swf_core::state::{DomainRecord, ExecutionRecord};
use swf_core::visibility;
use swf_store::db::{CF_DOMAINS, CF_VISIBILITY};
use swf_store::{open_db, StateReader};
use swf_types::shapes::*;
use swf_types::Timestamp;

fn record(i: u64) -> ExecutionRecord {
    ExecutionRecord {
        domain: "big".into(),
        workflow_id: format!("wf-{i}"),
        tag_list: vec![format!("tag-{}", i % 100)],
        started: Timestamp(1_700_000_000_000 + i as i64),
        ..ExecutionRecord::sample(&format!("run-{i:010}"))
    }
}

fn time<T>(what: &str, f: impl Fn() -> T) -> T {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..20 {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{what}: best of 20 {best:.3} ms");
    out.expect("ran")
}

#[test]
#[ignore = "measurement: run explicitly"]
fn page_of_100_out_of_a_million() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir.path().join("db")).unwrap();
    let domain: DomainRecord = serde_json::from_value(serde_json::json!({
        "detail": {"domainInfo": {"name": "big", "status": "REGISTERED"}, "configuration": {"workflowExecutionRetentionPeriodInDays": "1"}},
        "tags": [], "created": 0, "workflow_types": 1, "activity_types": 0
    }))
    .unwrap();
    db.put_cf(
        db.cf_handle(CF_DOMAINS).unwrap(),
        b"big",
        serde_json::to_vec(&domain).unwrap(),
    )
    .unwrap();
    let cf = db.cf_handle(CF_VISIBILITY).unwrap();
    let t = Instant::now();
    let mut batch = WriteBatch::default();
    for i in 0..1_000_000u64 {
        let rec = record(i);
        let info = serde_json::to_vec(&execution_info(&rec)).unwrap();
        for k in visibility::index_keys(&rec) {
            batch.put_cf(cf, k, &info);
        }
        if i % 10_000 == 9_999 {
            db.write(std::mem::take(&mut batch)).unwrap();
        }
    }
    db.write(batch).unwrap();
    db.flush_cf(cf).unwrap();
    println!(
        "indexed 1,000,000 executions in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let reader = StateReader::new(db.clone());
    let window = Box::new(ExecutionTimeFilter {
        oldest_date: Timestamp(0),
        latest_date: None,
    });
    let all = ListOpenWorkflowExecutionsInput {
        domain: "big".into(),
        start_time_filter: window.clone(),
        maximum_page_size: Some(100),
        ..Default::default()
    };
    let page = time("ListOpen, 100 newest of 1,000,000", || {
        visibility::list_open(&reader, &all).unwrap()
    });
    assert_eq!(page.execution_infos.len(), 100);
    assert_eq!(page.execution_infos[0].execution.workflow_id, "wf-999999");
    let next = ListOpenWorkflowExecutionsInput {
        next_page_token: page.next_page_token.clone(),
        ..all.clone()
    };
    let second = time("ListOpen, next page by token", || {
        visibility::list_open(&reader, &next).unwrap()
    });
    assert_eq!(second.execution_infos[0].execution.workflow_id, "wf-999899");
    let tagged = ListOpenWorkflowExecutionsInput {
        tag_filter: Some(Box::new(TagFilter {
            tag: "tag-7".into(),
        })),
        ..all.clone()
    };
    let by_tag = time("ListOpen, 100 newest with tag-7 (10,000 match)", || {
        visibility::list_open(&reader, &tagged).unwrap()
    });
    assert_eq!(by_tag.execution_infos.len(), 100);
    let count_in = CountOpenWorkflowExecutionsInput {
        domain: "big".into(),
        start_time_filter: window,
        tag_filter: Some(Box::new(TagFilter {
            tag: "tag-7".into(),
        })),
        ..Default::default()
    };
    let count = time("CountOpen with tag-7 (10,000 match)", || {
        visibility::count_open(&reader, &count_in).unwrap()
    });
    assert_eq!(count.count, 10_000);
}
