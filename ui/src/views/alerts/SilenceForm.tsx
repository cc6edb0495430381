/**
 * The silence editor as a dialog: matchers (=, !=, =~, !~), a duration from now or start and end times,
 * creator and comment; a preview of the alerts the matchers currently select. Editing posts the silence with
 * its ID, as Alertmanager does (the server replaces it, or expires it and creates a new one). What only the
 * server can judge comes back as its message.
 */
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DialogActions, Modal } from '../../components/Modal.tsx';
import { ErrorMessage } from '../../components/states.tsx';
import {
  fetchAlerts,
  formatMatcher,
  matcherFromOp,
  opOf,
  postSilence,
  type Matcher,
  type Silence,
} from '../../lib/alerts.ts';
import { parseDuration } from '../../lib/time.ts';
import { localInput, type SilenceDraft } from './model.ts';

const OPS = ['=', '!=', '=~', '!~'] as const;
const CREATOR_KEY = 'vigil.silence.createdBy';

/** A draft for a new silence over `matchers`, or for editing `silence`. */
export function draftFor(opts: { matchers?: readonly Matcher[]; silence?: Silence }): SilenceDraft {
  const now = Date.now();
  const s = opts.silence;
  const ms = s?.matchers ?? opts.matchers ?? [];
  let creator = '';
  try {
    creator = localStorage.getItem(CREATOR_KEY) ?? '';
  } catch {
    // storage unavailable
  }
  return {
    id: s?.id,
    matchers: ms.length
      ? ms.map((m) => ({ name: m.name, op: opOf(m), value: m.value }))
      : [{ name: '', op: '=', value: '' }],
    mode: s ? 'end' : 'duration',
    duration: '2h',
    startsAt: localInput(s && s.status.state === 'pending' ? Date.parse(s.startsAt) : now),
    endsAt: localInput(s ? Date.parse(s.endsAt) : now + 2 * 3_600_000),
    createdBy: s?.createdBy ?? creator,
    comment: s?.comment ?? '',
  };
}

/** Problems the form can see before sending, by field. */
export function checkDraft(d: SilenceDraft): Record<string, string> {
  const out: Record<string, string> = {};
  d.matchers.forEach((m, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name))
      out[`m${i}`] = `Matcher ${i + 1}: "${m.name}" is not a label name (letters, digits and _).`;
    else if (m.op === '=~' || m.op === '!~')
      try {
        new RegExp(`^(?:${m.value})$`);
      } catch (err) {
        out[`m${i}`] = `Matcher ${i + 1}: invalid regular expression: ${(err as Error).message}`;
      }
  });
  if (d.matchers.length === 0) out.matchers = 'Add at least one matcher.';
  if (d.mode === 'duration' && parseDuration(d.duration.trim()) === undefined)
    out.duration = `Duration "${d.duration}" is not a duration such as 30m, 2h or 1d12h.`;
  if (d.mode === 'end') {
    if (Number.isNaN(new Date(d.startsAt).getTime())) out.startsAt = 'Enter a start time.';
    if (Number.isNaN(new Date(d.endsAt).getTime())) out.endsAt = 'Enter an end time.';
  }
  return out;
}

function toMatchers(d: SilenceDraft): Matcher[] {
  return d.matchers.map((m) => matcherFromOp(m.name, m.op, m.value));
}

