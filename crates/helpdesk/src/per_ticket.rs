//! Intercom's and Freshdesk's APIs as the write-back uses them: one reply or note per
//! conversation or ticket, and its parts read back to learn whether a write whose answer was
//! lost reached it. Errors say whether a write may have been applied, as for Zendesk.

use crate::clean::clean;
use crate::zendesk::CallError;
use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;

/// Which API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Intercom: `POST /conversations/{id}/reply` as an admin, Bearer token.
    Intercom,
    /// Freshdesk: `POST /api/v2/tickets/{id}/reply` and `/notes`, Basic `KEY:X`.
    Freshdesk,
}

/// A client for one account.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    vendor: Vendor,
    authorization: String,
    /// Intercom's replying admin, when configured.
    admin_id: Option<String>,
}

impl Client {
    /// An Intercom client with an access token (and the admin who replies, when given).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn intercom(
        base_url: &str,
        access_token: &str,
        admin_id: Option<String>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base: base_url.trim_end_matches('/').to_owned(),
            vendor: Vendor::Intercom,
            authorization: format!("Bearer {access_token}"),
            admin_id,
        })
    }

    /// A Freshdesk client with an API key.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn freshdesk(
        base_url: &str,
        api_key: &str,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{api_key}:X"));
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base: base_url.trim_end_matches('/').to_owned(),
            vendor: Vendor::Freshdesk,
            authorization: format!("Basic {credentials}"),
            admin_id: None,
        })
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, CallError> {
        crate::zendesk::call(request.header("authorization", &self.authorization)).await
    }

    /// Writes `body` on `ticket`: a public reply, or an internal note.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn write(&self, ticket: &str, body: &str, public: bool) -> Result<(), CallError> {
        let request = match self.vendor {
            Vendor::Intercom => {
                let mut payload = json!({
                    "message_type": if public { "comment" } else { "note" },
                    "type": "admin",
                    "body": body,
                });
                if let Some(admin) = &self.admin_id {
                    payload["admin_id"] = json!(admin);
                }
                self.http
                    .post(format!("{}/conversations/{ticket}/reply", self.base))
                    .json(&payload)
            }
            Vendor::Freshdesk if public => self
                .http
                .post(format!("{}/api/v2/tickets/{ticket}/reply", self.base))
                .json(&json!({"body": body})),
            Vendor::Freshdesk => self
                .http
                .post(format!("{}/api/v2/tickets/{ticket}/notes", self.base))
                .json(&json!({"body": body, "private": true})),
        };
        self.call(request).await.map(|_| ())
    }

    /// Solves `ticket` and swaps tag `remove` for `add`: Intercom closes the conversation (as
    /// the configured admin), Freshdesk sets the ticket's status to Resolved (4). Doing it twice
    /// changes nothing, so a solve whose answer was lost is simply sent again.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn solve(&self, ticket: &str, remove: &str, add: &str) -> Result<(), CallError> {
        match self.vendor {
            Vendor::Intercom => {
                self.tag(ticket, add, Some(remove)).await?;
                let mut payload = json!({"message_type": "close", "type": "admin"});
                if let Some(admin) = &self.admin_id {
                    payload["admin_id"] = json!(admin);
                }
                let request = self
                    .http
                    .post(format!("{}/conversations/{ticket}/parts", self.base))
                    .json(&payload);
                self.call(request).await.map(|_| ())
            }
            Vendor::Freshdesk => {
                let tags = self.freshdesk_tags(ticket, add, Some(remove)).await?;
                let request = self
                    .http
                    .put(format!("{}/api/v2/tickets/{ticket}", self.base))
                    .json(&json!({"status": 4, "tags": tags}));
                self.call(request).await.map(|_| ())
            }
        }
    }

    /// Adds tag `add` to `ticket` (and takes `remove` off), keeping the agents' own tags.
    /// Intercom tags by id: the tag is made (or found) by name first. Freshdesk replaces a
    /// ticket's tags as a whole, so its current ones are read first. Idempotent.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn tag(
        &self,
        ticket: &str,
        add: &str,
        remove: Option<&str>,
    ) -> Result<(), CallError> {
        match self.vendor {
            Vendor::Intercom => {
                let admin = json!(self.admin_id);
                let id = self.intercom_tag_id(add).await?;
                self.call(
                    self.http
                        .post(format!("{}/conversations/{ticket}/tags", self.base))
                        .json(&json!({"id": id, "admin_id": admin})),
                )
                .await?;
                if let Some(remove) = remove {
                    let id = self.intercom_tag_id(remove).await?;
                    match self
                        .call(
                            self.http
                                .delete(format!("{}/conversations/{ticket}/tags/{id}", self.base))
                                .json(&json!({"admin_id": admin})),
                        )
                        .await
                    {
                        // Not on the conversation: nothing to take off.
                        Ok(_) | Err(CallError::Refused { status: 404, .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Vendor::Freshdesk => {
                let tags = self.freshdesk_tags(ticket, add, remove).await?;
                self.call(
                    self.http
                        .put(format!("{}/api/v2/tickets/{ticket}", self.base))
                        .json(&json!({ "tags": tags })),
                )
                .await
                .map(|_| ())
            }
        }
    }

    /// An Intercom tag's id by its name (`POST /tags` makes it, or answers the one there is).
    async fn intercom_tag_id(&self, name: &str) -> Result<String, CallError> {
        let answer = self
            .call(
                self.http
                    .post(format!("{}/tags", self.base))
                    .json(&json!({ "name": name })),
            )
            .await?;
        id_of(&answer["id"]).ok_or_else(|| CallError::Unknown("no tag id in the answer".into()))
    }

    /// A Freshdesk ticket's tags with `add` added and `remove` taken off.
    async fn freshdesk_tags(
        &self,
        ticket: &str,
        add: &str,
        remove: Option<&str>,
    ) -> Result<Vec<String>, CallError> {
        let current = self
            .call(
                self.http
                    .get(format!("{}/api/v2/tickets/{ticket}", self.base)),
            )
            .await?;
        let mut tags: Vec<String> = current["tags"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        tags.retain(|t| Some(t.as_str()) != remove);
        if !tags.iter().any(|t| t == add) {
            tags.push(add.to_owned());
        }
        Ok(tags)
    }

    /// Every conversation of a Freshdesk ticket, page after page: Freshdesk lists 30 a page
    /// unless asked for up to 100, and a write read back from the first page only would be
    /// missed on a long ticket and sent twice.
    async fn freshdesk_conversations(&self, ticket: &str) -> Result<Vec<Value>, CallError> {
        const PER_PAGE: usize = 100;
        const MAX_PAGES: usize = 50;
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let answer = self
                .call(
                    self.http
                        .get(format!(
                            "{}/api/v2/tickets/{ticket}/conversations",
                            self.base
                        ))
                        .query(&[("per_page", PER_PAGE), ("page", page)]),
                )
                .await?;
            let Value::Array(items) = answer else {
                return Ok(all);
            };
            let last = items.len() < PER_PAGE;
            all.extend(items);
            if last {
                return Ok(all);
            }
        }
        Err(CallError::Unknown(format!(
            "ticket {ticket} has more than {MAX_PAGES} pages of conversations"
        )))
    }

    /// The texts on `ticket` (its conversation's parts), cleaned of markup.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn bodies(&self, ticket: &str) -> Result<Vec<String>, CallError> {
        let answer = match self.vendor {
            Vendor::Intercom => {
                self.call(
                    self.http
                        .get(format!("{}/conversations/{ticket}", self.base)),
                )
                .await?
            }
            Vendor::Freshdesk => Value::Array(self.freshdesk_conversations(ticket).await?),
        };
        let parts = match self.vendor {
            Vendor::Intercom => answer["conversation_parts"]["conversation_parts"].clone(),
            Vendor::Freshdesk => answer,
        };
        Ok(parts
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["body"].as_str().or_else(|| p["body_text"].as_str()))
                    .map(clean)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// One page of conversations or tickets changed since a sweep's start.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedPage {
    /// Their ids.
    pub tickets: Vec<String>,
    /// The newest change seen on the page (Unix seconds).
    pub newest: Option<i64>,
    /// Where the next page starts (Intercom's `starting_after`, Freshdesk's page number);
    /// `None` on the last page.
    pub next: Option<String>,
}

impl Client {
    /// Conversations (Intercom, `POST /conversations/search` on `updated_at`) or tickets
    /// (Freshdesk, `GET /api/v2/tickets?updated_since=…`) changed since `since` (Unix
    /// seconds), one page from `cursor` on.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn changed(
        &self,
        since: i64,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, CallError> {
        let (items, next) = match self.vendor {
            Vendor::Intercom => {
                let mut pagination = json!({"per_page": 50});
                if let Some(after) = cursor {
                    pagination["starting_after"] = json!(after);
                }
                let answer = self
                    .call(
                        self.http
                            .post(format!("{}/conversations/search", self.base))
                            .json(&json!({
                                "query": {"field": "updated_at", "operator": ">", "value": since},
                                "pagination": pagination,
                            })),
                    )
                    .await?;
                let next = answer["pages"]["next"]["starting_after"]
                    .as_str()
                    .map(str::to_owned);
                (answer["conversations"].clone(), next)
            }
            Vendor::Freshdesk => {
                const PER_PAGE: usize = 100;
                let page: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
                let updated = chrono::DateTime::from_timestamp(since, 0)
                    .unwrap_or_default()
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                let answer = self
                    .call(
                        self.http
                            .get(format!("{}/api/v2/tickets", self.base))
                            .query(&[
                                ("updated_since", updated.as_str()),
                                ("order_by", "updated_at"),
                                ("order_type", "asc"),
                            ])
                            .query(&[("per_page", PER_PAGE), ("page", page)]),
                    )
                    .await?;
                let full = answer.as_array().is_some_and(|a| a.len() == PER_PAGE);
                (answer, full.then(|| (page + 1).to_string()))
            }
        };
        let items = items.as_array().cloned().unwrap_or_default();
        Ok(ChangedPage {
            tickets: items.iter().filter_map(|t| id_of(&t["id"])).collect(),
            newest: items.iter().filter_map(|t| time_of(&t["updated_at"])).max(),
            next,
        })
    }

    /// What the customer wrote on a conversation or ticket, as its webhooks name it: the
    /// opening message `0`, then each customer part (Intercom: its part id; Freshdesk: a
    /// digest of its text, as [`crate::events::freshdesk_reply_id`]).
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn customer_messages(&self, ticket: &str) -> Result<Vec<crate::Message>, CallError> {
        let message =
            |comment: String, text: String, customer, at: Option<i64>, subject| crate::Message {
                ticket: ticket.to_owned(),
                comment,
                text,
                customer,
                at: at.and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
                subject,
            };
        let mut out = Vec::new();
        match self.vendor {
            Vendor::Intercom => {
                let c = self
                    .call(
                        self.http
                            .get(format!("{}/conversations/{ticket}", self.base)),
                    )
                    .await?;
                let customer =
                    |a: &Value| matches!(a["type"].as_str(), Some("user" | "lead" | "contact"));
                let source = &c["source"];
                let text = clean(source["body"].as_str().unwrap_or_default());
                if customer(&source["author"]) && !text.is_empty() {
                    out.push(message(
                        "0".into(),
                        text,
                        id_of(&source["author"]["id"]),
                        time_of(&c["created_at"]),
                        source["subject"]
                            .as_str()
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    ));
                }
                let parts = c["conversation_parts"]["conversation_parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for part in parts.iter().filter(|p| customer(&p["author"])) {
                    let text = clean(part["body"].as_str().unwrap_or_default());
                    if let (Some(id), false) = (id_of(&part["id"]), text.is_empty()) {
                        out.push(message(
                            id,
                            text,
                            id_of(&part["author"]["id"]),
                            time_of(&part["created_at"]),
                            None,
                        ));
                    }
                }
            }
            Vendor::Freshdesk => {
                let t = self
                    .call(
                        self.http
                            .get(format!("{}/api/v2/tickets/{ticket}", self.base))
                            .query(&[("include", "requester")]),
                    )
                    .await?;
                let requester = id_of(&t["requester_id"]);
                let text = clean(
                    t["description"]
                        .as_str()
                        .or_else(|| t["description_text"].as_str())
                        .unwrap_or_default(),
                );
                if !text.is_empty() {
                    out.push(message(
                        "0".into(),
                        text,
                        requester.clone(),
                        time_of(&t["created_at"]),
                        t["subject"].as_str().map(str::to_owned),
                    ));
                }
                for c in self.freshdesk_conversations(ticket).await? {
                    // What the customer sent in: incoming and public; agents' replies and
                    // notes are activity.
                    if c["incoming"].as_bool() != Some(true) || c["private"].as_bool() == Some(true)
                    {
                        continue;
                    }
                    let text = clean(
                        c["body"]
                            .as_str()
                            .or_else(|| c["body_text"].as_str())
                            .unwrap_or_default(),
                    );
                    if !text.is_empty() {
                        out.push(message(
                            crate::events::freshdesk_reply_id(&text),
                            text,
                            id_of(&c["user_id"]).or_else(|| requester.clone()),
                            time_of(&c["created_at"]),
                            None,
                        ));
                    }
                }
            }
        }
        Ok(out)
    }
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A time as the vendors give it: Unix seconds (Intercom) or RFC 3339 (Freshdesk).
fn time_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp()),
        _ => None,
    }
}
