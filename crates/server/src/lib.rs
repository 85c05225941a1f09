//! Frontline's server, one folder per audience: the `/api/v1` JSON API for tools and scripts
//! ([`api`]), the pages people work in ([`web`]), the public status page and its subscriptions
//! ([`public`]), what both teams learn afterwards ([`insights`]), who may call what ([`auth`]),
//! the leader-only and background jobs ([`workers`]), and the plumbing every one of them stands
//! on: state, errors, limits, telemetry, configuration and the accept loop ([`plumbing`]).
//!
//! The binary (`frontline`) calls [`build`] and then [`Application::run_until`]; tests do the
//! same in-process, through `frontline-testkit`.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
pub mod insights;
pub mod plumbing;
pub mod public;
pub mod web;
pub mod workers;

pub use plumbing::config::Config;
pub use plumbing::startup::{Application, build, open_store};
