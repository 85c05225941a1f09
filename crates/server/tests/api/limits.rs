//! Limits against abuse, against the real server: buckets per token and per client with `429`
//! and `Retry-After`, the status page left alone, requests in flight bounded, and clients that
//! trickle headers or stall bodies dropped.

use frontline_core::Role;
use frontline_testkit::{Backend, json, spawn_app, spawn_app_with};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn tokens_and_clients_get_buckets_and_are_told_when_to_return(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.limits.token_per_second = 1;
        c.limits.token_burst = 5;
        c.limits.client_per_second = 1;
        c.limits.client_burst = 8;
    })
    .await
    else {
        return;
    };
    let a = app.token(Role::Viewer).await;
    let b = app.token(Role::Viewer).await;
    for i in 0..5 {
        let (status, body) = json(app.get("/api/v1/me", &a).await).await;
        assert_eq!(status, 200, "request {i} is within the burst: {body}");
    }
    let refused = app.get("/api/v1/me", &a).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let (_, body) = json(refused).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"].as_str().unwrap().contains("token"));
    // Another token has its own bucket, but the address has one too: 8 in all.
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/me", &b).await.status(), 200);
    }
    let (status, body) = json(app.get("/api/v1/me", &b).await).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("address")
    );
    // Guessing tokens is limited too; the public page and health are not.
    let (status, _) = json(app.get("/api/v1/me", "flt_0000000000000000_x").await).await;
    assert_eq!(status, 429);
    for _ in 0..30 {
        let r = app.client.get(app.url("/status")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
}

async fn the_defaults_let_a_busy_integration_through(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Viewer).await;
    // A burst of 200 at once (ten clients of one integration), as fast as loopback allows.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/me"), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
                statuses.push(r.status().as_u16());
            }
            statuses
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().iter().all(|s| *s == 200));
    }
}

/// Writes `bytes` on a raw connection and reads until the server closes it (or 5 s pass).
async fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for 5 s"),
        }
    }
    (out, started.elapsed())
}

async fn slow_clients_are_dropped_and_others_served(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.limits.header_timeout_ms = 300;
        c.limits.body_idle_timeout_ms = 300;
    })
    .await
    else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    // Headers that never end.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A body that stalls after its first bytes.
    let mut stalled = TcpStream::connect(app.addr).await.unwrap();
    stalled
        .write_all(
            format!(
                "POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n[{{\"id\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Meanwhile everyone else is served. (A fresh connection each time: with a 300 ms header
    // deadline, an idle kept-alive connection is closed as the test waits, and a pooled one
    // could be reused just as the server closes it.)
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (answer, took) = read_until_closed(&mut slow).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains("200 OK"),
        "no answer to half a request: {answer}"
    );
    let (answer, took) = read_until_closed(&mut stalled).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("unreadable_body"), "{answer}");
    let viewer = app.token(Role::Viewer).await;
    let r = fresh
        .get(app.url("/api/v1/contacts"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    let (status, page) = json(r).await;
    assert_eq!(status, 200);
    assert_eq!(
        page["items"],
        serde_json::json!([]),
        "nothing half-sent was stored"
    );
}

async fn requests_beyond_the_limit_in_flight_are_refused_at_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.limits.max_in_flight = 1).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    // One request holds the only slot: its body is still coming.
    let mut holder = TcpStream::connect(app.addr).await.unwrap();
    let body = serde_json::json!([frontline_testkit::contact_json(
        "zendesk",
        "held",
        "2026-11-25T10:00:00Z"
    )])
    .to_string();
    holder
        .write_all(
            format!(
                "POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    holder.write_all(&body.as_bytes()[..10]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        if r.status() == 503 {
            break r;
        }
        assert!(Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    let (_, body_json) = json(refused).await;
    assert_eq!(body_json["error"]["code"], "overloaded");
    // The held request completes and frees its slot.
    holder.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = holder.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

frontline_testkit::backend_tests!(
    tokens_and_clients_get_buckets_and_are_told_when_to_return,
    the_defaults_let_a_busy_integration_through,
    slow_clients_are_dropped_and_others_served,
    requests_beyond_the_limit_in_flight_are_refused_at_once,
);
