//! Streamed NDJSON intake: bytes in, committed batches out, never the whole body in memory.
//! Serves `POST /api/v1/contacts/bulk` and `frontline ingest`, so both check, redact and store
//! lines the same way.
//!
//! Three stages overlap: this task reads and splits lines; each full batch is parsed, checked,
//! redacted and pseudonymised on the blocking pool; a committer task stores batches in order,
//! one transaction each. Channels between them are bounded, so a slow database slows the
//! reader (and the client) instead of filling memory.

use crate::plumbing::error::ApiError;
use bytes::Bytes;
use frontline_api::{BulkSummary, RejectedLine};
use frontline_core::InvalidField;
use frontline_core::contact::{ContactInput, NewContact, RedactedContact};
use frontline_core::field::Dated;
use frontline_pipeline::Intake;
use frontline_store::{Inserted, Origin, Store, StoreError};
use futures::{Stream, StreamExt};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Lines per committed batch: large enough to amortise a transaction, small enough that a
/// batch in flight costs little memory (about 300 KiB of contacts).
pub const BATCH_LINES: usize = 1000;
/// The longest accepted line, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// How many refused lines are listed (the rest are counted).
pub const MAX_LISTED_REJECTIONS: usize = 1000;

/// What a bulk intake needs besides the bytes.
#[derive(Clone)]
pub struct BulkIntake {
    /// Where batches go.
    pub store: Arc<dyn Store>,
    /// Redaction, pseudonyms and topics.
    pub intake: Arc<Intake>,
    /// Who is sending, for the audit records.
    pub origin: Origin,
    /// The most bytes to read.
    pub max_bytes: u64,
    /// How far ahead of now a contact may be dated.
    pub future_margin: chrono::Duration,
    /// Counts what is stored (`/metrics`).
    pub ops: Arc<crate::plumbing::ops::Ops>,
    /// With a bus, batches are published to it (and stored by the bus's writer) instead of
    /// stored here.
    pub bus: Option<crate::plumbing::bus::Bus>,
}

