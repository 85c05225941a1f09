//! The post-incident review's written part: a summary, what went well, what went wrong, and the
//! actions both teams take away, each item with an owner and a due date. The figures, timeline
//! and charts beside it are computed (see [`crate::metrics`]), never typed in.

use crate::field::InvalidField;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The longest summary, in bytes.
pub const MAX_SUMMARY: usize = 20_000;
/// The longest item text, in bytes.
pub const MAX_ITEM: usize = 2_000;
/// The most items in one section.
pub const MAX_ITEMS: usize = 100;

/// One line of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewItem {
    /// What.
    pub text: String,
    /// Who owns it (a user name), if anyone.
    #[serde(default)]
    pub owner: Option<String>,
    /// By when (a date, `YYYY-MM-DD`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub due: Option<NaiveDate>,
    /// Done.
    #[serde(default)]
    pub done: bool,
}

/// The sections as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewSections {
    /// What happened, in a few sentences.
    #[serde(default)]
    pub summary: String,
    /// What went well.
    #[serde(default)]
    pub went_well: Vec<ReviewItem>,
    /// What went wrong.
    #[serde(default)]
    pub went_wrong: Vec<ReviewItem>,
    /// What both teams will do about it.
    #[serde(default)]
    pub actions: Vec<ReviewItem>,
}

/// A saved review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    /// The incident.
    pub incident_id: i64,
    /// The sections.
    #[serde(flatten)]
    pub sections: ReviewSections,
    /// Who saved it last (`user:NAME`).
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Option<DateTime<Utc>>,
}

impl ReviewSections {
    /// Checks lengths and counts, trimming texts; an item without text is an error naming it
    /// (`went_wrong[2].text`).
    ///
    /// # Errors
    /// [`InvalidField`] naming the first bad field.
    pub fn check(mut self) -> Result<Self, InvalidField> {
        self.summary = self.summary.trim().to_owned();
        if self.summary.len() > MAX_SUMMARY {
            return Err(InvalidField::new(
                "summary",
                format!("must be at most {MAX_SUMMARY} bytes"),
            ));
        }
        for (name, items) in [
            ("went_well", &mut self.went_well),
            ("went_wrong", &mut self.went_wrong),
            ("actions", &mut self.actions),
        ] {
            if items.len() > MAX_ITEMS {
                return Err(InvalidField::new(
                    name,
                    format!("holds at most {MAX_ITEMS} items"),
                ));
            }
            for (i, item) in items.iter_mut().enumerate() {
                item.text = item.text.trim().to_owned();
                if item.text.is_empty() {
                    return Err(InvalidField::new(
                        format!("{name}[{i}].text"),
                        "must not be empty",
                    ));
                }
                if item.text.len() > MAX_ITEM {
                    return Err(InvalidField::new(
                        format!("{name}[{i}].text"),
                        format!("must be at most {MAX_ITEM} bytes"),
                    ));
                }
                if let Some(owner) = &mut item.owner {
                    *owner = owner.trim().to_owned();
                    if owner.is_empty() {
                        item.owner = None;
                    }
                }
            }
        }
        Ok(self)
    }

    /// The owners named, each once, with the field naming them first (for "no such user").
    pub fn owners(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = Vec::new();
        for (name, items) in [
            ("went_well", &self.went_well),
            ("went_wrong", &self.went_wrong),
            ("actions", &self.actions),
        ] {
            for (i, item) in items.iter().enumerate() {
                if let Some(owner) = &item.owner
                    && !out.iter().any(|(_, o)| o == owner)
                {
                    out.push((format!("{name}[{i}].owner"), owner));
                }
            }
        }
        out
    }
}

/// One item per line, as people write lists: `[x] text (owner: sam, due: 2026-12-15)`. The
/// box (`[ ]` or `[x]`) and the parenthesis are optional; blank lines are skipped.
///
/// # Errors
/// [`InvalidField`] naming `SECTION line N`.
pub fn parse_lines(section: &str, text: &str) -> Result<Vec<ReviewItem>, InvalidField> {
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let field = || format!("{section} line {}", n + 1);
        let mut line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut done = false;
        for (prefix, d) in [("[x]", true), ("[X]", true), ("[ ]", false), ("- ", false)] {
            if let Some(rest) = line.strip_prefix(prefix) {
                done |= d;
                line = rest.trim_start();
            }
        }
        let (mut owner, mut due) = (None, None);
        if line.ends_with(')')
            && let Some(open) = line.rfind('(')
        {
            let inside = &line[open + 1..line.len() - 1];
            let keyed = inside
                .split(',')
                .all(|part| part.trim().starts_with("owner:") || part.trim().starts_with("due:"));
            if keyed {
                for part in inside.split(',') {
                    let (k, v) = part.split_once(':').unwrap_or_default();
                    let v = v.trim();
                    match k.trim() {
                        "owner" if !v.is_empty() => owner = Some(v.to_owned()),
                        "due" if !v.is_empty() => {
                            due = Some(NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                                InvalidField::new(
                                    field(),
                                    format!("due date {v:?} is not YYYY-MM-DD"),
                                )
                            })?);
                        }
                        _ => {}
                    }
                }
                line = line[..open].trim_end();
            }
        }
        items.push(ReviewItem {
            text: line.to_owned(),
            owner,
            due,
            done,
        });
    }
    Ok(items)
}

