//! The live feed: events arrive as they are committed, and a client that reconnects with
//! `Last-Event-ID` gets exactly what it missed.

use frontline_core::Role;
use frontline_testkit::sse::SseReader;
use frontline_testkit::{Backend, TestApp, json, spawn_app, spawn_app_with};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn connect(app: &TestApp, token: &str, query: &str, last: Option<&str>) -> SseReader {
    let mut req = app
        .client
        .get(app.url(&format!("/api/v1/stream{query}")))
        .bearer_auth(token);
    if let Some(id) = last {
        req = req.header("last-event-id", id);
    }
    let response = req.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    SseReader::new(response)
}

/// Two nodes on one PostgreSQL: a change made on one reaches a live stream on the other at
/// once (the feed's NOTIFY), not at the other's next one-second poll. Twenty changes: by the
/// poll alone a wait is spread evenly over the second, so a median within 250 ms (chance
/// 0.004 by polling alone) shows the announcement; the median, not the slowest, so that one
/// change delayed by a busy shared machine does not fail the test (one took 294 ms in CI).
#[tokio::test]
async fn a_change_on_one_node_reaches_a_stream_on_another_without_waiting_for_its_poll() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let other = app.another_node().await;
    let security = app.token_for("sam", Role::Security).await;
    let viewer = app.token(Role::Viewer).await;
    let response = app
        .client
        .get(other.url("/api/v1/stream"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = SseReader::new(response);
    // The other node's listener starts with its server: give it a moment to be listening.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut took = Vec::new();
    for n in 0..20 {
        let sent = std::time::Instant::now();
        let (status, incident) = json(
            app.post_json(
                "/api/v1/incidents",
                &security,
                &json!({"title": format!("Wave {n}"), "severity": "SEV3"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{incident}");
        let event = stream
            .next(WAIT)
            .await
            .expect("the event reaches the other node");
        assert_eq!(
            event.json()["incident_id"],
            incident["id"],
            "{}",
            event.data
        );
        took.push(sent.elapsed());
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(
        median <= Duration::from_millis(250),
        "median {median:?}, all {took:?}"
    );
}

async fn changes_arrive_live_and_a_reconnect_resumes_without_gaps(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let security = app.token_for("sam", Role::Security).await;
    let viewer = app.token(Role::Viewer).await;
    // Something before the stream opens is not replayed to a new client.
    let (status, _) = json(
        app.post_json(
            "/api/v1/incidents",
            &security,
            &json!({"title": "Earlier", "severity": "SEV4"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);

    let mut stream = connect(&app, &viewer, "", None).await;
    let (_, incident) = json(
        app.post_json(
            "/api/v1/incidents",
            &security,
            &json!({"title": "Account takeovers", "severity": "SEV1"}),
        )
        .await,
    )
    .await;
    let id = incident["id"].as_i64().unwrap();
    let opened = stream.next(WAIT).await.expect("incident.opened arrives");
    assert_eq!(opened.event.as_deref(), Some("incident.opened"));
    let body = opened.json();
    assert_eq!(body["incident_id"], id);
    assert_eq!(body["data"]["title"], "Account takeovers");
    assert_eq!(opened.id.as_deref(), Some(body["seq"].to_string().as_str()));

    let path = format!("/api/v1/incidents/{id}/notes");
    json(
        app.post_json(&path, &security, &json!({"body": "first"}))
            .await,
    )
    .await;
    let note = stream.next(WAIT).await.expect("the note arrives");
    assert_eq!(note.event.as_deref(), Some("incident.note"));
    assert_eq!(note.json()["data"]["body"], "first");
    let last_seen = note.id.clone().unwrap();
    drop(stream);

    // Missed while away: three changes.
    for body in ["second", "third"] {
        json(
            app.post_json(&path, &security, &json!({"body": body}))
                .await,
        )
        .await;
    }
    json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &security,
            &json!({"state": "identified"}),
        )
        .await,
    )
    .await;
    let mut resumed = connect(&app, &viewer, "", Some(&last_seen)).await;
    let mut seqs = vec![last_seen.parse::<i64>().unwrap()];
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let e = resumed.next(WAIT).await.expect("a missed event");
        seqs.push(e.id.unwrap().parse().unwrap());
        kinds.push(e.event.unwrap());
    }
    assert_eq!(
        kinds,
        ["incident.note", "incident.note", "incident.updated"]
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gaps: {seqs:?}"
    );
    assert!(resumed.next(Duration::from_millis(300)).await.is_none());

    // Filters: only notes of this incident.
    let mut notes = connect(
        &app,
        &viewer,
        &format!("?kinds=incident.note&incident={id}&after=0"),
        None,
    )
    .await;
    let mut bodies = Vec::new();
    while let Some(e) = notes.next(Duration::from_millis(500)).await {
        bodies.push(e.json()["data"]["body"].as_str().unwrap().to_owned());
    }
    assert_eq!(bodies, ["first", "second", "third"]);

    for (query, field) in [
        ("?kinds=incident.exploded", "kinds"),
        ("?after=-1", "after"),
        ("?from=1", "from"),
    ] {
        let (status, err) = json(app.get(&format!("/api/v1/stream{query}"), &viewer).await).await;
        assert_eq!(status, 400, "{query}: {err}");
        assert_eq!(err["error"]["field"], field, "{query}: {err}");
    }
}

async fn open_streams_are_capped(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.max_streams = 1).await else {
        return;
    };
    let viewer = app.token(Role::Viewer).await;
    let first = connect(&app, &viewer, "", None).await;
    let (status, err) = json(app.get("/api/v1/stream", &viewer).await).await;
    assert_eq!(status, 429, "{err}");
    assert_eq!(err["error"]["code"], "too_many_streams");
    drop(first);
    // The slot is given back when the client goes away.
    let mut again = None;
    for _ in 0..50 {
        let response = app.get("/api/v1/stream", &viewer).await;
        if response.status() == 200 {
            again = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the slot came back");
}

async fn a_shutdown_ends_open_streams_instead_of_waiting_for_them(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let viewer = app.token(Role::Viewer).await;
    let mut stream = connect(&app, &viewer, "", None).await;
    // restart() waits for the old server to finish its graceful shutdown: with a stream that
    // never ended, it would wait forever.
    tokio::time::timeout(Duration::from_secs(10), app.restart())
        .await
        .expect("the server stopped with a live stream open");
    assert!(
        stream.next(Duration::from_secs(2)).await.is_none(),
        "the stream ended"
    );
}

frontline_testkit::backend_tests!(
    changes_arrive_live_and_a_reconnect_resumes_without_gaps,
    open_streams_are_capped,
    a_shutdown_ends_open_streams_instead_of_waiting_for_them,
);
