//! Security headers on every response (SECURITY.md, "Stored XSS on /s/{id}"): a
//! Content-Security-Policy that lets only the page's own scripts run, `nosniff` and a referrer
//! policy. Defence in depth: the page escapes what users wrote; if an escape were ever missed,
//! an injected script still would not run.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy for a page whose inline scripts carry `nonce`. Scripts: Leptos' inline ones (the
/// nonce), the app's module from `/pkg` ('self') and its WASM ('wasm-unsafe-eval'); no
/// 'strict-dynamic', as Leptos preloads the module with a `<link>` that carries no nonce.
/// Styles: this origin's files and `<style>` elements carrying the nonce (the code editor,
/// CodeMirror, adds its own and is given the nonce); the app and CodeMirror set sizes through
/// the CSSOM, which no policy blocks. Fetches, the WASM included, only to this origin.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; \
         img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Gives each request a fresh nonce (in its extensions, for [`provide_request_nonce`]) and puts
/// the policy with that nonce on its response.
pub async fn add_content_security_policy(mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let policy = HeaderValue::from_str(&content_security_policy(&nonce))
        .expect("a nonce is URL-safe base64, valid in a header");
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy);
    response
}

/// For Leptos' render context: the page's scripts get the nonce of the request's header (Leptos
/// would otherwise make up one of its own, which no header names).
pub fn provide_request_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// `X-Content-Type-Options: nosniff`: a JSON answer or an uploaded text is never run as a
/// script or styled as CSS.
pub fn no_sniffing() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    )
}

/// `Referrer-Policy: no-referrer`: a permalink (anyone with it can read the code) is not sent
/// to other sites.
pub fn no_referrer() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"))
}
