//! What a vendor's webhook says, read into [`Inbound`]: a customer's message (which becomes a
//! contact), ticket activity (an agent's reply, an internal note), a ping, or something
//! ignored with its reason. Only what customers wrote becomes a contact.
//!
//! Contact ids are `TICKET:COMMENT` (Intercom: conversation and part), and a ticket's opening
//! message is `TICKET:0` in every vendor, so a webhook and a later sweep of the vendor's API
//! name one message the same way and store it once.

use crate::clean::clean;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A customer's message from a helpdesk.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The ticket (Intercom: conversation) id.
    pub ticket: String,
    /// The comment (Intercom: part) id; `0` for the ticket's opening message.
    pub comment: String,
    /// The text, cleaned ([`clean`]).
    pub text: String,
    /// The customer's id at the vendor (a requester or user id, or an e-mail address).
    pub customer: Option<String>,
    /// When the customer wrote it, when the vendor says.
    pub at: Option<DateTime<Utc>>,
    /// The ticket's subject, when sent.
    pub subject: Option<String>,
}

impl Message {
    /// The contact id: `TICKET:COMMENT`.
    pub fn contact_id(&self) -> String {
        format!("{}:{}", self.ticket, self.comment)
    }
}

/// What one webhook delivery carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Messages customers wrote.
    Customer(Vec<Message>),
    /// Activity on a ticket that is not a customer's word (an agent's reply, a note).
    Activity {
        /// The ticket.
        ticket: String,
        /// What happened.
        what: String,
    },
    /// Tags an agent added to a ticket (Zendesk): an incident's tag links the ticket. The
    /// ticket's opening message comes along, so a ticket Frontline has not heard of yet can be
    /// taken in first.
    Tagged {
        /// The ticket.
        ticket: String,
        /// The tags added.
        added: Vec<String>,
        /// Its opening message, when the event carries its description.
        opening: Option<Message>,
    },
    /// A connectivity check.
    Ping,
    /// An event Frontline does not use, and why.
    Ignored(String),
}

/// A payload that cannot be read: the field at fault and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Unreadable {
    /// The JSON path of the field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn unreadable(field: &str, reason: &str) -> Unreadable {
    Unreadable {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn json(body: &[u8]) -> Result<Value, Unreadable> {
    let text = std::str::from_utf8(body).map_err(|_| unreadable("body", "not UTF-8"))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| unreadable("body", &format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(unreadable("body", "not a JSON object"));
    }
    Ok(value)
}

/// An id as vendors send them: a string, or a number (Zendesk sends strings, older payloads
/// and Intercom sometimes numbers).
fn id_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn bool_at(v: &Value, path: &[&str]) -> Option<bool> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().to_ascii_lowercase().parse().ok(),
        _ => None,
    }
}

fn time_at(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    }
}

