use super::format_duration;
use leptos::prelude::*;

/// "3 of 4 done · 1.02 s" while and after a run.
#[component]
pub fn RunSummary(
    done: Signal<usize>,
    total: Signal<usize>,
    elapsed_ms: Signal<f64>,
) -> impl IntoView {
    view! {
        <p class="run-summary" aria-live="polite">
            {move || format!("{} of {} done · {}", done.get(), total.get(), format_duration(elapsed_ms.get()))}
        </p>
    }
}
