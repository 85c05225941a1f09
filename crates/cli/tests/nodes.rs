//! Several `frontline serve` processes on one PostgreSQL: each lists the others, one holds the
//! detection lease, and when that holder is paused past its lease (SIGSTOP) or killed
//! (SIGKILL) another takes over within 15 seconds at a higher epoch; the leadership log's
//! intervals never overlap. Real processes, real signals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_store_postgres::testing::TestDatabase;
use serde_json::Value;
use sqlx::Connection;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A row of the leadership log: epoch, holder, from, to.
type Term = (
    i64,
    String,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// A serving process, killed when dropped.
struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str) -> Node {
    let (child, addr) =
        frontline_testkit::process::start_serve(env!("CARGO_BIN_EXE_frontline"), db);
    Node {
        child,
        url: format!("http://{addr}"),
    }
}

fn signal(node: &Node, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &node.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig}");
}

/// The live nodes as `node` lists them.
async fn nodes(client: &reqwest::Client, node: &Node, token: &str) -> Vec<Value> {
    let body: Value = client
        .get(format!("{}/api/v1/nodes", node.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Which listed node holds `lease`, and at which epoch.
fn holder(list: &[Value], lease: &str) -> Option<(String, i64)> {
    list.iter().find_map(|n| {
        n["leases"]
            .as_array()?
            .iter()
            .find(|l| l["name"] == lease)
            .map(|l| {
                (
                    n["listen"].as_str().unwrap().to_owned(),
                    l["epoch"].as_i64().unwrap(),
                )
            })
    })
}

/// Waits until `asked` lists `lease` held by a node other than `not` at an epoch above
/// `above`; answers its address, epoch and how long it took.
async fn new_holder(
    client: &reqwest::Client,
    asked: &Node,
    token: &str,
    not: &str,
    above: i64,
) -> (String, i64, Duration) {
    let started = Instant::now();
    loop {
        let list = nodes(client, asked, token).await;
        if let Some((at, epoch)) = holder(&list, "detection")
            && at != not
            && epoch > above
        {
            return (at, epoch, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no new holder: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_paused_or_killed_leader_is_replaced_within_fifteen_seconds_and_terms_never_overlap() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut nodes_up: Vec<Node> = (0..3).map(|_| start(&db.url)).collect();
    let token = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_frontline"))
            .args(["token", "create", "--role", "admin", "--name", "root"])
            .args(["--database", &db.url])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let client = reqwest::Client::new();
    // Every node sees all three, and one of them detects.
    let started = Instant::now();
    let (first, epoch) = loop {
        let list = nodes(&client, &nodes_up[0], &token).await;
        if list.len() == 3
            && let Some(h) = holder(&list, "detection")
        {
            break h;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let index = |at: &str, up: &[Node]| {
        up.iter()
            .position(|n| n.url.ends_with(at))
            .expect("the holder is one of ours")
    };
    // Paused past its lease: another takes over, and the paused one, resumed, does not.
    let paused = index(&first, &nodes_up);
    signal(&nodes_up[paused], "-STOP");
    let asked = &nodes_up[(paused + 1) % 3];
    let (second, second_epoch, took) = new_holder(&client, asked, &token, &first, epoch).await;
    assert!(took <= Duration::from_secs(15), "took {took:?}");
    signal(&nodes_up[paused], "-CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = nodes(&client, asked, &token).await;
    assert_eq!(
        holder(&list, "detection"),
        Some((second.clone(), second_epoch)),
        "the resumed node does not take the lease back: {list:?}"
    );
    // Killed: another takes over.
    let killed = index(&second, &nodes_up);
    nodes_up.remove(killed);
    let (_, third_epoch, took) =
        new_holder(&client, &nodes_up[0], &token, &second, second_epoch).await;
    assert!(took <= Duration::from_secs(15), "took {took:?}");
    assert!(third_epoch > second_epoch);
    // The leadership log: one holder at a time, epochs rising.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let log: Vec<Term> = sqlx::query_as(
        "SELECT epoch, holder, from_at, to_at FROM leadership_log WHERE name = 'detection'
             ORDER BY epoch",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(log.len() >= 3, "{log:?}");
    for pair in log.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "{log:?}");
        let ended = pair[0].3.expect("a term ends when the next begins");
        assert!(ended <= pair[1].2, "terms overlap: {log:?}");
    }
}
