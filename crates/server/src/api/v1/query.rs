//! Query strings of list routes: every parameter is checked and named in its error, and an
//! unknown parameter is refused (a misspelt filter must not silently list everything).

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use frontline_core::field;
use frontline_store::Cursor;
use frontline_store::query::{DEFAULT_LIMIT, MAX_LIMIT};
use std::collections::HashMap;

/// The checked parameters every list takes, and the route's own ones still as text.
pub(crate) struct ListParams {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: u32,
    pub after: Option<Cursor>,
    pub filters: HashMap<String, String>,
}

/// Checks `pairs`; `filters` names the route's own parameters.
pub(crate) fn parse(
    pairs: Vec<(String, String)>,
    filters: &[&str],
) -> Result<ListParams, ApiError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (name, value) in pairs {
        let known = matches!(name.as_str(), "since" | "until" | "limit" | "cursor")
            || filters.contains(&name.as_str());
        if !known {
            let mut all = vec!["since", "until", "limit", "cursor"];
            all.extend_from_slice(filters);
            return Err(ApiError::bad_parameter(
                &name,
                format!(
                    "unknown query parameter `{name}`; known: {}",
                    all.join(", ")
                ),
            ));
        }
        if seen.insert(name.clone(), value).is_some() {
            return Err(ApiError::bad_parameter(
                &name,
                format!("`{name}` is given more than once"),
            ));
        }
    }
    let time = |name: &str, seen: &mut HashMap<String, String>| {
        seen.remove(name)
            .map(|v| {
                field::timestamp(&v, name).map_err(|e| ApiError::bad_parameter(name, e.to_string()))
            })
            .transpose()
    };
    let since = time("since", &mut seen)?;
    let until = time("until", &mut seen)?;
    let limit = match seen.remove("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_parameter(
                    "limit",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let after = seen
        .remove("cursor")
        .map(|c| {
            Cursor::decode(&c).map_err(|e| {
                ApiError::bad_parameter(
                    "cursor",
                    format!("cursor: {e}; pass the next_cursor of the previous page"),
                )
            })
        })
        .transpose()?;
    Ok(ListParams {
        since,
        until,
        limit,
        after,
        filters: seen,
    })
}

/// The parameters of a feed read (`after`, a `seq`; `limit`, default and most 1000); any
/// other parameter is refused.
pub(crate) fn after_and_limit(pairs: Vec<(String, String)>) -> Result<(i64, u32), ApiError> {
    let (mut after, mut limit) = (0, MAX_LIMIT);
    for (name, value) in pairs {
        match name.as_str() {
            "after" => {
                after = value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        ApiError::bad_parameter(
                            "after",
                            "after must be a seq (a whole number >= 0)",
                        )
                    })?;
            }
            "limit" => {
                limit = value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_parameter(
                            "limit",
                            format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            other => {
                return Err(ApiError::bad_parameter(
                    other,
                    format!("unknown parameter `{other}`; known: after, limit"),
                ));
            }
        }
    }
    Ok((after, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (list, field) in [
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "1001")], "limit"),
            (vec![("limit", "ten")], "limit"),
            (vec![("since", "yesterday")], "since"),
            (vec![("cursor", "garbage")], "cursor"),
            (vec![("chanel", "chat")], "chanel"),
            (vec![("source", "a"), ("source", "b")], "source"),
        ] {
            let err = parse(pairs(&list), &["source"]).err().unwrap();
            assert_eq!(err.status(), 400);
            let body = format!("{err:?}");
            assert!(body.contains(field), "{body}");
        }
    }

    #[test]
    fn good_parameters_parse() {
        let p = parse(
            pairs(&[
                ("limit", "5"),
                ("source", "zendesk"),
                ("since", "2026-11-25T00:00:00Z"),
            ]),
            &["source"],
        )
        .unwrap();
        assert_eq!(p.limit, 5);
        assert_eq!(p.filters["source"], "zendesk");
        assert!(p.since.is_some());
    }
}
