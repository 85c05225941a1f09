//! The server's API tests: one binary, a module per feature. Each test starts the real server
//! on a loopback port with its own database (`frontline_testkit::spawn_app`) and runs once per
//! storage backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alertmanager;
mod alerts;
mod audit;
mod auth;
mod bulk;
mod bus;
mod contacts;
mod correlation;
mod demo;
mod erasures;
mod faults;
mod headers;
mod helpdesk_long_tickets;
mod helpdesk_sweeps;
mod helpdesk_wrap_up;
mod helpdesk_writeback;
mod helpdesks;
mod incidents;
mod insights;
mod limits;
mod lists;
mod openapi;
mod pg_restart;
mod reports;
mod security_events;
mod statements;
mod status;
mod stream;
mod subscriptions;
mod web;
mod webhooks;
