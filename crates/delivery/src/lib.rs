//! Outbound delivery: what a notification looks like on the wire ([`webhook`]), how it is
//! signed ([`signature`]), and when a failed one is tried again ([`retry`]). No storage: the
//! server's delivery worker decides what to send from the feed and records each attempt.
#![warn(missing_docs)]

pub mod mail;
pub mod retry;
pub mod signature;
pub mod webhook;
