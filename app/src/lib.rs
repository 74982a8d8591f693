//! evalgrid's page and the types it shares with the server. Compiled twice: to WASM (feature
//! `hydrate`) and into the server (feature `ssr`, which adds the server-only code).

#![recursion_limit = "256"]

pub mod api;
pub mod compare;
pub mod components;
#[cfg(feature = "ssr")]
pub mod export;
pub mod hints;
pub mod model;
pub mod page_address;
pub mod php_branches;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod store;
pub mod version_constraint;

use components::{Playground, SnippetPage, Theme, ThemeScript};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};

/// The HTML document around the app, rendered on the server. The embed (`/e/{id}`) is that
/// HTML alone: no WASM, no editor, nothing to hydrate (see [`components::EmbedPage`]); its
/// `?theme=light|dark` goes on `<html>` here, where the theme switch puts a chosen theme, and
/// the remembered one is not applied over it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let (path, query) = page_location();
    let embed = embed_id(&path).is_some();
    let forced_theme = embed.then(|| Theme::forced_by(&query)).flatten();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=forced_theme.and_then(Theme::name)>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                {forced_theme.is_none().then(|| view! { <ThemeScript/> })}
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                {(!embed).then(|| view! { <HydrationScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/evalgrid.css"/>
        <Title text="evalgrid · run PHP on every version"/>
        <Pages/>
    }
}

/// The server routes with leptos_router: it gives the server its route list, and the permalink
/// its `SsrMode::Async` (the whole page, results included, before the first byte).
#[cfg(feature = "ssr")]
#[component]
fn Pages() -> impl IntoView {
    use leptos_router::{
        components::{Route, Router, Routes},
        path, SsrMode, StaticSegment,
    };
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=StaticSegment("") view=|| view! { <Playground/> }/>
                <Route path=path!("/s/:id") view=SnippetPage ssr=SsrMode::Async/>
                <Route path=path!("/e/:id") view=EmbedRoute ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// A response header the embed's route puts on its answer: the server lets only answers that
/// carry it be framed, and takes it off. The route says so itself, as it is the router that
/// decides what a path shows (`/e/%2e%2e` is `/` to it); the raw path cannot tell.
pub const EMBED_MARK: &str = "x-evalgrid-embed";

/// The embed's route: its page, and the mark on its answer.
#[cfg(feature = "ssr")]
#[component]
fn EmbedRoute() -> impl IntoView {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::HeaderName::from_static(EMBED_MARK),
            http::HeaderValue::from_static("1"),
        );
    }
    view! { <components::EmbedPage/> }
}

/// The path the server's router reads in a request's `path`: the router takes the request as a
/// URL, so dot segments are resolved (`%2e` is a dot) and `\` is a `/`. `None` when it reads
/// none. The server sends odd paths to this one before anything renders them.
#[cfg(feature = "ssr")]
pub fn routed_path(path: &str) -> Option<String> {
    // As leptos_axum hands the request to the router.
    let url = leptos_router::location::RequestUrl::new(&format!("http://leptos.dev{path}"));
    url.parse().ok().map(|url| url.path().to_owned())
}

/// The browser picks the page from the address itself, without the router: the router puts
/// each page behind a type-erased view whose asynchronous hydration code is compiled for the
/// whole page, about a sixth of the WASM, never run. Each page renders the same HTML as the
/// server's route (the router adds no markers of its own). The page never navigates to another
/// page without loading it, so nothing is lost. The embed (`/e/{id}`) is not here: its HTML
/// loads no WASM (see [`shell`]), so the browser never picks a page there.
#[cfg(not(feature = "ssr"))]
#[component]
fn Pages() -> impl IntoView {
    use leptos::either::EitherOf3;
    let (path, _) = page_location();
    match path.as_str() {
        "/" => EitherOf3::A(view! { <Playground/> }),
        _ if snippet_id(&path).is_some() => EitherOf3::B(view! { <SnippetPage/> }),
        _ => EitherOf3::C(view! { <NotFound/> }),
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! { <p class="not-found">"Page not found."</p> }
}

/// The permalink id in a `/s/{id}` path.
pub fn snippet_id(path: &str) -> Option<&str> {
    id_under("/s/", path)
}

/// The snippet id in an embed's `/e/{id}` path. The server lets only these paths be framed.
pub fn embed_id(path: &str) -> Option<&str> {
    id_under("/e/", path)
}

/// The one segment after `prefix`.
fn id_under<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The path and the query (`?…` or empty) the page is at: the request's on the server, the
/// address bar's in the browser.
pub fn page_location() -> (String, String) {
    #[cfg(feature = "ssr")]
    {
        let uri = use_context::<http::request::Parts>().map(|parts| parts.uri);
        let path = uri
            .as_ref()
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|| "/".into());
        let query = uri
            .and_then(|u| u.query().map(|q| format!("?{q}")))
            .unwrap_or_default();
        (path, query)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let location = window().location();
        (
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{embed_id, snippet_id};

    #[test]
    fn only_a_permalink_path_has_a_snippet_id() {
        assert_eq!(snippet_id("/s/nzbmgw"), Some("nzbmgw"));
        assert_eq!(snippet_id("/s/"), None);
        assert_eq!(snippet_id("/s/a/b"), None);
        assert_eq!(snippet_id("/"), None);
        assert_eq!(snippet_id("/x/abc"), None);
        assert_eq!(snippet_id("/e/nzbmgw"), None);
    }

    #[test]
    fn only_an_embed_path_has_an_embed_id() {
        assert_eq!(embed_id("/e/nzbmgw"), Some("nzbmgw"));
        assert_eq!(embed_id("/e/"), None);
        assert_eq!(embed_id("/e/a/b"), None);
        assert_eq!(embed_id("/e"), None);
        assert_eq!(embed_id("/s/nzbmgw"), None);
        assert_eq!(embed_id("/api/e/x"), None);
    }
}
