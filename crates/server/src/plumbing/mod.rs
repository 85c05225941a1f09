//! What every audience stands on and none of them owns: the shared state ([`state`]), errors as
//! answers ([`error`]), request limits ([`limits`]), logging and request ids ([`telemetry`]),
//! `/metrics` ([`ops`]), configuration ([`config`]), the accept loop ([`serve`]) and how the
//! server starts and stops ([`startup`]). It may touch the store and the pipeline; it knows the
//! other folders only to mount their routers and start their workers (in [`startup`]).

pub mod bus;
pub mod config;
pub mod error;
pub mod limits;
pub mod ops;
pub mod sealing;
pub mod serve;
pub mod startup;
pub mod state;
pub mod telemetry;
