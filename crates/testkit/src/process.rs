//! `frontline serve` as a real process, for the tests and benchmarks that kill, pause or
//! measure it from outside.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `bin serve` on a free loopback port with `db`, logging JSON, and waits (up to a
/// minute) for the address it logs. Its standard error is drained for good, so the server
/// never blocks on a full pipe.
///
/// # Panics
/// When it cannot start or never says where it listens.
pub fn start_serve(bin: &str, db: &str) -> (Child, String) {
    start_serve_with(bin, db, &[])
}

/// [`start_serve`] with more arguments (`--bus URL`).
///
/// # Panics
/// As [`start_serve`].
pub fn start_serve_with(bin: &str, db: &str, more: &[&str]) -> (Child, String) {
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .args(more)
        .env("FRONTLINE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("frontline serve starts");
    let stderr = child.stderr.take().expect("its standard error");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if v["fields"]["message"] == "frontline serving" {
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or("").to_owned());
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server logs its address");
    (child, addr)
}
