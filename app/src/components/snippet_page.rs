use super::playground::server_message;
use super::Playground;
use crate::api::{list_images, load_snippet};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::collections::HashSet;

/// `/s/{id}`: the playground started from a saved snippet. Rendered completely on the server
/// (the route is `SsrMode::Async`), so the code and results read without JavaScript.
#[component]
pub fn SnippetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let loaded = Resource::new(
        id,
        |id| async move { (load_snippet(id).await, list_images().await) },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the snippet…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    (Ok(Some(snippet)), images) => {
                        let saved: HashSet<String> = snippet.results.iter().map(|r| r.image.clone()).collect();
                        // Re-run runs the saved versions; the others start unticked.
                        let unticked = images
                            .unwrap_or_default()
                            .into_iter()
                            .map(|info| info.image)
                            .filter(|image| !saved.contains(image) && !saved.is_empty())
                            .collect();
                        view! { <Playground snippet unticked/> }.into_any()
                    }
                    (Ok(None), _) => {
                        not_found();
                        view! {
                            <main class="playground">
                                <p class="not-found">"There is no saved snippet at this address. " <a href="/">"Start a new one"</a></p>
                            </main>
                        }.into_any()
                    }
                    (Err(error), _) => view! {
                        <main class="playground">
                            <p class="run-error" role="alert">"Cannot load the snippet: " {server_message(error)}</p>
                        </main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Answers 404 when rendering on the server.
fn not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}
