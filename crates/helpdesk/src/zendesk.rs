//! Zendesk's REST API as the write-back uses it: the same comment on up to 100 tickets in one
//! `update_many` job, the job's per-ticket results, and a ticket's comments (to learn whether a
//! write whose answer was lost reached the ticket). Every error says whether the write may
//! have been applied, because that decides between a retry and a read-back.

use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;

/// Most tickets Zendesk takes in one `update_many`.
pub const MAX_IDS: usize = 100;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// 429: nothing applied; wait this long before the next call.
    #[error("rate limited; retry after {0:?}")]
    RateLimited(Duration),
    /// A 4xx other than 429: refused, nothing applied.
    #[error("refused with {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// No answer, a broken one, or a 5xx: the write may or may not have been applied.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

/// Sends a vendor API request and reads its JSON answer (`null` for an empty one), sorting
/// failures by whether a write may have been applied.
pub(crate) async fn call(request: reqwest::RequestBuilder) -> Result<Value, CallError> {
    let response = request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| CallError::Unknown(e.to_string()))?;
    let status = response.status();
    if status.as_u16() == 429 {
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(10);
        return Err(CallError::RateLimited(Duration::from_secs(wait)));
    }
    let text = response
        .text()
        .await
        .map_err(|e| CallError::Unknown(e.to_string()))?;
    if status.is_server_error() {
        return Err(CallError::Unknown(format!("{status}")));
    }
    if !status.is_success() {
        return Err(CallError::Refused {
            status: status.as_u16(),
            body: text.chars().take(200).collect(),
        });
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| CallError::Unknown(format!("unreadable answer: {e}")))
}

/// A job's state and, once done, each ticket's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
    /// Per ticket: its id, whether it was updated, and the error when not.
    pub results: Vec<(String, bool, Option<String>)>,
}

impl Job {
    /// Whether the job will not change any more.
    pub fn done(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "killed")
    }
}

/// A client for one Zendesk account.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

impl Client {
    /// A client for `base_url` with an API token (`email/token:API_TOKEN`, Basic).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        base_url: &str,
        email: &str,
        api_token: &str,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{email}/token:{api_token}"));
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base: base_url.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {credentials}"),
        })
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, CallError> {
        call(request.header("authorization", &self.authorization)).await
    }

    /// Adds one comment (public reply or internal note), and `tags` if any, to up to
    /// [`MAX_IDS`] tickets; answers the job's id.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn update_many(
        &self,
        tickets: &[String],
        body: &str,
        public: bool,
        tags: &[String],
    ) -> Result<String, CallError> {
        let mut ticket = json!({"comment": {"body": body, "public": public}});
        if !tags.is_empty() {
            // Added to each ticket's tags; `tags` would replace the agents' own.
            ticket["additional_tags"] = json!(tags);
        }
        self.update(tickets, ticket).await
    }

    /// Solves up to [`MAX_IDS`] tickets and swaps `remove_tag` for `add_tag` on each (the
    /// agents' other tags stay); answers the job's id. Solving a solved ticket changes nothing,
    /// so a solve whose answer was lost is simply sent again.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn solve_many(
        &self,
        tickets: &[String],
        remove_tag: &str,
        add_tag: &str,
    ) -> Result<String, CallError> {
        let ticket = json!({
            "status": "solved",
            "remove_tags": [remove_tag],
            "additional_tags": [add_tag],
        });
        self.update(tickets, ticket).await
    }

    /// One `update_many` job applying `ticket` to each of `tickets`.
    async fn update(&self, tickets: &[String], ticket: Value) -> Result<String, CallError> {
        let ids = tickets.join(",");
        let answer = self
            .call(
                self.http
                    .put(format!("{}/api/v2/tickets/update_many.json", self.base))
                    .query(&[("ids", ids)])
                    .json(&json!({ "ticket": ticket })),
            )
            .await?;
        answer["job_status"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CallError::Unknown("no job id in the answer".into()))
    }

    /// A job's state.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn job(&self, id: &str) -> Result<Job, CallError> {
        let answer = self
            .call(
                self.http
                    .get(format!("{}/api/v2/job_statuses/{id}.json", self.base)),
            )
            .await?;
        let job = &answer["job_status"];
        let results = job["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        let id = match &r["id"] {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            _ => return None,
                        };
                        let ok = r["success"].as_bool().unwrap_or(false);
                        let error = r["errors"]
                            .as_str()
                            .or_else(|| r["error"].as_str())
                            .map(str::to_owned);
                        Some((id, ok, error))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Job {
            status: job["status"].as_str().unwrap_or("unknown").to_owned(),
            results,
        })
    }

    /// The bodies of a ticket's comments.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn comments(&self, ticket: &str) -> Result<Vec<String>, CallError> {
        Ok(self
            .comment_pages(ticket)
            .await?
            .iter()
            .filter_map(|c| c["body"].as_str().map(str::to_owned))
            .collect())
    }

    /// Every comment of a ticket, page after page: Zendesk lists 100 at a time, and a write
    /// read back from the first page only would be missed on a long ticket and sent twice.
    /// Only `next_page` addresses on this account's own base are followed.
    async fn comment_pages(&self, ticket: &str) -> Result<Vec<Value>, CallError> {
        let mut url = format!("{}/api/v2/tickets/{ticket}/comments.json", self.base);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut answer = self.call(self.http.get(&url)).await?;
            if let Value::Array(page) = answer["comments"].take() {
                all.extend(page);
            }
            match answer["next_page"].as_str() {
                Some(next) if next.starts_with(&format!("{}/", self.base)) => {
                    url = next.to_owned();
                }
                _ => return Ok(all),
            }
        }
        Err(CallError::Unknown(format!(
            "ticket {ticket} has more than {MAX_PAGES} pages of comments"
        )))
    }
}

