use super::{
    reported_lines, CodeEditor, GroupedResults, LineRequests, PerformanceTable, ResultGrid, ResultToolbar,
    ResultView, RunSummary, ShareLink, ThemeSwitch, VersionPicker,
};
use crate::api::{list_images, run_streaming, RunUpdate};
use crate::model::{ImageInfo, RunRequest, Snippet, VersionResult};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const EXAMPLE: &str = r#"<?php

var_dump(0 == "a");
echo "PHP ", PHP_VERSION, "\n";
"#;

/// The whole playground: editor, version picker, run button and results. On a permalink it
/// starts from the saved snippet: its code, its results, its versions ticked.
#[component]
pub fn Playground(
    /// The saved snippet to show, on `/s/{id}`.
    #[prop(optional)]
    snippet: Option<Snippet>,
    /// Versions that start unticked (on a permalink: those the snippet was not run on).
    #[prop(optional)]
    unticked: HashSet<String>,
) -> impl IntoView {
    let images = Resource::new(|| (), |_| list_images());
    let (id, saved_code, saved_at, saved_results) = match snippet {
        Some(s) => (Some(s.id), s.code, Some(s.created_at), s.results),
        None => (None, EXAMPLE.to_owned(), None, Vec::new()),
    };
    let code = RwSignal::new(saved_code);
    let unchecked = RwSignal::new(unticked);

    // The run on screen: its versions (in version order) and the results so far.
    let versions = RwSignal::new(saved_results.iter().map(result_info).collect::<Vec<_>>());
    let results = RwSignal::new(
        saved_results
            .into_iter()
            .map(|r| (r.image.clone(), r))
            .collect::<HashMap<_, _>>(),
    );
    let permalink = RwSignal::new(id);
    let running = RwSignal::new(false);
    // While the run waits for a free slot: how many runs are ahead of it.
    let waiting = RwSignal::new(None::<usize>);
    let elapsed_ms = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);
    let view_mode = RwSignal::new(ResultView::Grid);
    let base = RwSignal::new(None::<String>);
    Effect::new(move |_| hydrated.set(true));
    // Line references in the outputs show their line in the editor.
    provide_context(LineRequests::new());
    let line_marks = Signal::derive(move || versions.with(|v| results.with(|r| reported_lines(v, r))));

    let selected = move || -> Vec<ImageInfo> {
        let available = images.get().and_then(Result::ok).unwrap_or_default();
        unchecked.with(|off| {
            available
                .into_iter()
                .filter(|i| !off.contains(&i.image))
                .collect()
        })
    };

    // `force`: run every version even when the server has its result cached.
    let run = Callback::new(move |force: bool| {
        if running.get_untracked() {
            return;
        }
        let chosen = selected();
        let request = RunRequest {
            code: code.get_untracked(),
            images: chosen.iter().map(|i| i.image.clone()).collect(),
            save: true,
            force,
        };
        versions.set(chosen);
        results.set(HashMap::new());
        error.set(None);
        running.set(true);
        let started = now_ms();
        elapsed_ms.set(Some(0.0));
        let ticker = set_interval_with_handle(
            move || elapsed_ms.set(Some(now_ms() - started)),
            Duration::from_millis(100),
        )
        .ok();
        spawn_local(async move {
            let outcome = run_streaming(&request, |update| match update {
                RunUpdate::Waiting { ahead } => waiting.set(Some(ahead)),
                RunUpdate::Result(result) => {
                    waiting.set(None);
                    elapsed_ms.set(Some(now_ms() - started));
                    results.update(|r| {
                        r.insert(result.image.clone(), *result);
                    });
                }
            })
            .await;
            waiting.set(None);
            if let Some(ticker) = ticker {
                ticker.clear();
            }
            elapsed_ms.set(Some(now_ms() - started));
            match outcome {
                Ok(id) => {
                    if let Some(id) = &id {
                        show_in_address_bar(&format!("/s/{id}"));
                    }
                    permalink.set(id);
                }
                Err(message) => {
                    versions.set(Vec::new());
                    error.set(Some(message));
                }
            }
            running.set(false);
        });
    });

    let done = Signal::derive(move || results.with(HashMap::len));
    let total = Signal::derive(move || versions.with(Vec::len));
    let any_cached = move || results.with(|r| r.values().any(|r| r.cached));

    view! {
        <main class="playground" data-hydrated=move || hydrated.get().then_some("true")>
            <header class="topbar">
                <h1><a href="/">"evalgrid"</a></h1>
                <p class="tagline">"Run PHP on every version at once."</p>
                <ThemeSwitch/>
            </header>
            <section class="input">
                <CodeEditor code on_run=Callback::new(move |()| run.run(false)) line_marks/>
                <div class="controls">
                    <Transition fallback=|| view! { <p class="loading">"Looking for PHP images…"</p> }>
                        {move || Suspend::new(async move {
                            match images.await {
                                Ok(list) if list.is_empty() => view! {
                                    <p class="notice">"No PHP images found. Pull some, e.g. " <code>"docker pull php:8.4-cli"</code></p>
                                }.into_any(),
                                Ok(list) => view! { <VersionPicker images=list unchecked/> }.into_any(),
                                Err(error) => view! {
                                    <p class="notice error">"Cannot list the PHP versions: " {server_message(error)}</p>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                    <div class="run-row">
                        <button
                            class="run-button"
                            type="button"
                            on:click=move |_| run.run(false)
                            disabled=move || running.get() || !hydrated.get()
                        >
                            {move || if running.get() { "Running…" } else { "Run" }}
                        </button>
                        <span class="hint">"Ctrl+Enter"</span>
                        <Show when=move || any_cached() && !running.get()>
                            <button
                                class="link force-run"
                                type="button"
                                title="Run every version again instead of showing stored results"
                                on:click=move |_| run.run(true)
                            >
                                "Re-run without cache"
                            </button>
                        </Show>
                        <Show when=move || total.get() != 0>
                            <RunSummary done total elapsed_ms=elapsed_ms.into() saved_at=saved_at.clone()/>
                        </Show>
                    </div>
                    <ShareLink id=permalink.into()/>
                </div>
            </section>
            {move || error.get().map(|message| view! { <p class="run-error" role="alert">{message}</p> })}
            <Show when=move || total.get() != 0>
                <ResultToolbar view=view_mode base versions=versions.into()/>
            </Show>
            {move || match view_mode.get() {
                ResultView::Grid => view! { <ResultGrid versions=versions.into() results base=base.into() waiting/> }.into_any(),
                ResultView::Grouped => view! { <GroupedResults versions=versions.into() results/> }.into_any(),
                ResultView::Performance => view! { <PerformanceTable versions=versions.into() results/> }.into_any(),
            }}
        </main>
    }
}

fn result_info(result: &VersionResult) -> ImageInfo {
    ImageInfo {
        image: result.image.clone(),
        php_version: result.php_version.clone(),
        ..ImageInfo::default()
    }
}

/// Puts the permalink in the address bar without reloading or leaving the page.
fn show_in_address_bar(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// The server's own words, without the framework's prefix.
pub(super) fn server_message(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}