/// A Zendesk event-subscription webhook: its invocation-independent event id and what it says.
pub fn zendesk(body: &[u8]) -> Result<(Option<String>, Inbound), Unreadable> {
    let v = json(body)?;
    let id = id_at(&v, &["id"]);
    let kind = str_at(&v, &["type"]).ok_or_else(|| unreadable("type", "missing"))?;
    let kind = kind.trim().to_ascii_lowercase();
    let at = time_at(&v, &["time"]);
    let ticket = || {
        id_at(&v, &["detail", "id"])
            .or_else(|| {
                str_at(&v, &["subject"])
                    .and_then(|s| s.strip_prefix("zen:ticket:"))
                    .map(str::to_owned)
            })
            .ok_or_else(|| unreadable("detail.id", "missing"))
    };
    // The ticket's opening message, from the description every ticket event's detail carries.
    let opening = |ticket: &str| {
        let text = clean(str_at(&v, &["detail", "description"]).unwrap_or_default());
        (!text.is_empty()).then(|| Message {
            ticket: ticket.to_owned(),
            comment: "0".into(),
            text,
            customer: id_at(&v, &["detail", "requester_id"]),
            at: time_at(&v, &["detail", "created_at"]).or(at),
            subject: str_at(&v, &["detail", "subject"]).map(str::to_owned),
        })
    };
    let inbound = match kind.as_str() {
        "zen:event-type:ticket.created" => {
            let ticket = ticket()?;
            match opening(&ticket) {
                Some(message) => Inbound::Customer(vec![message]),
                None => Inbound::Ignored(format!("ticket {ticket} opened with no text")),
            }
        }
        "zen:event-type:ticket.tags_changed" => {
            let ticket = ticket()?;
            let added: Vec<String> = v
                .get("event")
                .and_then(|e| e.get("tags_added"))
                .and_then(Value::as_array)
                .map(|tags| {
                    tags.iter()
                        .filter_map(|t| t.as_str().map(|t| t.trim().to_ascii_lowercase()))
                        .collect()
                })
                .unwrap_or_default();
            Inbound::Tagged {
                opening: opening(&ticket),
                ticket,
                added,
            }
        }
        "zen:event-type:ticket.comment_added" => {
            let ticket = ticket()?;
            let comment = v
                .get("event")
                .and_then(|e| e.get("comment"))
                .ok_or_else(|| unreadable("event.comment", "missing"))?;
            let comment_id =
                id_at(comment, &["id"]).ok_or_else(|| unreadable("event.comment.id", "missing"))?;
            let public = bool_at(comment, &["is_public"]).unwrap_or(true);
            let staff = bool_at(comment, &["author", "is_staff"]).unwrap_or(false);
            if staff || !public {
                Inbound::Activity {
                    ticket,
                    what: if public {
                        "agent reply"
                    } else {
                        "internal note"
                    }
                    .into(),
                }
            } else {
                let text = clean(str_at(comment, &["body"]).unwrap_or_default());
                if text.is_empty() {
                    Inbound::Ignored(format!(
                        "comment {comment_id} on ticket {ticket} has no text"
                    ))
                } else {
                    Inbound::Customer(vec![Message {
                        ticket,
                        comment: comment_id,
                        text,
                        customer: id_at(comment, &["author", "id"])
                            .or_else(|| id_at(&v, &["detail", "requester_id"])),
                        at,
                        subject: str_at(&v, &["detail", "subject"]).map(str::to_owned),
                    }])
                }
            }
        }
        other => Inbound::Ignored(format!("event type {other} is not used")),
    };
    Ok((id, inbound))
}

