//! Query strings of list routes, and their one answer shape: every parameter is checked and
//! named in its error, an unknown parameter is refused (a misspelt filter must not silently
//! list everything), and every list pages with `limit` and an opaque `cursor` that names its
//! list, so one list's cursor is refused by another.

use crate::plumbing::error::ApiError;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use frontline_core::field;
use frontline_store::Cursor;
use frontline_store::query::{DEFAULT_LIMIT, MAX_LIMIT};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

/// The checked parameters every list takes, and the route's own ones still as text.
pub(crate) struct ListParams {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: u32,
    pub after: Option<Cursor>,
    pub filters: HashMap<String, String>,
}

/// The string a client pages with: the list's name and the last row's position, with a
/// check so that a cursor edited by hand or cut short is refused rather than read as some
/// other position. (It is no secret: a cursor only says where a list the caller may read
/// goes on.)
pub(crate) fn encode_cursor(list: &str, c: &Cursor) -> String {
    let body = format!("{list}:{}:{}", c.at_micros, c.seq);
    let check = check(&body);
    URL_SAFE_NO_PAD.encode(format!("{body}:{check}"))
}

fn check(body: &str) -> String {
    let digest = Sha256::digest(format!("frontline cursor\0{body}"));
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a cursor [`encode_cursor`] made for `list`.
///
/// # Errors
/// 400 naming `cursor` for anything else, a cursor of another list included.
pub(crate) fn decode_cursor(list: &str, s: &str) -> Result<Cursor, ApiError> {
    let bad = |why: &str| {
        ApiError::bad_parameter(
            "cursor",
            format!("cursor: {why}; pass the next_cursor of this list's previous page"),
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("not a cursor returned by this API"))?;
    let (body, sum) = text
        .rsplit_once(':')
        .ok_or_else(|| bad("not a cursor returned by this API"))?;
    if check(body) != sum {
        return Err(bad("not a cursor returned by this API"));
    }
    let mut parts = body.split(':');
    let (Some(name), Some(at), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a cursor returned by this API"));
    };
    if name != list {
        return Err(bad(&format!("a cursor of another list ({name})")));
    }
    match (at.parse(), seq.parse()) {
        (Ok(at_micros), Ok(seq)) => Ok(Cursor { at_micros, seq }),
        _ => Err(bad("not a cursor returned by this API")),
    }
}

/// A cursor that holds only a position in a list ordered by one number (a seq or an id).
pub(crate) fn position_cursor(list: &str, seq: i64) -> String {
    encode_cursor(list, &Cursor { at_micros: 0, seq })
}

/// The paging parameters of a list without time filters, and the route's own ones as text.
pub(crate) struct Paging {
    pub limit: u32,
    pub after: Option<i64>,
    pub filters: HashMap<String, String>,
}

/// Checks the `limit`, `cursor` and `filters` of a list `list` that has no time filters.
pub(crate) fn paging(
    pairs: Vec<(String, String)>,
    list: &str,
    filters: &[&str],
) -> Result<Paging, ApiError> {
    let p = parse_untimed(pairs, list, filters)?;
    Ok(Paging {
        limit: p.limit,
        after: p.after.map(|c| c.seq),
        filters: p.filters,
    })
}

/// One page of a short list held whole in memory (configuration, an incident's statements),
/// in ascending order of `key` (unique): the items after the cursor's key, at most `limit`,
/// and the next cursor when more follow. Keyed, not counted, so an item added or removed
/// between two pages neither repeats nor hides another.
pub(crate) fn page_of<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> i64,
    paging: &Paging,
    list: &str,
) -> (Vec<T>, Option<String>) {
    let limit = paging.limit as usize;
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|t| paging.after.is_none_or(|after| key(t) > after))
        .take(limit + 1)
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = rest
        .last()
        .filter(|_| more)
        .map(|t| position_cursor(list, key(t)));
    (rest, next)
}

