//! Webhooks on the wire: which targets are allowed, the body of each format, and the sender.
//!
//! Generic body: `{"idempotency_key", "kind", "incident_id", "seq", "at", "actor", "data"}`.
//! Slack body: `{"text", "blocks"}` with one readable line per notification. Both are signed
//! (`X-Frontline-Signature`) and carry `X-Frontline-Idempotency-Key` and `X-Frontline-Event`.

use crate::signature;
use chrono::{DateTime, Utc};
use frontline_core::feed::{FeedEntry, FeedKind};
use frontline_core::webhook::{WebhookFormat, idempotency_key};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One notification to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The same on every attempt.
    pub idempotency_key: String,
    /// What happened.
    pub kind: FeedKind,
    /// The incident, where one applies.
    pub incident_id: Option<i64>,
    /// The feed seq.
    pub seq: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// The details.
    pub data: Value,
}

impl Notification {
    /// The notification of feed entry `entry` to webhook `webhook`.
    pub fn new(webhook: i64, entry: &FeedEntry) -> Self {
        Self {
            idempotency_key: idempotency_key(webhook, entry.seq),
            kind: entry.kind,
            incident_id: entry.incident_id,
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor.clone(),
            data: entry.data.clone(),
        }
    }
}

/// The request body of `n` in `format`.
pub fn body(format: WebhookFormat, n: &Notification) -> Vec<u8> {
    let value = match format {
        WebhookFormat::Generic => json!({
            "idempotency_key": n.idempotency_key,
            "kind": n.kind.as_str(),
            "incident_id": n.incident_id,
            "seq": n.seq,
            "at": n.at,
            "actor": n.actor,
            "data": n.data,
        }),
        WebhookFormat::Slack => {
            let text = slack_text(n);
            json!({
                "text": text,
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(&format!(
                        "{} · {} · {}", n.kind.as_str(), n.actor, n.at.format("%Y-%m-%d %H:%M:%S UTC")
                    ))}]},
                ],
            })
        }
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped; anything else is shown as written.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_text(n: &Notification) -> String {
    let d = &n.data;
    let s = |k: &str| d[k].as_str().unwrap_or("").to_owned();
    let incident = n.incident_id.map(|i| format!("#{i}")).unwrap_or_default();
    let line = match n.kind {
        FeedKind::AlertRaised => {
            let what = if d["kind"] == "cluster" {
                "a cluster of near-identical contacts".to_owned()
            } else {
                format!(
                    "a spike of {} contacts",
                    d["topic"].as_str().unwrap_or("untopical")
                )
            };
            let service = d["service"]
                .as_str()
                .map(|s| format!(" on {s}"))
                .unwrap_or_default();
            format!(
                "Early warning: {what}{service}: {} observed vs {:.1} expected, {} customers (alert {})",
                d["observed"],
                d["expected"].as_f64().unwrap_or(0.0),
                d["customers"],
                s("alert_id")
            )
        }
        FeedKind::AlertUpdated if d["member"].is_object() => {
            let m = &d["member"];
            format!(
                "Early warning {} grew: a {} alert on {}{} joined it, {} customers (alert {})",
                s("alert_id"),
                m["kind"].as_str().unwrap_or("new"),
                m["topic"].as_str().unwrap_or("no single topic"),
                m["language"]
                    .as_str()
                    .map(|l| format!(" in language {l}"))
                    .unwrap_or_default(),
                m["customers"],
                m["alert_id"].as_str().unwrap_or_default()
            )
        }
        FeedKind::AlertUpdated => format!(
            "Alert {} {}{}",
            s("alert_id"),
            s("state"),
            d["reason"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        FeedKind::ReportFiled => format!(
            "Report #{} filed by {}: {} — {}",
            d["id"],
            n.actor,
            s("category"),
            s("summary")
        ),
        FeedKind::ReportUpdated => format!("Report #{} is now {}", d["id"], s("state")),
        FeedKind::IncidentOpened => format!(
            "Incident {incident} opened ({}): {}{}",
            s("severity"),
            s("title"),
            d["reason"]
                .as_str()
                .map(|r| format!("\nWhy: {r}"))
                .unwrap_or_default()
        ),
        FeedKind::IncidentUpdated => match d["change"].as_str().unwrap_or("") {
            "state" => format!("Incident {incident} is now {}", s("to")),
            "severity" => format!("Incident {incident} is now {}", s("to")),
            "title" => format!("Incident {incident} is now titled: {}", s("to")),
            "role" => match d["to"].as_str() {
                Some(user) => format!("Incident {incident}: {user} is {}", s("role")),
                None => format!("Incident {incident}: {} seat freed", s("role")),
            },
            "linked" | "unlinked" => format!(
                "Incident {incident}: {} signal(s) {}",
                d["signals"].as_array().map_or(0, Vec::len),
                s("change")
            ),
            other => format!("Incident {incident} updated ({other})"),
        },
        FeedKind::IncidentNote => {
            format!("Note on incident {incident} by {}: {}", n.actor, s("body"))
        }
        FeedKind::StatementDrafted => format!(
            "Incident {incident}: {} statement draft, version {}",
            s("audience"),
            d["version"]
        ),
        FeedKind::StatementApproved => format!(
            "Incident {incident}: {} statement version {} approved by {} as {}",
            s("audience"),
            d["version"],
            n.actor,
            s("role")
        ),
        FeedKind::StatementPublished => format!(
            "Incident {incident}: {} statement published (version {}){}",
            s("audience"),
            d["version"],
            d["body"]
                .as_str()
                .map(|b| format!("\n{b}"))
                .unwrap_or_default()
        ),
        FeedKind::ComponentUpdated => format!("Component {} is now {}", s("name"), s("status")),
        FeedKind::IncidentReminder => format!(
            "Incident {incident}: a public update is overdue (every {} min){}",
            d["interval_minutes"],
            [("commander", "commander"), ("comms_lead", "comms lead")]
                .iter()
                .filter_map(|(k, name)| d[*k].as_str().map(|u| format!(" {name} {u}")))
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    escape(&line)
}

/// Checks a webhook URL: `http` or `https`, a host, no credentials; never the server itself
/// (its own listen address and port, or loopback on its port when it listens on all
/// addresses); with `deny_private`, no literal loopback, private or link-local address.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_target(
    url: &str,
    own: SocketAddr,
    deny_private: bool,
) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http or https URL, not {}:",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials; the signature authenticates".into());
    }
    let host = parsed.host_str().ok_or("must name a host")?;
    let port = parsed.port_or_known_default().unwrap_or(0);
    let host_ip: Option<IpAddr> = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok();
    let is_localhost = host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost");
    if port == own.port() {
        let same = match host_ip {
            Some(ip) => {
                ip == own.ip()
                    || ((own.ip().is_unspecified() || own.ip().is_loopback())
                        && (ip.is_loopback() || ip.is_unspecified()))
            }
            None => is_localhost && (own.ip().is_loopback() || own.ip().is_unspecified()),
        };
        if same {
            return Err("points at this server itself".into());
        }
    }
    if deny_private && (is_localhost || host_ip.is_some_and(is_private)) {
        return Err("points at a loopback or private address, which this server denies".into());
    }
    Ok(parsed)
}

