//! Outbound webhooks against a real receiver on loopback: signed, in order, at least once with
//! one idempotency key per notification, across receiver outages and a server restart.

use frontline_core::Role;
use frontline_delivery::signature;
use frontline_testkit::receiver::{Received, Receiver};
use frontline_testkit::{Backend, TestApp, json, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

const SECRET: &str = "whsec_test_0123456789";

fn fast_retries(c: &mut frontline_server::plumbing::config::Config) {
    c.webhooks.retry_initial_ms = 50;
    c.webhooks.retry_max_ms = 200;
}

async fn hook(app: &TestApp, admin: &str, body: Value) -> Value {
    let (status, created) = json(app.post_json("/api/v1/webhooks", admin, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn open(app: &TestApp, token: &str, title: &str) -> i64 {
    let (status, body) = json(
        app.post_json(
            "/api/v1/incidents",
            token,
            &json!({"title": title, "severity": "SEV2"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// The first arrival of each idempotency key, in arrival order.
fn first_arrivals(received: &[Received]) -> Vec<Value> {
    let mut seen = HashSet::new();
    received
        .iter()
        .filter(|r| seen.insert(r.header("x-frontline-idempotency-key").unwrap().to_owned()))
        .map(Received::json)
        .collect()
}

async fn notifications_wait_for_a_receiver_that_is_down_and_arrive_signed_and_in_order(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, fast_retries).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    let mut receiver = Receiver::absent().await;
    let created = hook(
        &app,
        &admin,
        json!({"url": receiver.url(), "secret": SECRET, "format": "generic", "events": ["*"]}),
    )
    .await;
    assert!(created.get("secret").is_none(), "secrets are never shown");
    assert_eq!(created["events"], json!(["*"]));

    let a = open(&app, &security, "Phishing wave").await;
    json(
        app.post_json(
            &format!("/api/v1/incidents/{a}/notes"),
            &security,
            &json!({"body": "blocking the sender"}),
        )
        .await,
    )
    .await;
    let b = open(&app, &security, "Checkout errors").await;
    json(
        app.patch_json(
            &format!("/api/v1/incidents/{a}"),
            &security,
            &json!({"state": "identified"}),
        )
        .await,
    )
    .await;
    json(
        app.post_json(
            &format!("/api/v1/incidents/{b}/notes"),
            &security,
            &json!({"body": "payments team paged"}),
        )
        .await,
    )
    .await;

    // Down: the first notification is retried, the others wait behind it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, pending) = json(app.get("/api/v1/deliveries?status=pending", &admin).await).await;
    let pending = pending["items"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0]["attempts"].as_u64().unwrap() >= 2, "{pending:?}");
    assert!(pending[0]["last_error"].as_str().is_some());
    assert_eq!(pending[0]["kind"], "incident.opened");

    receiver.start().await;
    let received = receiver.wait_for(5, Duration::from_secs(10)).await;
    let bodies = first_arrivals(&received);
    assert_eq!(bodies.len(), 5, "{bodies:?}");
    let kinds: Vec<(&str, i64)> = bodies
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap(),
                b["incident_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("incident.opened", a),
            ("incident.note", a),
            ("incident.opened", b),
            ("incident.updated", a),
            ("incident.note", b),
        ]
    );
    let seqs: Vec<i64> = bodies.iter().map(|b| b["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let now = chrono::Utc::now().timestamp();
    for r in &received {
        let header = r.header("x-frontline-signature").expect("signed");
        assert!(
            signature::verify(SECRET.as_bytes(), header, &r.body, now, 300),
            "{header}"
        );
        assert!(!signature::verify(b"wrong", header, &r.body, now, 300));
        let body = r.json();
        assert_eq!(r.header("x-frontline-event"), body["kind"].as_str());
        assert_eq!(
            r.header("x-frontline-idempotency-key"),
            body["idempotency_key"].as_str()
        );
    }
    assert_eq!(bodies[1]["data"]["body"], "blocking the sender");

    // Settled, and visible as such.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, delivered) = json(app.get("/api/v1/deliveries?status=delivered", &admin).await).await;
    assert_eq!(
        delivered["items"].as_array().unwrap().len(),
        5,
        "{delivered}"
    );
    assert!(
        delivered["items"][4]["attempts"].as_u64().unwrap() >= 2,
        "the oldest waited for the receiver: {delivered}"
    );
}

async fn a_slack_webhook_gets_only_its_kinds_and_is_retried_after_errors(backend: Backend) {
    let Some(app) = spawn_app_with(backend, fast_retries).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    let receiver = Receiver::listening().await;
    receiver.fail_next(2);
    hook(
        &app,
        &admin,
        json!({"url": receiver.url(), "secret": SECRET, "format": "slack",
               "events": ["incident.opened"]}),
    )
    .await;
    let id = open(&app, &security, "Suspicious <logins>").await;
    json(
        app.post_json(
            &format!("/api/v1/incidents/{id}/notes"),
            &security,
            &json!({"body": "not for this channel"}),
        )
        .await,
    )
    .await;
    let second = open(&app, &security, "Second").await;
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 2);
    let first = received[0].json();
    assert_eq!(
        first["text"],
        format!("Incident #{id} opened (SEV2): Suspicious &lt;logins&gt;")
    );
    assert_eq!(first["blocks"][0]["type"], "section");
    assert!(
        received[1].json()["text"]
            .as_str()
            .unwrap()
            .contains(&format!("#{second}"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2, "the note was not wanted");
    let (_, deliveries) = json(app.get("/api/v1/deliveries", &admin).await).await;
    let items = deliveries["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{deliveries}");
    // Newest first: the first incident's delivery needed three attempts.
    assert_eq!(items[1]["attempts"], 3);
    assert_eq!(items[1]["last_status"], 200);
    assert_eq!(items[1]["status"], "delivered");
}

async fn a_restart_between_the_change_and_its_delivery_loses_nothing(backend: Backend) {
    let Some(mut app) = spawn_app_with(backend, fast_retries).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    let mut receiver = Receiver::absent().await;
    hook(
        &app,
        &admin,
        json!({"url": receiver.url(), "secret": SECRET}),
    )
    .await;
    let id = open(&app, &security, "Before the restart").await;
    app.restart().await;
    receiver.start().await;
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    let bodies = first_arrivals(&received);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["kind"], "incident.opened");
    assert_eq!(bodies[0]["incident_id"], id);
    let key = bodies[0]["idempotency_key"].as_str().unwrap();
    let (_, deliveries) = json(app.get("/api/v1/deliveries", &admin).await).await;
    assert_eq!(deliveries["items"][0]["idempotency_key"], key);
}

async fn a_delivery_that_never_succeeds_is_marked_failed_and_the_next_goes_on(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        fast_retries(c);
        c.webhooks.give_up_after_s = 1;
    })
    .await
    else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    let mut receiver = Receiver::absent().await;
    hook(
        &app,
        &admin,
        json!({"url": receiver.url(), "secret": SECRET}),
    )
    .await;
    open(&app, &security, "Lost to an outage").await;
    let mut failed = Value::Null;
    for _ in 0..60 {
        let (_, list) = json(app.get("/api/v1/deliveries?status=failed", &admin).await).await;
        if !list["items"].as_array().unwrap().is_empty() {
            failed = list;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(failed["items"][0]["kind"], "incident.opened", "{failed}");
    assert!(failed["items"][0]["last_error"].as_str().is_some());
    receiver.start().await;
    let second = open(&app, &security, "After").await;
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["incident_id"], second);
}

async fn bad_webhooks_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let own = format!("http://{}/api/v1/contacts", app.addr);
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/", "secret": SECRET}),
            "url",
        ),
        (json!({"url": own, "secret": SECRET}), "url"),
        (json!({"secret": SECRET}), "url"),
        (json!({"url": "http://127.0.0.1:9/"}), "secret"),
        (
            json!({"url": "http://127.0.0.1:9/", "secret": SECRET, "format": "xml"}),
            "format",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "secret": SECRET, "events": ["incident.exploded"]}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "secret": SECRET, "events": []}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "secret": SECRET, "extra": 1}),
            "extra",
        ),
    ] {
        let (status, err) = json(app.post_json("/api/v1/webhooks", &admin, &body).await).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    let (_, list) = json(app.get("/api/v1/webhooks", &admin).await).await;
    assert_eq!(list["items"], json!([]), "nothing was created");
    let created = hook(
        &app,
        &admin,
        json!({"url": "http://127.0.0.1:9/", "secret": SECRET}),
    )
    .await;
    let path = format!("/api/v1/webhooks/{}", created["id"]);
    let status = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let (status, _) = json(
        app.client
            .delete(app.url(&path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

async fn private_targets_are_refused_when_configured(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.webhooks.deny_private = true).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let (status, err) = json(
        app.post_json(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": "http://10.0.0.1/hook", "secret": SECRET}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("private")
    );
}

/// A receiver that misbehaves in turn: the first connection hangs (accepts and never answers),
/// the second is reset, the third is answered after a second, the rest at once. Returns its
/// address and the bodies it answered promptly.
async fn misbehaving_receiver() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let got = bodies.clone();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let got = got.clone();
            tokio::spawn(async move {
                // Reads one request: headers, then Content-Length bytes.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let Ok(k) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break text[end + 4..].to_owned();
                        }
                    }
                };
                match n {
                    0 => tokio::time::sleep(Duration::from_secs(30)).await,
                    1 => {
                        let _ = stream.set_zero_linger();
                        drop(stream);
                    }
                    2 => {
                        tokio::time::sleep(Duration::from_millis(1000)).await;
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .await;
                    }
                    _ => {
                        got.lock().unwrap().push(body);
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                }
            });
        }
    });
    (addr, bodies)
}

