//! The CodeMirror editor (editor/src/editor.js, bundled into the site as /editor/editor.js),
//! reached through the loader next to this file.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlElement;

#[wasm_bindgen(module = "/src/components/code_editor/codemirror.js")]
extern "C" {
    /// A mounted editor: `Editor` in editor/src/editor.js.
    type Editor;

    #[wasm_bindgen(catch, js_name = mountEditor)]
    async fn mount_editor(
        parent: &HtmlElement,
        doc: &str,
        label: &str,
        vim: bool,
        on_change: &Function,
        on_run: &Function,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, js_name = setValue)]
    fn set_value(this: &Editor, text: &str);

    #[wasm_bindgen(method)]
    fn focus(this: &Editor);

    #[wasm_bindgen(method, js_name = gotoLine)]
    fn goto_line(this: &Editor, line: u32);

    #[wasm_bindgen(method, js_name = setLineMarks)]
    fn set_line_marks(this: &Editor, lines: Vec<u32>, titles: Vec<String>);

    #[wasm_bindgen(method, js_name = setVim)]
    fn set_vim(this: &Editor, enabled: bool) -> Promise;

    #[wasm_bindgen(method)]
    fn destroy(this: &Editor);
}

/// What the editor shows and tells, when it is mounted.
pub struct EditorSetup<'a> {
    pub code: &'a str,
    /// Its accessible name.
    pub label: &'a str,
    pub vim: bool,
    /// Called with the whole code after each of the user's edits.
    pub on_change: Box<dyn FnMut(String)>,
    /// Ctrl/Cmd+Enter.
    pub on_run: Box<dyn FnMut()>,
}

/// A CodeMirror editor on the page; dropping it removes it.
pub struct CodeMirror {
    editor: Editor,
    // CodeMirror calls these until it is destroyed.
    _on_change: Closure<dyn FnMut(String)>,
    _on_run: Closure<dyn FnMut()>,
}

impl CodeMirror {
    /// Adds an editor at the end of `parent`, once the bundle (fetched from the start) is in.
    pub async fn mount(parent: &HtmlElement, setup: EditorSetup<'_>) -> Result<Self, JsValue> {
        let on_change = Closure::<dyn FnMut(String)>::new(setup.on_change);
        let on_run = Closure::<dyn FnMut()>::new(setup.on_run);
        let editor = mount_editor(
            parent,
            setup.code,
            setup.label,
            setup.vim,
            on_change.as_ref().unchecked_ref(),
            on_run.as_ref().unchecked_ref(),
        )
        .await?;
        Ok(Self {
            editor: editor.unchecked_into(),
            _on_change: on_change,
            _on_run: on_run,
        })
    }

    /// Shows `text`, changing only what differs (a cursor elsewhere stays). Not reported back
    /// through `on_change`.
    pub fn set_value(&self, text: &str) {
        self.editor.set_value(text);
    }

    pub fn focus(&self) {
        self.editor.focus();
    }

    /// Moves the cursor to line `line` (1-based), highlights the line and focuses the editor.
    pub fn goto_line(&self, line: u32) {
        self.editor.goto_line(line);
    }

    /// Marks these lines in the gutter, each with a tooltip; replaces earlier marks.
    pub fn set_line_marks(&self, marks: Vec<(u32, String)>) {
        let (lines, titles) = marks.into_iter().unzip();
        self.editor.set_line_marks(lines, titles);
    }

    /// Turns vim keys on or off; their code is fetched the first time, so this finishes when
    /// the future does.
    pub fn set_vim(&self, enabled: bool) -> JsFuture {
        JsFuture::from(self.editor.set_vim(enabled))
    }
}

impl Drop for CodeMirror {
    fn drop(&mut self) {
        self.editor.destroy();
    }
}
