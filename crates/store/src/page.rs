//! Keyset pagination. A cursor names the last row of a page by its sort key (a timestamp and
//! the row's intake sequence number, which is unique), so the next page starts strictly after
//! it: rows committed before the first page was read are never skipped or repeated, however
//! many rows arrive in between.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The rows, in list order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// The position after a row: its sort timestamp (microseconds since the epoch) and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// The row's sort timestamp, in microseconds since the Unix epoch.
    pub at_micros: i64,
    /// The row's intake sequence number.
    pub seq: i64,
}

/// A cursor string that is not one this server made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor returned by this API")]
pub struct BadCursor;

impl Cursor {
    /// The opaque string form given to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", self.at_micros, self.seq))
    }

    /// Parses a string made by [`Cursor::encode`].
    ///
    /// # Errors
    /// [`BadCursor`] for anything else.
    pub fn decode(s: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| BadCursor)?;
        let mut parts = text.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(at), Some(seq), None) => Ok(Cursor {
                at_micros: at.parse().map_err(|_| BadCursor)?,
                seq: seq.parse().map_err(|_| BadCursor)?,
            }),
            _ => Err(BadCursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            at_micros: -5,
            seq: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        for bad in [
            "",
            "abc",
            &URL_SAFE_NO_PAD.encode("v1:1"),
            &URL_SAFE_NO_PAD.encode("v2:1:1"),
            &URL_SAFE_NO_PAD.encode("v1:1:x"),
        ] {
            assert_eq!(Cursor::decode(bad), Err(BadCursor), "{bad}");
        }
    }
}
