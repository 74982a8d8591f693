// The page's PHP editor: CodeMirror 6 with what a playground needs, behind the small API that
// the Leptos component (app/src/components/code_editor/) calls through wasm-bindgen.
//
// Colours come from the page's stylesheet: syntax tokens get `tok-*` classes (classHighlighter)
// and the editor's theme uses the page's CSS variables, so it follows light and dark with the
// rest of the page.

import {
  Compartment,
  EditorSelection,
  EditorState,
  Prec,
  RangeSet,
  StateEffect,
  StateField,
} from '@codemirror/state';
import {
  Decoration,
  EditorView,
  GutterMarker,
  crosshairCursor,
  drawSelection,
  dropCursor,
  gutter,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  bracketMatching,
  foldGutter,
  foldKeymap,
  indentOnInput,
  LRLanguage,
  LanguageSupport,
  indentUnit,
  syntaxHighlighting,
} from '@codemirror/language';
import { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { classHighlighter } from '@lezer/highlight';
import { parseMixed } from '@lezer/common';
import { phpLanguage } from '@codemirror/lang-php';

/**
 * @typedef {object} EditorOptions
 * @property {string} doc        the code to start with
 * @property {string} nonce      the page's CSP nonce, for the `<style>` elements CodeMirror adds
 * @property {string} label      the accessible name of the editor
 * @property {boolean} vim       whether to start with vim keys
 */

/**
 * Creates an editor at the end of `parent`.
 * @param {HTMLElement} parent
 * @param {EditorOptions} options
 * @param {(doc: string) => void} onChange  called with the whole code after every edit by the user
 * @param {() => void} onRun                Ctrl/Cmd+Enter
 * @returns {Promise<Editor>} resolves once vim keys, if wanted, are loaded (or failed to)
 */
export async function mount(parent, options, onChange, onRun) {
  const editor = new Editor(parent, options, onChange, onRun);
  editor.withHtmlIfNeeded();
  if (options.vim) {
    // Without them the editor still works.
    await editor.setVim(true).catch((error) => console.error('vim keys did not load:', error));
  }
  return editor;
}

/** A mounted editor. */
export class Editor {
  constructor(parent, options, onChange, onRun) {
    this.keys = new Compartment();
    // Search and the HTML parser are fetched when first needed (lazyParts below).
    this.searching = new Compartment();
    this.language = new Compartment();
    // Edits made through setValue come from the page's own state: no echo back.
    this.applyingOutside = false;
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        doc: options.doc,
        extensions: [
          EditorView.cspNonce.of(options.nonce),
          // Above every other keymap (vim's too), so that it runs from any mode.
          Prec.highest(keymap.of([{ key: 'Mod-Enter', run: () => (onRun(), true) }])),
          this.keys.of([]),
          this.searching.of(keymap.of(searchKeys.map((key) => ({ key, run: (view) => this.search(view, key) })))),
          this.language.of(phpOnly),
          playgroundSetup,
          EditorView.contentAttributes.of({ 'aria-label': options.label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged && !this.applyingOutside) onChange(update.state.doc.toString());
            if (update.docChanged) this.withHtmlIfNeeded();
          }),
        ],
      }),
    });
  }

  /**
   * Replaces the code with `text`, changing only the part that differs, so that a cursor
   * outside that part stays where it was. No onChange for it.
   */
  setValue(text) {
    const current = this.view.state.doc.toString();
    if (current === text) return;
    let start = 0;
    const shorter = Math.min(current.length, text.length);
    while (start < shorter && current.charCodeAt(start) === text.charCodeAt(start)) start++;
    let end = 0;
    while (
      end < shorter - start &&
      current.charCodeAt(current.length - 1 - end) === text.charCodeAt(text.length - 1 - end)
    ) {
      end++;
    }
    this.applyingOutside = true;
    try {
      this.view.dispatch({
        changes: { from: start, to: current.length - end, insert: text.slice(start, text.length - end) },
      });
    } finally {
      this.applyingOutside = false;
    }
  }

  focus() {
    this.view.focus();
  }

  /** Loads search (panel, key bindings, selection matches) and runs the binding of `key`. */
  search(view, key) {
    import('@codemirror/search')
      .then(({ search, searchKeymap, highlightSelectionMatches }) => {
        view.dispatch({
          effects: this.searching.reconfigure([search({ top: false }), highlightSelectionMatches(), keymap.of(searchKeymap)]),
        });
        searchKeymap.find((binding) => binding.key === key)?.run?.(view);
      })
      .catch((error) => console.error('search did not load:', error));
    return true;
  }

  /** Code with HTML outside `<?php … ?>` gets the HTML parser, fetched then. */
  withHtmlIfNeeded() {
    if (this.htmlRequested || !hasHtml(this.view.state.doc.toString())) return;
    this.htmlRequested = true;
    import('@lezer/html')
      .then(({ parser }) => this.view.dispatch({ effects: this.language.reconfigure(phpInHtml(parser)) }))
      .catch((error) => console.error('the HTML parser did not load:', error));
  }

  /** Puts the cursor at the start of line `line` (1-based, clamped), scrolls to it, focuses. */
  gotoLine(line) {
    const doc = this.view.state.doc;
    const target = doc.line(Math.min(Math.max(1, line), doc.lines));
    this.view.dispatch({
      selection: EditorSelection.cursor(target.from),
      effects: [setJumpedLine.of(target.number), EditorView.scrollIntoView(target.from, { y: 'center' })],
    });
    this.view.focus();
  }

  /**
   * Marks lines in the gutter, e.g. those that error messages name; each mark's title says
   * why (its tooltip). Replaces the marks set before.
   * @param {number[]} lines   1-based
   * @param {string[]} titles  one per line
   */
  setLineMarks(lines, titles) {
    // `lines` may be a typed array, whose map() would make numbers of the objects.
    const marks = Array.from(lines, (line, i) => ({ line, title: titles[i] }));
    this.view.dispatch({ effects: setLineMarks.of(marks) });
  }

  /** Turns vim keys on or off; the vim code is fetched the first time it is turned on. */
  async setVim(enabled) {
    const keys = enabled ? (await import('@replit/codemirror-vim')).vim() : [];
    this.view.dispatch({ effects: this.keys.reconfigure(keys) });
  }

  destroy() {
    this.view.destroy();
  }
}

