//! The roles a user can hold. What each role may do is decided in [`crate::policy`], not here.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A role held by a user. A user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May do everything any role may.
    Admin,
    /// Security analysts and leads.
    Security,
    /// CX team leads.
    CxLead,
    /// CX agents: the front line.
    CxAgent,
    /// Communications staff.
    Comms,
    /// Read-only access.
    Viewer,
    /// Integrations that send contacts and security events, and nothing else.
    Ingest,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Security,
        Role::CxLead,
        Role::CxAgent,
        Role::Comms,
        Role::Viewer,
        Role::Ingest,
    ];

    /// The role's name as used in the API, CLI and database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Security => "security",
            Role::CxLead => "cx_lead",
            Role::CxAgent => "cx_agent",
            Role::Comms => "comms",
            Role::Viewer => "viewer",
            Role::Ingest => "ingest",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}; expected one of admin, security, cx_lead, cx_agent, comms, viewer, ingest"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
        }
        assert!("root".parse::<Role>().is_err());
    }
}
