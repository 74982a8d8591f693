use super::format_duration;
use leptos::prelude::*;

/// "3 of 4 done · 1.02 s" while and after a run; before any run on a permalink, when its
/// results were saved. Not a live region: its clock ticks ten times a second; the page's one
/// live region says what finished.
#[component]
pub fn RunSummary(
    done: Signal<usize>,
    total: Signal<usize>,
    /// Time since the run on this page started; `None` before the first run.
    elapsed_ms: Signal<Option<f64>>,
    /// When the snippet on screen was first saved (RFC 3339), on a permalink.
    saved_at: Option<String>,
) -> impl IntoView {
    let saved_at = saved_at.map(|at| at.get(..16).unwrap_or(&at).replace('T', " ") + " UTC");
    view! {
        <p class="run-summary">
            {move || match (elapsed_ms.get(), &saved_at) {
                (Some(ms), _) => format!("{} of {} done · {}", done.get(), total.get(), format_duration(ms)),
                (None, Some(at)) => format!("{} saved results · first saved {at}", total.get()),
                (None, None) => String::new(),
            }}
        </p>
    }
}