export function SilenceForm({
  initial,
  onClose,
  onSaved,
}: {
  initial: SilenceDraft;
  onClose(): void;
  onSaved?(id: string): void;
}) {
  const [d, setD] = useState<SilenceDraft>(initial);
  const [tried, setTried] = useState(false);
  const qc = useQueryClient();
  const problems = checkDraft(d);
  const valid = Object.keys(problems).length === 0;
  const filter = valid ? toMatchers(d).map(formatMatcher) : [];
  const preview = useQuery({
    queryKey: ['silence-preview', filter],
    queryFn: ({ signal }) => fetchAlerts(filter, signal),
    enabled: valid,
  });
  const save = useMutation({
    mutationFn: () => {
      const now = Date.now();
      const startsAt = d.mode === 'duration' ? now : new Date(d.startsAt).getTime();
      const endsAt =
        d.mode === 'duration' ? now + parseDuration(d.duration.trim())! : new Date(d.endsAt).getTime();
      return postSilence({
        ...(d.id ? { id: d.id } : {}),
        matchers: toMatchers(d),
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(endsAt).toISOString(),
        createdBy: d.createdBy,
        comment: d.comment,
      });
    },
    onSuccess: async (id) => {
      try {
        localStorage.setItem(CREATOR_KEY, d.createdBy);
      } catch {
        // storage unavailable
      }
      await qc.invalidateQueries();
      onSaved?.(id);
      onClose();
    },
  });
  const set = (patch: Partial<SilenceDraft>) => setD((x) => ({ ...x, ...patch }));
  const setM = (i: number, patch: Partial<SilenceDraft['matchers'][number]>) =>
    set({ matchers: d.matchers.map((m, j) => (j === i ? { ...m, ...patch } : m)) });
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (valid) save.mutate();
  };

  return (
    <Modal title={d.id ? 'Edit silence' : 'New silence'} onClose={onClose} size="large" testId="silence-form">
      <form className="silence-form" onSubmit={submit} noValidate aria-label="Silence">
        <fieldset className="matchers">
          <legend>Matchers</legend>
          {d.matchers.map((m, i) => (
            <div className="matcher-row" key={i} data-testid="matcher-row">
              <input
                className="mono"
                aria-label={`Label name of matcher ${i + 1}`}
                placeholder="label"
                value={m.name}
                aria-invalid={tried && !!problems[`m${i}`]}
                onChange={(e) => setM(i, { name: e.target.value })}
              />
              <select
                className="select mono"
                aria-label={`Operator of matcher ${i + 1}`}
                value={m.op}
                onChange={(e) => setM(i, { op: e.target.value as (typeof OPS)[number] })}
              >
                {OPS.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
              <input
                className="mono value"
                aria-label={`Value of matcher ${i + 1}`}
                placeholder="value"
                value={m.value}
                onChange={(e) => setM(i, { value: e.target.value })}
              />
              <button
                type="button"
                className="btn icon"
                aria-label={`Remove matcher ${i + 1}`}
                onClick={() => set({ matchers: d.matchers.filter((_x, j) => j !== i) })}
              >
                ×
              </button>
            </div>
          ))}
          <button
            type="button"
            className="btn small"
            onClick={() => set({ matchers: [...d.matchers, { name: '', op: '=', value: '' }] })}
          >
            + Matcher
          </button>
        </fieldset>

        <div className="silence-times">
          <div className="seg" role="group" aria-label="Length">
            <button
              type="button"
              aria-pressed={d.mode === 'duration'}
              onClick={() => set({ mode: 'duration' })}
            >
              Duration
            </button>
            <button type="button" aria-pressed={d.mode === 'end'} onClick={() => set({ mode: 'end' })}>
              Start and end
            </button>
          </div>
          {d.mode === 'duration' ? (
            <label className="field">
              <span>Duration from now</span>
              <input
                data-testid="silence-duration"
                value={d.duration}
                placeholder="2h"
                aria-invalid={tried && !!problems.duration}
                onChange={(e) => set({ duration: e.target.value })}
              />
            </label>
          ) : (
            <>
              <label className="field">
                <span>Starts</span>
                <input
                  type="datetime-local"
                  data-testid="silence-start"
                  value={d.startsAt}
                  onChange={(e) => set({ startsAt: e.target.value })}
                />
              </label>
              <label className="field">
                <span>Ends</span>
                <input
                  type="datetime-local"
                  data-testid="silence-end"
                  value={d.endsAt}
                  onChange={(e) => set({ endsAt: e.target.value })}
                />
              </label>
            </>
          )}
        </div>

        <div className="silence-meta">
          <label className="field">
            <span>Created by</span>
            <input
              data-testid="silence-creator"
              value={d.createdBy}
              onChange={(e) => set({ createdBy: e.target.value })}
            />
          </label>
          <label className="field grow">
            <span>Comment</span>
            <textarea
              data-testid="silence-comment"
              rows={2}
              value={d.comment}
              onChange={(e) => set({ comment: e.target.value })}
            />
          </label>
        </div>

        {tried && !valid && (
          <ul className="form-problems" role="alert" data-testid="silence-problems">
            {Object.entries(problems).map(([k, m]) => (
              <li key={k} className="inline-error">
                {m}
              </li>
            ))}
          </ul>
        )}
        {save.isError && <ErrorMessage error={save.error} title="The silence was not saved" />}

        <section className="silence-preview" aria-label="Matching alerts" data-testid="silence-preview">
          <h3>Alerts it silences now</h3>
          {!valid ? (
            <p className="muted">Complete the matchers to see the alerts they select.</p>
          ) : preview.isError ? (
            <ErrorMessage error={preview.error} />
          ) : !preview.data ? (
            <p className="muted">Loading…</p>
          ) : preview.data.length === 0 ? (
            <p className="muted">No current alert matches.</p>
          ) : (
            <ul data-count={preview.data.length}>
              {preview.data.slice(0, 20).map((a) => (
                <li key={a.fingerprint} className="mono">
                  {a.labels.alertname ?? a.fingerprint}{' '}
                  <span className="muted">
                    {Object.entries(a.labels)
                      .filter(([k]) => k !== 'alertname')
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')}
                  </span>
                </li>
              ))}
              {preview.data.length > 20 && <li className="muted">and {preview.data.length - 20} more</li>}
            </ul>
          )}
        </section>

        <div className="modal-actions">
          <DialogActions
            confirmLabel={save.isPending ? 'Saving…' : d.id ? 'Update silence' : 'Create silence'}
            onCancel={onClose}
            disabled={save.isPending}
            submit
            testId="silence-save"
          />
        </div>
      </form>
    </Modal>
  );
}
