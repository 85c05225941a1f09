//! Which helpdesk a connection speaks to.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A helpdesk vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HelpdeskKind {
    /// Zendesk Support (event-subscription webhooks, signed with HMAC-SHA256).
    Zendesk,
    /// Intercom (notification webhooks, signed with HMAC-SHA1).
    Intercom,
    /// Freshdesk (automation-rule webhooks, unsigned: a bearer token is the factor).
    Freshdesk,
}

impl HelpdeskKind {
    /// Every kind.
    pub const ALL: [HelpdeskKind; 3] = [Self::Zendesk, Self::Intercom, Self::Freshdesk];

    /// The name used in paths and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zendesk => "zendesk",
            Self::Intercom => "intercom",
            Self::Freshdesk => "freshdesk",
        }
    }
}

impl fmt::Display for HelpdeskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HelpdeskKind {
    type Err = String;

    /// Case-insensitive, surrounding blanks ignored: vendors and people spell them freely.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown helpdesk kind {s:?}: expected zendesk, intercom or freshdesk")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_whatever_their_case() {
        assert_eq!("ZenDesk".parse(), Ok(HelpdeskKind::Zendesk));
        assert_eq!(" intercom ".parse(), Ok(HelpdeskKind::Intercom));
        assert!(
            "zammad"
                .parse::<HelpdeskKind>()
                .unwrap_err()
                .contains("zammad")
        );
    }
}
