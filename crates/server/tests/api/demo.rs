//! `serve --demo`: the week and the live incident, played fast against the real server, make
//! what a new user is promised — people who sign in, a week of history, an alert from the
//! phishing wave, and one incident holding the alert and the security finding.

use frontline_core::incident::Signal;
use frontline_server::demo;
use frontline_store::IncidentQuery;
use frontline_testkit::{Backend, spawn_app};
use tokio_util::sync::CancellationToken;

async fn the_demo_tells_the_whole_story(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (token, empty) = demo::prepare(app.store.as_ref()).await.unwrap();
    assert!(empty, "a fresh database gets the week");
    demo::play(
        demo::Play {
            base: app.url(""),
            token,
            history: true,
            speed: 30.0,
            keep_going: false,
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    app.detect().await;
    app.correlate().await;

    let contacts = app
        .store
        .list_contacts(&frontline_store::ContactQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(contacts.items.len(), 1000, "thousands of contacts");
    let alerts = app
        .store
        .list_alerts(&frontline_store::AlertQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert!(
        alerts
            .iter()
            .any(|a| a.detected.topic.as_deref() == Some("phishing")),
        "the wave raised a phishing alert: {alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.detected.started_at > chrono::Utc::now() - chrono::Duration::minutes(10)),
        "the ordinary week raised nothing: {:?}",
        alerts
            .iter()
            .filter(|a| a.detected.started_at <= chrono::Utc::now() - chrono::Duration::minutes(10))
            .map(|a| (&a.detected.alert_id, &a.detected.text, a.detected.observed))
            .collect::<Vec<_>>()
    );
    let incidents = app
        .store
        .list_incidents(&IncidentQuery {
            limit: 10,
            ..IncidentQuery::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(incidents.len(), 1, "one incident: {incidents:?}");
    let detail = app
        .store
        .get_incident(incidents[0].id)
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<&Signal> = detail.links.iter().map(|l| &l.signal).collect();
    assert!(
        kinds
            .iter()
            .any(|s| matches!(s, Signal::SecurityEvent { .. }))
            && kinds.iter().any(|s| matches!(s, Signal::Alert { .. })),
        "the alert and the finding, together: {kinds:?}"
    );

    // The people sign in with the demo password.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/login"))
        .form(&[
            ("user", "carla"),
            ("password", demo::PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");

    // A second run on the same database plays the incident again, without another week.
    let (_, empty) = demo::prepare(app.store.as_ref()).await.unwrap();
    assert!(!empty);
}

frontline_testkit::backend_tests!(the_demo_tells_the_whole_story);
