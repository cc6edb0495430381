/**
 * Dashboard settings, edited into the draft: general fields (title, tags, description, default time range
 * and refresh), the variables, and the whole document as JSON.
 */
import { useState } from 'react';
import { labelValues } from '../../lib/api.ts';
import { REFRESH_INTERVALS, type ResolvedRange } from '../../lib/time.ts';
import { exportJson, parseTags, type DashboardDoc, type Variable } from './model.ts';
import { interpolate, parseVariableQuery, type VariableValue } from './interpolate.ts';
import { parseImportText } from './importdoc.ts';

export type SettingsTab = 'general' | 'variables' | 'json';

export interface SettingsViewProps {
  readonly doc: DashboardDoc;
  readonly tab: SettingsTab;
  readonly range: ResolvedRange;
  readonly values: ReadonlyMap<string, VariableValue>;
  readonly onTab: (t: SettingsTab) => void;
  readonly onChange: (doc: DashboardDoc) => void;
  readonly onClose: () => void;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function SettingsView(props: SettingsViewProps) {
  const { doc, tab, onTab, onClose } = props;
  return (
    <div className="settings card" data-testid="dashboard-settings">
      <div className="settings-head">
        <div className="seg" role="tablist" aria-label="Settings">
          {(
            [
              ['general', 'General'],
              ['variables', `Variables (${doc.variables.length})`],
              ['json', 'JSON model'],
            ] as const
          ).map(([id, label]) => (
            <button
              type="button"
              role="tab"
              key={id}
              aria-selected={tab === id}
              aria-pressed={tab === id}
              onClick={() => onTab(id)}
              data-testid={`settings-tab-${id}`}
            >
              {label}
            </button>
          ))}
        </div>
        <span className="spacer" />
        <button type="button" className="btn primary" onClick={onClose} data-testid="settings-close">
          Back to dashboard
        </button>
      </div>
      <div className="settings-body">
        {tab === 'general' && <General {...props} />}
        {tab === 'variables' && <Variables {...props} />}
        {tab === 'json' && <JsonModel {...props} />}
      </div>
    </div>
  );
}

function General({ doc, onChange }: SettingsViewProps) {
  const [tags, setTags] = useState((doc.tags ?? []).join(', '));
  const set = (patch: Partial<DashboardDoc>) => {
    const next = { ...doc, ...patch };
    for (const k of Object.keys(patch) as (keyof DashboardDoc)[]) if (next[k] === undefined) delete next[k];
    onChange(next);
  };
  const from = doc.time?.from ?? '';
  const to = doc.time?.to ?? '';
  const setTime = (f: string, t: string) =>
    set({
      time:
        f.trim() === '' && t.trim() === ''
          ? undefined
          : { from: f.trim() || 'now-1h', to: t.trim() || 'now' },
    });
  return (
    <div className="settings-form">
      <label className="field">
        <span>Title</span>
        <input
          value={doc.title}
          maxLength={200}
          onChange={(e) => set({ title: e.target.value })}
          data-testid="settings-title"
        />
        {doc.title.trim() === '' && <span className="inline-error">A dashboard needs a title.</span>}
      </label>
      <label className="field">
        <span>Tags</span>
        <input
          value={tags}
          placeholder="comma-separated, e.g. web, production"
          onChange={(e) => {
            setTags(e.target.value);
            set({ tags: parseTags(e.target.value) });
          }}
          data-testid="settings-tags"
        />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea
          rows={3}
          value={doc.description ?? ''}
          onChange={(e) => set({ description: e.target.value || undefined })}
        />
      </label>
      <div className="pe-row">
        <label className="field grow">
          <span>Default time range: from</span>
          <input value={from} placeholder="now-1h" onChange={(e) => setTime(e.target.value, to)} />
        </label>
        <label className="field grow">
          <span>to</span>
          <input value={to} placeholder="now" onChange={(e) => setTime(from, e.target.value)} />
        </label>
        <label className="field grow">
          <span>Default auto-refresh</span>
          <select
            className="select"
            value={doc.refresh ?? 'off'}
            onChange={(e) => set({ refresh: e.target.value === 'off' ? undefined : e.target.value })}
          >
            {REFRESH_INTERVALS.map((r) => (
              <option key={r} value={r}>
                {r === 'off' ? 'Off' : `Every ${r}`}
              </option>
            ))}
            {doc.refresh && !(REFRESH_INTERVALS as readonly string[]).includes(doc.refresh) && (
              <option value={doc.refresh}>Every {doc.refresh}</option>
            )}
          </select>
        </label>
      </div>
      <p className="muted small-text">
        The default range and refresh apply when a link does not carry its own (from, to, refresh in the
        address).
      </p>
    </div>
  );
}

function Variables({ doc, onChange, range, values }: SettingsViewProps) {
  const vars = doc.variables;
  const setVars = (variables: Variable[]) => onChange({ ...doc, variables });
  const update = (i: number, patch: Partial<Variable>) =>
    setVars(vars.map((v, j) => (j === i ? { ...v, ...patch } : v)));
  const move = (i: number, d: -1 | 1) => {
    const j = i + d;
    if (j < 0 || j >= vars.length) return;
    const next = [...vars];
    [next[i], next[j]] = [next[j]!, next[i]!];
    setVars(next);
  };
  const add = () => {
    let n = vars.length + 1;
    while (vars.some((v) => v.name === `var${n}`)) n++;
    setVars([
      ...vars,
      {
        name: vars.length === 0 ? 'job' : `var${n}`,
        query: 'label_values(job)',
        multi: false,
        includeAll: false,
      },
    ]);
  };
  return (
    <div className="settings-form">
      <p className="muted small-text">
        Use a variable in a query as <code>$name</code> or <code>{'${name}'}</code>, usually inside a matcher:{' '}
        <code>{'up{job=~"$job"}'}</code>. Several values or All become a regular expression, so use{' '}
        <code>=~</code> for those. A variable&apos;s query may use the variables above it.
      </p>
      {vars.length === 0 && <p className="muted">No variables yet.</p>}
      {vars.map((v, i) => {
        const nameProblem = !NAME_RE.test(v.name)
          ? 'Letters, digits and "_", not starting with a digit.'
          : vars.findIndex((x) => x.name === v.name) !== i
            ? 'Another variable has this name.'
            : undefined;
        const parsed = parseVariableQuery(v.query);
        return (
          <div className="var-edit" key={i} data-testid={`variable-${i}`}>
            <div className="pe-row">
              <label className="field">
                <span>Name</span>
                <input
                  value={v.name}
                  onChange={(e) => update(i, { name: e.target.value.trim() })}
                  data-testid="variable-name"
                />
              </label>
              <label className="field grow">
                <span>Label</span>
                <input
                  value={v.label ?? ''}
                  placeholder={v.name}
                  onChange={(e) => update(i, { label: e.target.value || undefined })}
                />
              </label>
              <div className="var-edit-actions">
                <button
                  type="button"
                  className="btn icon small"
                  aria-label="Move up"
                  title="Move up"
                  disabled={i === 0}
                  onClick={() => move(i, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="btn icon small"
                  aria-label="Move down"
                  title="Move down"
                  disabled={i === vars.length - 1}
                  onClick={() => move(i, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="btn small danger"
                  onClick={() => setVars(vars.filter((_x, j) => j !== i))}
                >
                  Remove
                </button>
              </div>
            </div>
            {nameProblem && <p className="inline-error">{nameProblem}</p>}
            <label className="field">
              <span>Query</span>
              <input
                className="mono"
                value={v.query}
                placeholder='label_values(job) or label_values(up{env="prod"}, instance)'
                onChange={(e) => update(i, { query: e.target.value })}
                data-testid="variable-query"
                spellCheck={false}
              />
            </label>
            {'error' in parsed && <p className="inline-error">The query {parsed.error}.</p>}
            <div className="pe-row">
              <label className="check">
                <input
                  type="checkbox"
                  checked={v.multi}
                  onChange={(e) => update(i, { multi: e.target.checked })}
                  data-testid="variable-multi"
                />
                Several values
              </label>
              <label className="check">
                <input
                  type="checkbox"
                  checked={v.includeAll}
                  onChange={(e) => update(i, { includeAll: e.target.checked })}
                  data-testid="variable-all"
                />
                Include “All”
              </label>
              {v.current && v.current.length > 0 && (
                <span className="muted small-text">
                  Saved selection: {v.current.join(', ')}{' '}
                  <button type="button" className="linkish" onClick={() => update(i, { current: undefined })}>
                    forget
                  </button>
                </span>
              )}
            </div>
            {!('error' in parsed) && <ValuesPreview query={parsed} range={range} values={values} />}
          </div>
        );
      })}
      <div>
        <button type="button" className="btn" onClick={add} data-testid="add-variable">
          + Add variable
        </button>
      </div>
    </div>
  );
}

function ValuesPreview({
  query,
  range,
  values,
}: {
  query: { label: string; selector?: string };
  range: ResolvedRange;
  values: ReadonlyMap<string, VariableValue>;
}) {
  const [result, setResult] = useState<{ key: string; values?: string[]; error?: string }>();
  const key = `${query.label}\u0000${query.selector ?? ''}`;
  const load = async () => {
    setResult({ key });
    try {
      const selector = query.selector ? interpolate(query.selector, values) : undefined;
      const vs = await labelValues(query.label, {
        match: selector ? [selector] : undefined,
        start: Math.floor(range.start / 1000),
        end: Math.ceil(range.end / 1000),
      });
      setResult({ key, values: vs });
    } catch (err) {
      setResult({ key, error: (err as Error).message });
    }
  };
  const current = result?.key === key ? result : undefined;
  return (
    <div className="var-preview">
      <button type="button" className="btn small" onClick={() => void load()}>
        Preview values
      </button>
      {current && !current.values && !current.error && <span className="muted">Loading…</span>}
      {current?.error && <span className="inline-error">{current.error}</span>}
      {current?.values && (
        <span className="var-preview-values">
          {current.values.length === 0 && <span className="muted">No values in the current time range.</span>}
          {current.values.slice(0, 30).map((x) => (
            <span className="tag" key={x}>
              {x}
            </span>
          ))}
          {current.values.length > 30 && <span className="muted">and {current.values.length - 30} more</span>}
        </span>
      )}
    </div>
  );
}

function JsonModel({ doc, onChange }: SettingsViewProps) {
  const [text, setText] = useState(() => exportJson(doc));
  const [problem, setProblem] = useState<string>();
  const [applied, setApplied] = useState(false);
  const apply = () => {
    const parsed = parseImportText(text);
    if (!parsed.ok) {
      setProblem(parsed.message);
      return;
    }
    const v = parsed.value as Partial<DashboardDoc> | null;
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Array.isArray(v.panels)) {
      setProblem('The JSON must be a dashboard object with a "panels" list.');
      return;
    }
    setProblem(undefined);
    setApplied(true);
    onChange({
      ...(v as DashboardDoc),
      variables: Array.isArray(v.variables) ? v.variables : [],
      uid: doc.uid,
    });
  };
  return (
    <div className="settings-form">
      <p className="muted small-text">
        The dashboard as JSON (the format export and import use). Apply puts it into the draft; Vigil checks
        it when you save. The uid stays {doc.uid ? `“${doc.uid}”` : 'as it is'}.
      </p>
      <textarea
        className="json-model mono"
        spellCheck={false}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setApplied(false);
        }}
        aria-label="Dashboard JSON"
      />
      {problem && <p className="inline-error">{problem}</p>}
      <div className="pe-row">
        <button type="button" className="btn primary" onClick={apply}>
          Apply JSON
        </button>
        <button type="button" className="btn" onClick={() => setText(exportJson(doc))}>
          Reset to current
        </button>
        {applied && <span className="muted">Applied to the draft.</span>}
      </div>
    </div>
  );
}
