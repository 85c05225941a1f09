//! Answering for the status page: from the pages in memory, with an `ETag` and `304`, the
//! language the reader asked for, strict headers, and a fast path ahead of the router.

use super::*;

#[derive(Debug, serde::Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

/// The language to serve: `?lang=`, else the first of `Accept-Language` (by weight) that a
/// page exists for, else English.
fn choose(
    available: &HashMap<String, Rendered>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> String {
    if let Some(l) = query.map(str::to_ascii_lowercase)
        && available.contains_key(&l)
    {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut wanted: Vec<(f32, String)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.trim().split(';');
            let tag = it.next()?.trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                .unwrap_or(1.0);
            (!tag.is_empty()).then_some((q, tag))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, tag) in wanted {
        if available.contains_key(&tag) {
            return tag;
        }
        if let Some(primary) = tag.split('-').next()
            && available.contains_key(primary)
        {
            return primary.to_owned();
        }
    }
    DEFAULT_LANG.to_owned()
}

/// The status page's own stylesheet (the template's one `<style>` element), allowed by its
/// hash: the page needs nothing else but its subscription form posting to this server.
static HTML_POLICY: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    let template = include_str!("../../../templates/status.html");
    let style = template
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map_or("", |(css, _)| css);
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src {}; img-src data:; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'",
        crate::web::sha256_source(style)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// The most exposed answers of the server get the strictest headers: a policy that allows
/// nothing but the page's own stylesheet and form (and nothing at all for the JSON and the
/// feed), no type sniffing, no framing, and no referrer leaking to linked sites.
pub(super) fn harden(content_type: &str) -> HeaderMap {
    let policy = if content_type.starts_with("text/html") {
        HTML_POLICY.clone()
    } else {
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
    };
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
}

fn answer(page: Option<&Rendered>, headers: &HeaderMap) -> Response {
    let Some(page) = page else {
        // The first build has not finished (a second after start at most).
        let mut r = (
            StatusCode::SERVICE_UNAVAILABLE,
            "the status page is starting",
        )
            .into_response();
        r.headers_mut().extend(harden("text/plain"));
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| none_match_hits(v, page.etag.to_str().unwrap_or_default()));
    if fresh {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        *r.headers_mut() = page.not_modified.clone();
        r
    } else {
        let mut r = Response::new(Body::from(page.body.clone()));
        *r.headers_mut() = page.full.clone();
        r
    }
}

/// Whether an `If-None-Match` value names `etag`. The comparison is weak (RFC 9110, 13.1.2):
/// `W/"x"` matches `"x"`, since caches and proxies mark tags weak when they recompress.
fn none_match_hits(value: &str, etag: &str) -> bool {
    // On every conditional request to the public pages: no allocation.
    fn opaque(t: &str) -> &str {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t)
    }
    let etag = opaque(etag);
    value
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == etag)
}

/// Which representation a route serves.
#[derive(Clone, Copy)]
enum Kind {
    Html,
    Json,
    Atom,
}

fn serve(state: &AppState, kind: Kind, lang: Option<&str>, headers: &HeaderMap) -> Response {
    let Ok(pages) = state.status.read() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match kind {
        Kind::Html => {
            let lang = choose(&pages.html, lang, headers);
            answer(pages.html.get(&lang), headers)
        }
        Kind::Atom => {
            let lang = choose(&pages.atom, lang, headers);
            answer(pages.atom.get(&lang), headers)
        }
        Kind::Json => answer(pages.json.as_ref(), headers),
    }
}

/// The status page's shortest path, ahead of the router and its middleware: a plain `GET` of
/// a page (no query) is answered from memory, with the headers it always carries, and counted
/// in the request metrics. A request id, a log line and the in-flight bound would cost more
/// than the answer; anything else (`?lang=`, `HEAD`) takes the routed path.
pub fn fast_path(state: AppState) -> crate::plumbing::serve::FastPath {
    const ROUTES: [(&str, Kind); 3] = [
        ("/status", Kind::Html),
        ("/status.json", Kind::Json),
        ("/status/feed.atom", Kind::Atom),
    ];
    // Each route's histograms of its usual answers, found once.
    let usual = ROUTES.map(|(route, _)| {
        [StatusCode::OK, StatusCode::NOT_MODIFIED]
            .map(|status| state.ops.request_histogram("GET", route, status))
    });
    std::sync::Arc::new(move |method, uri, headers| {
        if method != axum::http::Method::GET || uri.query().is_some() {
            return None;
        }
        let n = ROUTES.iter().position(|(route, _)| *route == uri.path())?;
        let started = std::time::Instant::now();
        let response = serve(&state, ROUTES[n].1, None, headers);
        let took = started.elapsed();
        match response.status() {
            StatusCode::OK => usual[n][0].observe(took.as_secs_f64()),
            StatusCode::NOT_MODIFIED => usual[n][1].observe(took.as_secs_f64()),
            other => state.ops.observe_request("GET", ROUTES[n].0, other, took),
        }
        Some(response)
    })
}

pub(super) async fn html(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    serve(&state, Kind::Html, q.lang.as_deref(), &headers)
}

pub(super) async fn json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, Kind::Json, None, &headers)
}

pub(super) async fn atom(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    serve(&state, Kind::Atom, q.lang.as_deref(), &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly() {
        let etag = "\"abc\"";
        assert!(none_match_hits("\"abc\"", etag));
        assert!(none_match_hits("W/\"abc\"", etag));
        assert!(none_match_hits("\"x\", W/\"abc\"", etag));
        assert!(none_match_hits("*", etag));
        assert!(!none_match_hits("\"abcd\"", etag));
        assert!(!none_match_hits("W/\"x\"", etag));
    }
}