/// Why a bulk intake stopped before the end of its input. Everything counted in `summary` is
/// committed.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// The input was larger than allowed.
    #[error("the input is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
        /// What was committed before stopping.
        summary: BulkSummary,
    },
    /// The input could not be read (a broken connection, an I/O error).
    #[error("reading the input failed after line {lines}")]
    Read {
        /// Complete lines read before the failure.
        lines: u64,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store failed; batches before the failing one are committed.
    #[error("storing a batch failed")]
    Store(#[from] StoreError),
    /// The bus did not acknowledge a batch; batches before it are acknowledged.
    #[error("publishing a batch failed")]
    Bus(#[from] crate::plumbing::bus::BusUnavailable),
    /// A stage stopped unexpectedly.
    #[error("an intake stage failed")]
    Internal(#[from] tokio::task::JoinError),
}

impl From<BulkError> for ApiError {
    fn from(err: BulkError) -> Self {
        match err {
            BulkError::TooLarge { limit, summary } => ApiError::payload_too_large(format!(
                "the request is larger than {limit} bytes; the first {} lines were processed ({} accepted, {} duplicates) and are committed; send the rest in another request",
                summary.lines, summary.accepted, summary.duplicates
            )),
            BulkError::Read { lines, source } => ApiError::bad_request(
                "unreadable_body",
                format!(
                    "the request body broke off after line {lines}: {source}; committed lines stay committed, and sending the whole file again is safe"
                ),
            ),
            BulkError::Store(e) => e.into(),
            BulkError::Bus(e) => ApiError::unavailable(e),
            BulkError::Internal(e) => ApiError::internal(e),
        }
    }
}

/// One line's place and bytes, or why it was refused before parsing.
type RawLine = (u64, Result<Vec<u8>, String>);

/// Splits a byte stream into lines without holding more than one line (at most
/// [`MAX_LINE_BYTES`]) beyond the current chunk.
#[derive(Default)]
struct LineSplitter {
    current: Vec<u8>,
    overlong: bool,
    line: u64,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<RawLine>) {
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.append(&rest[..pos]);
            self.end_line(out);
            rest = &rest[pos + 1..];
        }
        self.append(rest);
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.overlong {
            return;
        }
        if self.current.len() + bytes.len() > MAX_LINE_BYTES {
            self.overlong = true;
            self.current = Vec::new();
        } else {
            self.current.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self, out: &mut Vec<RawLine>) {
        self.line += 1;
        if self.overlong {
            self.overlong = false;
            out.push((
                self.line,
                Err(format!("the line is longer than {MAX_LINE_BYTES} bytes")),
            ));
            return;
        }
        let mut line = std::mem::take(&mut self.current);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        // Editors on some systems start a UTF-8 file with a byte-order mark; it is not part of
        // the first line's JSON.
        if self.line == 1 && line.starts_with(crate::api::v1::BOM) {
            line.drain(..crate::api::v1::BOM.len());
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            out.push((self.line, Ok(line)));
        }
    }

    /// The last line, when the input does not end with a newline.
    fn finish(&mut self, out: &mut Vec<RawLine>) {
        if self.overlong || !self.current.is_empty() {
            self.end_line(out);
        }
    }
}

/// A batch after parsing: contacts to store and refused lines, in line order.
struct Parsed {
    contacts: Vec<RedactedContact>,
    rejected: Vec<RejectedLine>,
    last_line: u64,
}

fn parse_batch(raw: Vec<RawLine>, intake: &Intake, margin: chrono::Duration) -> Parsed {
    let last_line = raw.last().map_or(0, |(n, _)| *n);
    let mut contacts = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for (line, bytes) in raw {
        let checked = bytes
            .map_err(|reason| InvalidField::new("", reason))
            .and_then(|b| parse_line(&b))
            .and_then(|c| c.not_ahead(margin));
        match checked {
            Ok(c) => contacts.push(intake.prepare(c)),
            Err(e) => rejected.push(RejectedLine {
                line,
                error: crate::api::v1::invalid_detail(e),
            }),
        }
    }
    Parsed {
        contacts,
        rejected,
        last_line,
    }
}

/// One NDJSON line into a checked contact, naming the field at fault. How far ahead it may be
/// dated is the caller's to check ([`Dated::check_not_ahead`]).
pub fn parse_line(line: &[u8]) -> Result<NewContact, InvalidField> {
    // The common case first, without tracking paths; only a failure is parsed again to name
    // the field at fault.
    if let Ok(input) = serde_json::from_slice::<ContactInput>(line) {
        return NewContact::try_from(input);
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let input: ContactInput = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        crate::api::v1::field_error(e.path().to_string(), e.into_inner().to_string())
    })?;
    de.end()
        .map_err(|e| InvalidField::new("", format!("trailing characters after the object: {e}")))?;
    NewContact::try_from(input)
}

/// Accumulates what the committer has stored.
fn record(summary: &mut BulkSummary, rejected: Vec<RejectedLine>, outcome: &[Inserted]) {
    for o in outcome {
        match o {
            Inserted::Accepted => summary.accepted += 1,
            Inserted::Duplicate => summary.duplicates += 1,
        }
    }
    summary.rejected_count += rejected.len() as u64;
    let room = MAX_LISTED_REJECTIONS.saturating_sub(summary.rejected.len());
    summary.rejected.extend(rejected.into_iter().take(room));
}

impl BulkIntake {
    /// Reads `input` to its end (or the byte limit), storing contacts as it goes. `progress`
    /// is called after each committed batch with the summary so far and the bytes read.
    ///
    /// # Errors
    /// [`BulkError`]; everything committed before the error stays committed.
    pub async fn run<S, E>(
        &self,
        input: S,
        progress: impl Fn(&BulkSummary, u64) + Send + Sync + 'static,
    ) -> Result<BulkSummary, BulkError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::error::Error + Send + Sync + 'static,
    {
        let (to_committer, mut batches) = mpsc::channel::<(Parsed, u64)>(2);
        let store = self.store.clone();
        let origin = self.origin.clone();
        let ops = self.ops.clone();
        let bus = self.bus.clone();
        // The committer owns the summary: it counts only what is committed.
        let committer = tokio::spawn(async move {
            let mut summary = BulkSummary {
                accepted: 0,
                duplicates: 0,
                rejected: Vec::new(),
                rejected_count: 0,
                lines: 0,
            };
            while let Some((parsed, bytes_read)) = batches.recv().await {
                let outcome = if parsed.contacts.is_empty() {
                    Vec::new()
                } else if let Some(bus) = &bus {
                    // Counted as stored by the bus's writer, after its commit.
                    bus.publish(&parsed.contacts).await?
                } else {
                    let outcome = store.insert_contacts(&parsed.contacts, &origin).await?;
                    ops.contacts_stored(&parsed.contacts, &outcome);
                    outcome
                };
                record(&mut summary, parsed.rejected, &outcome);
                summary.lines = summary.lines.max(parsed.last_line);
                progress(&summary, bytes_read);
            }
            Ok::<_, BulkError>(summary)
        });

        let read = self.read(input, &to_committer).await;
        drop(to_committer);
        let mut summary = committer.await??;
        match read {
            Ok(lines) => {
                summary.lines = lines;
                Ok(summary)
            }
            Err(ReadStop::TooLarge(lines)) => {
                summary.lines = lines;
                Err(BulkError::TooLarge {
                    limit: self.max_bytes,
                    summary,
                })
            }
            Err(ReadStop::Broken(lines, source)) => Err(BulkError::Read { lines, source }),
            // The committer failed; its error came out of `committer.await??` above.
            Err(ReadStop::CommitterGone) => Ok(summary),
            // A parse stage panicked: the lines of that batch are lost, so this is no 2xx.
            Err(ReadStop::Parser(e)) => Err(BulkError::Internal(e)),
        }
    }

    /// Reads, splits and parses; hands parsed batches to the committer. Returns the number of
    /// lines read.
    async fn read<S, E>(
        &self,
        input: S,
        committer: &mpsc::Sender<(Parsed, u64)>,
    ) -> Result<u64, ReadStop>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut input = std::pin::pin!(input);
        let mut splitter = LineSplitter::default();
        let mut pending: Vec<RawLine> = Vec::with_capacity(BATCH_LINES);
        let mut bytes_read: u64 = 0;
        loop {
            let chunk = match input.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    // What was complete is committed below only if it already left; the lines
                    // of a broken request are not guessed at.
                    return Err(ReadStop::Broken(splitter.line, Box::new(e)));
                }
                None => break,
            };
            bytes_read += chunk.len() as u64;
            if bytes_read > self.max_bytes {
                self.flush(std::mem::take(&mut pending), bytes_read, committer)
                    .await?;
                return Err(ReadStop::TooLarge(splitter.line));
            }
            splitter.push(&chunk, &mut pending);
            while pending.len() >= BATCH_LINES {
                let rest = pending.split_off(BATCH_LINES);
                let full = std::mem::replace(&mut pending, rest);
                self.flush(full, bytes_read, committer).await?;
            }
        }
        splitter.finish(&mut pending);
        self.flush(pending, bytes_read, committer).await?;
        Ok(splitter.line)
    }

    async fn flush(
        &self,
        raw: Vec<RawLine>,
        bytes_read: u64,
        committer: &mpsc::Sender<(Parsed, u64)>,
    ) -> Result<(), ReadStop> {
        if raw.is_empty() {
            return Ok(());
        }
        let intake = self.intake.clone();
        let margin = self.future_margin;
        let span = tracing::Span::current();
        let parsed = tokio::task::spawn_blocking(move || {
            let _span = span.enter();
            parse_batch(raw, &intake, margin)
        })
        .await
        .map_err(ReadStop::Parser)?;
        committer
            .send((parsed, bytes_read))
            .await
            .map_err(|_| ReadStop::CommitterGone)
    }
}

