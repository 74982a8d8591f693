//! `/e/{id}`: a saved snippet, compact and read-only, for an `<iframe>` in docs and blog posts.
//! Server-rendered HTML only — the shell loads no WASM and no editor here — so it costs a page
//! and a stylesheet; the server lets only this path be framed (`--embed-ancestors`).

use super::ini_variants::VariantSection;
use super::playground::server_message;
use super::run_state::result_info;
use super::snippet_page::not_found;
use super::{GroupedResults, WithoutScripts};
use crate::api::load_snippet;
use crate::model::{run_variants, Show, Snippet};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

#[component]
pub fn EmbedPage() -> impl IntoView {
    let (path, _) = crate::page_location();
    let id = crate::embed_id(&path).unwrap_or_default().to_owned();
    // Outputs whole and without buttons: nothing runs here to make them work.
    provide_context(WithoutScripts);
    // No resource: its data would be written into the page again for a hydration that never
    // comes. The route is rendered whole (`SsrMode::Async`), this future included.
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the snippet…"</p> }>
            {Suspend::new(async move {
                match load_snippet(id).await {
                    Ok(Some(snippet)) => EitherOf3::A(view! { <EmbeddedSnippet snippet/> }),
                    Ok(None) => {
                        not_found();
                        EitherOf3::B(view! {
                            <main class="embed">
                                <p class="not-found">
                                    "There is no saved snippet at this address. "
                                    <a href="/" target="_blank" rel="noopener">"evalgrid"</a>
                                </p>
                            </main>
                        })
                    }
                    Err(error) => EitherOf3::C(view! {
                        <main class="embed">
                            <p class="run-error" role="alert">"Cannot load the snippet: " {server_message(error)}</p>
                        </main>
                    }),
                }
            })}
        </Suspense>
    }
}

/// The code (and its stdin, when it has one), what its results show when that is not its
/// output, its results grouped by identical output (per ini variant, when it has several), and
/// the way to the full page.
#[component]
fn EmbeddedSnippet(snippet: Snippet) -> impl IntoView {
    let shown = Some(snippet.show)
        .filter(|show| *show != Show::Output)
        .map(|show| view! { <p class="embed-shown">"Showing: " {show.label()}</p> });
    let stdin = (!snippet.stdin.is_empty()).then(|| {
        view! {
            <p class="embed-label">"stdin"</p>
            <pre class="embed-code embed-stdin"><code>{snippet.stdin.clone()}</code></pre>
        }
    });
    let ran = !snippet.results.is_empty();
    let matrix = !snippet.ini.is_empty();
    let sections = run_variants(&snippet.ini)
        .into_iter()
        .map(|settings| {
            let results: Vec<_> = snippet
                .results
                .iter()
                .filter(|r| r.ini == settings)
                .cloned()
                .collect();
            let versions: Vec<_> = results.iter().map(result_info).collect();
            let results = results.into_iter().map(|r| (r.image.clone(), r)).collect();
            let grouped =
                view! { <GroupedResults versions=Signal::stored(versions) results=Signal::stored(results)/> };
            match matrix {
                true => Either::Left(view! { <VariantSection settings results=grouped/> }),
                false => Either::Right(grouped),
            }
        })
        .collect_view();
    view! {
        <main class="embed">
            <header class="embed-bar">
                <span class="embed-brand">"evalgrid"</span>
                <a class="embed-open" href=format!("/s/{}", snippet.id) target="_blank" rel="noopener">
                    "Open in evalgrid"
                </a>
            </header>
            <pre class="embed-code"><code>{snippet.code}</code></pre>
            {stdin}
            {shown}
            {ran.then_some(sections)}
            {(!ran).then(|| view! { <p class="no-output">"No results saved."</p> })}
        </main>
    }
}
