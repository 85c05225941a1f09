//! Fake helpdesks on the sending side: webhooks signed as Zendesk, Intercom and Freshdesk sign
//! them (written from the vendors' documentation, apart from the product's verifier), and
//! signed wrongly in each way a test needs.

use base64::Engine;
use hmac::{Hmac, Mac};

/// How a Zendesk webhook is signed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZendeskSigning {
    /// As Zendesk does: HMAC-SHA256 over the timestamp followed by the body.
    Right,
    /// The body before the timestamp.
    Reversed,
}

/// Zendesk's signature headers for `body` at `timestamp` under `secret`.
pub fn zendesk_headers(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    signing: ZendeskSigning,
) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    match signing {
        ZendeskSigning::Right => {
            mac.update(timestamp.as_bytes());
            mac.update(body);
        }
        ZendeskSigning::Reversed => {
            mac.update(body);
            mac.update(timestamp.as_bytes());
        }
    }
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    vec![
        ("x-zendesk-webhook-signature", signature),
        (
            "x-zendesk-webhook-signature-timestamp",
            timestamp.to_owned(),
        ),
    ]
}

/// Intercom's `X-Hub-Signature` for `body` under `secret`.
pub fn intercom_header(secret: &str, body: &[u8]) -> (&'static str, String) {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    (
        "x-hub-signature",
        format!("sha1={}", hex::encode(mac.finalize().into_bytes())),
    )
}

/// POSTs `body` to `url` with `headers`, as a vendor's webhook sender does.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("webhook sent")
}

/// A Zendesk `ticket.tags_changed` event: an agent added `added` to `ticket`.
pub fn zendesk_tags_changed(
    ticket: &str,
    requester: &str,
    description: &str,
    added: &[&str],
) -> serde_json::Value {
    serde_json::json!({
        "account_id": 1,
        "id": format!("evt-tags-{ticket}-{}", added.join("-")),
        "subject": format!("zen:ticket:{ticket}"),
        "time": chrono::Utc::now().to_rfc3339(),
        "type": "zen:event-type:ticket.tags_changed",
        "zendesk_event_version": "2022-11-06",
        "detail": {
            "id": ticket,
            "subject": "Account",
            "description": description,
            "requester_id": requester,
            "status": "OPEN",
            "tags": added,
        },
        "event": {"tags_added": added, "tags_removed": []},
    })
}

/// A Zendesk `ticket.created` event.
pub fn zendesk_ticket_created(
    ticket: &str,
    requester: &str,
    subject: &str,
    description: &str,
) -> serde_json::Value {
    serde_json::json!({
        "account_id": 1,
        "id": format!("evt-created-{ticket}"),
        "subject": format!("zen:ticket:{ticket}"),
        "time": chrono::Utc::now().to_rfc3339(),
        "type": "zen:event-type:ticket.created",
        "zendesk_event_version": "2022-11-06",
        "detail": {
            "id": ticket,
            "subject": subject,
            "description": description,
            "requester_id": requester,
            "status": "NEW",
        },
        "event": {},
    })
}

/// A Zendesk `ticket.comment_added` event.
pub fn zendesk_comment_added(
    ticket: &str,
    comment: &str,
    author: &str,
    staff: bool,
    public: bool,
    body: &str,
) -> serde_json::Value {
    serde_json::json!({
        "account_id": 1,
        "id": format!("evt-comment-{comment}"),
        "subject": format!("zen:ticket:{ticket}"),
        "time": chrono::Utc::now().to_rfc3339(),
        "type": "zen:event-type:ticket.comment_added",
        "detail": {"id": ticket, "requester_id": author},
        "event": {"comment": {
            "id": comment,
            "body": body,
            "is_public": public,
            "author": {"id": author, "is_staff": staff, "name": "someone"},
        }},
    })
}