enum ReadStop {
    TooLarge(u64),
    Broken(u64, Box<dyn std::error::Error + Send + Sync>),
    CommitterGone,
    Parser(tokio::task::JoinError),
}

/// The contact fields a CSV column can name; other columns go into `metadata`.
pub const CSV_FIELDS: &[&str] = &[
    "id",
    "source",
    "channel",
    "received_at",
    "text",
    "customer",
    "service",
    "region",
    "language",
];

/// One CSV record as a contact object: known columns as fields, the rest in `metadata`.
pub fn csv_record_to_json(headers: &[String], record: &csv::StringRecord) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    let mut metadata = serde_json::Map::new();
    for (name, value) in headers.iter().zip(record.iter()) {
        if name == "metadata" {
            match serde_json::from_str::<serde_json::Value>(value) {
                Ok(serde_json::Value::Object(m)) => metadata.extend(m),
                _ if value.trim().is_empty() => {}
                // Not an object: passed on as it is, so the line is refused naming the field.
                _ => {
                    object.insert("metadata".into(), value.into());
                }
            }
        } else if CSV_FIELDS.contains(&name.as_str()) {
            // An empty optional column means "not given"; an empty required one stays, so the
            // error names it.
            let optional = !matches!(
                name.as_str(),
                "id" | "source" | "channel" | "received_at" | "text"
            );
            if !(optional && value.trim().is_empty()) {
                object.insert(name.clone(), value.into());
            }
        } else if !name.is_empty() && !value.is_empty() {
            metadata.insert(name.clone(), value.into());
        }
    }
    if !metadata.is_empty() && !object.contains_key("metadata") {
        object.insert("metadata".into(), metadata.into());
    }
    serde_json::Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<RawLine> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn lines_are_numbered_across_chunks_and_blank_ones_skipped() {
        let out = split(&[b"{\"a\":", b"1}\r\n\n  \n{\"b\"", b":2}"]);
        let lines: Vec<_> = out.iter().map(|(n, l)| (*n, l.clone().unwrap())).collect();
        assert_eq!(
            lines,
            vec![(1, b"{\"a\":1}".to_vec()), (4, b"{\"b\":2}".to_vec())]
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_cost_the_first_line() {
        let out = split(&[b"\xEF\xBB", b"\xBF{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n"]);
        assert_eq!(out[0], (1, Ok(b"{\"a\":1}".to_vec())));
        // Only at the start of the input: elsewhere it stays, and the line is refused by number.
        assert_eq!(out[1].1, Ok(b"\xEF\xBB\xBF{\"b\":2}".to_vec()));
    }

    #[test]
    fn an_overlong_line_is_refused_by_number_and_the_next_one_kept() {
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        let out = split(&[b"{}\n", &long, b"\n{}\n"]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].0, 2);
        assert!(out[1].1.is_err());
        assert_eq!(out[2], (3, Ok(b"{}".to_vec())));
        // Exactly the limit is fine.
        let exact = vec![b' '; MAX_LINE_BYTES - 2];
        let mut line = b"{}".to_vec();
        line.extend(exact);
        assert!(split(&[&line])[0].1.is_ok());
    }

    #[test]
    fn a_line_parses_or_names_its_field() {
        let ok = br#"{"id":"1","source":"s","channel":"chat","received_at":"2026-11-25T13:00:00Z","text":"hi"}"#;
        assert!(parse_line(ok).is_ok());
        let err = parse_line(br#"{"id":"1","source":"s","channel":"fax","received_at":"2026-11-25T13:00:00Z","text":"hi"}"#).unwrap_err();
        assert_eq!(err.field, "channel");
        let err = parse_line(br#"{"id": 1}"#).unwrap_err();
        assert_eq!(err.field, "id");
        assert!(parse_line(br#"{"id":"1"} {"x":2}"#).is_err());
        assert!(parse_line(b"\xff\xfe").is_err());
    }
}