async fn receivers_that_hang_reset_or_dawdle_are_retried_and_the_server_stays_responsive(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, |c| {
        fast_retries(c);
        c.webhooks.timeout_ms = 400;
    })
    .await
    else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    let (addr, bodies) = misbehaving_receiver().await;
    hook(
        &app,
        &admin,
        json!({"url": format!("http://{addr}/hook"), "secret": SECRET, "events": ["incident.opened"]}),
    )
    .await;
    let id = open(&app, &security, "Receiver trouble").await;
    // While deliveries hang and fail, the API answers as usual.
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = std::time::Instant::now();
        open(&app, &security, &format!("meanwhile {i}")).await;
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        slowest < Duration::from_millis(500),
        "an API call took {slowest:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while bodies.lock().unwrap().len() < 21 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of 21 arrived",
            bodies.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first: Value = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(
        first["data"]["incident_id"]
            .as_i64()
            .or(first["incident_id"].as_i64()),
        Some(id),
        "{first}"
    );
    let (_, deliveries) = json(app.get("/api/v1/deliveries", &admin).await).await;
    let items = deliveries["items"].as_array().unwrap();
    let oldest = items.last().unwrap();
    assert_eq!(oldest["status"], "delivered", "{oldest}");
    assert_eq!(
        oldest["attempts"], 4,
        "hang, reset, too slow, then delivered: {oldest}"
    );
    assert!(
        items.iter().all(|d| d["status"] == "delivered"),
        "{deliveries}"
    );
}

