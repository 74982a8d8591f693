//! evalgrid's page and the types it shares with the server. Compiled twice: to WASM (feature
//! `hydrate`) and into the server (feature `ssr`, which adds the server-only code).

#![recursion_limit = "256"]

pub mod api;
pub mod compare;
pub mod components;
pub mod hints;
pub mod model;
pub mod page_address;
pub mod php_branches;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod store;

use components::{Playground, SnippetPage, ThemeScript};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode, StaticSegment,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <ThemeScript/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
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
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=|| view! { <Playground/> }/>
                <Route path=path!("/s/:id") view=SnippetPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
