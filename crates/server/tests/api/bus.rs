//! The intake bus against a real `nats-server` with JetStream: contacts sent to any node are
//! acknowledged by the bus (202), stored once by the writers every node runs, deduplicated on a
//! retry; a bus that cannot be reached or a stream set up differently stops startup, named.

use frontline_core::Role;
use frontline_testkit::nats::{Nats, free_port};
use frontline_testkit::{Backend, TestApp, contact_json, json, spawn_app_with};
use std::time::{Duration, Instant};

fn ndjson(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| {
            format!(
                "{}\n",
                contact_json(
                    "zendesk",
                    &i.to_string(),
                    &format!("2026-11-25T13:{:02}:00Z", i % 60)
                )
            )
        })
        .collect()
}

async fn bulk(
    app_url: &str,
    client: &reqwest::Client,
    token: &str,
    body: String,
) -> (u16, serde_json::Value) {
    json(
        client
            .post(format!("{app_url}/api/v1/contacts/bulk"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Waits until the database holds `n` contacts.
async fn stored(app: &TestApp, token: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = json(app.get("/api/v1/contacts?limit=1000", token).await).await;
        let count = page["items"].as_array().map_or(0, Vec::len);
        if count == n {
            return;
        }
        assert!(count < n, "more stored than sent: {count} of {n}");
        assert!(Instant::now() < deadline, "only {count} of {n} stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn contacts_through_the_bus_are_stored_once_by_the_nodes_writers(backend: Backend) {
    let Some(nats) = Nats::start() else {
        return;
    };
    let url = nats.url.clone();
    let Some(app) = spawn_app_with(backend, move |c| c.bus.url = Some(url)).await else {
        return;
    };
    let other = app.another_node().await;
    let ingest = app.token(Role::Ingest).await;
    let reader = app.token(Role::Security).await;

    let (status, summary) = bulk(&app.base_url, &app.client, &ingest, ndjson(0, 300)).await;
    assert_eq!(status, 202, "{summary}");
    assert_eq!(summary["accepted"], 300, "{summary}");
    // A client that retries (it never saw the answer) is deduplicated by the bus.
    let (status, again) = bulk(&other.base_url, &app.client, &ingest, ndjson(0, 300)).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["duplicates"], 300, "{again}");
    stored(&app, &reader, 300).await;

    // One at a time, through the other node, goes the same way.
    let (status, one) = json(
        app.client
            .post(other.url("/api/v1/contacts"))
            .bearer_auth(&ingest)
            .json(&contact_json("intercom", "c-1", "2026-11-25T14:00:00Z"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{one}");
    stored(&app, &reader, 301).await;
    let (_, contact) = json(app.get("/api/v1/contacts/intercom/c-1", &reader).await).await;
    assert!(
        !contact["text"]
            .as_str()
            .unwrap()
            .contains("jane.doe@example.com"),
        "only redacted text travels and is stored: {contact}"
    );

    // The bus gone: intake answers 503 with Retry-After and acknowledges nothing.
    drop(nats);
    let refused = app
        .client
        .post(app.url("/api/v1/contacts/bulk"))
        .bearer_auth(&ingest)
        .header("content-type", "application/x-ndjson")
        .body(ndjson(300, 310))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
}

async fn a_bus_that_cannot_be_reached_or_is_set_up_differently_stops_startup(backend: Backend) {
    if backend == Backend::Postgres {
        return; // Startup's checks do not depend on the database.
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = frontline_server::Config {
        listen: ([127, 0, 0, 1], 0).into(),
        database: format!("sqlite://{}", dir.path().join("f.db").display()),
        ..frontline_server::Config::default()
    };
    config.bus.url = Some(format!("nats://127.0.0.1:{}", free_port()));
    config.bus.connect_wait_s = 1;
    let started = Instant::now();
    let err = frontline_server::build(config.clone()).await.err().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "bounded wait");
    assert!(format!("{err:#}").contains("bus.url"), "{err:#}");

    let Some(nats) = Nats::start() else {
        return;
    };
    // Someone made the stream by hand, keeping messages by limits instead of as a work queue.
    let client = async_nats::connect(&nats.url).await.unwrap();
    async_nats::jetstream::new(client)
        .create_stream(async_nats::jetstream::stream::Config {
            name: frontline_server::plumbing::bus::STREAM.into(),
            subjects: vec!["frontline.contacts.*".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    config.bus.url = Some(nats.url.clone());
    let err = frontline_server::build(config).await.err().unwrap();
    let said = format!("{err:#}");
    assert!(said.contains("retention"), "{said}");
}

frontline_testkit::backend_tests!(
    contacts_through_the_bus_are_stored_once_by_the_nodes_writers,
    a_bus_that_cannot_be_reached_or_is_set_up_differently_stops_startup,
);
