//! Statements over HTTP: drafted, approved by both teams (people, not tokens), published by
//! comms or the commander, and read by agents as talking points.

use frontline_core::Role;
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    json(app.post_json(path, token, &body).await).await
}

async fn one_message_needs_both_teams_and_reaches_the_agents(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let comms = app.token_for("cora", Role::Comms).await;
    let security = app.token_for("sam", Role::Security).await;
    let security_again = app.token_for("sam", Role::Security).await;
    let cx_lead = app.token_for("carla", Role::CxLead).await;
    let agent = app.token_for("ann", Role::CxAgent).await;
    let (_, incident) = post(
        &app,
        "/api/v1/incidents",
        &security,
        json!({"title": "INTERNAL: stolen creds from vendor X", "severity": "SEV1"}),
    )
    .await;
    let id = incident["id"].as_i64().unwrap();

    let (status, drafted) = post(
        &app,
        &format!("/api/v1/incidents/{id}/statements"),
        &comms,
        json!({"audience": "public", "template": "account_security",
               "translations": {"de": {"title": "Schutz Ihres Kontos", "body": "Bitte ändern Sie Ihr Passwort."}}}),
    )
    .await;
    assert_eq!(status, 201, "{drafted}");
    let sid = drafted["id"].as_i64().unwrap();
    assert_eq!(drafted["version"], 1);
    assert_eq!(drafted["versions"][0]["title"], "Protecting your account");
    assert_eq!(drafted["versions"][0]["author"], "cora");
    let path = |what: &str| format!("/api/v1/statements/{sid}/{what}");

    let (status, err) = post(&app, &path("approve"), &comms, json!({})).await;
    assert_eq!(status, 403, "the author may not approve: {err}");
    let (status, err) = post(&app, &path("publish"), &comms, json!({})).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("security")
    );
    let (status, _) = post(&app, &path("approve"), &security, json!({})).await;
    assert_eq!(status, 200);
    let (status, err) = post(&app, &path("approve"), &security_again, json!({})).await;
    assert_eq!(status, 409, "another token of the same person: {err}");
    let (status, err) = post(&app, &path("approve"), &agent, json!({})).await;
    assert_eq!(status, 403, "{err}");
    let (status, approved) = post(&app, &path("approve"), &cx_lead, json!({})).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["approved"], true);
    let (status, err) = post(&app, &path("publish"), &cx_lead, json!({})).await;
    assert_eq!(status, 403, "cx_lead is not the commander: {err}");
    let (status, err) = post(&app, &path("publish"), &agent, json!({})).await;
    assert_eq!(status, 403, "nor is the agent: {err}");
    let (status, published) = post(&app, &path("publish"), &comms, json!({})).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["published_version"], 1);

    // Editing makes version 2; version 1 stays published until 2 is approved and published.
    let (status, edited) = json(
        app.client
            .put(app.url(&format!("/api/v1/statements/{sid}")))
            .bearer_auth(&comms)
            .json(&json!({"body": "Please change your password now.", "final": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (
            edited["version"].clone(),
            edited["published_version"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(edited["approved"], false);

    // The commander publishes too, whatever their role.
    json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &security,
            &json!({"roles": {"commander": "carla"}}),
        )
        .await,
    )
    .await;
    let (_, agents) = post(
        &app,
        &format!("/api/v1/incidents/{id}/statements"),
        &comms,
        json!({"audience": "agents", "title": "Account warnings", "body": "Say: change your password. Do not say: vendor names."}),
    )
    .await;
    let aid = agents["id"].as_i64().unwrap();
    let (status, _) = post(
        &app,
        &format!("/api/v1/statements/{aid}/approve"),
        &cx_lead,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, err) = post(
        &app,
        &format!("/api/v1/statements/{aid}/publish"),
        &cx_lead,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "the commander publishes: {err}");

    let (status, points) = json(app.get("/api/v1/talking-points", &agent).await).await;
    assert_eq!(status, 200, "{points}");
    let p = &points["items"][0];
    assert_eq!(p["incident_id"], id);
    assert_eq!(
        p["agents"]["body"],
        "Say: change your password. Do not say: vendor names."
    );
    assert_eq!(p["agents"]["version"], 1);
    assert!(p["agents"]["approved_at"].is_string());
    assert_eq!(p["customers"], Value::Null);

    let (status, _) = post(
        &app,
        "/api/v1/talking-points/questions",
        &agent,
        json!({"incident_id": id, "question": "Do I need a new card?"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, timeline) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &comms)
            .await,
    )
    .await;
    let last = timeline["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["actor"], "user:ann");
    assert!(
        last["data"]["body"]
            .as_str()
            .unwrap()
            .contains("Do I need a new card?")
    );

    // Resolving needs the final public word.
    let (status, err) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &security,
            &json!({"state": "resolved"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{err}");
}

async fn bad_statements_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let comms = app.token_for("cora", Role::Comms).await;
    let (_, incident) = post(
        &app,
        "/api/v1/incidents",
        &comms,
        json!({"title": "x", "severity": "SEV3"}),
    )
    .await;
    let path = format!("/api/v1/incidents/{}/statements", incident["id"]);
    for (body, field) in [
        (json!({"body": "x"}), "audience"),
        (json!({"audience": "press", "body": "x"}), "audience"),
        (json!({"audience": "public"}), "body"),
        (
            json!({"audience": "public", "body": "x".repeat(20_001)}),
            "body",
        ),
        (
            json!({"audience": "public", "template": "nope"}),
            "template",
        ),
        (
            json!({"audience": "public", "body": "x", "translations": {"de": {"body": ""}}}),
            "translations.de.body",
        ),
        (
            json!({"audience": "public", "body": "x", "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, err) = post(&app, &path, &comms, body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    let (_, list) = json(app.get(&path, &comms).await).await;
    assert_eq!(list["items"], json!([]), "nothing drafted");
    let (status, _) = post(
        &app,
        "/api/v1/incidents/999/statements",
        &comms,
        json!({"audience": "public", "body": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, err) = json(
        app.client
            .put(app.url("/api/v1/components/web"))
            .bearer_auth(&comms)
            .json(&json!({"status": "on fire"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (422, json!("status"))
    );
}

async fn an_overdue_public_update_reminds_the_commander_and_comms_lead(backend: Backend) {
    use chrono::{DateTime, Duration, Utc};
    use frontline_server::workers::cadence::round;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let security = app.token_for("sam", Role::Security).await;
    let comms = app.token_for("cora", Role::Comms).await;
    let cx_lead = app.token_for("carla", Role::CxLead).await;
    let config = frontline_server::plumbing::config::CadenceConfig::default();
    let (_, sev1) = post(
        &app,
        "/api/v1/incidents",
        &security,
        json!({"title": "down", "severity": "SEV1"}),
    )
    .await;
    let (_, sev3) = post(
        &app,
        "/api/v1/incidents",
        &security,
        json!({"title": "meh", "severity": "SEV3"}),
    )
    .await;
    let id = sev1["id"].as_i64().unwrap();
    json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &security,
            &json!({"roles": {"commander": "carla", "comms_lead": "cora"}}),
        )
        .await,
    )
    .await;
    let opened: DateTime<Utc> = sev1["opened_at"].as_str().unwrap().parse().unwrap();
    let store = app.store.as_ref();
    assert_eq!(
        round(store, &config, opened + Duration::minutes(29), None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        round(store, &config, opened + Duration::minutes(31), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        round(store, &config, opened + Duration::minutes(45), None)
            .await
            .unwrap(),
        0,
        "one per deadline"
    );
    // Under a lease another node has since taken: refused, and no reminder written.
    let stale = store
        .acquire_lease("cadence-test", "node-a/w", Duration::seconds(30))
        .await
        .unwrap();
    store
        .release_lease("cadence-test", "node-a/w")
        .await
        .unwrap();
    store
        .acquire_lease("cadence-test", "node-b/w", Duration::seconds(30))
        .await
        .unwrap()
        .expect("b takes it");
    let fenced = round(
        store,
        &config,
        opened + Duration::minutes(61),
        stale.as_ref(),
    )
    .await;
    assert!(
        matches!(fenced, Err(frontline_store::StoreError::Fenced { .. })),
        "{fenced:?}"
    );
    assert_eq!(
        round(store, &config, opened + Duration::minutes(61), None)
            .await
            .unwrap(),
        1
    );
    let (_, timeline) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &comms)
            .await,
    )
    .await;
    let reminders: Vec<&Value> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "incident.reminder")
        .collect();
    assert_eq!(reminders.len(), 2);
    assert_eq!(reminders[0]["data"]["commander"], "carla");
    assert_eq!(reminders[0]["data"]["comms_lead"], "cora");
    assert_eq!(reminders[0]["data"]["interval_minutes"], 30);
    let (_, none) = json(
        app.get(
            &format!("/api/v1/incidents/{}/timeline", sev3["id"]),
            &comms,
        )
        .await,
    )
    .await;
    assert!(
        none["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "incident.reminder")
    );

    // A public update resets the clock.
    let (_, s) = post(
        &app,
        &format!("/api/v1/incidents/{id}/statements"),
        &comms,
        json!({"audience": "public", "body": "We are on it."}),
    )
    .await;
    let sid = s["id"].as_i64().unwrap();
    post(
        &app,
        &format!("/api/v1/statements/{sid}/approve"),
        &security,
        json!({}),
    )
    .await;
    post(
        &app,
        &format!("/api/v1/statements/{sid}/approve"),
        &cx_lead,
        json!({}),
    )
    .await;
    post(
        &app,
        &format!("/api/v1/statements/{sid}/publish"),
        &comms,
        json!({}),
    )
    .await;
    assert_eq!(
        round(store, &config, Utc::now() + Duration::minutes(20), None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        round(store, &config, Utc::now() + Duration::minutes(31), None)
            .await
            .unwrap(),
        1
    );
}

frontline_testkit::backend_tests!(
    an_overdue_public_update_reminds_the_commander_and_comms_lead,
    one_message_needs_both_teams_and_reaches_the_agents,
    bad_statements_are_refused_naming_the_field,
);
