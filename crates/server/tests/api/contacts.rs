//! Contact intake and reads: redaction, idempotency, per-element errors, paging, filters.

use frontline_core::Role;
use frontline_testkit::{Backend, contact_json, json, spawn_app, spawn_app_with};
use serde_json::json;

async fn a_contact_is_stored_redacted_and_pseudonymised(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let mut contact = contact_json("zendesk", "48213", "2026-11-25T14:05:00+01:00");
    contact["text"] = json!(
        "Card 4111 1111 1111 1111 was charged, order #12345678. Mail: <bob@example.org>, IBAN DE89 3704 0044 0532 0130 00, from 203.0.113.9"
    );
    contact["metadata"] = json!({"requester": "bob@example.org", "priority": "high"});
    let (status, body) = json(app.post_json("/api/v1/contacts", &ingest, &contact).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"accepted": 1, "duplicates": 0, "rejected": []})
    );

    let (status, got) = json(app.get("/api/v1/contacts/zendesk/48213", &viewer).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["text"],
        "Card [card] was charged, order #12345678. Mail: <[email]>, IBAN [iban], from [ip]"
    );
    assert_eq!(
        got["metadata"],
        json!({"requester": "[email]", "priority": "high"})
    );
    assert_eq!(got["received_at"], "2026-11-25T13:05:00Z");
    let pseudonym = got["customer"].as_str().unwrap();
    assert_eq!(pseudonym.len(), 32);
    assert!(!pseudonym.contains("cust"));

    // What the store holds is the redacted form, not the original.
    let stored = app
        .store
        .get_contact("zendesk", "48213")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.contact.text.contains("4111"));
    assert_eq!(stored.contact.customer.as_deref(), Some(pseudonym));

    // The same customer gets the same pseudonym; another customer another.
    let mut same = contact_json("zendesk", "2", "2026-11-25T13:06:00Z");
    same["customer"] = json!("cust-48213");
    let mut other = contact_json("zendesk", "3", "2026-11-25T13:07:00Z");
    other["customer"] = json!("cust-99999");
    app.post_json("/api/v1/contacts", &ingest, &json!([same, other]))
        .await;
    let (_, list) = json(app.get("/api/v1/contacts", &viewer).await).await;
    let customers: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer"].clone())
        .collect();
    assert_eq!(customers[0], customers[1]);
    assert_ne!(customers[0], customers[2]);
}

async fn sending_a_contact_again_is_a_duplicate_and_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let first = contact_json("zendesk", "7", "2026-11-25T13:00:00Z");
    app.post_json("/api/v1/contacts", &ingest, &first).await;
    let mut changed = first.clone();
    changed["text"] = json!("completely different text");
    let (status, body) = json(
        app.post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([
                changed,
                contact_json("zendesk", "8", "2026-11-25T13:01:00Z")
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"accepted": 1, "duplicates": 1, "rejected": []})
    );
    let stored = app
        .store
        .get_contact("zendesk", "7")
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.contact.text.starts_with("Hi, I can't log in"),
        "{}",
        stored.contact.text
    );
}

async fn bad_elements_are_reported_by_index_and_good_ones_kept(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let good = contact_json("zendesk", "1", "2026-11-25T13:00:00Z");
    let mut bad_channel = contact_json("zendesk", "2", "2026-11-25T13:00:00Z");
    bad_channel["channel"] = json!("fax");
    let mut bad_time = contact_json("zendesk", "3", "2026-11-25T13:00:00Z");
    bad_time["received_at"] = json!("25/11/2026 13:00");
    let mut missing = contact_json("zendesk", "4", "2026-11-25T13:00:00Z");
    missing.as_object_mut().unwrap().remove("text");
    let mut wrong_type = contact_json("zendesk", "5", "2026-11-25T13:00:00Z");
    wrong_type["service"] = json!(42);
    let good_too = contact_json("intercom", "6", "2026-11-25T13:00:00Z");
    let (status, body) = json(
        app.post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([
                good,
                bad_channel,
                bad_time,
                missing,
                wrong_type,
                "x",
                good_too
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2);
    let rejected: Vec<(u64, Option<&str>)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["error"]["field"].as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, Some("channel")),
            (2, Some("received_at")),
            (3, Some("text")),
            (4, Some("service")),
            (5, None)
        ]
    );
    assert!(
        app.store
            .get_contact("intercom", "6")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.store
            .get_contact("zendesk", "2")
            .await
            .unwrap()
            .is_none()
    );
}

