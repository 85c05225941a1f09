//! The intake bus (NATS JetStream), for installations that run several nodes: intake on any
//! node publishes each prepared (already redacted) contact to one stream and answers once
//! JetStream has acknowledged it; a durable consumer shared by every node writes the stream to
//! the database and acknowledges after the commit. Without `[bus] url`, none of this runs and
//! intake writes to the database as before.
//!
//! What makes it safe: the message id is the contact's `(source, id)`, so a retried request is
//! deduplicated by JetStream (within its duplicate window) and by the database's key after
//! it; the stream and consumer settings are read back at startup and a server that dropped one
//! (older servers ignore fields they do not know) is refused with the setting named.

use crate::plumbing::config::BusConfig;
use anyhow::Context as _;
use async_nats::jetstream::{self, consumer, stream};
use frontline_core::contact::RedactedContact;
use frontline_store::Inserted;
use std::time::Duration;

/// The stream contacts travel on.
pub const STREAM: &str = "FRONTLINE_CONTACTS";
/// The durable consumer every node's writer shares.
pub const CONSUMER: &str = "frontline-store";
/// How long JetStream remembers a message id: a client retrying within it is deduplicated
/// before the database sees the contact again.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a fetched message may stay unacknowledged before JetStream hands it to another
/// node (a writer that died mid-batch).
const ACK_WAIT: Duration = Duration::from_secs(30);
/// How long a publish may wait for JetStream before intake gives up with 503.
const PUBLISH_BUDGET: Duration = Duration::from_secs(5);