// Line marks: a gutter marker with a tooltip on each marked line; the line jumped to last also
// gets a background.
const setLineMarks = StateEffect.define();
const setJumpedLine = StateEffect.define();

class LineMarker extends GutterMarker {
  constructor(title) {
    super();
    this.title = title;
  }
  eq(other) {
    return other.title === this.title;
  }
  toDOM() {
    const marker = document.createElement('span');
    marker.className = 'cm-line-mark';
    marker.title = this.title;
    marker.textContent = '●';
    return marker;
  }
}

/** Maps a line number to its start in `doc`, or null when the doc is shorter. */
function lineStart(doc, line) {
  return line >= 1 && line <= doc.lines ? doc.line(line).from : null;
}

const lineMarks = StateField.define({
  create: () => RangeSet.empty,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setLineMarks)) continue;
      const ranges = [];
      for (const { line, title } of effect.value) {
        const from = lineStart(tr.state.doc, line);
        if (from !== null) ranges.push(new LineMarker(title).range(from));
      }
      marks = RangeSet.of(ranges, true);
    }
    return marks;
  },
});

const jumpedLineDecoration = Decoration.line({ class: 'cm-jumped-line' });

const jumpedLine = StateField.define({
  create: () => Decoration.none,
  update(decorations, tr) {
    decorations = decorations.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setJumpedLine)) continue;
      const from = lineStart(tr.state.doc, effect.value);
      decorations = from === null ? Decoration.none : Decoration.set([jumpedLineDecoration.range(from)]);
    }
    return decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const lineMarkGutter = [
  lineMarks,
  jumpedLine,
  gutter({ class: 'cm-line-marks', markers: (view) => view.state.field(lineMarks) }),
];

// The look: the page's variables, so that light and dark follow the page.
const playgroundTheme = EditorView.theme({
  '&': {
    color: 'var(--text)',
    backgroundColor: 'var(--panel)',
    border: '1px solid var(--border)',
    borderRadius: 'var(--radius)',
    fontSize: '14px',
    minHeight: '260px',
    maxHeight: '75vh',
  },
  '&.cm-focused': { outline: '2px solid var(--accent)', outlineOffset: '-1px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55', overflow: 'auto' },
  '.cm-content': { padding: '14px 0', caretColor: 'var(--text)' },
  '.cm-content, .cm-gutter': { minHeight: '258px' },
  '.cm-gutters': {
    backgroundColor: 'var(--code-bg)',
    color: 'var(--muted)',
    borderRight: '1px solid var(--border)',
    borderRadius: 'var(--radius) 0 0 var(--radius)',
  },
  '.cm-gutter.cm-lineNumbers .cm-gutterElement': { padding: '0 8px 0 12px' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)', color: 'var(--text)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection':
    { backgroundColor: 'var(--selection)' },
  '.cm-matchingBracket, &.cm-focused .cm-matchingBracket': {
    backgroundColor: 'var(--bracket-match)',
    outline: '1px solid var(--muted)',
  },
  '.cm-searchMatch': { backgroundColor: 'var(--warn-bg)', outline: '1px solid var(--warn)' },
  '.cm-panels': { backgroundColor: 'var(--code-bg)', color: 'var(--text)' },
  '.cm-panels.cm-panels-bottom': { borderTop: '1px solid var(--border)' },
  '.cm-panel.cm-search input, .cm-panel.cm-search button': { font: 'inherit', fontSize: '13px' },
  '.cm-line-marks .cm-gutterElement': { color: 'var(--bad)', padding: '0 2px 0 6px', cursor: 'default' },
  '.cm-jumped-line': { backgroundColor: 'var(--bad-bg)' },
});

