//! Frontline's domain: who people are and what they may do ([`role`], [`policy`]), what customers
//! and security tools send ([`contact`], [`security_event`]), and the tamper-evident record of
//! every change ([`audit`]).
//!
//! Everything here is plain data and rules, with no I/O, so the pipeline, the stores and the
//! server agree on one meaning of each object. Parsing of untrusted input into checked types
//! (`NewContact`, `NewSecurityEvent`) also lives here, so every entry point rejects the same
//! things with the same field names.
#![warn(missing_docs)]

pub mod alert;
pub mod alertmanager;
pub mod audit;
pub mod component;
pub mod contact;
pub mod feed;
pub mod field;
pub mod ids;
pub mod incident;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod review;
pub mod role;
pub mod security_event;
pub mod statement;
pub mod subscriber;
pub mod webhook;

pub use field::InvalidField;
pub use role::Role;
