//! The helpdesk bridge on the wire, for CX teams whose tickets live in Zendesk, Intercom or
//! Freshdesk: each vendor's webhook verified as the vendor signs it ([`verify`]), read into the
//! customer messages it carries ([`events`]), their text cleaned of markup, quoted mail and
//! signatures ([`clean`]), and the connections' credentials sealed at rest ([`seal`]).
//! Pure: the server stores and routes; this crate only knows the formats.

pub mod clean;
pub mod events;
pub mod kind;
pub mod per_ticket;
pub mod seal;
pub mod verify;
pub mod zendesk;

pub use events::{Inbound, Message};
pub use kind::HelpdeskKind;
