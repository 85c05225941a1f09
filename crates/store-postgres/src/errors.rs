//! The one place where sqlx errors become [`StoreError`]s. PostgreSQL names the violated
//! constraint, which becomes the conflict's name.

use frontline_store::StoreError;

/// Maps a driver error met while `context` was being done.
pub(crate) fn map(err: sqlx::Error, context: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
            constraint: db.constraint().unwrap_or("unique").to_owned(),
        },
        // 53100: disk full.
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "53100") => {
            StoreError::Full(Box::new(err))
        }
        // Class 08 (connection exception), 53 (insufficient resources), 57P (operator
        // intervention: shutdown, admin disconnect), 40001/40P01 (serialization, deadlock).
        sqlx::Error::Database(db)
            if db.code().is_some_and(|c| {
                c.starts_with("08")
                    || c.starts_with("53")
                    || c.starts_with("57P")
                    || c == "40001"
                    || c == "40P01"
            }) =>
        {
            StoreError::Unavailable(Box::new(err))
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => StoreError::Unavailable(Box::new(err)),
        _ => StoreError::internal(context.to_owned(), err),
    }
}
