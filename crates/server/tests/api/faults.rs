//! Faults of the machine: a full database. The sender gets a clean error, nothing half-stored,
//! the file stays intact, reads go on, and intake resumes once there is space again.

use frontline_core::Role;
use frontline_testkit::{Backend, contact_json, json, spawn_app_with};
use serde_json::json;
use sqlx::Connection;

async fn a_full_database_refuses_cleanly_and_recovers_with_space(backend: Backend) {
    // The cap is SQLite's (`?max_size_mb=`); PostgreSQL's disk-full error maps the same way.
    if backend != Backend::Sqlite {
        return;
    }
    let Some(mut app) = spawn_app_with(backend, |c| {
        c.database = format!("{}?max_size_mb=1", c.database);
    })
    .await
    else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let mut acked = Vec::new();
    let refused = 'fill: {
        for b in 0..200 {
            let ids: Vec<String> = (0..50).map(|i| format!("f{b}-{i}")).collect();
            let batch: Vec<_> = ids
                .iter()
                .map(|id| contact_json("disk", id, "2026-11-25T10:00:00Z"))
                .collect();
            let (status, body) = json(
                app.post_json("/api/v1/contacts", &ingest, &json!(batch))
                    .await,
            )
            .await;
            match status {
                200 => acked.extend(ids),
                _ => break 'fill (status, body, ids),
            }
        }
        panic!("1 MiB never filled");
    };
    let (status, body, refused_ids) = refused;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "storage_full");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing in this request was stored")
    );
    assert!(
        acked.len() >= 100,
        "some intake fitted first: {}",
        acked.len()
    );
    // The refused batch is not half-stored; everything acknowledged is; reads go on.
    let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT ext_id FROM contacts WHERE source = 'disk'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(stored.len(), acked.len());
    assert!(refused_ids.iter().all(|id| !stored.contains(id)));
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, ["ok"]);
    conn.close().await.unwrap();
    let (status, _) = json(app.get("/api/v1/contacts?limit=5", &viewer).await).await;
    assert_eq!(status, 200, "reads go on while writes cannot");

    // Space again (a larger cap; on a real disk, freed space works without a restart).
    app.config.database = app
        .config
        .database
        .replace("max_size_mb=1", "max_size_mb=64");
    app.restart().await;
    let batch: Vec<_> = refused_ids
        .iter()
        .map(|id| contact_json("disk", id, "2026-11-25T10:00:00Z"))
        .collect();
    let (status, body) = json(
        app.post_json("/api/v1/contacts", &ingest, &json!(batch))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["accepted"], 50,
        "the refused batch is taken whole when sent again"
    );
}

frontline_testkit::backend_tests!(a_full_database_refuses_cleanly_and_recovers_with_space);
