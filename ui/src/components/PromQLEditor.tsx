/**
 * The PromQL expression editor: CodeMirror 6 with the PromQL language (highlighting, offline linting, and
 * autocompletion of functions, metric names, label names and values from Vigil's Prometheus API at /api/v1).
 * Enter runs the query, Shift+Enter inserts a newline; the editor grows with its content up to eight lines.
 * A server-side error with a position is underlined at that position and its message shown below.
 *
 * CodeMirror is large: import this component only from lazily loaded views, so pages that do not edit
 * queries never download it.
 */
import { useEffect, useId, useRef } from 'react';
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { forceLinting, linter, type Diagnostic } from '@codemirror/lint';
import { Compartment, EditorState, Prec, StateEffect, StateField, type Extension } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightSpecialChars,
  keymap,
  placeholder as placeholderExt,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import {
  newCompleteStrategy,
  PromQLExtension,
  type CompleteStrategy,
} from '@prometheus-io/codemirror-promql';
import { diagnosticRange, type EditorError } from '../lib/promqlPosition.ts';
import './PromQLEditor.css';

export type { EditorError } from '../lib/promqlPosition.ts';

export interface PromQLEditorProps {
  value: string;
  onChange(v: string): void;
  /** Called on Enter (and Ctrl/⌘+Enter). Without it, Enter inserts a newline. */
  onRun?(): void;
  placeholder?: string;
  /** An error from the server; with a line/column it is also underlined in the text. */
  error?: EditorError;
  autoFocus?: boolean;
  ariaLabel?: string;
  /** Smaller font and padding, for panel editors and forms. */
  compact?: boolean;
  /**
   * Check syntax while typing (default true). Off for dashboard queries: `$job` and `$__rate_interval` are
   * not PromQL until the dashboard expands them, and the server still reports real errors.
   */
  lint?: boolean;
}

const highlight = HighlightStyle.define([
  { tag: tags.function(tags.variableName), color: 'var(--code-fn)' },
  { tag: [tags.operatorKeyword, tags.modifier, tags.logicOperator], color: 'var(--code-kw)' },
  { tag: tags.string, color: 'var(--code-str)' },
  { tag: tags.number, color: 'var(--code-num)' },
  { tag: tags.labelName, color: 'var(--fg)', fontStyle: 'italic' },
  { tag: tags.comment, color: 'var(--fg-muted)', fontStyle: 'italic' },
  { tag: [tags.operator, tags.arithmeticOperator], color: 'var(--fg-muted)' },
  { tag: tags.invalid, color: 'var(--bad)' },
]);

// Colours come from the design tokens, so one CodeMirror theme serves both the light and the dark theme.
const baseTheme = EditorView.theme({
  '&': { color: 'var(--fg)', backgroundColor: 'transparent' },
  '.cm-content': { caretColor: 'var(--fg)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--fg)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection': {
    backgroundColor: 'color-mix(in srgb, var(--accent) 28%, transparent)',
  },
  '&.cm-focused .cm-matchingBracket': {
    backgroundColor: 'color-mix(in srgb, var(--accent) 22%, transparent)',
    outline: '1px solid color-mix(in srgb, var(--accent) 50%, transparent)',
  },
  '&.cm-focused .cm-nonmatchingBracket': { backgroundColor: 'var(--bad-soft)', color: 'var(--bad)' },
  '.cm-placeholder': { color: 'var(--fg-muted)' },
  '.cm-tooltip': {
    backgroundColor: 'var(--panel)',
    color: 'var(--fg)',
    border: '1px solid var(--border)',
    borderRadius: 'var(--radius)',
    boxShadow: 'var(--shadow)',
    overflow: 'hidden',
  },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': {
    fontFamily: 'var(--mono)',
    fontSize: '12.5px',
    maxHeight: '16em',
  },
  '.cm-tooltip.cm-tooltip-autocomplete > ul > li': { padding: '2px 8px' },
  '.cm-tooltip-autocomplete ul li[aria-selected]': {
    backgroundColor: 'var(--accent-soft)',
    color: 'var(--fg)',
  },
  '.cm-completionDetail': { color: 'var(--fg-muted)', fontStyle: 'normal', marginLeft: '1em' },
  '.cm-completionMatchedText': { textDecoration: 'none', fontWeight: '700', color: 'var(--accent)' },
  '.cm-completionInfo': {
    backgroundColor: 'var(--panel)',
    border: '1px solid var(--border)',
    color: 'var(--fg)',
    maxWidth: '420px',
    fontSize: '12.5px',
  },
  '.cm-diagnostic': { fontSize: '12.5px', padding: '4px 8px' },
  '.cm-diagnostic-error': { borderLeftColor: 'var(--bad)' },
  '.cm-diagnostic-warning': { borderLeftColor: 'var(--warn)' },
  '.cm-lintRange-error': {
    backgroundImage: 'none',
    textDecoration: 'underline wavy var(--bad)',
    textDecorationSkipInk: 'none',
    textUnderlineOffset: '3px',
  },
  '.cm-lintRange-warning': {
    backgroundImage: 'none',
    textDecoration: 'underline wavy var(--warn)',
    textUnderlineOffset: '3px',
  },
  '.cm-lintPoint-error:after': { borderBottomColor: 'var(--bad)' },
});

