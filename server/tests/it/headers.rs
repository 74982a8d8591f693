//! Security headers (SECURITY.md, "Stored XSS on /s/{id}" and "Framing"): every response says
//! `nosniff` and its referrer policy, and carries a Content-Security-Policy whose nonce is the
//! one on the page's own scripts, fresh for every request. Only the embed (`/e/{id}`) may be
//! framed; everything else refuses it by the policy and by `X-Frame-Options`.

use crate::common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::json;

/// The nonce in a policy's `script-src`.
fn policy_nonce(policy: &str) -> &str {
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {policy:?}"));
    let start = script_src.find("'nonce-").expect("a nonce in script-src") + "'nonce-".len();
    let end = start + script_src[start..].find('\'').unwrap();
    &script_src[start..end]
}

/// Every `<script …>` opening tag of a page.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script")
        .map(|(at, _)| &html[at..at + html[at..].find('>').unwrap() + 1])
        .collect()
}

/// Asserts the headers every response carries, framing refused; returns the policy.
fn assert_common_headers(response: &reqwest::Response) -> String {
    let policy = assert_headers_but_framing(response);
    assert_framing_refused(response);
    policy
}

/// `frame-ancestors 'none'` and `X-Frame-Options: DENY`.
fn assert_framing_refused(response: &reqwest::Response) {
    let what = response.url().path();
    let policy = response.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(
        frame_ancestors(policy),
        Some("'none'"),
        "{what}: framing not refused in {policy:?}"
    );
    assert_eq!(
        response
            .headers()
            .get("x-frame-options")
            .map(|v| v.to_str().unwrap()),
        Some("DENY"),
        "{what}: no X-Frame-Options: DENY"
    );
}

/// `frame-ancestors` as given (`ancestors`) and no `X-Frame-Options`, which would refuse the
/// frame in browsers that know no `frame-ancestors`.
fn assert_framing_allowed(response: &reqwest::Response, ancestors: &str) {
    let what = response.url().path();
    let policy = response.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(frame_ancestors(policy), Some(ancestors), "{what}: {policy:?}");
    assert!(
        response.headers().get("x-frame-options").is_none(),
        "{what}: X-Frame-Options on the embed: {:?}",
        response.headers().get("x-frame-options")
    );
}

/// The source list of a policy's `frame-ancestors` (there must be one, and only one).
fn frame_ancestors(policy: &str) -> Option<&str> {
    let mut found = policy
        .split(';')
        .map(str::trim)
        .filter_map(|directive| directive.strip_prefix("frame-ancestors "));
    let first = found.next();
    assert!(found.next().is_none(), "two frame-ancestors in {policy:?}");
    first
}

/// Asserts the headers every response carries, whatever its framing; returns the policy.
fn assert_headers_but_framing(response: &reqwest::Response) -> String {
    let headers = response.headers();
    let what = response.url().path();
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    let policy = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "object-src 'none'",
        "base-uri 'none'",
        "connect-src 'self'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(
            policy.contains(directive),
            "{what}: {directive} missing in {policy:?}"
        );
    }
    assert!(!policy.contains("'unsafe-inline'"), "{what}: {policy:?}");
    assert!(!policy.contains("'unsafe-eval'"), "{what}: {policy:?}");
    policy
}

/// Fetches an HTML page and checks that its scripts carry the nonce of its policy; returns the
/// nonce. The page refuses to be framed, unless it is an embed.
async fn assert_page_scripts_carry_the_policy_nonce(
    server: &TestServer,
    path: &str,
    status: StatusCode,
) -> String {
    let response = server.get(path).await;
    assert_eq!(response.status(), status, "{path}");
    let policy = assert_headers_but_framing(&response);
    match path.starts_with("/e/") {
        true => assert_framing_allowed(&response, "*"),
        false => assert_framing_refused(&response),
    }
    let nonce = policy_nonce(&policy).to_owned();
    assert!(nonce.len() >= 16, "{path}: a nonce of {} characters", nonce.len());
    // The code editor's <style> elements carry the page's nonce (the scripts hand it over).
    assert!(
        policy.contains(&format!("style-src 'self' 'nonce-{nonce}';")),
        "{path}: style-src without the nonce in {policy:?}"
    );
    let html = response.text().await.unwrap();
    let scripts = script_tags(&html);
    assert!(!scripts.is_empty(), "{path}: the page has no scripts");
    for script in scripts {
        assert!(
            script.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: {script} lacks the nonce {nonce}"
        );
    }
    nonce
}

