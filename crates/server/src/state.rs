//! What every handler shares.

use crate::config::Config;
use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_pipeline::redact::Redactor;
use frontline_store::Store;
use std::sync::Arc;

/// Shared state of the server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The compiled redaction patterns.
    pub redactor: &'static Redactor,
    /// The installation's customer pseudonym key.
    pub pseudonyms: PseudonymKey,
    /// The configuration the server started with.
    pub config: Arc<Config>,
}