/// A connection to the bus, its stream checked.
#[derive(Clone)]
pub struct Bus {
    js: jetstream::Context,
    partitions: u32,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

/// Why a publish failed: nothing was acknowledged to the client.
#[derive(Debug, thiserror::Error)]
#[error("the intake bus did not acknowledge in time: {0}")]
pub struct BusUnavailable(pub String);

/// The stream as this node needs it.
fn wanted_stream(config: &BusConfig) -> stream::Config {
    stream::Config {
        name: STREAM.to_owned(),
        subjects: vec!["frontline.contacts.*".to_owned()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: usize::try_from(config.replicas).unwrap_or(1),
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// The settings of `found` that differ from `wanted`, by name.
fn differences(wanted: &stream::Config, found: &stream::Config) -> Vec<String> {
    let mut out = Vec::new();
    if found.subjects != wanted.subjects {
        out.push(format!(
            "subjects (wanted {:?}, found {:?})",
            wanted.subjects, found.subjects
        ));
    }
    if found.retention != wanted.retention {
        out.push(format!(
            "retention (wanted {:?}, found {:?})",
            wanted.retention, found.retention
        ));
    }
    if found.storage != wanted.storage {
        out.push(format!(
            "storage (wanted {:?}, found {:?})",
            wanted.storage, found.storage
        ));
    }
    if found.num_replicas != wanted.num_replicas {
        out.push(format!(
            "num_replicas (wanted {}, found {})",
            wanted.num_replicas, found.num_replicas
        ));
    }
    if found.duplicate_window != wanted.duplicate_window {
        out.push(format!(
            "duplicate_window (wanted {:?}, found {:?})",
            wanted.duplicate_window, found.duplicate_window
        ));
    }
    out
}

impl Bus {
    /// Connects (waiting at most `connect_wait_s`), creates the stream and the shared consumer
    /// if they are missing, and reads both back.
    ///
    /// # Errors
    /// When the bus cannot be reached in time, or the stream or consumer is configured
    /// differently from what this node needs (the setting is named).
    pub async fn connect(config: &BusConfig) -> anyhow::Result<Self> {
        let url = config.url.as_deref().context("no bus configured")?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(config.connect_wait_s);
        // Every server of a cluster may be named (comma-separated): the client starts with
        // any that answers and fails over to the others (it also learns them from the cluster).
        let servers: Vec<&str> = url.split(',').map(str::trim).collect();
        let client = loop {
            let attempt = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(servers.as_slice())
                .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, url, "the intake bus is not reachable yet; waiting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => anyhow::bail!(
                    "the intake bus at {url} could not be reached within {} s (configuration key `bus.url`): {e}",
                    config.connect_wait_s
                ),
            }
        };
        let js = jetstream::new(client);
        let wanted = wanted_stream(config);
        // A cluster that has just started answers before JetStream has elected its leaders:
        // creating the stream is retried until the same deadline.
        let mut stream = loop {
            match js.get_or_create_stream(wanted.clone()).await {
                Ok(stream) => break stream,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "JetStream is not ready yet; waiting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("creating the JetStream stream {STREAM}"));
                }
            }
        };
        let found = stream
            .info()
            .await
            .with_context(|| format!("reading the JetStream stream {STREAM} back"))?
            .config
            .clone();
        let wrong = differences(&wanted, &found);
        anyhow::ensure!(
            wrong.is_empty(),
            "the JetStream stream {STREAM} is not configured as this node needs: {}; change or delete the stream",
            wrong.join("; ")
        );
        let consumer: consumer::PullConsumer = stream
            .get_or_create_consumer(
                CONSUMER,
                consumer::pull::Config {
                    durable_name: Some(CONSUMER.to_owned()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("creating the JetStream consumer {CONSUMER}"))?;
        let mut consumer = consumer;
        let info = consumer
            .info()
            .await
            .with_context(|| format!("reading the JetStream consumer {CONSUMER} back"))?;
        anyhow::ensure!(
            info.config.ack_policy == consumer::AckPolicy::Explicit,
            "the JetStream consumer {CONSUMER} does not acknowledge explicitly (ack_policy {:?}); delete it",
            info.config.ack_policy
        );
        Ok(Self {
            js,
            partitions: config.partitions,
        })
    }

    /// The subject of a contact: its partition by a hash of its first topic, so one topic's
    /// contacts keep their order on one subject.
    fn subject(&self, contact: &RedactedContact) -> String {
        let topic = contact.topics.first().map_or("", String::as_str);
        let mut h: u32 = 0x811c_9dc5;
        for b in topic.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        format!("frontline.contacts.{}", h % self.partitions.max(1))
    }

    /// Publishes `contacts` and waits for JetStream to acknowledge every one. A contact whose
    /// id JetStream saw within its window is reported as a duplicate.
    ///
    /// # Errors
    /// [`BusUnavailable`] when the bus does not acknowledge within a few seconds; some
    /// contacts may then be on the stream (a retry is deduplicated).
    pub async fn publish(
        &self,
        contacts: &[RedactedContact],
    ) -> Result<Vec<Inserted>, BusUnavailable> {
        let publish = async {
            let mut acks = Vec::with_capacity(contacts.len());
            for c in contacts {
                let body = serde_json::to_vec(c).map_err(|e| BusUnavailable(e.to_string()))?;
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(
                    "Nats-Msg-Id",
                    format!("{}/{}", c.key.source, c.key.id).as_str(),
                );
                acks.push(
                    self.js
                        .publish_with_headers(self.subject(c), headers, body.into())
                        .await
                        .map_err(|e| BusUnavailable(e.to_string()))?,
                );
            }
            let mut out = Vec::with_capacity(acks.len());
            for ack in acks {
                let ack = ack.await.map_err(|e| BusUnavailable(e.to_string()))?;
                out.push(if ack.duplicate {
                    Inserted::Duplicate
                } else {
                    Inserted::Accepted
                });
            }
            Ok(out)
        };
        tokio::time::timeout(PUBLISH_BUDGET, publish)
            .await
            .map_err(|_| BusUnavailable(format!("no acknowledgement within {PUBLISH_BUDGET:?}")))?
    }

    /// Contacts on the bus not yet stored: waiting for a writer, or fetched and not yet
    /// acknowledged (`/metrics`: is the writer keeping up?).
    ///
    /// # Errors
    /// When the bus cannot be reached.
    pub async fn backlog(&self) -> anyhow::Result<u64> {
        let mut consumer = self.consumer().await?;
        let info = consumer
            .info()
            .await
            .map_err(|e| anyhow::anyhow!("reading the JetStream consumer {CONSUMER}: {e}"))?;
        Ok(info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX))
    }

    /// The shared consumer, for the writer.
    ///
    /// # Errors
    /// When the bus cannot be reached.
    pub async fn consumer(&self) -> anyhow::Result<consumer::PullConsumer> {
        let stream = self.js.get_stream(STREAM).await?;
        stream
            .get_consumer(CONSUMER)
            .await
            .map_err(|e| anyhow::anyhow!("reading the JetStream consumer {CONSUMER}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_setting_is_named() {
        let config = BusConfig::default();
        let wanted = wanted_stream(&config);
        assert!(differences(&wanted, &wanted).is_empty());
        let mut found = wanted.clone();
        found.duplicate_window = Duration::ZERO;
        found.retention = stream::RetentionPolicy::Limits;
        let named = differences(&wanted, &found).join("; ");
        assert!(named.contains("duplicate_window"), "{named}");
        assert!(named.contains("retention"), "{named}");
    }
}
