//! A small reader of server-sent events over a real HTTP response, for tests of the live feed.

use std::time::Duration;

/// One event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `id:` field.
    pub id: Option<String>,
    /// The `event:` field.
    pub event: Option<String>,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}

/// Reads events from a `text/event-stream` response.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    /// Wraps a response whose headers have arrived.
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and keep-alives skipped), or `None` when none arrives within
    /// `wait` or the stream ends.
    ///
    /// # Panics
    /// When the body is not UTF-8.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    event: None,
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => event.id = Some(value.to_owned()),
                        "event" => event.event = Some(value.to_owned()),
                        "data" => {
                            if has_data {
                                event.data.push('\n');
                            }
                            event.data.push_str(value);
                            has_data = true;
                        }
                        _ => {}
                    }
                }
                if has_data {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 event stream"));
        }
    }
}