/// Items as [`parse_lines`] reads them.
pub fn format_lines(items: &[ReviewItem]) -> String {
    items
        .iter()
        .map(|i| {
            let mut extra = Vec::new();
            if let Some(o) = &i.owner {
                extra.push(format!("owner: {o}"));
            }
            if let Some(d) = i.due {
                extra.push(format!("due: {d}"));
            }
            format!(
                "[{}] {}{}",
                if i.done { "x" } else { " " },
                i.text,
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", extra.join(", "))
                }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> ReviewItem {
        ReviewItem {
            text: text.into(),
            owner: None,
            due: None,
            done: false,
        }
    }

    #[test]
    fn checking_trims_and_names_the_bad_item() {
        let sections = ReviewSections {
            summary: "  A phishing wave.  ".into(),
            went_well: vec![item(" CX saw it first ")],
            went_wrong: vec![item("slow statement"), item("   ")],
            actions: Vec::new(),
        };
        let err = sections.clone().check().unwrap_err();
        assert_eq!(err.field, "went_wrong[1].text");
        let mut ok = sections;
        ok.went_wrong.pop();
        let ok = ok.check().unwrap();
        assert_eq!(ok.summary, "A phishing wave.");
        assert_eq!(ok.went_well[0].text, "CX saw it first");
    }

    #[test]
    fn too_many_items_or_too_long_texts_are_refused() {
        let many = ReviewSections {
            actions: vec![item("x"); MAX_ITEMS + 1],
            ..Default::default()
        };
        assert_eq!(many.check().unwrap_err().field, "actions");
        let long = ReviewSections {
            went_well: vec![item(&"x".repeat(MAX_ITEM + 1))],
            ..Default::default()
        };
        assert_eq!(long.check().unwrap_err().field, "went_well[0].text");
    }

    #[test]
    fn lines_read_as_people_write_lists_and_round_trip() {
        let items = parse_lines(
            "actions",
            "[x] Runbook for phishing (owner: sam, due: 2026-12-15)\n\n- Template (owner: cora)\nCall (the bank) back",
        )
        .unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].done);
        assert_eq!(items[0].text, "Runbook for phishing");
        assert_eq!(items[0].owner.as_deref(), Some("sam"));
        assert_eq!(items[0].due, NaiveDate::from_ymd_opt(2026, 12, 15));
        assert_eq!(
            (items[1].text.as_str(), items[1].owner.as_deref()),
            ("Template", Some("cora"))
        );
        assert_eq!(
            items[2].text, "Call (the bank) back",
            "a parenthesis of words stays"
        );
        assert_eq!(
            parse_lines("actions", &format_lines(&items)).unwrap(),
            items
        );
        let err = parse_lines("went_wrong", "ok\nslow (due: soon)").unwrap_err();
        assert_eq!(err.field, "went_wrong line 2");
    }

    #[test]
    fn dates_parse_as_days_and_owners_are_listed_once() {
        let s: ReviewSections = serde_json::from_value(serde_json::json!({
            "actions": [
                {"text": "MFA for all", "owner": "sam", "due": "2026-04-01"},
                {"text": "Runbook", "owner": "sam"},
                {"text": "Template", "owner": "carol", "done": true},
            ]
        }))
        .unwrap();
        assert_eq!(s.actions[0].due, NaiveDate::from_ymd_opt(2026, 4, 1));
        assert!(s.actions[2].done);
        let owners: Vec<&str> = s.owners().into_iter().map(|(_, o)| o).collect();
        assert_eq!(owners, ["sam", "carol"]);
        assert!(
            serde_json::from_value::<ReviewSections>(
                serde_json::json!({"actions": [{"text": "x", "due": "April"}]})
            )
            .is_err()
        );
    }
}