#[tokio::test]
async fn pages_carry_a_fresh_nonce_that_their_scripts_share() {
    let server = TestServer::start().await;
    let first = assert_page_scripts_carry_the_policy_nonce(&server, "/", StatusCode::OK).await;
    let second = assert_page_scripts_carry_the_policy_nonce(&server, "/", StatusCode::OK).await;
    assert_ne!(first, second, "the nonce must differ between requests");

    // A permalink page: rendered after its data is loaded (the resources' scripts too).
    let saved = server
        .post_json(
            "/api/run",
            json!({ "code": "<?php echo 'headers';", "images": ["php:8.4-cli"], "save": true }),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let id = saved.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let permalink =
        assert_page_scripts_carry_the_policy_nonce(&server, &format!("/s/{id}"), StatusCode::OK).await;
    assert_ne!(permalink, second);

    // Pages rendered as errors too.
    assert_page_scripts_carry_the_policy_nonce(&server, "/s/nosuchsnippet", StatusCode::NOT_FOUND).await;
    assert_page_scripts_carry_the_policy_nonce(&server, "/no/such/page", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn api_answers_and_errors_carry_the_headers_too() {
    let server = TestServer::start().await;
    for path in ["/api/images", "/api/health", "/api/snippets/nosuchsnippet"] {
        assert_common_headers(&server.get(path).await);
    }
    let refused = server
        .post_json("/api/run", json!({ "code": "", "images": [] }))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_common_headers(&refused);
    let ran = server
        .post_json(
            "/api/run/stream",
            common::run_body("<?php echo 1;", &["php:8.4-cli"]),
        )
        .await;
    assert_eq!(ran.status(), StatusCode::OK);
    assert_common_headers(&ran);
}

/// Saves `code` (run on PHP 8.4) and returns its id.
async fn save(server: &TestServer, code: &str) -> String {
    let saved = server
        .post_json(
            "/api/run",
            json!({ "code": code, "images": ["php:8.4-cli"], "save": true }),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    saved.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn only_the_embed_may_be_framed() {
    let server = TestServer::start().await;
    let id = save(&server, "<?php echo 'framed ', PHP_MAJOR_VERSION;").await;

    // The embed, found or not (its 404 shows inside the frame): any site may frame it, by
    // default; the rest of the policy is the pages' (its inline theme script has the nonce).
    for (path, status) in [
        (format!("/e/{id}"), StatusCode::OK),
        (format!("/e/{id}?theme=dark"), StatusCode::OK),
        ("/e/nosuchsnippet".to_owned(), StatusCode::NOT_FOUND),
    ] {
        let response = server.get(&path).await;
        assert_eq!(response.status(), status, "{path}");
        assert_headers_but_framing(&response);
        assert_framing_allowed(&response, "*");
    }
    assert_page_scripts_carry_the_policy_nonce(&server, &format!("/e/{id}"), StatusCode::OK).await;

    // Everything else refuses to be framed: pages, the permalink, API answers, static files,
    // errors, and paths that only look like an embed's.
    let refused = [
        "/".to_owned(),
        format!("/s/{id}"),
        format!("/api/snippets/{id}"),
        "/api/images".to_owned(),
        "/api/health".to_owned(),
        "/favicon.svg".to_owned(),
        "/no/such/page".to_owned(),
        format!("/e/{id}/x"),
        "/e/".to_owned(),
        format!("/api/e/{id}"),
        format!("/s/{id}?theme=dark"),
    ];
    for path in &refused {
        assert_common_headers(&server.get(path).await);
    }
    let ran = server
        .post_json("/api/run", common::run_body("<?php echo 1;", &["php:8.4-cli"]))
        .await;
    assert_eq!(ran.status(), StatusCode::OK);
    assert_common_headers(&ran);
}

#[tokio::test]
async fn embed_ancestors_name_who_may_frame_the_embed() {
    let server = TestServer::setup()
        .with(|c| {
            c.embedding.embed_ancestors = "'self', https://docs.example.com *.blog.example".parse().unwrap()
        })
        .start()
        .await;
    let embed = server.get("/e/nosuchsnippet").await;
    assert_eq!(embed.status(), StatusCode::NOT_FOUND);
    assert_framing_allowed(&embed, "'self' https://docs.example.com *.blog.example");
    assert_common_headers(&server.get("/").await);
}
