//! The shared storage conformance suite on a fresh PostgreSQL database per test.

use frontline_store::Store;
use frontline_store_postgres::PostgresStore;
use frontline_store_postgres::testing::TestDatabase;
use std::sync::Arc;

async fn fresh() -> Option<(Arc<dyn Store>, TestDatabase)> {
    let db = TestDatabase::create().await?;
    let store = PostgresStore::open(&db.url)
        .await
        .expect("open postgres store");
    Some((Arc::new(store), db))
}

frontline_store::conformance_tests!(fresh());
