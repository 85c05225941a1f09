//! The one place where sqlx errors become [`StoreError`]s. SQLite reports a unique violation as
//! "UNIQUE constraint failed: table.column"; the table and columns are the constraint's name.

use frontline_store::StoreError;

/// Maps a driver error met while `context` was being done.
pub(crate) fn map(err: sqlx::Error, context: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
            constraint: db
                .message()
                .strip_prefix("UNIQUE constraint failed: ")
                .unwrap_or(db.message())
                .to_owned(),
        },
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with extended codes: another writer held the
        // lock past the busy timeout.
        sqlx::Error::Database(db)
            if db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6)) =>
        {
            StoreError::Unavailable(Box::new(err))
        }
        // SQLITE_FULL (13): the disk, or `max_size_mb`, is full. The transaction was rolled
        // back whole.
        sqlx::Error::Database(db)
            if db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 13) =>
        {
            StoreError::Full(Box::new(err))
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(Box::new(err))
        }
        _ => StoreError::internal(context.to_owned(), err),
    }
}
