//! Statements: what the company says about an incident, per audience, versioned, approved by
//! both teams before anyone outside hears it, and published as one current version.
//!
//! The rules live here: who must approve which audience, four eyes (an author never approves
//! their own version), one approval per person, and that only an approved latest version can
//! be published. Editing makes a new version, which needs its own approvals.

use crate::Role;
use crate::field::InvalidField;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::{fmt, str::FromStr};

/// Who a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The status page and its subscribers.
    Public,
    /// What agents send to affected customers.
    Customers,
    /// Agents' talking points: what to say, what not to say, what to ask, whom to escalate to.
    Agents,
    /// Stakeholders inside the company.
    Internal,
}

impl Audience {
    /// Every audience.
    pub const ALL: [Audience; 4] = [
        Audience::Public,
        Audience::Customers,
        Audience::Agents,
        Audience::Internal,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Customers => "customers",
            Audience::Agents => "agents",
            Audience::Internal => "internal",
        }
    }

    /// The approvals a version for this audience needs: each inner list is one approval, by
    /// any one of its roles, and every approval comes from a different person. Public words
    /// need security (nothing sensitive leaks) and CX or comms (customers can use them).
    pub fn requirements(self) -> &'static [&'static [Role]] {
        const SECURITY: &[Role] = &[Role::Security];
        const CX_OR_COMMS: &[Role] = &[Role::CxLead, Role::Comms];
        const CX: &[Role] = &[Role::CxLead];
        match self {
            Audience::Public | Audience::Customers => &[SECURITY, CX_OR_COMMS],
            Audience::Agents => &[CX],
            Audience::Internal => &[],
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Audience {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Audience::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!("unknown audience {s:?}: use public, customers, agents or internal")
            })
    }
}

/// A translation of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Translation {
    /// The title in that language.
    pub title: Option<String>,
    /// The body in that language.
    pub body: String,
}

/// One approval of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// The person (user name): approvals count people, not tokens.
    pub user: String,
    /// The role the approval counts as.
    pub role: Role,
    /// When.
    pub at: DateTime<Utc>,
}

/// One version of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
    /// Numbered from 1.
    pub number: u32,
    /// The title (for public statements, the name the status page shows).
    pub title: Option<String>,
    /// The text.
    pub body: String,
    /// Translations by language code (`de`, `fr`, ...), approved and published with it.
    pub translations: BTreeMap<String, Translation>,
    /// The last word on the incident: resolving needs one when anything public was said.
    pub r#final: bool,
    /// Who wrote it (user name).
    pub author: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its approvals.
    pub approvals: Vec<Approval>,
}

/// A statement with its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Its number.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// Who it is for.
    pub audience: Audience,
    /// Every version, oldest first.
    pub versions: Vec<Version>,
    /// The version currently published, if any.
    pub published: Option<u32>,
    /// Every publication, oldest first: the public updates of an incident.
    pub publications: Vec<Publication>,
}

/// One publication of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Publication {
    /// The version published.
    pub version: u32,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (user name).
    pub by: String,
}

impl Version {
    /// The body for a reader of `language` (a tag such as `de` or `de-CH`): its translation
    /// when there is one (the exact tag, else the same primary language), else the body.
    pub fn body_in(&self, language: Option<&str>) -> &str {
        let Some(language) = language else {
            return &self.body;
        };
        let primary = |tag: &str| tag.split(['-', '_']).next().unwrap_or(tag).to_owned();
        let wanted = primary(language);
        self.translations
            .iter()
            .find(|(tag, _)| tag.eq_ignore_ascii_case(language))
            .or_else(|| {
                self.translations
                    .iter()
                    .find(|(tag, _)| primary(tag).eq_ignore_ascii_case(&wanted))
            })
            .map_or(&self.body, |(_, t)| &t.body)
    }
}

/// A draft's content, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Title.
    pub title: Option<String>,
    /// Body.
    pub body: String,
    /// Translations.
    pub translations: BTreeMap<String, Translation>,
    /// The last word.
    pub r#final: bool,
}

/// Why a statement change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// Not allowed to (403): the author approving, or a role that cannot approve.
    #[error("{0}")]
    Forbidden(String),
    /// Not now (409): approved twice by one person, publishing what is not approved.
    #[error("{0}")]
    Conflict(String),
}

