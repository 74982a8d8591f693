//! Paths a browser would not send for a page (`/s/{id}/`, `/e/%2e%2e`, `/e/x/..`, `//`) are
//! sent to the one path they stand for, before anything renders them: the page's router reads
//! the request as a URL (dot segments resolved, `%2e` a dot, `\` a slash), while the server's
//! routes, the page's own code and the framing decision would read the raw path. So every
//! page is rendered only at the path its router matched, and a trailing slash finds the page
//! (issue 23).

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `GET`/`HEAD` of a path that is not canonical: `308` to the canonical one, with the query;
/// any other method there, or a path the router cannot read at all: `404`. Canonical paths go
/// on unchanged.
pub async fn redirect_odd_paths(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let Some(canonical) = canonical_path(path) else {
        return not_found();
    };
    if canonical == path {
        return next.run(request).await;
    }
    // Any other method at an odd path would reach the fallback, which renders the page its
    // router reads there, past the page views' quota and their render pool.
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return not_found();
    }
    let location = match request.uri().query() {
        Some(query) => format!("{canonical}?{query}"),
        None => canonical,
    };
    let Ok(value) = HeaderValue::from_str(&location) else {
        return not_found();
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>evalgrid</title></head>\
         <body><p>This page is at <a href=\"{0}\">{0}</a>.</p></body></html>\n",
        escape(&location)
    );
    let mut response = (StatusCode::PERMANENT_REDIRECT, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, value);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The path `path` stands for: as the page's router reads it ([`app::routed_path`]), with one
/// leading slash (`//host/x` must never become a `Location`: a browser would go to `host`), and
/// without trailing slashes where that is a page (`/s/{id}/`); elsewhere they stay, as static
/// directories are answered with one (`/pkg` → `/pkg/`). `None` when the router reads no path
/// in it.
fn canonical_path(path: &str) -> Option<String> {
    let routed = app::routed_path(path)?;
    let canonical = format!("/{}", routed.trim_start_matches('/'));
    let page = canonical.trim_end_matches('/');
    let is_page = page.is_empty() || app::snippet_id(page).is_some() || app::embed_id(page).is_some();
    Some(match is_page {
        true if page.is_empty() => "/".to_owned(),
        true => page.to_owned(),
        false => canonical,
    })
}

fn not_found() -> Response {
    let page =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>evalgrid</title></head>\
                <body><p class=\"not-found\">Page not found.</p></body></html>\n";
    let mut response = (StatusCode::NOT_FOUND, page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::canonical_path;

    fn canonical(path: &str) -> String {
        canonical_path(path).unwrap_or_else(|| "none".into())
    }

    #[test]
    fn page_paths_are_canonical() {
        for path in [
            "/",
            "/s/nzbmgw",
            "/e/nzbmgw",
            "/pkg/evalgrid.css",
            "/pkg/",
            "/pkg",
            "/api/run",
            "/api/",
            "/s/",
            "/s/%00",
            "/e/%2F",
            "/a//b",
            "/a/b/",
        ] {
            assert_eq!(canonical(path), path);
        }
    }

    #[test]
    fn odd_paths_stand_for_the_path_the_router_reads() {
        for (odd, meant) in [
            ("/s/nzbmgw/", "/s/nzbmgw"),
            ("/e/nzbmgw//", "/e/nzbmgw"),
            ("/e/%2e%2e", "/"),
            ("/e/%2E%2e/", "/"),
            ("/e/x/..", "/e/"),
            ("/e/.", "/e/"),
            ("/e/x/%2e%2e/abc", "/e/abc"),
            ("/x/../e/abc", "/e/abc"),
            ("/e/./abc/", "/e/abc"),
            ("//", "/"),
            ("///", "/"),
            ("//evil.example/", "/evil.example/"),
            ("//evil.example/e/abc", "/evil.example/e/abc"),
            ("//e/abc", "/e/abc"),
            ("/\\evil.example", "/evil.example"),
            ("/a/..//evil.example", "/evil.example"),
            ("/a/..//", "/"),
        ] {
            assert_eq!(canonical(odd), meant, "{odd}");
        }
    }
}