/// Pages of a ticket's comments read at most: 5,000 comments at Zendesk's 100 a page.
const MAX_PAGES: usize = 50;

/// A ticket as the incremental export lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Its id.
    pub id: String,
    /// Its requester (the customer).
    pub requester_id: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
}

/// A comment as a ticket's comments list it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketComment {
    /// Its id.
    pub id: String,
    /// Its text.
    pub body: String,
    /// Public or internal.
    pub public: bool,
    /// Who wrote it.
    pub author_id: Option<String>,
    /// When.
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One page of the incremental ticket export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPage {
    /// Tickets changed since the page's start.
    pub tickets: Vec<Ticket>,
    /// Where the next page starts (Unix seconds).
    pub end_time: i64,
    /// Whether this is the last page for now.
    pub end_of_stream: bool,
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Client {
    /// Tickets changed since `start_time` (Unix seconds): the time-based incremental export.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn changed_tickets(&self, start_time: i64) -> Result<ExportPage, CallError> {
        let answer = self
            .call(
                self.http
                    .get(format!("{}/api/v2/incremental/tickets.json", self.base))
                    .query(&[("start_time", start_time.to_string())]),
            )
            .await?;
        let tickets = answer["tickets"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| {
                        Some(Ticket {
                            id: id_of(&t["id"])?,
                            requester_id: id_of(&t["requester_id"]),
                            subject: t["subject"].as_str().map(str::to_owned),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ExportPage {
            tickets,
            end_time: answer["end_time"].as_i64().unwrap_or(start_time),
            end_of_stream: answer["end_of_stream"].as_bool().unwrap_or(true),
        })
    }

    /// A ticket's comments, oldest first (the first is the ticket's description).
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn ticket_comments(&self, ticket: &str) -> Result<Vec<TicketComment>, CallError> {
        Ok(self
            .comment_pages(ticket)
            .await?
            .iter()
            .filter_map(|c| {
                Some(TicketComment {
                    id: id_of(&c["id"])?,
                    body: c["body"].as_str()?.to_owned(),
                    public: c["public"].as_bool().unwrap_or(true),
                    author_id: id_of(&c["author_id"]),
                    created_at: c["created_at"]
                        .as_str()
                        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| t.with_timezone(&chrono::Utc)),
                })
            })
            .collect())
    }
}

/// The customer's messages among a ticket's comments: public ones by the requester. The first
/// comment is the ticket's description: message `0`, as its `ticket.created` webhook names it.
pub fn customer_messages(ticket: &Ticket, comments: &[TicketComment]) -> Vec<crate::Message> {
    comments
        .iter()
        .enumerate()
        .filter(|(_, c)| c.public && c.author_id.is_some() && c.author_id == ticket.requester_id)
        .filter_map(|(i, c)| {
            let text = crate::clean::clean(&c.body);
            (!text.is_empty()).then(|| crate::Message {
                ticket: ticket.id.clone(),
                comment: if i == 0 { "0".into() } else { c.id.clone() },
                text,
                customer: c.author_id.clone(),
                at: c.created_at,
                subject: if i == 0 { ticket.subject.clone() } else { None },
            })
        })
        .collect()
}
