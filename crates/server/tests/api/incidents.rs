//! The incident workspace over HTTP: opening, changing, seats, notes, links, tasks and the
//! timeline, with the role rules inside routes and every bad input refused without a change.

use frontline_core::Role;
use frontline_testkit::{Backend, TestApp, contact_json, json, spawn_app};
use serde_json::{Value, json};

async fn open(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    json(app.post_json("/api/v1/incidents", token, &body).await).await
}

async fn an_incident_is_worked_by_both_teams_and_every_step_is_on_its_timeline(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cx_lead = app.token_for("carla", Role::CxLead).await;
    let security = app.token_for("sam", Role::Security).await;
    let agent = app.token_for("ann", Role::CxAgent).await;
    let viewer = app.token(Role::Viewer).await;
    let ingest = app.token(Role::Ingest).await;
    let (status, body) = json(
        app.post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([contact_json("zendesk", "c1", "2026-11-25T12:00:00Z")]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, incident) = open(
        &app,
        &cx_lead,
        json!({"title": "Customers get fake suspension texts", "severity": "SEV2",
               "services": ["web", "web", "app"]}),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    assert_eq!(incident["state"], "investigating");
    assert_eq!(incident["severity"], "SEV2");
    assert_eq!(
        incident["services"],
        json!(["web", "app"]),
        "duplicates dropped"
    );
    assert_eq!(incident["opened_by"], "user:carla");

    // Security takes a seat and moves it on; the agent adds what customers say and links the
    // contact they handled.
    let (status, changed) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &security,
            &json!({"state": "identified", "roles": {"security_lead": "sam", "commander": "carla"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["state"], "identified");
    assert_eq!(
        changed["roles"],
        json!({"commander": "carla", "security_lead": "sam"})
    );
    let (status, noted) = json(
        app.post_json(
            &format!("/api/v1/incidents/{id}/notes"),
            &agent,
            &json!({"body": "Three callers quote the same sender number\nall from the EU"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{noted}");
    let (status, linked) = json(
        app.post_json(
            &format!("/api/v1/incidents/{id}/links"),
            &agent,
            &json!({"contacts": [{"source": "zendesk", "id": "c1"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["links"][0]["kind"], "contact");
    assert_eq!(linked["links"][0]["source"], "zendesk");
    assert_eq!(linked["links"][0]["linked_by"], "user:ann");
    let (status, tasked) = json(
        app.post_json(
            &format!("/api/v1/incidents/{id}/tasks"),
            &cx_lead,
            &json!({"title": "Macro for agents", "owner": "ann"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{tasked}");
    let (status, done) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}/tasks/1"),
            &cx_lead,
            &json!({"done": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["tasks"][0]["done"], true);
    assert_eq!(done["tasks"][0]["owner"], "ann");

    let (status, timeline) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &viewer)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{timeline}");
    let items = timeline["items"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = items
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["data"]["change"].as_str().unwrap_or("").to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("incident.opened", "", "user:carla"),
        ("incident.updated", "state", "user:sam"),
        ("incident.updated", "role", "user:sam"),
        ("incident.updated", "role", "user:sam"),
        ("incident.note", "", "user:ann"),
        ("incident.updated", "linked", "user:ann"),
        ("incident.updated", "task_added", "user:carla"),
        ("incident.updated", "task_updated", "user:carla"),
    ];
    assert_eq!(
        summary,
        expected
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        items[4]["data"]["body"],
        "Three callers quote the same sender number\nall from the EU"
    );
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // Paging by `cursor`.
    let (_, first) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline?limit=3"), &viewer)
            .await,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, page) = json(
        app.get(
            &format!("/api/v1/incidents/{id}/timeline?cursor={cursor}&limit=2"),
            &viewer,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"][0]["seq"], seqs[3]);
    assert_eq!(page["items"][1]["seq"], seqs[4]);
    assert!(page["next_cursor"].is_string(), "{page}");

    let (status, list) = json(app.get("/api/v1/incidents?open=true", &viewer).await).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["id"], id);
    let (_, none) = json(app.get("/api/v1/incidents?state=resolved", &viewer).await).await;
    assert_eq!(none["items"], json!([]));
}

async fn bad_input_and_missing_rights_change_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let security = app.token_for("sam", Role::Security).await;
    let comms = app.token_for("cora", Role::Comms).await;
    let agent = app.token_for("ann", Role::CxAgent).await;
    let (_, incident) = open(
        &app,
        &security,
        json!({"title": "Outage", "severity": "SEV1"}),
    )
    .await;
    let id = incident["id"].as_i64().unwrap();
    let path = format!("/api/v1/incidents/{id}");

    for (body, field) in [
        (json!({"severity": "SEV1"}), "title"),
        (json!({"title": "x", "severity": "SEV5"}), "severity"),
        (json!({"title": " ", "severity": "SEV2"}), "title"),
        (
            json!({"title": "x", "severity": "SEV2", "titel": "y"}),
            "titel",
        ),
        (
            json!({"title": "x", "severity": "SEV2", "services": [""]}),
            "services[0]",
        ),
        (
            json!({"title": "x", "severity": "SEV2", "links": {"alerts": ["nope"]}}),
            "links",
        ),
    ] {
        let (status, err) = open(&app, &security, body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    for (token, body, status_wanted, field) in [
        (&comms, json!({"state": "monitoring"}), 403, None),
        (&comms, json!({"severity": "SEV3"}), 403, None),
        (&security, json!({"state": "done"}), 422, Some("state")),
        (
            &security,
            json!({"state": "monitoring", "roles": {"commander": "nobody"}}),
            422,
            Some("roles"),
        ),
        (
            &security,
            json!({"roles": {"pilot": "sam"}}),
            422,
            Some("roles.pilot"),
        ),
    ] {
        let (status, err) = json(app.patch_json(&path, token, &body).await).await;
        assert_eq!(status, status_wanted, "{body}: {err}");
        if let Some(field) = field {
            assert_eq!(err["error"]["field"], field, "{body}: {err}");
        }
    }
    let (_, now) = json(app.get(&path, &security).await).await;
    assert_eq!(now["state"], "investigating", "nothing changed: {now}");
    assert_eq!(now["roles"], json!({}));
    // Comms may change what is not state or severity.
    let (status, renamed) = json(
        app.patch_json(&path, &comms, &json!({"title": "Login outage"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["title"], "Login outage");

    // Illegal state change: 409, and the unknown incident: 404.
    let (status, _) = json(
        app.patch_json(&path, &security, &json!({"state": "resolved"}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, err) = json(
        app.patch_json(&path, &security, &json!({"state": "monitoring"}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resolved")
    );
    let (status, _) = json(
        app.patch_json("/api/v1/incidents/999", &security, &json!({"title": "x"}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, err) = json(app.get("/api/v1/incidents/abc", &security).await).await;
    assert_eq!(status, 400, "{err}");

    // Notes: too long, empty; agents may not link alerts.
    let notes = format!("{path}/notes");
    let (status, err) = json(
        app.post_json(&notes, &agent, &json!({"body": "x".repeat(10_001)}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (422, json!("body"))
    );
    let (status, _) = json(app.post_json(&notes, &agent, &json!({})).await).await;
    assert_eq!(status, 422);
    let (status, err) = json(
        app.post_json(&format!("{path}/links"), &agent, &json!({"alerts": ["a1"]}))
            .await,
    )
    .await;
    assert_eq!(status, 403, "{err}");
    let (status, err) = json(
        app.patch_json(
            &format!("{path}/tasks/7"),
            &security,
            &json!({"done": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "{err}");

    let (_, timeline) = json(app.get(&format!("{path}/timeline"), &security).await).await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["data"]["change"]
                .as_str()
                .unwrap_or(e["kind"].as_str().unwrap())
        })
        .collect();
    assert_eq!(kinds, ["incident.opened", "title", "state"]);
}

async fn incidents_are_merged_and_split_by_people(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let security = app.token_for("sam", Role::Security).await;
    let ingest = app.token(Role::Ingest).await;
    let contacts: Vec<Value> = (1..=3)
        .map(|i| contact_json("zendesk", &format!("c{i}"), "2026-11-25T12:00:00Z"))
        .collect();
    json(
        app.post_json("/api/v1/contacts", &ingest, &json!(contacts))
            .await,
    )
    .await;
    let refs = |ids: &[&str]| -> Value {
        json!({"contacts": ids.iter().map(|i| json!({"source": "zendesk", "id": i})).collect::<Vec<_>>()})
    };
    let (_, a) = open(
        &app,
        &security,
        json!({"title": "Login trouble", "severity": "SEV3", "links": refs(&["c1"])}),
    )
    .await;
    let (_, b) = open(
        &app,
        &security,
        json!({"title": "Same thing", "severity": "SEV3", "links": refs(&["c2", "c3"])}),
    )
    .await;
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let (status, merged) = json(
        app.post_json(
            &format!("/api/v1/incidents/{a}/merge"),
            &security,
            &json!({"from": b}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["links"].as_array().unwrap().len(), 3);
    let (_, gone) = json(app.get(&format!("/api/v1/incidents/{b}"), &security).await).await;
    assert_eq!(
        (gone["state"].clone(), gone["merged_into"].clone()),
        (json!("resolved"), json!(a))
    );
    for (body, status_wanted) in [
        (json!({"from": a}), 409),
        (json!({"from": 999}), 422),
        (json!({}), 422),
    ] {
        let (status, err) = json(
            app.post_json(&format!("/api/v1/incidents/{a}/merge"), &security, &body)
                .await,
        )
        .await;
        assert_eq!(status, status_wanted, "{body}: {err}");
    }

    let (status, split) = json(
        app.post_json(
            &format!("/api/v1/incidents/{a}/split"),
            &security,
            &json!({"title": "A different problem", "severity": "SEV4", "links": refs(&["c3"])}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{split}");
    assert_eq!(split["links"][0]["id"], "c3");
    let (_, rest) = json(app.get(&format!("/api/v1/incidents/{a}"), &security).await).await;
    assert_eq!(rest["links"].as_array().unwrap().len(), 2);
    let (status, _) = json(
        app.post_json(
            &format!("/api/v1/incidents/{a}/split"),
            &security,
            &json!({"title": "x", "severity": "SEV4", "links": refs(&["c3"])}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "c3 is not in it any more");
}

frontline_testkit::backend_tests!(
    an_incident_is_worked_by_both_teams_and_every_step_is_on_its_timeline,
    bad_input_and_missing_rights_change_nothing,
    incidents_are_merged_and_split_by_people,
);
