use super::format_duration;
use crate::model::{ImageInfo, Status, VersionResult};
use leptos::prelude::*;
use std::collections::HashMap;

/// One cell per version of the current run, in version order; each fills in on its own.
#[component]
pub fn ResultGrid(
    versions: Signal<Vec<ImageInfo>>,
    results: RwSignal<HashMap<String, VersionResult>>,
) -> impl IntoView {
    view! {
        <section class="result-grid" aria-label="Results">
            <For
                each=move || versions.get()
                key=|info| info.image.clone()
                children=move |info| {
                    let image = info.image.clone();
                    let result = Signal::derive(move || results.with(|r| r.get(&image).cloned()));
                    view! { <ResultCell info result/> }
                }
            />
        </section>
    }
}

/// A version's result, or a spinner until it arrives.
#[component]
pub fn ResultCell(info: ImageInfo, result: Signal<Option<VersionResult>>) -> impl IntoView {
    let status = move || result.with(|r| r.as_ref().map(|r| r.status.as_str()).unwrap_or("running"));
    view! {
        <article class="result-cell" data-image=info.image.clone() data-status=status>
            <header>
                <h3 title=info.image.clone()>"PHP " {info.php_version.clone()}</h3>
                {move || match result.get() {
                    None => view! {
                        <span class="badge badge-running"><span class="spinner" aria-hidden="true"></span>"running"</span>
                    }.into_any(),
                    Some(r) => view! {
                        <span class=format!("badge badge-{}", r.status.as_str())>{badge_text(&r)}</span>
                        <span class="duration">{format_duration(r.duration_ms as f64)}</span>
                    }.into_any(),
                }}
            </header>
            {move || result.get().map(|r| view! { <ResultBody result=r/> })}
        </article>
    }
}

#[component]
fn ResultBody(result: VersionResult) -> impl IntoView {
    let empty = result.stdout.is_empty() && result.stderr.is_empty();
    view! {
        {(!result.stdout.is_empty()).then(|| view! { <pre class="stdout">{result.stdout.clone()}</pre> })}
        {(!result.stderr.is_empty()).then(|| view! {
            <pre class="stderr" title="standard error">{result.stderr.clone()}</pre>
        })}
        {(empty && result.status != Status::Error).then(|| view! { <p class="no-output">"no output"</p> })}
        {result.message.clone().map(|m| view! { <p class="message">{m}</p> })}
    }
}

fn badge_text(result: &VersionResult) -> String {
    match (result.status, result.exit_code) {
        (Status::Exit, Some(code)) => format!("exit {code}"),
        (Status::Oom, _) => "out of memory".into(),
        (status, _) => status.as_str().into(),
    }
}
