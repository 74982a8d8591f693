// The loader between the Rust component (codemirror.rs) and the CodeMirror bundle that editor/
// builds into the site as /editor/editor.js. The bundle is fetched on first use, after the page
// has hydrated, so the page never waits for it.

let bundle;

/** Loads the bundle (once) and mounts an editor in `parent`; resolves to the editor. */
export async function mountEditor(parent, doc, label, vim, onChange, onRun) {
  bundle ??= import('/editor/editor.js');
  const { mount } = await bundle;
  return mount(parent, { doc, label, vim, nonce: pageNonce() }, onChange, onRun);
}

// The nonce of this page's Content-Security-Policy, which Leptos puts on its scripts: CodeMirror
// adds <style> elements, and style-src lets in only those carrying it. (The browser hides the
// attribute's value; the `nonce` property keeps it.)
function pageNonce() {
  return document.querySelector('script[nonce]')?.nonce ?? '';
}