/// Longest body, in bytes.
pub const MAX_BODY: usize = 20_000;
/// Longest title, in bytes.
pub const MAX_TITLE: usize = 200;
/// Most translations.
pub const MAX_TRANSLATIONS: usize = 20;

impl Statement {
    /// The latest version.
    pub fn latest(&self) -> &Version {
        // A statement is created with its first version and never loses one.
        self.versions
            .last()
            .unwrap_or_else(|| unreachable!("a statement has a version"))
    }

    /// The published version, if any.
    pub fn published_version(&self) -> Option<&Version> {
        self.published
            .and_then(|n| self.versions.iter().find(|v| v.number == n))
    }

    /// When the current version was published.
    pub fn published_at(&self) -> Option<DateTime<Utc>> {
        self.publications.last().map(|p| p.at)
    }

    /// Whether a version marked final is the one published.
    pub fn final_published(&self) -> bool {
        self.published_version().is_some_and(|v| v.r#final)
    }

    /// A new statement with `draft` as version 1.
    pub fn new(
        id: i64,
        incident_id: i64,
        audience: Audience,
        draft: Draft,
        author: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            incident_id,
            audience,
            versions: vec![version(1, draft, author, now)],
            published: None,
            publications: Vec::new(),
        }
    }

    /// Adds a version (which needs its own approvals).
    pub fn edit(&mut self, draft: Draft, author: &str, now: DateTime<Utc>) -> &Version {
        let number = self.latest().number + 1;
        self.versions.push(version(number, draft, author, now));
        self.latest()
    }

    /// Whether the latest version has every approval its audience needs.
    pub fn approved(&self) -> bool {
        missing(self.audience, &self.latest().approvals).is_empty()
    }

    /// `user` (holding `roles`) approves the latest version. The approval counts as the role
    /// that fills a missing requirement, else as any role that may approve the audience
    /// (`admin` may fill any).
    ///
    /// # Errors
    /// [`StatementError::Forbidden`] for the version's author or a user with no role that may
    /// approve this audience; [`StatementError::Conflict`] when the user approved it already.
    pub fn approve(
        &mut self,
        user: &str,
        roles: &[Role],
        now: DateTime<Utc>,
    ) -> Result<&Approval, StatementError> {
        let audience = self.audience;
        let latest = self
            .versions
            .last_mut()
            .unwrap_or_else(|| unreachable!("a statement has a version"));
        if latest.author == user {
            return Err(StatementError::Forbidden(format!(
                "{user} wrote version {}; another person must approve it",
                latest.number
            )));
        }
        let eligible: Vec<Role> = audience
            .requirements()
            .iter()
            .flat_map(|r| r.iter().copied())
            .chain([Role::Admin])
            .filter(|r| roles.contains(r))
            .collect();
        let Some(&fallback) = eligible.first() else {
            return Err(StatementError::Forbidden(format!(
                "a {} statement is approved by {}; you hold none of those roles",
                audience,
                approvers(audience)
            )));
        };
        if latest.approvals.iter().any(|a| a.user == user) {
            return Err(StatementError::Conflict(format!(
                "{user} approved version {} already; approvals count people",
                latest.number
            )));
        }
        let open = missing(audience, &latest.approvals);
        let role = open
            .iter()
            .find_map(|need| {
                need.iter()
                    .copied()
                    .find(|r| roles.contains(r))
                    .or_else(|| roles.contains(&Role::Admin).then_some(Role::Admin))
            })
            .unwrap_or(fallback);
        latest.approvals.push(Approval {
            user: user.to_owned(),
            role,
            at: now,
        });
        Ok(latest
            .approvals
            .last()
            .unwrap_or_else(|| unreachable!("just pushed")))
    }

    /// Publishes the latest version.
    ///
    /// # Errors
    /// [`StatementError::Conflict`] when it lacks approvals, or is published already.
    pub fn publish(&mut self, user: &str, now: DateTime<Utc>) -> Result<u32, StatementError> {
        let number = self.latest().number;
        if self.published == Some(number) {
            return Err(StatementError::Conflict(format!(
                "version {number} is published already"
            )));
        }
        let open = missing(self.audience, &self.latest().approvals);
        if !open.is_empty() {
            let needs: Vec<String> = open
                .iter()
                .map(|need| {
                    need.iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                })
                .collect();
            return Err(StatementError::Conflict(format!(
                "version {number} still needs approval by {}",
                needs.join(" and ")
            )));
        }
        self.published = Some(number);
        self.publications.push(Publication {
            version: number,
            at: now,
            by: user.to_owned(),
        });
        Ok(number)
    }
}