async fn each_kind_of_bad_input_gets_its_status_and_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.max_body_bytes = 64 * 1024).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let audit_before = app.store.audit_records(0, 1000).await.unwrap().len();
    let base = contact_json("zendesk", "1", "2026-11-25T13:00:00Z");
    let with = |key: &str, value: serde_json::Value| {
        let mut c = base.clone();
        c[key] = value;
        c
    };
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        ("malformed JSON", "{\"id\": ".into(), 400, None),
        ("a scalar", "17".into(), 400, None),
        (
            "wrong type",
            with("text", json!(["a"])).to_string(),
            422,
            Some("text"),
        ),
        (
            "missing field",
            {
                let mut c = base.clone();
                c.as_object_mut().unwrap().remove("source");
                c.to_string()
            },
            422,
            Some("source"),
        ),
        (
            "unknown channel",
            with("channel", json!("pigeon")).to_string(),
            422,
            Some("channel"),
        ),
        (
            "not RFC 3339",
            with("received_at", json!("2026-11-25")).to_string(),
            422,
            Some("received_at"),
        ),
        (
            "text over 32 KiB",
            with("text", json!("x".repeat(32 * 1024 + 1))).to_string(),
            422,
            Some("text"),
        ),
        (
            "unknown field",
            with("recieved_at", json!("2026-11-25T13:00:00Z")).to_string(),
            422,
            Some("recieved_at"),
        ),
        (
            "every element bad",
            json!([with("channel", json!("fax")), with("id", json!(""))]).to_string(),
            422,
            None,
        ),
        (
            "body over the limit",
            serde_json::Value::Array(vec![base.clone(); 400]).to_string(),
            413,
            None,
        ),
    ];
    for (what, body, want_status, want_field) in cases {
        let (status, answer) = json(app.post_raw("/api/v1/contacts", &ingest, body).await).await;
        assert_eq!(status, want_status, "{what}: {answer}");
        assert!(answer["error"]["code"].is_string(), "{what}: {answer}");
        assert!(
            !answer["error"]["message"].as_str().unwrap().is_empty(),
            "{what}"
        );
        assert_eq!(
            answer["error"]["field"].as_str(),
            want_field,
            "{what}: {answer}"
        );
        // The field is named once, not repeated by each layer the error passed through.
        if let Some(field) = want_field {
            let message = answer["error"]["message"].as_str().unwrap();
            let named = message.matches(&format!("{field}:")).count();
            assert_eq!(named, 1, "{what}: {message}");
        }
    }
    // The all-bad array lists each element's error.
    let (_, answer) = json(
        app.post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([with("channel", json!("fax")), 5]),
        )
        .await,
    )
    .await;
    assert_eq!(answer["rejected"].as_array().unwrap().len(), 2);
    assert_eq!(answer["rejected"][0]["error"]["field"], "channel");

    let viewer = app.token(Role::Viewer).await;
    let (_, list) = json(app.get("/api/v1/contacts", &viewer).await).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");
    let audit_after = app.store.audit_records(0, 1000).await.unwrap();
    assert_eq!(
        audit_after.len(),
        audit_before + 1,
        "only the viewer's token was recorded"
    );
}