/** The server's error for the current text; any edit clears it, since it described the old text. */
const setServerError = StateEffect.define<EditorError | null>();
const serverError = StateField.define<EditorError | null>({
  create: () => null,
  update(value, tr) {
    for (const e of tr.effects) if (e.is(setServerError)) return e.value;
    return tr.docChanged ? null : value;
  },
});

const serverErrorLinter = linter(
  (view): Diagnostic[] => {
    const err = view.state.field(serverError);
    if (!err) return [];
    const range = diagnosticRange(view.state.doc.toString(), err);
    if (!range) return [];
    return [{ from: range.from, to: range.to, severity: 'error', source: 'Vigil', message: err.message }];
  },
  { delay: 0, needsRefresh: (u) => u.transactions.some((t) => t.effects.some((e) => e.is(setServerError))) },
);

let completion: CompleteStrategy | undefined;

/**
 * One completion source for every editor on the page, so metric and label names are fetched (and cached)
 * once, not per query row. It lives as long as the page.
 */
function sharedCompletion(): CompleteStrategy {
  completion ??= newCompleteStrategy({
    remote: {
      url: '', // same origin: Vigil serves the Prometheus API at /api/v1
      httpMethod: 'POST',
      httpErrorHandler: () => {
        // Completion is best effort: a failed lookup simply offers fewer suggestions.
      },
      cache: { maxAge: 60_000 },
    },
    maxMetricsMetadata: 10_000,
  });
  return completion;
}

function sameError(a: EditorError | null | undefined, b: EditorError | null | undefined): boolean {
  return (
    (a ?? null) === (b ?? null) ||
    (!!a && !!b && a.message === b.message && a.line === b.line && a.col === b.col)
  );
}

export function PromQLEditor(props: PromQLEditorProps) {
  const { value, error, placeholder, autoFocus, ariaLabel, compact } = props;
  const host = useRef<HTMLDivElement>(null);
  const viewRef = useRef<EditorView | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;
  const placeholderSlot = useRef(new Compartment());
  const ariaSlot = useRef(new Compartment());
  const errorId = useId();

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const promql = new PromQLExtension()
      .setComplete({ completeStrategy: sharedCompletion() })
      .activateLinter(callbacks.current.lint ?? true);
    const run = () => {
      const fn = callbacks.current.onRun;
      if (!fn) return false;
      fn();
      return true;
    };
    const extensions: Extension[] = [
      history(),
      drawSelection(),
      highlightSpecialChars(),
      bracketMatching(),
      closeBrackets(),
      autocompletion({ icons: false, activateOnTypingDelay: 80 }),
      // Above the default keymap (which binds Enter to a newline); the completion keymap stays above this.
      Prec.high(
        keymap.of([
          { key: 'Enter', run },
          { key: 'Mod-Enter', run },
          { key: 'Shift-Enter', run: insertNewlineAndIndent },
        ]),
      ),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
      promql.asExtension(),
      syntaxHighlighting(highlight),
      baseTheme,
      EditorView.lineWrapping,
      serverError,
      serverErrorLinter,
      placeholderSlot.current.of(placeholderExt(callbacks.current.placeholder ?? '')),
      ariaSlot.current.of(ariaAttrs(callbacks.current.ariaLabel, undefined)),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
      }),
    ];
    const view = new EditorView({
      parent: el,
      state: EditorState.create({ doc: callbacks.current.value, extensions }),
    });
    viewRef.current = view;
    if (callbacks.current.autoFocus) view.focus();
    return () => {
      view.destroy();
      viewRef.current = null;
    };
  }, []);

  // Controlled value: replace the text when the parent changes it (history pick, URL), not on our own edits.
  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    const current = view.state.doc.toString();
    if (current !== value) {
      view.dispatch({
        changes: { from: 0, to: current.length, insert: value },
        selection: { anchor: value.length },
      });
    }
  }, [value]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    view.dispatch({ effects: placeholderSlot.current.reconfigure(placeholderExt(placeholder ?? '')) });
  }, [placeholder]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    view.dispatch({
      effects: ariaSlot.current.reconfigure(ariaAttrs(ariaLabel, error ? errorId : undefined)),
    });
  }, [ariaLabel, error, errorId]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view || sameError(view.state.field(serverError), error)) return;
    view.dispatch({ effects: setServerError.of(error ?? null) });
    forceLinting(view);
  }, [error?.message, error?.line, error?.col]);

  useEffect(() => {
    if (autoFocus) viewRef.current?.focus();
  }, [autoFocus]);

  return (
    <div className={`promql-editor ${compact ? 'compact' : ''} ${error ? 'has-error' : ''}`}>
      <div className="promql-input" ref={host} data-testid="promql-editor" />
      {error && (
        <div className="promql-error" id={errorId} role="alert" data-testid="promql-error">
          {error.line !== undefined && error.col !== undefined && (
            <span className="promql-error-pos">
              line {error.line}, column {error.col}
            </span>
          )}
          <span className="promql-error-msg">{error.message.replace(/^\d+:\d+:\s*/, '')}</span>
        </div>
      )}
    </div>
  );
}

function ariaAttrs(label: string | undefined, describedBy: string | undefined): Extension {
  const attrs: Record<string, string> = {
    'aria-label': label ?? 'PromQL expression',
    'aria-multiline': 'true',
  };
  if (describedBy) attrs['aria-describedby'] = describedBy;
  return EditorView.contentAttributes.of(attrs);
}

export default PromQLEditor;
