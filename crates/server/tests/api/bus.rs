//! The intake bus against a real `nats-server` with JetStream: contacts sent to any node are
//! acknowledged by the bus (202), stored once by the writers every node runs, deduplicated on a
//! retry; a bus that cannot be reached or a stream set up differently stops startup, named.

use frontline_core::Role;
use frontline_testkit::nats::{Nats, NatsCluster, free_port};
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
    // Everything stored is acknowledged: nothing waits on the bus.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.lines().any(|l| l == "frontline_bus_backlog 0") {
            break;
        }
        assert!(Instant::now() < deadline, "backlog never 0: {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

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

/// Startup's checks do not depend on the database: SQLite only.
#[tokio::test]
async fn a_bus_that_cannot_be_reached_or_is_set_up_differently_stops_startup() {
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

/// On a three-server JetStream cluster with three replicas, killing the server that leads the
/// stream stalls intake for at most ten seconds, and every contact acknowledged before or
/// after is stored. What is measured is the bus, so one database (SQLite) is enough.
#[tokio::test]
async fn killing_the_stream_leader_stalls_intake_briefly_and_loses_nothing() {
    let Some(mut cluster) = NatsCluster::start(3) else {
        return;
    };
    let urls = cluster.urls();
    let Some(app) = spawn_app_with(Backend::Sqlite, move |c| {
        c.bus.url = Some(urls);
        c.bus.replicas = 3;
        c.bus.connect_wait_s = 30;
    })
    .await
    else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let reader = app.token(Role::Security).await;
    let (status, first) = bulk(&app.base_url, &app.client, &ingest, ndjson(0, 200)).await;
    assert_eq!(status, 202, "{first}");

    let leader = {
        let servers: Vec<String> = cluster.nodes.iter().map(|n| n.url.clone()).collect();
        let client = async_nats::connect(servers.as_slice()).await.unwrap();
        let mut stream = async_nats::jetstream::new(client)
            .get_stream(frontline_server::plumbing::bus::STREAM)
            .await
            .unwrap();
        let info = stream.info().await.unwrap();
        info.cluster
            .as_ref()
            .and_then(|c| c.leader.clone())
            .expect("a replicated stream has a leader")
    };
    cluster
        .nodes
        .iter_mut()
        .find(|n| n.name == leader)
        .expect("the leader is one of ours")
        .kill();
    let killed = Instant::now();
    // Batches keep coming; each is retried until the bus takes it again. The stall is the
    // time from the kill to the first batch the bus acknowledged after it.
    let mut next = 200;
    let mut stall = None;
    while next < 400 {
        let (status, _) = bulk(&app.base_url, &app.client, &ingest, ndjson(next, next + 20)).await;
        if status == 202 {
            stall.get_or_insert(killed.elapsed());
            next += 20;
        } else {
            assert_eq!(
                status, 503,
                "refused while the bus elects a leader, never worse"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "intake never came back"
        );
    }
    let stall = stall.unwrap();
    assert!(
        stall <= Duration::from_secs(10),
        "publishing stalled {stall:?}"
    );
    eprintln!("stream leader {leader} killed: publishing stalled {stall:?}");
    stored(&app, &reader, 400).await;
}

frontline_testkit::backend_tests!(contacts_through_the_bus_are_stored_once_by_the_nodes_writers);