/// An Intercom notification: its id and what it says.
pub fn intercom(body: &[u8]) -> Result<(Option<String>, Inbound), Unreadable> {
    let v = json(body)?;
    let id = id_at(&v, &["id"]);
    let topic = str_at(&v, &["topic"]).ok_or_else(|| unreadable("topic", "missing"))?;
    let topic = topic.trim().to_ascii_lowercase();
    if topic == "ping" {
        return Ok((id, Inbound::Ping));
    }
    let item = v.get("data").and_then(|d| d.get("item"));
    let conversation = || {
        item.and_then(|i| id_at(i, &["id"]))
            .ok_or_else(|| unreadable("data.item.id", "missing"))
    };
    let at = time_at(&v, &["created_at"]);
    let inbound = match topic.as_str() {
        "conversation.user.created" => {
            let conversation = conversation()?;
            let source = item.and_then(|i| i.get("source"));
            let text = clean(
                source
                    .and_then(|s| str_at(s, &["body"]))
                    .unwrap_or_default(),
            );
            if text.is_empty() {
                Inbound::Ignored(format!("conversation {conversation} opened with no text"))
            } else {
                Inbound::Customer(vec![Message {
                    ticket: conversation,
                    comment: "0".into(),
                    text,
                    customer: source.and_then(|s| id_at(s, &["author", "id"])),
                    at: item.and_then(|i| time_at(i, &["created_at"])).or(at),
                    subject: source
                        .and_then(|s| str_at(s, &["subject"]))
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                }])
            }
        }
        "conversation.user.replied" => {
            let conversation = conversation()?;
            let parts = item
                .and_then(|i| i.get("conversation_parts"))
                .and_then(|p| p.get("conversation_parts"))
                .and_then(Value::as_array)
                .ok_or_else(|| unreadable("data.item.conversation_parts", "missing"))?;
            let mut messages = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let author = str_at(part, &["author", "type"]).unwrap_or("user");
                if !matches!(author, "user" | "lead" | "contact") {
                    continue;
                }
                let Some(part_id) = id_at(part, &["id"]) else {
                    return Err(unreadable(
                        &format!("data.item.conversation_parts.conversation_parts[{i}].id"),
                        "missing",
                    ));
                };
                let text = clean(str_at(part, &["body"]).unwrap_or_default());
                if text.is_empty() {
                    continue;
                }
                messages.push(Message {
                    ticket: conversation.clone(),
                    comment: part_id,
                    text,
                    customer: id_at(part, &["author", "id"]),
                    at: time_at(part, &["created_at"]).or(at),
                    subject: None,
                });
            }
            if messages.is_empty() {
                Inbound::Ignored(format!(
                    "no customer text in conversation {conversation}'s parts"
                ))
            } else {
                Inbound::Customer(messages)
            }
        }
        // An agent tagged the conversation: the item lists all its tags (those of incidents
        // link it), and its opening message comes along.
        "conversation_part.tag.created" => {
            let conversation = conversation()?;
            let added = item
                .and_then(|i| i.get("tags"))
                .and_then(|t| t.get("tags"))
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .filter_map(|t| str_at(t, &["name"]))
                        .map(|n| n.trim().to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default();
            let source = item.and_then(|i| i.get("source"));
            let by_customer = source
                .and_then(|s| str_at(s, &["author", "type"]))
                .is_some_and(|t| matches!(t, "user" | "lead" | "contact"));
            let text = clean(
                source
                    .and_then(|s| str_at(s, &["body"]))
                    .unwrap_or_default(),
            );
            let opening = (by_customer && !text.is_empty()).then(|| Message {
                ticket: conversation.clone(),
                comment: "0".into(),
                text,
                customer: source.and_then(|s| id_at(s, &["author", "id"])),
                at: item.and_then(|i| time_at(i, &["created_at"])).or(at),
                subject: source
                    .and_then(|s| str_at(s, &["subject"]))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            });
            Inbound::Tagged {
                ticket: conversation,
                added,
                opening,
            }
        }
        other if other.starts_with("conversation.admin") => Inbound::Activity {
            ticket: conversation().unwrap_or_default(),
            what: other.to_owned(),
        },
        other => Inbound::Ignored(format!("topic {other} is not used")),
    };
    Ok((id, inbound))
}

/// The id of a Freshdesk reply whose text (cleaned) is `text`: a digest of it, as its webhook
/// carries no comment id; the sweep names the replies it finds the same way.
pub fn freshdesk_reply_id(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!("r{}", &hex::encode(digest)[..16])
}