// PHP inside `<?php … ?>`, HTML outside, as lang-php's php() does, but with a plain HTML parser:
// php() brings lang-html, whose JavaScript and CSS inside <script> and <style> would double the
// bundle for something PHP snippets hardly have. Most snippets are PHP from their first line
// on: the HTML parser is fetched only for code that has something outside `<?php … ?>`.
const phpOnly = new LanguageSupport(phpLanguage.configure({ top: 'Template' }));
const phpInHtml = (htmlParser) => {
  const htmlOutsidePhp = LRLanguage.define({ name: 'html', parser: htmlParser });
  return new LanguageSupport(
    phpLanguage.configure({
      wrap: parseMixed((node) =>
        node.type.isTop ? { parser: htmlOutsidePhp.parser, overlay: (node) => node.name === 'Text' } : null,
      ),
      top: 'Template',
    }),
  );
};

/** Whether `code` has text outside `<?php … ?>`: before its first `<?php`, or after a `?>`. */
const hasHtml = (code) => !code.trimStart().startsWith('<?') || code.includes('?>');

// The keys of @codemirror/search's keymap: pressing one loads search, then does what it does.
const searchKeys = ['Mod-f', 'F3', 'Mod-g', 'Shift-F3', 'Shift-Mod-g', 'Mod-Shift-l', 'Mod-Alt-g', 'Mod-d'];

// Typing over a selection, Chrome wraps the new text in a <span style="color: …"> to keep the
// look of what it deleted; the page's style-src refuses that attribute, a CSP violation on each
// such keystroke. The editor makes the replacement itself instead (through the input handlers,
// so that a bracket typed over a selection still wraps it).
const replaceSelectionWhenTyping = EditorView.domEventHandlers({
  beforeinput(event, view) {
    if (event.inputType !== 'insertText' || !event.data || view.composing) return false;
    const replaced = replacedRange(event, view);
    if (!replaced || replaced.from === replaced.to) return false;
    event.preventDefault();
    const { from, to } = replaced;
    const text = event.data;
    const { main } = view.state.selection;
    // The selection as the editor knows it (several ranges, maybe): replace each.
    const known = main.from === from && main.to === to;
    const transaction = () =>
      view.state.update(
        known
          ? view.state.replaceSelection(text)
          : { changes: { from, to, insert: text }, selection: { anchor: from + text.length } },
        { userEvent: 'input.type', scrollIntoView: true },
      );
    const handled = view.state.facet(EditorView.inputHandler).some((handler) => handler(view, from, to, text, transaction));
    if (!handled) view.dispatch(transaction());
    return true;
  },
});

/** What an input event replaces, as document positions: from the event when the browser says,
 * else from the DOM selection (the editor may not have seen a selection just made yet). */
function replacedRange(event, view) {
  const selection = view.root.getSelection();
  const range = event.getTargetRanges()[0] ?? (selection?.rangeCount ? selection.getRangeAt(0) : null);
  if (!range || !view.contentDOM.contains(range.startContainer) || !view.contentDOM.contains(range.endContainer)) {
    return null;
  }
  const from = view.posAtDOM(range.startContainer, range.startOffset);
  const to = view.posAtDOM(range.endContainer, range.endOffset);
  return { from: Math.min(from, to), to: Math.max(from, to) };
}

const playgroundSetup = [
  lineNumbers(),
  lineMarkGutter,
  foldGutter(),
  highlightActiveLineGutter(),
  highlightSpecialChars(),
  history(),
  drawSelection(),
  dropCursor(),
  EditorState.allowMultipleSelections.of(true),
  indentOnInput(),
  indentUnit.of('    '),
  syntaxHighlighting(classHighlighter),
  bracketMatching(),
  closeBrackets(),
  rectangularSelection(),
  crosshairCursor(),
  highlightActiveLine(),
  replaceSelectionWhenTyping,
  playgroundTheme,
  keymap.of([
    ...closeBracketsKeymap,
    ...defaultKeymap,
    ...historyKeymap,
    ...foldKeymap,
    // Tab indents; Escape then Tab leaves the editor (CodeMirror's tab-focus escape), so that
    // keyboard users are never trapped.
    indentWithTab,
  ]),
];
