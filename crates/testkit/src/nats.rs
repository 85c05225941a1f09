//! A real `nats-server` with JetStream on a free loopback port, for the intake bus's tests.
//! `bash .ci/run` installs it; where it is missing, the tests that need it say so and stop.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `nats-server`, stopped (SIGKILL) when dropped.
pub struct Nats {
    child: Child,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on at the moment of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `nats-server` with `args` and its storage folder, silent; `None` (with a note) where
/// it is not installed.
fn spawn(args: &[&str], store: &std::path::Path) -> Option<Child> {
    match Command::new("nats-server")
        .args(args)
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Some(child),
        Err(e) => {
            eprintln!("skipped: nats-server is not installed ({e}); `bash .ci/run` installs it");
            None
        }
    }
}

/// Waits (up to 10 s in all) until something accepts connections on each of `ports`.
fn wait_for(ports: &[u16]) {
    let started = Instant::now();
    for port in ports {
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server on port {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Nats {
    /// Starts one with JetStream, its storage in a temporary folder, and waits (up to 10 s)
    /// until it accepts connections. `None` (with a note) where `nats-server` is not installed.
    ///
    /// # Panics
    /// When it is installed but does not start.
    pub fn start() -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = spawn(
            &["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"],
            dir.path(),
        )?;
        wait_for(&[port]);
        Some(Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _dir: dir,
        })
    }
}

/// One server of a [`NatsCluster`].
pub struct ClusterNode {
    /// Its server name (`n1`, …), as JetStream reports a stream's leader.
    pub name: String,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    child: Option<Child>,
}

impl ClusterNode {
    /// Kills it (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A JetStream cluster of real `nats-server` processes on loopback, killed when dropped.
pub struct NatsCluster {
    /// Its servers.
    pub nodes: Vec<ClusterNode>,
    _dir: tempfile::TempDir,
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

impl NatsCluster {
    /// Starts `size` servers routed to each other with JetStream, and waits until each accepts
    /// connections (JetStream's own election follows within seconds). `None` (with a note)
    /// where `nats-server` is not installed.
    ///
    /// # Panics
    /// When it is installed but a server does not start.
    pub fn start(size: usize) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, c)| format!("nats://127.0.0.1:{c}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for (i, (port, cluster)) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let store = dir.path().join(&name);
            let child = spawn(
                &[
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "--server_name",
                    &name,
                    "--cluster_name",
                    "frontline",
                    "--cluster",
                    &format!("nats://127.0.0.1:{cluster}"),
                    "--routes",
                    &routes,
                    "-sd",
                ],
                &store,
            )?;
            nodes.push(ClusterNode {
                name,
                url: format!("nats://127.0.0.1:{port}"),
                child: Some(child),
            });
        }
        wait_for(&ports.iter().map(|(p, _)| *p).collect::<Vec<_>>());
        Some(Self { nodes, _dir: dir })
    }

    /// Every server's URL, comma-separated (`bus.url`).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.url.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}
