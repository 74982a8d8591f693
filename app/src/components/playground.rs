use super::{CodeEditor, GroupedResults, ResultGrid, ResultToolbar, ResultView, RunSummary, VersionPicker};
use crate::api::{list_images, run_streaming};
use crate::model::{ImageInfo, RunRequest, VersionResult};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const EXAMPLE: &str = r#"<?php

var_dump(0 == "a");
echo "PHP ", PHP_VERSION, "\n";
"#;

/// The whole playground: editor, version picker, run button and result grid.
#[component]
pub fn Playground() -> impl IntoView {
    let images = Resource::new(|| (), |_| list_images());
    let code = RwSignal::new(EXAMPLE.to_owned());
    let unchecked = RwSignal::new(HashSet::<String>::new());

    // The run on screen: its versions (in version order) and the results so far.
    let versions = RwSignal::new(Vec::<ImageInfo>::new());
    let results = RwSignal::new(HashMap::<String, VersionResult>::new());
    let running = RwSignal::new(false);
    let elapsed_ms = RwSignal::new(0.0);
    let error = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);
    let view_mode = RwSignal::new(ResultView::Grid);
    let base = RwSignal::new(None::<String>);
    Effect::new(move |_| hydrated.set(true));

    let selected = move || -> Vec<ImageInfo> {
        let available = images.get().and_then(Result::ok).unwrap_or_default();
        unchecked.with(|off| available.into_iter().filter(|i| !off.contains(&i.image)).collect())
    };

    let run = Callback::new(move |()| {
        if running.get_untracked() {
            return;
        }
        let chosen = selected();
        let request = RunRequest {
            code: code.get_untracked(),
            images: chosen.iter().map(|i| i.image.clone()).collect(),
            ..Default::default()
        };
        versions.set(chosen);
        results.set(HashMap::new());
        error.set(None);
        running.set(true);
        let started = now_ms();
        elapsed_ms.set(0.0);
        let ticker = set_interval_with_handle(
            move || elapsed_ms.set(now_ms() - started),
            Duration::from_millis(100),
        )
        .ok();
        spawn_local(async move {
            let outcome = run_streaming(&request, |result| {
                elapsed_ms.set(now_ms() - started);
                results.update(|r| {
                    r.insert(result.image.clone(), result);
                });
            })
            .await;
            if let Some(ticker) = ticker {
                ticker.clear();
            }
            elapsed_ms.set(now_ms() - started);
            if let Err(message) = outcome {
                versions.set(Vec::new());
                error.set(Some(message));
            }
            running.set(false);
        });
    });

    let done = Signal::derive(move || results.with(HashMap::len));
    let total = Signal::derive(move || versions.with(Vec::len));

    view! {
        <main class="playground" data-hydrated=move || hydrated.get().then_some("true")>
            <header class="topbar">
                <h1>"evalgrid"</h1>
                <p class="tagline">"Run PHP on every version at once."</p>
            </header>
            <section class="input">
                <CodeEditor code on_run=run/>
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
                            on:click=move |_| run.run(())
                            disabled=move || running.get() || !hydrated.get()
                        >
                            {move || if running.get() { "Running…" } else { "Run" }}
                        </button>
                        <span class="hint">"Ctrl+Enter"</span>
                        <Show when=move || total.get() != 0>
                            <RunSummary done total elapsed_ms=elapsed_ms.into()/>
                        </Show>
                    </div>
                </div>
            </section>
            {move || error.get().map(|message| view! { <p class="run-error" role="alert">{message}</p> })}
            <Show when=move || total.get() != 0>
                <ResultToolbar view=view_mode base versions=versions.into()/>
            </Show>
            {move || match view_mode.get() {
                ResultView::Grid => view! { <ResultGrid versions=versions.into() results base=base.into()/> }.into_any(),
                ResultView::Grouped => view! { <GroupedResults versions=versions.into() results/> }.into_any(),
            }}
        </main>
    }
}

/// The server's own words, without the framework's prefix.
fn server_message(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}
