//! The trends across incidents (`/trends`): per month, how fast both teams detected,
//! acknowledged, spoke and resolved, what recurred, and why alerts were dismissed.

use super::{me, page};
use crate::auth::Principal;
use crate::insights::{self, human_duration};
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Extension;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use serde::Serialize;

/// The trends page.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/trends", get(trends))
}

#[derive(Serialize)]
struct MonthRow {
    month: String,
    incidents: usize,
    severity: String,
    detect: String,
    ack: String,
    public: String,
    resolve: String,
}

fn spread(s: &insights::Spread) -> String {
    match (s.median, s.p90) {
        (Some(m), Some(p)) => format!(
            "{} / {} (n={})",
            human_duration(m.round() as i64),
            human_duration(p.round() as i64),
            s.n
        ),
        _ => "—".into(),
    }
}

async fn trends(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let months = crate::api::v1::insights::months(query)?;
    let t = insights::trends(&state, months, Utc::now()).await?;
    let charts = insights::trend_charts(&t);
    let rows: Vec<MonthRow> = t
        .months
        .iter()
        .map(|m| MonthRow {
            month: m.month.clone(),
            incidents: m.incidents,
            severity: m
                .by_severity
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            detect: spread(&m.time_to_detect),
            ack: spread(&m.time_to_acknowledge),
            public: spread(&m.time_to_first_public_statement),
            resolve: spread(&m.time_to_resolve),
        })
        .collect();
    page(
        "trends.html",
        minijinja::context! { me => me(&principal), here => "/trends", months, charts, rows, t },
    )
}
