use leptos::prelude::*;
use web_sys::{HtmlTextAreaElement, KeyboardEvent};

const INDENT: &str = "    ";

/// A monospace editor: Tab indents, Ctrl/Cmd+Enter runs.
#[component]
pub fn CodeEditor(code: RwSignal<String>, on_run: Callback<()>) -> impl IntoView {
    let on_keydown = move |event: KeyboardEvent| {
        if event.key() == "Enter" && (event.ctrl_key() || event.meta_key()) {
            event.prevent_default();
            on_run.run(());
        } else if event.key() == "Tab" && !event.shift_key() {
            event.prevent_default();
            let textarea: HtmlTextAreaElement = event_target(&event);
            code.set(insert_at_cursor(&textarea, INDENT));
        }
    };
    view! {
        <textarea
            class="code-editor"
            aria-label="PHP code"
            spellcheck="false"
            autocapitalize="off"
            autocomplete="off"
            prop:value=move || code.get()
            on:input=move |event| code.set(event_target_value(&event))
            on:keydown=on_keydown
        >
            {code.get_untracked()}
        </textarea>
    }
}

/// Replaces the selection with `text`, puts the cursor after it and returns the new value.
fn insert_at_cursor(textarea: &HtmlTextAreaElement, text: &str) -> String {
    let value = textarea.value();
    // Selection offsets count UTF-16 code units.
    let to_byte = |offset: u32| {
        let mut units = 0;
        for (byte, ch) in value.char_indices() {
            if units >= offset as usize {
                return byte;
            }
            units += ch.len_utf16();
        }
        value.len()
    };
    let start = textarea.selection_start().ok().flatten().unwrap_or(0);
    let end = textarea.selection_end().ok().flatten().unwrap_or(start);
    let mut updated = String::with_capacity(value.len() + text.len());
    updated.push_str(&value[..to_byte(start)]);
    updated.push_str(text);
    updated.push_str(&value[to_byte(end)..]);
    textarea.set_value(&updated);
    let cursor = start + text.encode_utf16().count() as u32;
    let _ = textarea.set_selection_range(cursor, cursor);
    updated
}
