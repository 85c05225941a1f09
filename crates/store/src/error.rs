//! The one error type of the storage interface. Backends map their driver errors into it in one
//! place each; driver types never cross this boundary.

/// A boxed error cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in the store, named for what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`token abc123`).
        what: String,
    },
    /// The change conflicts with what is stored (a unique constraint).
    #[error("conflict: {constraint}")]
    Conflict {
        /// The constraint that was violated.
        constraint: String,
    },
    /// The caller may not make this change (a rule of the data, not of the route: an author
    /// approving their own statement).
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// A value cannot be stored as given.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// Why.
        reason: String,
    },
    /// The database could not be reached or is too busy; the change was not made. Retry later.
    #[error("the database is unavailable")]
    Unavailable(#[source] BoxError),
    /// The database is out of space (the disk, or the size an operator allowed it); the
    /// change was not made. It can succeed once space is freed.
    #[error("the database is full")]
    Full(#[source] BoxError),
    /// A leader-only write under a lease its writer no longer holds (its epoch moved on, or
    /// it expired): nothing was written. The writer must stop acting as leader.
    #[error("lease {name} is no longer held at epoch {epoch}")]
    Fenced {
        /// The lease.
        name: String,
        /// The epoch the write was made under.
        epoch: i64,
    },
    /// Outbox work (a webhook to follow, a message to send) settled under a claim another
    /// node has since taken over: nothing was written. The writer must drop the work.
    #[error("the claim on {what} was taken over")]
    ClaimLost {
        /// What was claimed (`webhook 3`, `message 17`).
        what: String,
    },
    /// The store found something it cannot explain (corrupt data, a failed invariant).
    #[error("storage failure: {context}")]
    Internal {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// An [`StoreError::Internal`] error with context.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Internal {
            context: context.into(),
            source: source.into(),
        }
    }
}
