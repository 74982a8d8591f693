//! Cache lifetimes of the page's static files (`/pkg/*`, cargo-leptos's output, and `/editor/*`,
//! the editor bundle): a file whose name carries a hash of its content never changes, so the
//! browser may keep it for a year without asking; any other may change with the next build, so
//! the browser asks each time (`no-cache`: a cheap 304 while its Last-Modified holds).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const FOREVER: &str = "public, max-age=31536000, immutable";
const ASK_EACH_TIME: &str = "no-cache";

/// Puts the cache policy of [`asset_cache_policy`] on static files' answers.
pub async fn add_asset_cache_policy(request: Request, next: Next) -> Response {
    let policy = asset_cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    if let Some(policy) = policy {
        if response.status().is_success() || response.status().is_redirection() {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        }
    }
    response
}

/// The Cache-Control of a static file at `path`; `None` for anything else.
pub fn asset_cache_policy(path: &str) -> Option<&'static str> {
    if !(path.starts_with("/pkg/") || path.starts_with("/editor/")) {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    Some(if is_content_hashed(name) {
        FOREVER
    } else {
        ASK_EACH_TIME
    })
}

/// esbuild's chunks (`chunk-[hash].js`: 8 base-32 characters) and cargo-leptos's hashed files
/// (`hash-files = true`: `evalgrid.[hash].wasm`, an unpadded base64url MD5 of 22 characters).
fn is_content_hashed(name: &str) -> bool {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let esbuild_chunk = stem.strip_prefix("chunk-").is_some_and(|hash| {
        hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    let leptos_hashed = stem.rsplit_once('.').is_some_and(|(_, hash)| {
        hash.len() == 22
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    esbuild_chunk || leptos_hashed
}

#[cfg(test)]
mod tests {
    use super::asset_cache_policy;

    #[test]
    fn only_content_hashed_static_files_are_kept_for_good() {
        assert_eq!(
            asset_cache_policy("/editor/chunk-6PJGK2KJ.js"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            asset_cache_policy("/pkg/evalgrid.AbCdEfGhIjKlMnOpQrStUv.wasm"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(asset_cache_policy("/pkg/evalgrid.wasm"), Some("no-cache"));
        assert_eq!(asset_cache_policy("/pkg/evalgrid.css"), Some("no-cache"));
        assert_eq!(asset_cache_policy("/editor/editor.js"), Some("no-cache"));
        assert_eq!(
            asset_cache_policy("/pkg/snippets/app-0cd1cead3f0174fd/src/components/code_editor/codemirror.js"),
            Some("no-cache")
        );
        assert_eq!(asset_cache_policy("/"), None);
        assert_eq!(asset_cache_policy("/favicon.svg"), None);
        assert_eq!(asset_cache_policy("/api/images"), None);
    }
}