fn version(number: u32, draft: Draft, author: &str, now: DateTime<Utc>) -> Version {
    Version {
        number,
        title: draft.title,
        body: draft.body,
        translations: draft.translations,
        r#final: draft.r#final,
        author: author.to_owned(),
        created_at: now,
        approvals: Vec::new(),
    }
}

fn approvers(audience: Audience) -> String {
    let names: Vec<&str> = audience
        .requirements()
        .iter()
        .flat_map(|r| r.iter().map(|x| x.as_str()))
        .collect();
    if names.is_empty() {
        "nobody (it needs no approval)".into()
    } else {
        names.join(", ")
    }
}

/// The requirements not yet met by `approvals` (each approval fills one requirement; `admin`
/// fills any).
fn missing(audience: Audience, approvals: &[Approval]) -> Vec<&'static [Role]> {
    let mut open: Vec<&'static [Role]> = audience.requirements().to_vec();
    for a in approvals {
        if let Some(i) = open
            .iter()
            .position(|need| need.contains(&a.role) || a.role == Role::Admin)
        {
            open.remove(i);
        }
    }
    open
}

/// Checks a draft's fields.
///
/// # Errors
/// [`InvalidField`] naming `body`, `title` or `translations.LANG...`.
pub fn draft(
    title: Option<String>,
    body: Option<String>,
    translations: BTreeMap<String, Translation>,
    r#final: bool,
) -> Result<Draft, InvalidField> {
    let body = text(body.unwrap_or_default(), "body")?;
    let title = crate::field::optional_short_text(title, "title", MAX_TITLE)?;
    if translations.len() > MAX_TRANSLATIONS {
        return Err(InvalidField::new(
            "translations",
            format!("at most {MAX_TRANSLATIONS} languages"),
        ));
    }
    let mut checked = BTreeMap::new();
    for (lang, t) in translations {
        let valid = (2..=8).contains(&lang.len())
            && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(InvalidField::new(
                format!("translations.{lang}"),
                "must be a language code such as de, fr or pt-BR",
            ));
        }
        let body = text(t.body, &format!("translations.{lang}.body"))?;
        let title = crate::field::optional_short_text(
            t.title,
            &format!("translations.{lang}.title"),
            MAX_TITLE,
        )?;
        checked.insert(lang.to_ascii_lowercase(), Translation { title, body });
    }
    Ok(Draft {
        title,
        body,
        translations: checked,
        r#final,
    })
}

