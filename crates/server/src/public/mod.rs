//! What anyone on the internet may read or send without signing in: the status page
//! ([`status`]) and its subscriptions ([`subscriptions`]). It shows only what was published for
//! the public and reads nothing else; it may touch the store and the plumbing, never the pages.

pub mod status;
pub mod subscriptions;