/// A Freshdesk automation-rule webhook in the body Frontline documents:
/// `{"event": "ticket.created" | "ticket.replied", "ticket_id", "requester", "subject", "body"}`,
/// or `{"event": "ticket.tagged", "ticket_id", "tags", …}` from a rule on tag changes.
/// Freshdesk's placeholders give no comment id, so a reply's id is a digest of its text: the
/// same reply sent twice is one contact.
pub fn freshdesk(body: &[u8]) -> Result<(Option<String>, Inbound), Unreadable> {
    let v = json(body)?;
    let event = str_at(&v, &["event"]).ok_or_else(|| unreadable("event", "missing"))?;
    let event = event.trim().to_ascii_lowercase();
    let ticket = id_at(&v, &["ticket_id"]).ok_or_else(|| unreadable("ticket_id", "missing"))?;
    let text = clean(str_at(&v, &["body"]).unwrap_or_default());
    if event == "ticket.tagged" {
        // `{{ticket.tags}}` is a comma-separated list; an array is taken too.
        let added = match v.get("tags") {
            Some(Value::String(s)) => s
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            _ => return Err(unreadable("tags", "missing")),
        };
        let opening = (!text.is_empty()).then(|| Message {
            ticket: ticket.clone(),
            comment: "0".into(),
            text,
            customer: id_at(&v, &["requester"]),
            at: time_at(&v, &["at"]),
            subject: str_at(&v, &["subject"]).map(str::to_owned),
        });
        return Ok((
            None,
            Inbound::Tagged {
                ticket,
                added,
                opening,
            },
        ));
    }
    let comment = match event.as_str() {
        "ticket.created" => "0".to_owned(),
        "ticket.replied" => freshdesk_reply_id(&text),
        other => return Ok((None, Inbound::Ignored(format!("event {other} is not used")))),
    };
    if bool_at(&v, &["from_agent"]).unwrap_or(false) {
        return Ok((
            None,
            Inbound::Activity {
                ticket,
                what: "agent reply".into(),
            },
        ));
    }
    if text.is_empty() {
        return Ok((None, Inbound::Ignored(format!("ticket {ticket}: no text"))));
    }
    Ok((
        None,
        Inbound::Customer(vec![Message {
            ticket,
            comment,
            text,
            customer: id_at(&v, &["requester"]),
            at: time_at(&v, &["at"]),
            subject: str_at(&v, &["subject"]).map(str::to_owned),
        }]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zendesk_ticket_opens_with_its_description_as_message_zero() {
        let body = br#"{"type":"ZEN:EVENT-TYPE:TICKET.CREATED","id":"01H","time":"2026-12-01T10:00:00Z",
            "detail":{"id":"42","subject":"Strange SMS","description":"<p>Got a text to verify my account</p>","requester_id":"9001"}}"#;
        let (id, inbound) = zendesk(body).unwrap();
        assert_eq!(id.as_deref(), Some("01H"));
        let Inbound::Customer(m) = inbound else {
            panic!("{inbound:?}")
        };
        assert_eq!(m[0].contact_id(), "42:0");
        assert_eq!(m[0].text, "Got a text to verify my account");
        assert_eq!(m[0].customer.as_deref(), Some("9001"));
    }

    #[test]
    fn only_public_customer_comments_are_messages() {
        let comment = |public: bool, staff: bool| {
            format!(
                r#"{{"type":"zen:event-type:ticket.comment_added","id":"e1","detail":{{"id":42}},
                "event":{{"comment":{{"id":"777","body":"still locked out","is_public":{public},"author":{{"id":"5","is_staff":{staff}}}}}}}}}"#
            )
        };
        let (_, c) = zendesk(comment(true, false).as_bytes()).unwrap();
        assert!(
            matches!(&c, Inbound::Customer(m) if m[0].contact_id() == "42:777"),
            "{c:?}"
        );
        let (_, c) = zendesk(comment(true, true).as_bytes()).unwrap();
        assert!(matches!(c, Inbound::Activity { .. }));
        let (_, c) = zendesk(comment(false, false).as_bytes()).unwrap();
        assert!(matches!(c, Inbound::Activity { .. }));
    }

    #[test]
    fn bad_payloads_name_their_fault() {
        assert_eq!(zendesk(b"\xff\xfe").unwrap_err().reason, "not UTF-8");
        assert_eq!(zendesk(b"[1]").unwrap_err().reason, "not a JSON object");
        assert_eq!(zendesk(b"{}").unwrap_err().field, "type");
        let (_, c) = zendesk(br#"{"type":"zen:event-type:user.created"}"#).unwrap();
        assert!(matches!(c, Inbound::Ignored(_)));
        let tagged = br#"{"type":"zen:event-type:ticket.tags_changed","id":"t1",
            "detail":{"id":"77","description":"<p>Someone changed my e-mail</p>","requester_id":"5"},
            "event":{"tags_added":["VIP","Frontline-Incident-3"],"tags_removed":[]}}"#;
        match zendesk(tagged).unwrap().1 {
            Inbound::Tagged {
                ticket,
                added,
                opening,
            } => {
                assert_eq!(ticket, "77");
                assert_eq!(added, ["vip", "frontline-incident-3"]);
                assert_eq!(opening.unwrap().contact_id(), "77:0");
            }
            other => panic!("{other:?}"),
        }
        let no_comment = br#"{"type":"zen:event-type:ticket.comment_added","detail":{"id":"1"}}"#;
        assert_eq!(zendesk(no_comment).unwrap_err().field, "event.comment");
        assert_eq!(
            intercom(br#"{"topic":"conversation.user.replied","data":{"item":{"id":"c1"}}}"#)
                .unwrap_err()
                .field,
            "data.item.conversation_parts"
        );
    }

    #[test]
    fn intercom_replies_keep_the_users_parts() {
        let body = br#"{"type":"notification_event","topic":"conversation.user.replied","id":"notif_9",
            "data":{"item":{"type":"conversation","id":"123","conversation_parts":{"conversation_parts":[
              {"id":"p1","part_type":"comment","body":"<p>It asked for my code</p>","author":{"type":"user","id":"u7"}},
              {"id":"p2","part_type":"comment","body":"<p>We are on it</p>","author":{"type":"admin","id":"a1"}}]}}}}"#;
        let (id, c) = intercom(body).unwrap();
        assert_eq!(id.as_deref(), Some("notif_9"));
        let Inbound::Customer(m) = c else { panic!() };
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].contact_id(), "123:p1");
        assert_eq!(m[0].text, "It asked for my code");
        let (_, ping) =
            intercom(br#"{"type":"notification_event","topic":"ping","id":"n"}"#).unwrap();
        assert_eq!(ping, Inbound::Ping);
    }

    #[test]
    fn tags_added_in_intercom_and_freshdesk_are_read() {
        let body =
            br#"{"type":"notification_event","topic":"conversation_part.tag.created","id":"n9",
            "data":{"item":{"id":"c7","tags":{"tags":[{"id":"1","name":"Frontline-Incident-4"}]},
            "source":{"body":"<p>odd text</p>","author":{"type":"user","id":"u1"}}}}}"#;
        match intercom(body).unwrap().1 {
            Inbound::Tagged {
                ticket,
                added,
                opening,
            } => {
                assert_eq!(
                    (ticket.as_str(), added),
                    ("c7", vec!["frontline-incident-4".to_owned()])
                );
                assert_eq!(opening.unwrap().contact_id(), "c7:0");
            }
            other => panic!("{other:?}"),
        }
        let body =
            br#"{"event":"ticket.tagged","ticket_id":"71","tags":"vip, Frontline-Incident-4"}"#;
        match freshdesk(body).unwrap().1 {
            Inbound::Tagged { added, opening, .. } => {
                assert_eq!(added, ["vip", "frontline-incident-4"]);
                assert!(opening.is_none());
            }
            other => panic!("{other:?}"),
        }
        let no_tags = br#"{"event":"ticket.tagged","ticket_id":"71"}"#;
        assert_eq!(freshdesk(no_tags).unwrap_err().field, "tags");
    }

    #[test]
    fn a_freshdesk_reply_sent_twice_has_one_id() {
        let body = br#"{"event":"ticket.replied","ticket_id":88,"requester":"a@example.com","body":"money gone overnight"}"#;
        let (_, a) = freshdesk(body).unwrap();
        let (_, b) = freshdesk(body).unwrap();
        assert_eq!(a, b);
        let Inbound::Customer(m) = a else { panic!() };
        assert!(m[0].contact_id().starts_with("88:r"));
    }
}
