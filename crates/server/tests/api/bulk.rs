//! Streamed NDJSON intake: line numbers, limits, broken connections, retries.

use frontline_core::Role;
use frontline_testkit::{Backend, TestApp, contact_json, json, spawn_app, spawn_app_with};
use std::io::Write;
use std::time::{Duration, Instant};

fn ndjson(lines: &[serde_json::Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn contacts(from: usize, to: usize) -> Vec<serde_json::Value> {
    (from..to)
        .map(|i| {
            contact_json(
                "zendesk",
                &i.to_string(),
                &format!("2026-11-25T13:{:02}:00Z", i % 60),
            )
        })
        .collect()
}

async fn post_ndjson(
    app: &TestApp,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value) {
    json(
        app.client
            .post(app.url("/api/v1/contacts/bulk"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn count(app: &TestApp) -> usize {
    let mut n = 0;
    let mut q = frontline_store::ContactQuery {
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = app.store.list_contacts(&q).await.unwrap();
        n += page.items.len();
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return n,
        }
    }
}

async fn lines_are_stored_and_bad_ones_reported_by_number(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let mut body = ndjson(&contacts(0, 2));
    body.push_str("{\"id\": \"x\", \"source\": \"zendesk\", \"channel\": \"fax\", \"received_at\": \"2026-11-25T13:00:00Z\", \"text\": \"t\"}\n"); // line 3
    body.push('\n'); // line 4, blank
    body.push_str(&ndjson(&contacts(2, 1500))); // lines 5..=1502
    body.push_str("{not json\n"); // line 1503
    body.push_str(&format!("{}\n", "y".repeat(70 * 1024))); // line 1504
    body.push_str(&ndjson(&contacts(1500, 2500))); // lines 1505..=2504
    body.push_str(&contact_json("zendesk", "last", "2026-11-25T13:00:00Z").to_string()); // 2505, no newline
    let (status, summary) = post_ndjson(&app, &token, body.clone()).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["accepted"], 2501);
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(summary["lines"], 2505);
    assert_eq!(summary["rejected_count"], 3);
    let rejected: Vec<(u64, Option<&str>)> = summary["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["error"]["field"].as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![(3, Some("channel")), (1503, None), (1504, None)]
    );
    assert!(
        summary["rejected"][2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than")
    );
    assert_eq!(count(&app).await, 2501);
    // Stored redacted, like any other intake.
    let c = app
        .store
        .get_contact("zendesk", "last")
        .await
        .unwrap()
        .unwrap();
    assert!(c.contact.text.contains("[email]") && !c.contact.text.contains("jane.doe"));

    // Sending the same file again changes nothing.
    let (status, again) = post_ndjson(&app, &token, body).await;
    assert_eq!(status, 200);
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2501))
    );
    assert_eq!(count(&app).await, 2501);
}

async fn only_the_first_thousand_rejections_are_listed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let body: String = (0..1200).map(|_| "[]\n").collect();
    let (status, summary) = post_ndjson(&app, &token, body).await;
    assert_eq!(status, 200);
    assert_eq!(summary["rejected"].as_array().unwrap().len(), 1000);
    assert_eq!(summary["rejected_count"], 1200);
    assert_eq!(summary["rejected"][999]["line"], 1000);
}

async fn the_size_limit_stops_the_stream_and_keeps_what_was_committed(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.max_bulk_bytes = 600 * 1024).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let body = ndjson(&contacts(0, 3000)); // about 1 MiB
    // Declared up front: refused before anything is read.
    let (status, answer) = post_ndjson(&app, &token, body.clone()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(count(&app).await, 0);

    // Streamed without a length: refused when the limit is crossed; earlier batches stay.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
        .as_bytes()
        .chunks(16 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let (status, answer) = post_ndjson(&app, &token, stream).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("committed")
    );
    let stored = count(&app).await;
    assert!((1000..3000).contains(&stored), "{stored}");
}

async fn a_broken_connection_keeps_committed_batches_and_a_retry_completes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let body = ndjson(&contacts(0, 2500));
    let cut = body.len() * 2 / 3; // mid-line, after the first two batches
    {
        let mut socket = std::net::TcpStream::connect(app.addr).unwrap();
        write!(
            socket,
            "POST /api/v1/contacts/bulk HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .unwrap();
        write!(socket, "{:x}\r\n", cut).unwrap();
        socket.write_all(&body.as_bytes()[..cut]).unwrap();
        socket.write_all(b"\r\n").unwrap();
        socket.flush().unwrap();
        // Wait until the server has committed what it had, then hang up mid-request.
        let deadline = Instant::now() + Duration::from_secs(30);
        while count(&app).await < 1000 {
            assert!(
                Instant::now() < deadline,
                "the first batch was never committed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let committed = count(&app).await;
    assert!((1000..2500).contains(&committed), "{committed}");

    let (status, summary) = post_ndjson(&app, &token, body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["accepted"].as_u64().unwrap() + summary["duplicates"].as_u64().unwrap(),
        2500
    );
    assert_eq!(count(&app).await, 2500);
}

async fn json_bodies_and_readers_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let res = app
        .client
        .post(app.url("/api/v1/contacts/bulk"))
        .bearer_auth(&token)
        .json(&contacts(0, 2))
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, 415);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-ndjson")
    );
    // No body and no type, or lines sent as a form, are a client's mistake, not an empty file.
    for content_type in [None, Some("application/x-www-form-urlencoded")] {
        let mut req = app
            .client
            .post(app.url("/api/v1/contacts/bulk"))
            .bearer_auth(&token);
        if let Some(t) = content_type {
            req = req.header("content-type", t).body(ndjson(&contacts(0, 2)));
        }
        let (status, body) = json(req.send().await.unwrap()).await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
    }
    let viewer = app.token(Role::Viewer).await;
    let (status, _) = post_ndjson(&app, &viewer, ndjson(&contacts(0, 2))).await;
    assert_eq!(status, 403);
    assert_eq!(count(&app).await, 0);
}

frontline_testkit::backend_tests!(
    lines_are_stored_and_bad_ones_reported_by_number,
    only_the_first_thousand_rejections_are_listed,
    the_size_limit_stops_the_stream_and_keeps_what_was_committed,
    a_broken_connection_keeps_committed_batches_and_a_retry_completes,
    json_bodies_and_readers_are_refused,
);
