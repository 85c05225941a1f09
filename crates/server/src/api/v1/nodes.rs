//! `GET /api/v1/nodes` (admins): the server nodes sharing this database, live within the last
//! fifteen seconds, and the leases each holds with their epochs: who runs detection, the
//! correlator and the other leader-only work right now.

use super::query;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/nodes", get(list_nodes))
}

/// A lease a node holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeldLease {
    /// The lease (`detection`, `correlation`, `cadence`, `subscriptions`).
    pub name: String,
    /// Its epoch: grows by one whenever the holder changes.
    pub epoch: i64,
    /// Until when, unless renewed (the database's clock).
    pub expires_at: DateTime<Utc>,
}

/// A live node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeOut {
    /// Host name, process id and a random part.
    pub id: String,
    /// Its version.
    pub version: String,
    /// The address it listens on.
    pub listen: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last reported (every few seconds).
    pub last_seen: DateTime<Utc>,
    /// Whether this is the node that answered.
    pub this_node: bool,
    /// The leases it holds now.
    pub leases: Vec<HeldLease>,
}

/// The live nodes, a page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeList {
    /// The nodes, oldest start first.
    pub items: Vec<NodeOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The nodes sharing the database and the leases each holds (admins only).
#[utoipa::path(get, path = "/api/v1/nodes", tag = "operations",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses((status = 200, description = "Live nodes", body = NodeList)),
    security(("bearer" = [])))]
pub async fn list_nodes(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<NodeList>, ApiError> {
    let paging = query::paging(query::pairs(query)?, "nodes", &[])?;
    let items = crate::workers::nodes::live_with_leases(state.store.as_ref())
        .await?
        .into_iter()
        .map(|(n, held)| NodeOut {
            this_node: n.id == state.node,
            id: n.id,
            version: n.version,
            listen: n.listen,
            started_at: n.started_at,
            last_seen: n.last_seen,
            leases: held
                .into_iter()
                .map(|l| HeldLease {
                    name: l.name,
                    epoch: l.epoch,
                    expires_at: l.expires_at,
                })
                .collect(),
        })
        .collect();
    let (items, next_cursor) = query::page_by_position(items, &paging, "nodes");
    Ok(Json(NodeList { items, next_cursor }))
}
