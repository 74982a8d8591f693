mod codemirror;

use super::LineRequests;
use codemirror::{CodeMirror, EditorSetup};
use leptos::html::{Div, Textarea};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use web_sys::{HtmlTextAreaElement, KeyboardEvent};

const INDENT: &str = "    ";
const LABEL: &str = "PHP code";
/// Where the vim setting is remembered (localStorage).
const VIM_SETTING: &str = "evalgrid.vim";

/// The CodeMirror editor once it is on the page. Thread-safe storage with the editor behind a
/// SendWrapper: the server, which may dispose of the page on another thread than the one that
/// rendered it, only ever holds None.
type EditorSlot = StoredValue<Option<SendWrapper<CodeMirror>>>;

/// The PHP editor. The server renders a textarea, which is all there is without JavaScript
/// (Tab indents, Ctrl/Cmd+Enter runs); once the page has hydrated, CodeMirror takes its place
/// and the textarea, hidden, just mirrors `code`.
#[component]
pub fn CodeEditor(
    code: RwSignal<String>,
    on_run: Callback<()>,
    /// Lines to mark in the gutter, each with its tooltip.
    line_marks: Signal<Vec<(u32, String)>>,
) -> impl IntoView {
    let textarea = NodeRef::<Textarea>::new();
    let host = NodeRef::<Div>::new();
    let editor: EditorSlot = StoredValue::new(None);
    let mounted = RwSignal::new(false);
    let vim = RwSignal::new(false);

    mount_code_mirror(code, on_run, host, textarea, editor, mounted, vim);
    // Code changed from outside (a run, a permalink): into the editor.
    Effect::new(move |_| {
        let text = code.get();
        editor.with_value(|cm| {
            if let Some(cm) = cm {
                cm.set_value(&text);
            }
        });
    });
    // Lines named by the outputs, and the line a click on one asks for.
    Effect::new(move |_| {
        let marks = line_marks.get();
        if mounted.get() {
            editor.with_value(|cm| cm.as_ref().map(|cm| cm.set_line_marks(marks)));
        }
    });
    if let Some(requests) = use_context::<LineRequests>() {
        Effect::new(move |_| {
            let Some(line) = requests.requested() else { return };
            let shown = editor.with_value(|cm| cm.as_ref().map(|cm| cm.goto_line(line)));
            if shown.is_none() {
                if let Some(textarea) = textarea.get_untracked() {
                    select_line(&textarea, line);
                }
            }
        });
    }
    on_cleanup(move || drop(editor.try_update_value(Option::take)));

    view! {
        <div class="editor-pane">
            <PlainEditor code on_run textarea hidden=mounted.into()/>
            <div class="code-mirror-host" node_ref=host></div>
            <Show when=move || mounted.get()>
                <VimSetting vim editor/>
            </Show>
        </div>
    }
}

/// Once the page has hydrated (effects run in the browser only): CodeMirror in `host`, with
/// the code typed meanwhile and the focus the textarea had; `mounted` once it is there.
fn mount_code_mirror(
    code: RwSignal<String>,
    on_run: Callback<()>,
    host: NodeRef<Div>,
    textarea: NodeRef<Textarea>,
    editor: EditorSlot,
    mounted: RwSignal<bool>,
    vim: RwSignal<bool>,
) {
    Effect::new(move |_| {
        let Some(host) = host.get() else { return };
        vim.set(vim_remembered());
        spawn_local(async move {
            let setup = EditorSetup {
                code: &code.get_untracked(),
                label: LABEL,
                vim: vim.get_untracked(),
                on_change: Box::new(move |text| code.set(text)),
                on_run: Box::new(move || on_run.run(())),
            };
            let cm = match CodeMirror::mount(&host, setup).await {
                Ok(cm) => cm,
                Err(error) => {
                    leptos::logging::error!("the code editor did not load, the plain one stays: {error:?}");
                    return;
                }
            };
            // Typed into the textarea while the editor loaded.
            cm.set_value(&code.get_untracked());
            if textarea.get_untracked().is_some_and(|t| has_focus(&t)) {
                cm.focus();
            }
            // Some(cm) back: the component went away meanwhile (dropping cm removes it).
            if editor.try_set_value(Some(SendWrapper::new(cm))).is_none() {
                mounted.set(true);
            }
        });
    });
}

/// The "Vim keys" checkbox: switches the editor's keys and remembers the choice.
#[component]
fn VimSetting(vim: RwSignal<bool>, editor: EditorSlot) -> impl IntoView {
    let set_vim = move |enabled: bool| {
        vim.set(enabled);
        remember_vim(enabled);
        let switched = editor.with_value(|cm| cm.as_ref().map(|cm| cm.set_vim(enabled)));
        if let Some(switched) = switched {
            spawn_local(async move {
                if let Err(error) = switched.await {
                    leptos::logging::error!("vim keys did not load: {error:?}");
                }
            });
        }
    };
    view! {
        <label class="editor-setting">
            <input
                type="checkbox"
                prop:checked=move || vim.get()
                on:change=move |event| set_vim(event_target_checked(&event))
            />
            "Vim keys"
        </label>
    }
}

/// The textarea: the editor without JavaScript, and until CodeMirror has loaded.
#[component]
fn PlainEditor(
    code: RwSignal<String>,
    on_run: Callback<()>,
    textarea: NodeRef<Textarea>,
    hidden: Signal<bool>,
) -> impl IntoView {
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
            node_ref=textarea
            aria-label=LABEL
            spellcheck="false"
            autocapitalize="off"
            autocomplete="off"
            hidden=move || hidden.get()
            prop:value=move || code.get()
            on:input=move |event| code.set(event_target_value(&event))
            on:keydown=on_keydown
            inner_html=server_html
        ></textarea>
    }
}

/// Puts the textarea's cursor at the start of line `line` (1-based).
fn select_line(textarea: &HtmlTextAreaElement, line: u32) {
    let value = textarea.value();
    let preceding = value.split_inclusive('\n').take(line.saturating_sub(1) as usize);
    // Selection offsets count UTF-16 code units.
    let offset = preceding.map(|l| l.encode_utf16().count() as u32).sum();
    let _ = textarea.focus();
    let _ = textarea.set_selection_range(offset, offset);
}

fn has_focus(element: &web_sys::Element) -> bool {
    document()
        .active_element()
        .is_some_and(|active| &active == element)
}

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn vim_remembered() -> bool {
    local_storage()
        .and_then(|s| s.get_item(VIM_SETTING).ok().flatten())
        .as_deref()
        == Some("on")
}

fn remember_vim(enabled: bool) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(VIM_SETTING, if enabled { "on" } else { "off" });
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
    let start = textarea.selection_start().ok().flatten().unwrap_or(0);
    let end = textarea.selection_end().ok().flatten().unwrap_or(start);
    let _ = textarea.set_range_text_with_start_and_end_and_mode(text, start, end, "end");
    textarea.value()
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
