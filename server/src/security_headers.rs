//! Security headers on every response (SECURITY.md, "Stored XSS on /s/{id}" and "Framing"): a
//! Content-Security-Policy that lets only the page's own scripts run, `nosniff` and a referrer
//! policy. Defence in depth: the page escapes what users wrote; if an escape were ever missed,
//! an injected script still would not run. Only the embed (`/e/{id}`) may be framed, by the
//! sites `--embed-ancestors` names; every other answer refuses framing twice over (CSP
//! `frame-ancestors 'none'` and, for browsers without it, `X-Frame-Options: DENY`). Which answer
//! is the embed's, the embed route says itself (it marks its response, [`app::EMBED_MARK`]):
//! never the raw path, which the router reads otherwise (`/e/%2e%2e` is `/` to it; issue 23).

use axum::extract::{Request, State};
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
/// the CSSOM, which no policy blocks. Fetches, the WASM included, only to this origin. Framing:
/// by `frame_ancestors` (a CSP source list: `'none'`, or who may embed the page).
pub fn content_security_policy(nonce: &str, frame_ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; \
         img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {frame_ancestors}"
    )
}

/// Gives each request a fresh nonce (in its extensions, for [`provide_request_nonce`]) and puts
/// the policy with that nonce on its response: framing allowed to `embed_ancestors` on the
/// answers the embed route marked as its own (the mark is taken off), refused everywhere else,
/// there also by `X-Frame-Options` for browsers that know no `frame-ancestors` (the embed must
/// not carry it: it knows no "these sites may").
pub async fn add_content_security_policy(
    State(embed_ancestors): State<FrameAncestors>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let embed = response.headers_mut().remove(app::EMBED_MARK).is_some();
    let frame_ancestors = match embed {
        true => embed_ancestors.as_str(),
        false => "'none'",
    };
    let policy = HeaderValue::from_str(&content_security_policy(&nonce, frame_ancestors))
        .expect("a nonce is URL-safe base64 and the ancestors were validated: valid in a header");
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    if embed {
        headers.remove(header::X_FRAME_OPTIONS);
    } else {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Who may frame the embed (`--embed-ancestors`): a CSP `frame-ancestors` source list, checked
/// when it is read so that nothing else can slip into the policy. `*` (any site, the default),
/// `'self'`, `'none'` (alone: no site may), schemes (`https:`) and hosts
/// (`https://docs.example.com`, `*.example.com`, `example.com:8443`, with a path or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameAncestors(String);

impl FrameAncestors {
    /// The source list as the policy writes it: sources separated by a space.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for FrameAncestors {
    fn default() -> Self {
        Self("*".into())
    }
}

impl std::fmt::Display for FrameAncestors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for FrameAncestors {
    type Err = String;

    /// Sources separated by commas or spaces.
    fn from_str(text: &str) -> Result<Self, String> {
        let sources: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|source| !source.is_empty())
            .collect();
        if sources.is_empty() {
            return Err("must name at least one source, e.g. '*' or https://docs.example.com".into());
        }
        // A shell eats the quotes of `--embed-ancestors 'self'`; the bare word would be a host.
        if let Some(bare) = sources
            .iter()
            .find(|s| ["self", "none"].iter().any(|k| s.eq_ignore_ascii_case(k)))
        {
            return Err(format!(
                "{bare:?} needs its single quotes: '{bare}' (quote them for the shell: \"'{bare}'\")"
            ));
        }
        if let Some(bad) = sources.iter().find(|source| !is_ancestor_source(source)) {
            return Err(format!(
                "{bad:?} is not a frame-ancestors source: use *, 'self', 'none', a scheme like \
                 https: or a host like https://docs.example.com or *.example.com"
            ));
        }
        let none = |source: &&str| source.eq_ignore_ascii_case("'none'");
        if sources.len() > 1 && sources.iter().any(none) {
            return Err("'none' must be alone".into());
        }
        Ok(Self(sources.join(" ")))
    }
}

/// A source of CSP's `frame-ancestors` (CSP 3's `ancestor-source`): `*`, `'self'`, `'none'`,
/// a `scheme-source` or a `host-source`. Nothing that could end the directive (`;`, `,`,
/// spaces) or quote anything else passes.
fn is_ancestor_source(source: &str) -> bool {
    let keyword = ["*", "'self'", "'none'"]
        .iter()
        .any(|k| source.eq_ignore_ascii_case(k));
    keyword || is_scheme_source(source) || is_host_source(source)
}

/// `https:`: a scheme and a colon.
fn is_scheme_source(source: &str) -> bool {
    source.strip_suffix(':').is_some_and(is_scheme)
}

/// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
fn is_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// `[scheme "://"] host [":" port] [path]`: host `*`, or labels of letters, digits and `-`,
/// the first of them may be `*`; port digits or `*`; a path of URL characters.
fn is_host_source(source: &str) -> bool {
    let rest = match source.split_once("://") {
        Some((scheme, rest)) if is_scheme(scheme) => rest,
        Some(_) => return false,
        None => source,
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let host_ok = host == "*" || {
        let host = host.strip_prefix("*.").unwrap_or(host);
        let host = host.strip_suffix('.').unwrap_or(host);
        host.split('.').all(label)
    };
    let port_ok = port.is_none_or(|p| p == "*" || (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit())));
    let path_ok = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&()*+=:@".contains(c));
    host_ok && port_ok && path_ok
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

#[cfg(test)]
mod tests {
    use super::FrameAncestors;

    fn ancestors(text: &str) -> Result<String, String> {
        text.parse::<FrameAncestors>().map(|a| a.as_str().to_owned())
    }

    #[test]
    fn frame_ancestors_take_csp_sources_only() {
        assert_eq!(ancestors("*").unwrap(), "*");
        assert_eq!(ancestors("'none'").unwrap(), "'none'");
        assert_eq!(
            ancestors("'self', https://docs.example.com,*.example.org:8443 https:").unwrap(),
            "'self' https://docs.example.com *.example.org:8443 https:"
        );
        assert_eq!(
            ancestors("http://127.0.0.1:*/blog/post-1").unwrap(),
            "http://127.0.0.1:*/blog/post-1"
        );
        for bad in [
            "",
            " , ",
            "*; script-src *",
            "https://a.example;",
            "'unsafe-inline'",
            "self",
            "https://exa_mple.com",
            "https://a.example/<x>",
            "https://[::1]",
            "https://a.example:80x",
            "https://a.*.example",
            "'none' https://a.example",
            "https://a.example/\"pwn",
            "ex\u{e4}mple.com",
            "1https:",
        ] {
            assert!(ancestors(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