fn text(value: String, field: &str) -> Result<String, InvalidField> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    if trimmed.len() > MAX_BODY {
        return Err(InvalidField::new(
            field,
            format!("must be at most {MAX_BODY} bytes, got {}", trimmed.len()),
        ));
    }
    if let Some(reason) = crate::field::unwritable_reason(trimmed) {
        return Err(InvalidField::new(field, reason));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_gets_the_translation_of_their_language() {
        let translation = |body: &str| Translation {
            title: None,
            body: body.into(),
        };
        let version = Version {
            number: 1,
            title: None,
            body: "We are on it.".into(),
            translations: [
                ("de".to_owned(), translation("Wir sind dran.")),
                ("pt-BR".to_owned(), translation("Estamos cuidando disso.")),
            ]
            .into(),
            r#final: false,
            author: "cora".into(),
            created_at: chrono::Utc::now(),
            approvals: Vec::new(),
        };
        assert_eq!(version.body_in(Some("de")), "Wir sind dran.");
        assert_eq!(version.body_in(Some("de-CH")), "Wir sind dran.");
        assert_eq!(version.body_in(Some("PT-br")), "Estamos cuidando disso.");
        assert_eq!(version.body_in(Some("pt")), "Estamos cuidando disso.");
        assert_eq!(version.body_in(Some("fr")), "We are on it.");
        assert_eq!(version.body_in(None), "We are on it.");
    }

    fn statement(audience: Audience) -> Statement {
        Statement::new(
            1,
            1,
            audience,
            draft(
                None,
                Some("We are looking into it.".into()),
                BTreeMap::new(),
                false,
            )
            .unwrap(),
            "carla",
            Utc::now(),
        )
    }

    #[test]
    fn public_words_need_security_and_cx_or_comms_from_two_people() {
        let mut s = statement(Audience::Public);
        assert!(!s.approved());
        let err = s.publish("cora", Utc::now()).unwrap_err();
        assert!(
            matches!(&err, StatementError::Conflict(m) if m.contains("security and cx_lead or comms")),
            "{err:?}"
        );
        s.approve("sam", &[Role::Security], Utc::now()).unwrap();
        assert!(!s.approved());
        // The same person twice is one approval.
        assert!(matches!(
            s.approve("sam", &[Role::Security, Role::Comms], Utc::now()),
            Err(StatementError::Conflict(_))
        ));
        s.approve("cora", &[Role::Comms], Utc::now()).unwrap();
        assert!(s.approved());
        assert_eq!(s.publish("cora", Utc::now()).unwrap(), 1);
        assert_eq!(s.published_version().unwrap().number, 1);
    }

    #[test]
    fn authors_and_the_wrong_roles_may_not_approve() {
        let mut s = statement(Audience::Public);
        assert!(matches!(
            s.approve("carla", &[Role::Security], Utc::now()),
            Err(StatementError::Forbidden(_))
        ));
        assert!(matches!(
            s.approve("ann", &[Role::CxAgent, Role::Viewer], Utc::now()),
            Err(StatementError::Forbidden(_))
        ));
        let mut agents = statement(Audience::Agents);
        assert!(matches!(
            agents.approve("sam", &[Role::Security], Utc::now()),
            Err(StatementError::Forbidden(_))
        ));
        agents.approve("lee", &[Role::CxLead], Utc::now()).unwrap();
        assert!(agents.approved());
        assert!(
            statement(Audience::Internal).approved(),
            "internal needs none"
        );
    }

    #[test]
    fn a_person_with_two_roles_fills_the_missing_one() {
        let mut s = statement(Audience::Customers);
        s.approve("lee", &[Role::CxLead], Utc::now()).unwrap();
        let a = s
            .approve("pat", &[Role::CxLead, Role::Security], Utc::now())
            .unwrap();
        assert_eq!(a.role, Role::Security);
        assert!(s.approved());
    }

    #[test]
    fn editing_an_approved_draft_needs_approval_again() {
        let mut s = statement(Audience::Public);
        s.approve("sam", &[Role::Security], Utc::now()).unwrap();
        s.approve("cora", &[Role::Comms], Utc::now()).unwrap();
        s.publish("cora", Utc::now()).unwrap();
        let d = draft(None, Some("Fixed.".into()), BTreeMap::new(), true).unwrap();
        assert_eq!(s.edit(d, "cora", Utc::now()).number, 2);
        assert!(!s.approved());
        assert_eq!(s.published, Some(1), "the approved version stays current");
        assert!(s.publish("cora", Utc::now()).is_err());
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        assert_eq!(
            draft(None, None, BTreeMap::new(), false).unwrap_err().field,
            "body"
        );
        assert_eq!(
            draft(None, Some("x".repeat(MAX_BODY + 1)), BTreeMap::new(), false)
                .unwrap_err()
                .field,
            "body"
        );
        let bad = BTreeMap::from([(
            "d e".to_owned(),
            Translation {
                title: None,
                body: "x".into(),
            },
        )]);
        assert_eq!(
            draft(None, Some("x".into()), bad, false).unwrap_err().field,
            "translations.d e"
        );
        let empty = BTreeMap::from([(
            "de".to_owned(),
            Translation {
                title: None,
                body: " ".into(),
            },
        )]);
        assert_eq!(
            draft(None, Some("x".into()), empty, false)
                .unwrap_err()
                .field,
            "translations.de.body"
        );
        for c in [
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{FDD0}',
            '\u{1FFFF}',
            '\u{0}',
            '\u{1B}',
        ] {
            let err = draft(
                None,
                Some(format!("All fixed {c} now")),
                BTreeMap::new(),
                false,
            )
            .unwrap_err();
            assert_eq!(err.field, "body", "{c:?}");
            assert!(err.reason.contains("U+"), "{}", err.reason);
        }
        let title = draft(
            Some("Out\u{FFFE}age".into()),
            Some("x".into()),
            BTreeMap::new(),
            false,
        );
        assert_eq!(title.unwrap_err().field, "title");
        assert!(
            draft(
                None,
                Some("Line one\nline two\twith tab ✓ 🚀".into()),
                BTreeMap::new(),
                false
            )
            .is_ok()
        );
    }
}