async fn pages_walk_every_contact_once_in_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::CxAgent).await;
    let batch: Vec<_> = (0..250)
        .map(|i| {
            contact_json(
                "zendesk",
                &i.to_string(),
                &format!("2026-11-25T13:{:02}:00Z", (i * 13) % 60),
            )
        })
        .collect();
    let (status, body) = json(
        app.post_json("/api/v1/contacts", &ingest, &json!(batch))
            .await,
    )
    .await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(250)));

    let mut seen = Vec::new();
    let mut path = "/api/v1/contacts?limit=100".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = json(app.get(&path, &viewer).await).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for c in page["items"].as_array().unwrap() {
            seen.push((
                c["received_at"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/contacts?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "ordered by received_at"
    );
    let mut ids: Vec<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no repeats");
}

async fn filters_narrow_and_bad_parameters_are_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let mut chat = contact_json("intercom", "c", "2026-11-25T13:30:00Z");
    chat["channel"] = json!("chat");
    chat["service"] = json!("billing");
    app.post_json(
        "/api/v1/contacts",
        &ingest,
        &json!([
            contact_json("zendesk", "a", "2026-11-25T13:00:00Z"),
            chat,
            contact_json("zendesk", "b", "2026-11-25T14:00:00Z")
        ]),
    )
    .await;
    let ids = |path: &'static str| {
        let app = &app;
        let viewer = viewer.clone();
        async move {
            let (status, page) = json(app.get(path, &viewer).await).await;
            assert_eq!(status, 200, "{path}: {page}");
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("/api/v1/contacts?channel=chat").await, ["c"]);
    assert_eq!(ids("/api/v1/contacts?source=zendesk").await, ["a", "b"]);
    assert_eq!(ids("/api/v1/contacts?service=billing").await, ["c"]);
    assert_eq!(
        ids("/api/v1/contacts?since=2026-11-25T13:30:00Z&until=2026-11-25T14:00:00Z").await,
        ["c"]
    );
    assert_eq!(
        ids("/api/v1/contacts?since=2026-11-25T14:30:00%2B01:00").await,
        ["c", "b"]
    );

    for (path, field) in [
        ("/api/v1/contacts?limit=0", "limit"),
        ("/api/v1/contacts?limit=5000", "limit"),
        ("/api/v1/contacts?cursor=bogus", "cursor"),
        ("/api/v1/contacts?since=today", "since"),
        ("/api/v1/contacts?channel=fax", "channel"),
        ("/api/v1/contacts?chanel=chat", "chanel"),
    ] {
        let (status, body) = json(app.get(path, &viewer).await).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}");
    }
}

async fn one_contact_by_source_and_id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    app.post_json(
        "/api/v1/contacts",
        &ingest,
        &contact_json("mail/eu", "a/b c", "2026-11-25T13:00:00Z"),
    )
    .await;
    let (status, got) = json(
        app.get("/api/v1/contacts/mail%2Feu/a%2Fb%20c", &viewer)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["id"], "a/b c");
    assert_eq!(got["source"], "mail/eu");
    let (status, body) = json(app.get("/api/v1/contacts/zendesk/missing", &viewer).await).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    // What one token may read is for it alone: no cache keeps it, no browser guesses its type.
    for path in [
        "/api/v1/contacts/mail%2Feu/a%2Fb%20c",
        "/api/v1/contacts/zendesk/missing",
    ] {
        let answer = app.get(path, &viewer).await;
        assert_eq!(answer.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(
            answer.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
    // The public status page keeps its own short caching.
    let status_page = app.client.get(app.url("/status")).send().await.unwrap();
    assert_ne!(status_page.headers()["cache-control"], "no-store");
}

async fn topics_are_found_at_intake_and_filter_the_list(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let texts = [
        (
            "1",
            "Got a text saying my account is suspended, with a link. Is this real?",
        ),
        (
            "2",
            "Jemand hat mein Passwort geändert und ich kann mich nicht mehr einloggen",
        ),
        (
            "3",
            "this is not a scam, right? just asking about my invoice",
        ),
        ("4", "app down again??"),
    ];
    let batch: Vec<_> = texts
        .iter()
        .map(|(id, text)| {
            let mut c = contact_json("zendesk", id, "2026-11-25T13:00:00Z");
            c["text"] = json!(text);
            c
        })
        .collect();
    assert_eq!(
        json(
            app.post_json("/api/v1/contacts", &ingest, &json!(batch))
                .await
        )
        .await
        .0,
        200
    );
    let (_, list) = json(app.get("/api/v1/contacts", &viewer).await).await;
    let topics: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["topics"].clone())
        .collect();
    assert_eq!(
        topics,
        vec![
            json!(["phishing"]),
            json!(["account_access", "account_takeover"]),
            json!([]),
            json!(["outage"]),
        ]
    );
    let (_, phishing) = json(app.get("/api/v1/contacts?topic=phishing", &viewer).await).await;
    let ids: Vec<_> = phishing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("1")]);

    // One contact read on its own says which of its words drove each topic.
    let (status, one) = json(app.get("/api/v1/contacts/zendesk/1", &viewer).await).await;
    assert_eq!(status, 200);
    let words: Vec<&str> = one["topic_words"]["phishing"]
        .as_array()
        .expect("the words behind phishing")
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(!words.is_empty() && words.len() <= 5, "{one}");
    let text = one["text"].as_str().unwrap().to_lowercase();
    assert!(
        words.iter().all(|w| text.contains(w)),
        "{words:?} in {text}"
    );
    assert!(
        list["items"][0].get("topic_words").is_none(),
        "lists stay lean"
    );
}