/// Webhook deliveries held by this node's `/metrics` so far.
async fn delivered_by(client: &reqwest::Client, metrics_url: &str) -> u64 {
    let text = client
        .get(metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("frontline_deliveries_total{")
                && l.contains("transport=\"webhook\"")
                && l.contains("outcome=\"delivered\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// The outbox is shared, not leader-only: with two nodes on one database, both send, and
/// each of four webhooks still gets every notification once and in feed order (one node
/// follows a webhook at a time, under a claim).
async fn two_nodes_share_the_webhooks_and_each_gets_every_notification_once_in_order(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, fast_retries).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    let receiver = Receiver::listening().await;
    let mut hooks = Vec::new();
    for n in 0..4 {
        let created = hook(
            &app,
            &admin,
            json!({"url": format!("{}?hook={n}", receiver.url()), "secret": SECRET,
                   "events": ["incident.opened"]}),
        )
        .await;
        hooks.push(created["id"].as_i64().unwrap());
    }
    let other = app.another_node().await;
    // Both nodes must count each other before sharing (the heartbeat runs every 3 s).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, nodes) = json(app.get("/api/v1/nodes", &admin).await).await;
        if nodes["items"].as_array().is_some_and(|n| n.len() == 2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second node never showed: {nodes}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut opened = Vec::new();
    for i in 0..12 {
        opened.push(open(&app, &security, &format!("wave {i}")).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let received = receiver.wait_for(48, Duration::from_secs(20)).await;
    let keys: Vec<String> = received
        .iter()
        .map(|r| r.header("x-frontline-idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(
        keys.iter().collect::<HashSet<_>>().len(),
        keys.len(),
        "no notification twice: {keys:?}"
    );
    for id in &hooks {
        let incidents: Vec<i64> = received
            .iter()
            .filter(|r| {
                r.header("x-frontline-idempotency-key")
                    .unwrap()
                    .starts_with(&format!("flt-{id}-"))
            })
            .map(|r| r.json()["incident_id"].as_i64().unwrap())
            .collect();
        assert_eq!(incidents, opened, "webhook {id}: every incident, in order");
    }
    // A delivery is counted once settled, just after the receiver answered it: the last one
    // may be a moment behind its arrival.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (here, there) = loop {
        let here = delivered_by(&app.client, &app.url("/metrics")).await;
        let there = delivered_by(&app.client, &other.url("/metrics")).await;
        if here + there >= 48 || std::time::Instant::now() >= deadline {
            break (here, there);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(here + there, 48);
    assert!(here > 0 && there > 0, "both nodes sent: {here} and {there}");
}

frontline_testkit::backend_tests!(
    two_nodes_share_the_webhooks_and_each_gets_every_notification_once_in_order,
    receivers_that_hang_reset_or_dawdle_are_retried_and_the_server_stays_responsive,
    notifications_wait_for_a_receiver_that_is_down_and_arrive_signed_and_in_order,
    a_slack_webhook_gets_only_its_kinds_and_is_retried_after_errors,
    a_restart_between_the_change_and_its_delivery_loses_nothing,
    a_delivery_that_never_succeeds_is_marked_failed_and_the_next_goes_on,
    bad_webhooks_are_refused_naming_the_field,
    private_targets_are_refused_when_configured,
);
