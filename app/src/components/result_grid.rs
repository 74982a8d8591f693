use super::{format_bytes, format_duration, OutputDiff, OutputStream, USAGE_SOURCE};
use crate::model::{ImageInfo, Status, VersionResult};
use crate::page_address::AddressKeys;
use leptos::either::Either;
use leptos::prelude::*;
use std::collections::HashMap;

/// One cell per version of the current run, in version order; each fills in on its own.
#[component]
pub fn ResultGrid(
    versions: Signal<Vec<ImageInfo>>,
    results: Signal<HashMap<String, VersionResult>>,
    /// The version key of the image every other cell is diffed against, if any.
    base: Signal<Option<String>>,
    /// While the run waits for a free slot: how many runs are ahead of it.
    #[prop(optional, into)]
    waiting: Signal<Option<usize>>,
    /// Hide the cells whose output is identical to the base's.
    #[prop(optional, into)]
    hide_identical: Signal<bool>,
) -> impl IntoView {
    // Memos: a result arriving changes the map, but only its own cell (and, when it is the
    // base, the diffs) should render again.
    let base_result = Memo::new(move |_| {
        let key = base.get()?;
        let image = versions.with(|run| {
            let at = AddressKeys::of_versions(run).first_named(&key, run)?;
            Some(run[at].image.clone())
        })?;
        results.with(|r| r.get(&image).cloned())
    });
    let compact = move || versions.with(Vec::len) > crate::page_address::MANY_VERSIONS;
    view! {
        <section
            class="result-grid"
            class:compact=compact
            aria-label="Results"
        >
            <For
                each=move || versions.get()
                key=|info| info.image.clone()
                children=move |info| {
                    let image = info.image.clone();
                    let result = Memo::new(move |_| results.with(|r| r.get(&image).cloned()));
                    let identical = Memo::new(move |_| {
                        result.with(|r| base_result.with(|b| matches!((r, b), (Some(r), Some(b)) if same_output(r, b))))
                    });
                    let hidden = Signal::derive(move || hide_identical.get() && identical.get());
                    view! { <ResultCell info result=result.into() base=base_result.into() waiting hidden/> }
                }
            />
        </section>
    }
}

/// A version's result, or a spinner until it arrives (saying so while the run waits for a
/// free slot).
#[component]
pub fn ResultCell(
    info: ImageInfo,
    result: Signal<Option<VersionResult>>,
    base: Signal<Option<VersionResult>>,
    #[prop(optional, into)] waiting: Signal<Option<usize>>,
    /// Hidden by "hide identical to base".
    #[prop(optional, into)]
    hidden: Signal<bool>,
) -> impl IntoView {
    let extensions = info.extensions.clone();
    let missing_extension = move || {
        result.with(|r| {
            let r = r.as_ref()?;
            crate::hints::missing_extension(
                &format!("{}\n{}", r.outcome.stdout, r.outcome.stderr),
                &extensions,
            )
        })
    };
    let status = move || {
        result.with(|r| match r {
            Some(r) => r.outcome.status.as_str(),
            None if waiting.get().is_some() => "waiting",
            None => "running",
        })
    };
    view! {
        <article class="result-cell" data-image=info.image.clone() data-status=status hidden=move || hidden.get()>
            <header>
                <h3 title=info.image.clone()>"PHP " {info.php_version.clone()}</h3>
                {move || match (result.get(), waiting.get()) {
                    (None, waiting) => Either::Left(view! {
                        <span class="badge badge-running">
                            <span class="spinner" aria-hidden="true"></span>
                            {if waiting.is_some() { "waiting" } else { "running" }}
                        </span>
                    }),
                    (Some(r), _) => Either::Right(view! {
                        {r.cached.then(|| view! {
                            <span class="badge badge-cached" title="Stored result of an earlier run of this code on this very image (same image id)">"cached"</span>
                        })}
                        {(r.fixed_clock == Some(false)).then(|| view! {
                            <span class="badge badge-real-clock" title="This image's PHP cannot have the fixed clock (a static build ignores the preloaded library): it saw the real time">"real clock"</span>
                        })}
                        <ResultMarks added_later=r.added_later unstable=r.unstable/>
                        <span class=format!("badge badge-{}", r.outcome.status.as_str())>{badge_text(&r)}</span>
                    }),
                }}
            </header>
            {move || (result.with(Option::is_none)).then(|| waiting.get()).flatten().map(|ahead| view! {
                <p class="waiting-note" role="status">{waiting_text(ahead)}</p>
            })}
            {move || result.get().map(|r| view! { <UsageLine result=r/> })}
            {move || result.get().map(|r| view! { <ResultBody result=r base=base.get()/> })}
            {move || missing_extension().map(|extension| view! {
                <p class="hint">"This image has no " <code>{extension}</code> " extension."</p>
            })}
        </article>
    }
}

