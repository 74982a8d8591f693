// The loader between the Rust component (codemirror.rs) and the CodeMirror bundle that editor/
// builds into the site as /editor/editor.js.

// Fetched as soon as the page's own module loads, alongside the WASM, so that the editor is
// there soon after hydration; the page never waits for it.
const bundle = import('/editor/editor.js');
// A failed load is reported to mountEditor's caller, not as an unhandled rejection.
bundle.catch(() => {});

/** Mounts an editor in `parent` once the bundle is in; resolves to the editor. */
export async function mountEditor(parent, doc, label, vim, onChange, onRun) {
  const { mount } = await bundle;
  return mount(parent, { doc, label, vim, nonce: pageNonce() }, onChange, onRun);
}

// The nonce of this page's Content-Security-Policy, which Leptos puts on its scripts: CodeMirror
// adds <style> elements, and style-src lets in only those carrying it. (The browser hides the
// attribute's value; the `nonce` property keeps it.)
function pageNonce() {
  return document.querySelector('script[nonce]')?.nonce ?? '';
}
