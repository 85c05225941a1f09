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

    /// Solves `ticket`: Intercom closes the conversation (as the configured admin), Freshdesk
    /// sets the ticket's status to Resolved (4). Doing it twice changes nothing, so a solve
    /// whose answer was lost is simply sent again.
    ///
    /// # Errors
    /// See [`CallError`].
    pub async fn solve(&self, ticket: &str) -> Result<(), CallError> {
        let request = match self.vendor {
            Vendor::Intercom => {
                let mut payload = json!({"message_type": "close", "type": "admin"});
                if let Some(admin) = &self.admin_id {
                    payload["admin_id"] = json!(admin);
                }
                self.http
                    .post(format!("{}/conversations/{ticket}/parts", self.base))
                    .json(&payload)
            }
            Vendor::Freshdesk => self
                .http
                .put(format!("{}/api/v2/tickets/{ticket}", self.base))
                .json(&json!({"status": 4})),
        };
        self.call(request).await.map(|_| ())
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