/// What sets a saved result apart from one of a plain run: it was run after the snippet was
/// saved (when its version appeared), or its output changes from run to run.
#[component]
pub(super) fn ResultMarks(added_later: bool, unstable: bool) -> impl IntoView {
    view! {
        {added_later.then(|| view! {
            <span class="badge badge-added-later" title="Run in the background after this snippet was saved, when this PHP version appeared on the server">"added later"</span>
        })}
        {unstable.then(|| view! {
            <span class="badge badge-unstable" title="Two runs of this code on this very image gave different output (randomness, the real clock, …): its output is not grouped with other versions">"unstable"</span>
        })}
    }
}

/// Wall time, CPU time and peak memory of one version.
#[component]
fn UsageLine(result: VersionResult) -> impl IntoView {
    let cpu_title = format!("CPU time, user + system. {USAGE_SOURCE}");
    let memory_title = format!("Peak memory. {USAGE_SOURCE}");
    view! {
        <p class="usage">
            <span class="duration" title="Wall time from sending the code until the output ended">
                {format_duration(result.outcome.duration_ms as f64)}
            </span>
            {result.cpu_time_us.map(|us| view! {
                <span class="cpu" title=cpu_title>"CPU " {format_duration(us as f64 / 1000.0)}</span>
            })}
            {result.peak_memory_bytes.map(|bytes| view! {
                <span class="memory" title=memory_title>{format_bytes(bytes as f64)} " peak"</span>
            })}
        </p>
    }
}

/// The output, or its difference to the base when one is picked.
#[component]
fn ResultBody(result: VersionResult, base: Option<VersionResult>) -> impl IntoView {
    let empty = result.outcome.stdout.is_empty() && result.outcome.stderr.is_empty();
    let base = base.filter(|base| base.image != result.image);
    let identical = base.as_ref().is_some_and(|b| same_output(b, &result));
    let differs = |stream: fn(&VersionResult) -> &String| {
        base.as_ref()
            .filter(|b| stream(b) != stream(&result))
            .map(|b| stream(b).clone())
    };
    let stdout_base = differs(|r| &r.outcome.stdout);
    let stderr_base = differs(|r| &r.outcome.stderr);
    view! {
        {base.as_ref().filter(|_| identical).map(|b| view! {
            <p class="identical">"Identical to PHP " {b.php_version.clone()}</p>
        })}
        {match stdout_base {
            Some(base) => Some(Either::Left(view! { <OutputDiff base other=result.outcome.stdout.clone() stream="stdout"/> })),
            None => (!result.outcome.stdout.is_empty()).then(|| Either::Right(view! { <OutputStream text=result.outcome.stdout.clone() stream="stdout"/> })),
        }}
        {match stderr_base {
            Some(base) => Some(Either::Left(view! { <OutputDiff base other=result.outcome.stderr.clone() stream="stderr"/> })),
            None => (!result.outcome.stderr.is_empty()).then(|| Either::Right(view! { <OutputStream text=result.outcome.stderr.clone() stream="stderr"/> })),
        }}
        {(empty && result.outcome.status != Status::Error).then(|| view! { <p class="no-output">"no output"</p> })}
        {result.message.clone().map(|m| view! { <p class="message">{m}</p> })}
    }
}

/// Same stdout and stderr: what "identical to the base" means in the grid.
fn same_output(a: &VersionResult, b: &VersionResult) -> bool {
    a.image != b.image && a.outcome.stdout == b.outcome.stdout && a.outcome.stderr == b.outcome.stderr
}

pub(super) fn badge_text(result: &VersionResult) -> String {
    match (result.outcome.status, result.outcome.exit_code) {
        (Status::Exit, Some(code)) => format!("exit {code}"),
        (Status::Oom, _) => "out of memory".into(),
        (Status::OutputLimit, _) => "output limit".into(),
        (status, _) => status.as_str().into(),
    }
}

/// "waiting for a free slot — 12 ahead"; "… — next" when none is ahead.
fn waiting_text(ahead: usize) -> String {
    match ahead {
        0 => "waiting for a free slot — next".to_owned(),
        n => format!("waiting for a free slot — {n} ahead"),
    }
}
