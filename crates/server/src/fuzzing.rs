//! Entry points for the fuzz targets (`crates/fuzz`): the server's own parsers of untrusted
//! input, reachable without a running server. Not an API for anything else.

use crate::api::v1::{intake, integrations};
use frontline_core::alertmanager::AlertmanagerMapping;
use frontline_core::contact::{ContactInput, NewContact};
use frontline_core::security_event::NewSecurityEvent;

/// `POST /api/v1/contacts`'s parsing: the contacts accepted (an error answer gives none).
pub fn contacts_json(body: &[u8]) -> Vec<NewContact> {
    intake::parse::<ContactInput, NewContact>(
        &bytes::Bytes::copy_from_slice(body),
        frontline_core::field::DEFAULT_FUTURE_MARGIN,
    )
    .map(|batch| batch.valid)
    .unwrap_or_default()
}

/// `POST /api/v1/integrations/alertmanager`'s parsing with the default mapping: the security
/// events accepted.
pub fn alertmanager(body: &[u8]) -> Vec<NewSecurityEvent> {
    integrations::parse(body, &AlertmanagerMapping::default())
        .map(|(_, batch)| batch.valid)
        .unwrap_or_default()
}
