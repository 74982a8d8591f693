use super::OutputText;
use leptos::prelude::*;
use std::time::Duration;

/// Outputs longer than this many lines show only their start until "show all".
const COLLAPSED_LINES: usize = 30;

/// In the context of a page that runs no script (the embed): outputs show whole, without the
/// buttons that would do nothing there.
#[derive(Debug, Clone, Copy)]
pub struct WithoutScripts;

/// One stream of a version's output (stdout or stderr) with a button that copies it; a long
/// one shows its first lines until "show all" (rendering thousands of lines in every cell would
/// bury the others). Without scripts ([`WithoutScripts`]): the whole text, no buttons.
#[component]
pub fn OutputStream(
    text: String,
    /// "stdout" or "stderr": the `<pre>`'s class.
    stream: &'static str,
) -> impl IntoView {
    let scripted = use_context::<WithoutScripts>().is_none();
    let line_count = text.lines().count();
    let long = scripted && line_count > COLLAPSED_LINES;
    let expanded = RwSignal::new(false);
    let full = StoredValue::new(text);
    let shown = move || match long && !expanded.get() {
        true => full.with_value(|text| first_lines(text, COLLAPSED_LINES)),
        false => full.get_value(),
    };
    let title = (stream == "stderr").then_some("standard error");
    view! {
        <div class="output">
            <pre class=stream title=title>{move || view! { <OutputText text=shown()/> }}</pre>
            {scripted.then(|| view! { <CopyButton text=full stream/> })}
            {long.then(|| view! {
                <Show when=move || !expanded.get()>
                    <button type="button" class="link show-all" on:click=move |_| expanded.set(true)>
                        {format!("show all {line_count} lines")}
                    </button>
                </Show>
            })}
        </div>
    }
}

/// Copies a stream's whole text to the clipboard and says so for a moment.
#[component]
pub fn CopyButton(text: StoredValue<String>, stream: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let writing = window().navigator().clipboard().write_text(&text.get_value());
        leptos::task::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(writing).await.is_ok() {
                copied.set(true);
                set_timeout(move || copied.set(false), Duration::from_millis(1500));
            }
        });
    };
    view! {
        <button type="button" class="copy-output" aria-label=format!("Copy {stream}") on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

/// The first `count` lines of `text`, with their line ends.
fn first_lines(text: &str, count: usize) -> String {
    text.split_inclusive('\n').take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::first_lines;

    #[test]
    fn first_lines_keeps_line_ends_and_stops_at_the_count() {
        assert_eq!(first_lines("a\nb\nc\n", 2), "a\nb\n");
        assert_eq!(first_lines("a\nb", 5), "a\nb");
        assert_eq!(first_lines("", 3), "");
    }
}
