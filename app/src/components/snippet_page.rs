use super::playground::server_message;
use super::Playground;
use crate::api::load_snippet;
use leptos::either::EitherOf3;
use leptos::prelude::*;

/// `/s/{id}`: the playground started from a saved snippet. Rendered completely on the server
/// (the route is `SsrMode::Async`), so the code and results read without JavaScript.
#[component]
pub fn SnippetPage() -> impl IntoView {
    let (path, _) = crate::page_location();
    let id = crate::snippet_id(&path).unwrap_or_default().to_owned();
    let loaded = Resource::new(move || id.clone(), load_snippet);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the snippet…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    // Either, not into_any(): a type-erased view compiles the asynchronous
                    // hydration of all it holds, here the whole playground, for nothing.
                    Ok(Some(snippet)) => EitherOf3::A(view! { <Playground snippet/> }),
                    Ok(None) => {
                        not_found();
                        EitherOf3::B(view! {
                            <main class="playground">
                                <p class="not-found">"There is no saved snippet at this address. " <a href="/">"Start a new one"</a></p>
                            </main>
                        })
                    }
                    Err(error) => EitherOf3::C(view! {
                        <main class="playground">
                            <p class="run-error" role="alert">"Cannot load the snippet: " {server_message(error)}</p>
                        </main>
                    }),
                }
            })}
        </Suspense>
    }
}

/// Answers 404 when rendering on the server.
pub(super) fn not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}