/// Loopback, private, link-local, unspecified and carrier-grade NAT addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
}

/// Sends webhook requests: no redirects (a redirect could lead anywhere), a timeout per
/// attempt, and, with `deny_private`, a check of every address the host resolves to.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    deny_private: bool,
}

impl Sender {
    /// A sender with a `timeout` per attempt.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS setup).
    pub fn new(timeout: Duration, deny_private: bool) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("frontline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            deny_private,
        })
    }

    /// POSTs `n` to `url`, signed with `secret`; `Ok` with the status when the receiver
    /// answered 2xx.
    ///
    /// # Errors
    /// [`SendError`] for any other answer, a refused target, or a network failure.
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        format: WebhookFormat,
        n: &Notification,
    ) -> Result<u16, SendError> {
        let fail = |status: Option<u16>, message: String| SendError { status, message };
        let parsed = reqwest::Url::parse(url).map_err(|e| fail(None, e.to_string()))?;
        if self.deny_private {
            let host = parsed.host_str().unwrap_or_default().to_owned();
            let port = parsed.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| fail(None, format!("resolving {host}: {e}")))?;
            for addr in addrs {
                if is_private(addr.ip()) {
                    return Err(fail(
                        None,
                        format!("{host} resolves to {}, a private address", addr.ip()),
                    ));
                }
            }
        }
        let body = body(format, n);
        let t = Utc::now().timestamp();
        let response = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header(
                signature::HEADER,
                signature::sign(secret.as_bytes(), t, &body),
            )
            .header("x-frontline-idempotency-key", &n.idempotency_key)
            .header("x-frontline-event", n.kind.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| fail(None, error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(fail(
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
            ))
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> SocketAddr {
        "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn targets_are_http_and_never_the_server_itself() {
        for good in [
            "http://127.0.0.1:9000/hook",
            "https://hooks.slack.com/services/T/B/X",
            "http://10.0.0.5/hook",
            "http://localhost:8081/",
        ] {
            assert!(check_target(good, own(), false).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("ftp://example.com/", "http"),
            ("http://127.0.0.1:8080/api/v1/contacts", "itself"),
            ("http://localhost:8080/", "itself"),
            ("http://[::1]:8080/", "itself"),
            ("http://user:pw@example.com/", "credentials"),
            ("not a url", "URL"),
        ] {
            let err = check_target(bad, own(), false).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let all: SocketAddr = "0.0.0.0:8080".parse().unwrap_or_else(|_| unreachable!());
        assert!(check_target("http://127.0.0.1:8080/", all, false).is_err());
        assert!(check_target("http://127.0.0.1:9000/", all, false).is_ok());
    }

    #[test]
    fn private_targets_can_be_denied() {
        for bad in [
            "http://127.0.0.1:9000/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost:9000/",
        ] {
            assert!(check_target(bad, own(), true).is_err(), "{bad}");
        }
        assert!(check_target("https://example.com/", own(), true).is_ok());
    }

    #[test]
    fn bodies_carry_the_key_and_slack_text_is_escaped() {
        let n = Notification {
            idempotency_key: "flt-1-7".into(),
            kind: FeedKind::IncidentOpened,
            incident_id: Some(3),
            seq: 7,
            at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            actor: "system".into(),
            data: json!({"title": "Phishing <script> & co", "severity": "SEV2"}),
        };
        let generic: Value =
            serde_json::from_slice(&body(WebhookFormat::Generic, &n)).unwrap_or_default();
        assert_eq!(generic["idempotency_key"], "flt-1-7");
        assert_eq!(generic["incident_id"], 3);
        assert_eq!(generic["kind"], "incident.opened");
        let slack: Value =
            serde_json::from_slice(&body(WebhookFormat::Slack, &n)).unwrap_or_default();
        assert_eq!(
            slack["text"],
            "Incident #3 opened (SEV2): Phishing &lt;script&gt; &amp; co"
        );
        assert_eq!(slack["blocks"][0]["text"]["type"], "mrkdwn");
    }

    #[test]
    fn a_wave_that_grows_says_which_alert_joined() {
        let n = Notification {
            idempotency_key: "flt-1-8".into(),
            kind: FeedKind::AlertUpdated,
            incident_id: None,
            seq: 8,
            at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            actor: "system".into(),
            data: json!({"alert_id": "theme:verify", "state": "grew", "member": {
                "alert_id": "spike:phishing@it:*:*:t", "kind": "spike", "topic": "phishing",
                "language": "it", "observed": 6, "customers": 6}}),
        };
        let slack: Value =
            serde_json::from_slice(&body(WebhookFormat::Slack, &n)).unwrap_or_default();
        assert_eq!(
            slack["text"],
            "Early warning theme:verify grew: a spike alert on phishing in language it joined it, \
             6 customers (alert spike:phishing@it:*:*:t)"
        );
    }
}
