//! Live across nodes: where the database announces feed appends (PostgreSQL's `NOTIFY`), this
//! node's live streams, webhook worker, subscriber mail and status page wake the moment
//! another node commits, instead of at their next one-second poll (which stays, as the
//! fallback). A lost listener is made again, and its owners read the feed first.

use crate::plumbing::state::AppState;
use frontline_store::FeedNews;
use tokio_util::sync::CancellationToken;

/// The wait before listening again after the connection could not be made.
const RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Follows the feed's announcements until `shutdown`; returns at once where the database
/// makes none (SQLite).
pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
        match state.store.listen_feed().await {
            Ok(None) => return,
            Ok(Some(mut listener)) => {
                // Whatever was committed before this listener existed went unannounced.
                state.feed_changed();
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        news = listener.next() => match news {
                            Ok(FeedNews::Head(_) | FeedNews::Resumed) => state.feed_changed(),
                            Err(e) => {
                                tracing::warn!(error = %e, "following the feed failed; listening again");
                                break;
                            }
                        },
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen to the feed; polling meanwhile"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}