/// One page of a short list whose items have no number of their own (configuration held
/// by name): its position stands for the key.
pub(crate) fn page_by_position<T>(
    items: Vec<T>,
    paging: &Paging,
    list: &str,
) -> (Vec<T>, Option<String>) {
    let numbered: Vec<(i64, T)> = (0..).zip(items).collect();
    let (page, next) = page_of(numbered, |(n, _)| *n, paging, list);
    (page.into_iter().map(|(_, t)| t).collect(), next)
}

/// A route's query string as name-value pairs, or 400.
pub(crate) fn pairs(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Vec<(String, String)>, ApiError> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))
}

/// Checks `pairs` of list `list`; `filters` names the route's own parameters.
pub(crate) fn parse(
    pairs: Vec<(String, String)>,
    list: &str,
    filters: &[&str],
) -> Result<ListParams, ApiError> {
    parse_checked(pairs, list, filters, true)
}

/// Checks `pairs` of list `list` that has no time filters, its cursor whole.
pub(crate) fn parse_untimed(
    pairs: Vec<(String, String)>,
    list: &str,
    filters: &[&str],
) -> Result<ListParams, ApiError> {
    parse_checked(pairs, list, filters, false)
}

fn parse_checked(
    pairs: Vec<(String, String)>,
    list: &str,
    filters: &[&str],
    times: bool,
) -> Result<ListParams, ApiError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (name, value) in pairs {
        let known = matches!(name.as_str(), "limit" | "cursor")
            || (times && matches!(name.as_str(), "since" | "until"))
            || filters.contains(&name.as_str());
        if !known {
            let mut all = if times {
                vec!["since", "until", "limit", "cursor"]
            } else {
                vec!["limit", "cursor"]
            };
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
        .map(|c| decode_cursor(list, &c))
        .transpose()?;
    Ok(ListParams {
        since,
        until,
        limit,
        after,
        filters: seen,
    })
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
            let err = parse(pairs(&list), "contacts", &["source"]).err().unwrap();
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
            "contacts",
            &["source"],
        )
        .unwrap();
        assert_eq!(p.limit, 5);
        assert_eq!(p.filters["source"], "zendesk");
        assert!(p.since.is_some());
    }

    #[test]
    fn a_cursor_reads_back_only_in_its_own_list_and_only_untouched() {
        let c = Cursor {
            at_micros: 1_764_000_000_000_000,
            seq: 42,
        };
        let text = encode_cursor("contacts", &c);
        assert_eq!(decode_cursor("contacts", &text).unwrap(), c);
        let other = format!("{:?}", decode_cursor("alerts", &text).err().unwrap());
        assert!(other.contains("another list (contacts)"), "{other}");
        // Edited by hand: the position changed, the check did not.
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(&text).unwrap()).unwrap();
        let edited = URL_SAFE_NO_PAD.encode(plain.replacen(":42:", ":41:", 1));
        assert!(decode_cursor("contacts", &edited).is_err());
        for bad in ["", "x", &text[..text.len() - 2], "djE6MTox"] {
            let err = decode_cursor("contacts", bad).err().unwrap();
            assert!(format!("{err:?}").contains("cursor"), "{bad}");
        }
    }

    #[test]
    fn a_short_list_pages_by_key_to_its_end() {
        let paging = |after, limit| Paging {
            limit,
            after,
            filters: HashMap::new(),
        };
        let (page, next) = page_of(vec![1, 2, 3], |n| *n, &paging(None, 2), "t");
        assert_eq!(page, [1, 2]);
        let after = decode_cursor("t", &next.unwrap()).unwrap().seq;
        // The item at the cursor went away between pages: the next still starts after it.
        let (page, next) = page_of(vec![1, 3], |n| *n, &paging(Some(after), 2), "t");
        assert_eq!((page, next), (vec![3], None));
        let (page, next) = page_of(vec![1, 2, 3], |n| *n, &paging(None, 3), "t");
        assert_eq!((page, next), (vec![1, 2, 3], None));
    }
}
