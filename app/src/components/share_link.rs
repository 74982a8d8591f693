use crate::model::routes;
use leptos::prelude::*;

/// The permalink of the run on screen, with a button that copies it, and its outputs to download
/// as tests (`exportable`: the permalink's id while the run shows output).
#[component]
pub fn ShareLink(id: Signal<Option<String>>, exportable: Signal<Option<String>>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let path = move || id.get().map(|id| format!("/s/{id}"));
    let copy = move |_| {
        let Some(path) = path() else { return };
        let Some(window) = web_sys::window() else { return };
        let url = window.location().origin().unwrap_or_default() + &path;
        let writing = window.navigator().clipboard().write_text(&url);
        leptos::task::spawn_local(async move {
            copied.set(wasm_bindgen_futures::JsFuture::from(writing).await.is_ok());
        });
    };
    Effect::new(move |_| {
        id.track();
        copied.set(false);
    });
    view! {
        {move || path().map(|link| {
            let text = link.clone();
            view! {
            <p class="share-link">
                <span class="share-label">"Permalink"</span>
                <a href=link class="permalink">{text}</a>
                <button type="button" class="link" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy link" }}
                </button>
                {move || exportable.get().map(|id| view! {
                    <span class="export-links">
                        "Export as a test: "
                        <a href=routes::for_snippet(routes::SNIPPET_PHPUNIT, &id) download="" class="export-phpunit"
                            title="A PHPUnit test with a case per output, each skipped on the versions it does not hold for">"PHPUnit"</a>
                        " · "
                        <a href=routes::for_snippet(routes::SNIPPET_PHPT, &id) download="" class="export-phpt"
                            title="The newest versions' output as a php-src .phpt test (the grouped view has one per output)">".phpt"</a>
                    </span>
                })}
            </p>
            }
        })}
    }
}
