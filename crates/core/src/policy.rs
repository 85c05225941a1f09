//! Who may do what: the one table of actions and the roles allowed each.
//!
//! The server maps every route to one [`Action`] and asks [`allows`] before anything else runs;
//! the route-by-route test walks that map. `admin` may do everything.

use crate::role::Role;
use serde::Serialize;

/// Something a caller may ask the API to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send contacts.
    IngestContacts,
    /// Send security events.
    IngestSecurityEvents,
    /// Read contacts (redacted, customers pseudonymised).
    ReadContacts,
    /// Read security events.
    ReadSecurityEvents,
    /// See who the caller is and what they may do.
    ReadSelf,
    /// List and end one's own sign-in sessions (people; a machine's ingest token has none).
    ManageOwnSessions,
    /// Read early-warning alerts.
    ReadAlerts,
    /// Acknowledge or dismiss alerts.
    TriageAlerts,
    /// Correct the topics found on a contact (which trains the classifier further).
    CorrectTopics,
    /// Read incidents and their timelines.
    ReadIncidents,
    /// Open incidents; change their title, services, seats and tasks; link and unlink any
    /// signal.
    ManageIncidents,
    /// Change an incident's state or severity.
    ChangeIncidentState,
    /// Add internal notes to an incident.
    AddIncidentNotes,
    /// Link contacts to an incident (agents see them first).
    LinkContacts,
    /// File a report of a suspected security matter.
    FileReports,
    /// Read reports.
    ReadReports,
    /// Acknowledge or dismiss reports.
    TriageReports,
    /// Follow the live feed.
    ReadStream,
    /// Configure outbound webhooks and read their deliveries.
    ManageWebhooks,
    /// Connect helpdesks (Zendesk, Intercom, Freshdesk) and manage their credentials.
    ManageHelpdesks,
    /// Read statements and talking points.
    ReadStatements,
    /// Draft and edit statements.
    DraftStatements,
    /// Approve statements (which audiences each role approves is the statement's rule).
    ApproveStatements,
    /// Publish statements (also the incident's commander, checked with the incident).
    PublishStatements,
    /// Set status page components.
    ManageComponents,
    /// Read and export the audit log.
    ReadAudit,
    /// Manage people, their roles, API tokens and sessions (the admin pages).
    ManagePeople,
    /// See the server nodes sharing the database and the leases each holds.
    ReadNodes,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 28] = [
        Action::IngestContacts,
        Action::IngestSecurityEvents,
        Action::ReadContacts,
        Action::ReadSecurityEvents,
        Action::ReadSelf,
        Action::ManageOwnSessions,
        Action::ReadAlerts,
        Action::TriageAlerts,
        Action::CorrectTopics,
        Action::ReadIncidents,
        Action::ManageIncidents,
        Action::ChangeIncidentState,
        Action::AddIncidentNotes,
        Action::LinkContacts,
        Action::FileReports,
        Action::ReadReports,
        Action::TriageReports,
        Action::ReadStream,
        Action::ManageWebhooks,
        Action::ManageHelpdesks,
        Action::ReadStatements,
        Action::DraftStatements,
        Action::ApproveStatements,
        Action::PublishStatements,
        Action::ManageComponents,
        Action::ReadAudit,
        Action::ManagePeople,
        Action::ReadNodes,
    ];

    /// The roles (besides `admin`) allowed this action.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        const READERS: &[Role] = &[Security, CxLead, CxAgent, Comms, Viewer];
        match self {
            Action::IngestContacts | Action::IngestSecurityEvents => &[Ingest],
            Action::ReadContacts
            | Action::ReadSecurityEvents
            | Action::ReadAlerts
            | Action::ReadIncidents
            | Action::ReadReports
            | Action::ReadStream
            | Action::ReadStatements => READERS,
            // The three teams who speak for the company draft, approve and set the page. Who
            // approves which audience, and who publishes (comms, or the commander whatever
            // their role), is decided with the statement and the incident.
            Action::DraftStatements | Action::ApproveStatements | Action::ManageComponents => {
                &[Security, CxLead, Comms]
            }
            // Comms publish; so does the incident's commander, whatever their role: that is
            // checked with the incident, so the route lets every person through.
            Action::PublishStatements => &[Security, CxLead, CxAgent, Comms, Viewer],
            // The two teams the alert is for: security judges it, CX leads know the context.
            // State and severity of an incident are theirs too.
            // Correcting a topic teaches the classifier: the same two teams.
            Action::TriageAlerts
            | Action::CorrectTopics
            | Action::TriageReports
            | Action::ChangeIncidentState => &[Security, CxLead],
            Action::ManageIncidents => &[Security, CxLead, Comms],
            // Agents are the front line: they add what customers say, link the contacts they
            // handle and report what looks wrong.
            Action::AddIncidentNotes | Action::LinkContacts | Action::FileReports => {
                &[Security, CxLead, CxAgent, Comms]
            }
            // Webhooks carry secrets and send data out; the audit log says who did what:
            // admins only.
            Action::ManageWebhooks
            | Action::ManageHelpdesks
            | Action::ReadAudit
            | Action::ManagePeople => &[],
            // Addresses and the shape of the deployment: admins only.
            Action::ReadNodes => &[],
            Action::ReadSelf => &[Security, CxLead, CxAgent, Comms, Viewer, Ingest],
            // Sessions are people's: an ingest token (a machine) has no business with them.
            Action::ManageOwnSessions => &[Security, CxLead, CxAgent, Comms, Viewer],
        }
    }
}

/// Whether a caller holding `roles` may perform `action`.
pub fn allows(roles: &[Role], action: Action) -> bool {
    roles
        .iter()
        .any(|r| *r == Role::Admin || action.roles().contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything() {
        for action in Action::ALL {
            assert!(allows(&[Role::Admin], action), "{action:?}");
        }
    }

    #[test]
    fn ingest_may_only_send_and_know_itself() {
        let ingest = [Role::Ingest];
        assert!(allows(&ingest, Action::IngestContacts));
        assert!(allows(&ingest, Action::IngestSecurityEvents));
        assert!(!allows(&ingest, Action::ReadContacts));
        assert!(!allows(&ingest, Action::ReadSecurityEvents));
    }

    #[test]
    fn readers_may_not_ingest() {
        for role in [
            Role::Security,
            Role::CxLead,
            Role::CxAgent,
            Role::Comms,
            Role::Viewer,
        ] {
            assert!(allows(&[role], Action::ReadContacts));
            assert!(!allows(&[role], Action::IngestContacts), "{role}");
        }
    }

    #[test]
    fn no_roles_allow_nothing() {
        for action in Action::ALL {
            assert!(!allows(&[], action));
        }
    }
}
