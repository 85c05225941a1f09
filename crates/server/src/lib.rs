//! Frontline's server: the `/api/v1` JSON API ([`api`]), who may call it ([`auth`]),
//! configuration ([`config`]), logging and request ids ([`telemetry`]), and how it all starts and
//! stops ([`startup`]).
//!
//! The binary (`frontline`) calls [`startup::build`] and then [`startup::Application::run_until`];
//! tests do the same in-process, through `frontline-testkit`.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod bulk;
pub mod charts;
pub mod config;
pub mod demo;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod insights;
pub mod limits;
pub mod ops;
pub mod pages;
pub mod serve;
pub mod settings;
pub mod startup;
pub mod state;
pub mod status;
pub mod subscriptions;
pub mod telemetry;
pub mod volume;
pub mod web;
pub mod workers;

pub use config::Config;
pub use startup::{Application, build, open_store};