async fn people_correct_a_contacts_topics_and_bad_corrections_are_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let lead = app.token(Role::CxLead).await;
    let agent = app.token(Role::CxAgent).await;
    let mut c = contact_json("zendesk", "c1", "2026-11-25T13:00:00Z");
    c["text"] = json!("a message says my parcel is waiting, tap here to pay the customs fee");
    app.post_json("/api/v1/contacts", &ingest, &json!([c]))
        .await;
    let put = |token: &str, path: &str, body: serde_json::Value| {
        let request = app
            .client
            .put(app.url(path))
            .bearer_auth(token.to_owned())
            .json(&body);
        async move { json(request.send().await.unwrap()).await }
    };
    let path = "/api/v1/contacts/zendesk/c1/topics";
    let (status, _) = put(&agent, path, json!({"topics": ["phishing"]})).await;
    assert_eq!(status, 403, "agents do not teach the classifier");
    let (status, body) = put(&lead, path, json!({"topics": ["phishing", "sandwich"]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "topics[1]", "{body}");
    let (status, body) = put(&lead, path, json!({})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = json(
        app.client
            .put(app.url(path))
            .bearer_auth(&lead)
            .header("content-type", "application/json")
            .body(r#"{"topics": ["fraud"], "topics": []}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "a key given twice: {body}");
    assert_eq!(body["error"]["field"], "topics", "{body}");
    let (status, body) = put(
        &lead,
        "/api/v1/contacts/zendesk/nope/topics",
        json!({"topics": []}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let before = json(app.get("/api/v1/contacts/zendesk/c1", &lead).await)
        .await
        .1;
    assert_ne!(
        before["topics"],
        json!(["fraud", "phishing"]),
        "nothing changed yet: {before}"
    );
    let (status, body) = put(
        &lead,
        path,
        json!({"topics": ["phishing", "fraud", "phishing"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["topics"],
        json!(["fraud", "phishing"]),
        "sorted, once each"
    );
    let after = json(app.get("/api/v1/contacts/zendesk/c1", &lead).await)
        .await
        .1;
    assert_eq!(after["topics"], json!(["fraud", "phishing"]));
    let kept = app.store.topic_corrections().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].actor.contains("cx_lead"), "{:?}", kept[0]);
}

async fn a_body_saved_with_a_byte_order_mark_is_read_whole(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(
        serde_json::to_vec(&json!([contact_json(
            "zendesk",
            "bom1",
            "2026-11-25T13:00:00Z"
        )]))
        .unwrap(),
    );
    let (status, answer) = json(
        app.client
            .post(app.url("/api/v1/contacts"))
            .bearer_auth(&ingest)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let mut lines = b"\xEF\xBB\xBF".to_vec();
    for id in ["bom2", "bom3"] {
        lines.extend(
            serde_json::to_vec(&contact_json("zendesk", id, "2026-11-25T13:00:00Z")).unwrap(),
        );
        lines.push(b'\n');
    }
    let (status, answer) = json(
        app.client
            .post(app.url("/api/v1/contacts/bulk"))
            .bearer_auth(&ingest)
            .header("content-type", "application/x-ndjson")
            .body(lines)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for id in ["bom1", "bom2", "bom3"] {
        let (status, _) = json(
            app.get(&format!("/api/v1/contacts/zendesk/{id}"), &viewer)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{id} stored");
    }
}

async fn a_key_given_twice_is_refused_naming_it_in_both_intakes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let twice = r#"{"id":"d1","source":"zendesk","channel":"chat","received_at":"2026-11-25T13:00:00Z","text":"first","text":"second"}"#;
    for (path, kind, body) in [
        ("/api/v1/contacts", "application/json", format!("[{twice}]")),
        (
            "/api/v1/contacts/bulk",
            "application/x-ndjson",
            format!("{twice}\n"),
        ),
    ] {
        let (status, answer) = json(
            app.client
                .post(app.url(path))
                .bearer_auth(&ingest)
                .header("content-type", kind)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let text = answer.to_string();
        assert!(status == 200 || status == 422, "{path}: {status} {text}");
        assert!(
            text.contains("\"field\":\"text\"") && text.contains("twice"),
            "{path}: {text}"
        );
    }
    let viewer = app.token(Role::Viewer).await;
    let (status, _) = json(app.get("/api/v1/contacts/zendesk/d1", &viewer).await).await;
    assert_eq!(status, 404, "nothing stored");
}

/// A contact dated ahead of now by more than the configured margin is refused in both intakes
/// and by the security-event intake alike, naming the field; within the margin, and any time
/// in the past, it is kept.
async fn the_future_margin_is_configurable_and_names_the_field(backend: Backend) {
    let Some(app) = frontline_testkit::spawn_app_with(backend, |c| {
        c.limits.future_margin_minutes = 3 * 24 * 60;
    })
    .await
    else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let at = |days: i64| (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339();
    let contact = |id: &str, when: String| {
        format!(
            r#"{{"id":"{id}","source":"zendesk","channel":"chat","received_at":"{when}","text":"hello"}}"#
        )
    };
    for (path, kind, wrap) in [
        ("/api/v1/contacts", "application/json", false),
        ("/api/v1/contacts/bulk", "application/x-ndjson", true),
    ] {
        let body = |line: String| if wrap { format!("{line}\n") } else { line };
        let ok = format!("{path}-two-days");
        let send = |b: String| {
            app.client
                .post(app.url(path))
                .bearer_auth(&ingest)
                .header("content-type", kind)
                .body(b)
                .send()
        };
        let (status, answer) = json(send(body(contact(&ok, at(2)))).await.unwrap()).await;
        assert_eq!(
            status, 200,
            "{path}: two days ahead is within three: {answer}"
        );
        assert_eq!(answer["accepted"], 1, "{path}: {answer}");
        let (status, answer) = json(send(body(contact("late", at(4)))).await.unwrap()).await;
        let text = answer.to_string();
        assert!(status == 200 || status == 422, "{path}: {status} {text}");
        assert!(
            text.contains("\"field\":\"received_at\"") && text.contains("future"),
            "{path}: {text}"
        );
    }
    let (status, answer) = json(
        app.post_json(
            "/api/v1/security-events",
            &ingest,
            &serde_json::json!({"id": "e1", "source": "edr", "observed_at": at(4),
                "severity": "high", "title": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["field"], "observed_at", "{answer}");
    let viewer = app.token(Role::Viewer).await;
    let (status, _) = json(app.get("/api/v1/contacts/zendesk/late", &viewer).await).await;
    assert_eq!(status, 404, "nothing stored");
}

frontline_testkit::backend_tests!(
    the_future_margin_is_configurable_and_names_the_field,
    topics_are_found_at_intake_and_filter_the_list,
    a_key_given_twice_is_refused_naming_it_in_both_intakes,
    a_body_saved_with_a_byte_order_mark_is_read_whole,
    people_correct_a_contacts_topics_and_bad_corrections_are_named,
    a_contact_is_stored_redacted_and_pseudonymised,
    sending_a_contact_again_is_a_duplicate_and_changes_nothing,
    bad_elements_are_reported_by_index_and_good_ones_kept,
    each_kind_of_bad_input_gets_its_status_and_changes_nothing,
    pages_walk_every_contact_once_in_order,
    filters_narrow_and_bad_parameters_are_named,
    one_contact_by_source_and_id,
);
