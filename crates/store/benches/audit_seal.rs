//! What sealing costs per audit record: the erasable format (salts drawn from the system,
//! three commitments, the record's hash) against the first format (the record's hash over
//! its fields), the same entry, interleaved rounds. Every write transaction appends one record
//! (a bulk batch of 1,000 contacts, or one contact posted alone).
//!
//! `cargo bench -p frontline-store --bench audit_seal`
#![allow(clippy::unwrap_used)]

use frontline_core::audit::{Actor, AuditEntry, AuditRecord};
use std::time::Instant;

const N: i64 = 200_000;

fn per_record(mut seal: impl FnMut(i64) -> AuditRecord) -> f64 {
    let started = Instant::now();
    let mut bytes = 0;
    for i in 0..N {
        bytes += seal(i).hash.len();
    }
    assert_eq!(bytes, 64 * N as usize);
    started.elapsed().as_secs_f64() / N as f64 * 1e6
}

fn main() {
    let entry = AuditEntry::new(
        Actor::User {
            name: "alice".into(),
        },
        "contacts.ingest",
        "contacts",
    )
    .with_detail(serde_json::json!({"accepted": 1000, "duplicates": 0, "sources": ["zendesk"]}))
    .with_client(Some("192.0.2.7".into()));
    let at = chrono::Utc::now();
    let (mut clear, mut sealed) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        clear.push(per_record(|i| AuditRecord::seal_clear(i, at, &entry, "00")));
        sealed.push(per_record(|i| {
            frontline_store::audit::seal(i, at, &entry, "00")
        }));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (c, s) = (median(&mut clear), median(&mut sealed));
    println!(
        "audit record sealed, median of 5 rounds of {N}: format 1 {c:.2} us, format 2 (erasable) {s:.2} us, {:.2}x",
        s / c
    );
}
