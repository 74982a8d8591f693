//! Security headers (SECURITY.md, "Stored XSS on /s/{id}"): every response says `nosniff` and
//! its referrer policy, and carries a Content-Security-Policy whose nonce is the one on the
//! page's own scripts, fresh for every request.

mod common;

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

/// Asserts the headers every response carries; returns the policy.
fn assert_common_headers(response: &reqwest::Response) -> String {
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
        "frame-ancestors 'none'",
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
/// nonce.
async fn assert_page_scripts_carry_the_policy_nonce(
    server: &TestServer,
    path: &str,
    status: StatusCode,
) -> String {
    let response = server.get(path).await;
    assert_eq!(response.status(), status, "{path}");
    let policy = assert_common_headers(&response);
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
