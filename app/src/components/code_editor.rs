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
    // The server writes the code into the page as the textarea's escaped HTML, so that it reads
    // without JavaScript. Never as children: the renderer does not escape a textarea's
    // children, and `</textarea>` in the code would end it (stored XSS, SECURITY.md). In the
    // browser the value comes from `prop:value` alone.
    let server_html = cfg!(feature = "ssr").then(|| textarea_html(&code.get_untracked()));
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
            inner_html=server_html
        ></textarea>
    }
}

/// `text` as the HTML content of a `<textarea>`: escaped, after a newline, since the HTML parser
/// drops one newline right after `<textarea>` (code that starts with a blank line keeps it).
fn textarea_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    html.push('\n');
    for ch in text.chars() {
        match ch {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            other => html.push(other),
        }
    }
    html
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

#[cfg(test)]
mod tests {
    use super::textarea_html;

    #[test]
    fn textarea_html_escapes_everything_that_could_end_the_element_or_an_attribute() {
        assert_eq!(
            textarea_html("</textarea><b a=\"x\" c='y'>&amp;"),
            "\n&lt;/textarea&gt;&lt;b a=&quot;x&quot; c=&#39;y&#39;&gt;&amp;amp;"
        );
        assert_eq!(textarea_html("\n<?php"), "\n\n&lt;?php");
    }
}
