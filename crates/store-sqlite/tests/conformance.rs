//! The shared storage conformance suite on a fresh SQLite file per test.

use frontline_store::Store;
use frontline_store_sqlite::SqliteStore;
use std::sync::Arc;

async fn fresh() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite store");
    Some((Arc::new(store), dir))
}

frontline_store::conformance_tests!(fresh());
