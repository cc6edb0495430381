/** Dialogs shared by the list and the dashboard page: create, import, save as. */
import { useRef, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { DialogActions, Modal } from '../../components/Modal.tsx';
import { ApiError } from '../../lib/api.ts';
import { createDashboard } from './api.ts';
import { documentForImport, parseImportText, type ImportMode } from './importdoc.ts';
import { copyOf, describeProblemPath, newDashboardDoc, type DashboardDoc } from './model.ts';

/** A server or client failure with its problem list, paths named after what the user sees. */
export function ProblemList({ error, doc, title }: { error: unknown; doc?: DashboardDoc; title: string }) {
  const err = error instanceof Error ? error : new Error(String(error));
  const details = err instanceof ApiError ? err.details : [];
  return (
    <div className="state error dash-problem" role="alert" data-testid="dashboard-error">
      <strong>{title}</strong>
      <span className="error-text">{err.message}</span>
      {details.length > 0 && (
        <ul className="error-details">
          {details.slice(0, 30).map((d, i) => (
            <li key={i}>
              <code>{describeProblemPath(doc, d.path)}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Creates a dashboard and makes the list and the new dashboard's cache know it; resolves to its uid. */
function useCreateDashboard() {
  const qc = useQueryClient();
  return async (doc: unknown, opts?: { overwrite?: boolean }): Promise<string> => {
    const res = await createDashboard(doc, opts);
    await qc.invalidateQueries({ queryKey: ['dashboards'] });
    qc.setQueryData(['dashboard', res.dashboard.uid], res);
    return res.dashboard.uid;
  };
}

const dashboardPath = (uid: string) => `/d/${encodeURIComponent(uid)}`;

/** Asks for a title, creates the dashboard `makeDoc` makes of it, and hands the new uid to `onCreated`. */
function TitleDialog({
  heading,
  testId,
  initialTitle,
  titleTestId,
  selectOnFocus,
  makeDoc,
  onCreated,
  problemDoc,
  problemTitle,
  submitLabel,
  submitTestId,
  onClose,
}: {
  heading: string;
  testId: string;
  initialTitle: string;
  titleTestId: string;
  selectOnFocus?: boolean;
  makeDoc: (title: string) => DashboardDoc;
  onCreated: (uid: string) => void;
  problemDoc?: DashboardDoc;
  problemTitle: string;
  submitLabel: string;
  submitTestId?: string;
  onClose: () => void;
}) {
  const [title, setTitle] = useState(initialTitle);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const create = useCreateDashboard();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await create(makeDoc(title.trim())));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title={heading} onClose={onClose} size="small" testId={testId}>
      <form className="dash-form" onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>Title</span>
          <input
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            autoFocus
            onFocus={selectOnFocus ? (e) => e.target.select() : undefined}
            maxLength={200}
            data-testid={titleTestId}
          />
        </label>
        {error !== undefined && <ProblemList error={error} doc={problemDoc} title={problemTitle} />}
        <div className="form-actions">
          <DialogActions
            submit
            confirmLabel={submitLabel}
            disabled={busy || title.trim() === ''}
            onCancel={onClose}
            testId={submitTestId}
          />
        </div>
      </form>
    </Modal>
  );
}

/** Asks for a title, creates a dashboard with one empty panel and opens it in edit mode. */
export function NewDashboardDialog({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  return (
    <TitleDialog
      heading="New dashboard"
      testId="new-dashboard-dialog"
      initialTitle="New dashboard"
      titleTestId="new-title"
      selectOnFocus
      makeDoc={newDashboardDoc}
      onCreated={(uid) => void navigate(`${dashboardPath(uid)}?edit=1`)}
      problemTitle="Not created"
      submitLabel="Create"
      submitTestId="create"
      onClose={onClose}
    />
  );
}

/** Import state that outlives the dialog, so closing it by mistake loses nothing that was pasted. */
export interface ImportState {
  text: string;
  mode: ImportMode;
  uid: string;
}

export const EMPTY_IMPORT: ImportState = { text: '', mode: 'keep', uid: '' };

/** The choices for a uid that exists already, in the order offered. */
const IMPORT_MODES: readonly { mode: ImportMode; label: string; testId?: string }[] = [
  { mode: 'keep', label: 'Stop and tell me' },
  { mode: 'copy', label: 'Import as a copy with a new uid', testId: 'import-mode-copy' },
  { mode: 'overwrite', label: 'Replace it' },
];

/**
 * Paste JSON or choose a file, then create it. Client-side JSON errors say where; the server's validation
 * problems are listed with their paths. The text stays as it is on any error.
 */
export function ImportDialog({
  state,
  onState,
  onClose,
}: {
  state: ImportState;
  onState: (s: ImportState) => void;
  onClose: () => void;
}) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const navigate = useNavigate();
  const create = useCreateDashboard();
  const parsed = parseImportText(state.text);
  const parsedDoc =
    parsed.ok && parsed.value && typeof parsed.value === 'object'
      ? (parsed.value as DashboardDoc)
      : undefined;

  const chooseFile = async (file: File | undefined) => {
    if (!file) return;
    try {
      onState({ ...state, text: await file.text() });
      setError(undefined);
    } catch (err) {
      setError(new Error(`Could not read ${file.name}: ${(err as Error).message}`));
    }
  };

  const submit = async () => {
    setError(undefined);
    if (!parsed.ok) {
      setError(new Error(parsed.message));
      return;
    }
    setBusy(true);
    try {
      const uid = await create(documentForImport(parsed.value, state.mode, state.uid), {
        overwrite: state.mode === 'overwrite',
      });
      onState(EMPTY_IMPORT);
      void navigate(dashboardPath(uid));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const conflict = error instanceof ApiError && error.kind === 'conflict';
  return (
    <Modal
      title="Import dashboard"
      onClose={onClose}
      size="large"
      testId="import-dialog"
      footer={
        <DialogActions
          confirmLabel={state.mode === 'overwrite' ? 'Import and replace' : 'Import'}
          disabled={busy || state.text.trim() === ''}
          onCancel={onClose}
          onConfirm={() => void submit()}
          testId="import-submit"
        />
      }
    >
      <div className="import-top">
        <p className="muted">Paste the JSON of a dashboard (as exported from Vigil), or choose a file.</p>
        <input
          ref={fileRef}
          type="file"
          accept="application/json,.json"
          className="sr-only"
          tabIndex={-1}
          data-testid="import-file"
          onChange={(e) => {
            void chooseFile(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
        <button type="button" className="btn" onClick={() => fileRef.current?.click()}>
          Choose file…
        </button>
      </div>
      <label className="sr-only" htmlFor="import-text">
        Dashboard JSON
      </label>
      <textarea
        id="import-text"
        className="import-text mono"
        spellCheck={false}
        value={state.text}
        placeholder={'{\n  "schemaVersion": 1,\n  "title": "My dashboard",\n  "panels": []\n}'}
        onChange={(e) => onState({ ...state, text: e.target.value })}
        data-testid="import-text"
        autoFocus
      />
      {!parsed.ok && state.text.trim() !== '' && <p className="inline-error">{parsed.message}</p>}
      <fieldset className="import-mode">
        <legend>If a dashboard with this uid exists</legend>
        {IMPORT_MODES.map((m) => (
          <label key={m.mode} className="check">
            <input
              type="radio"
              name="import-mode"
              checked={state.mode === m.mode}
              onChange={() => onState({ ...state, mode: m.mode })}
              data-testid={m.testId}
            />
            {m.label}
          </label>
        ))}
        <label className="field inline">
          <span>Uid</span>
          <input
            value={state.uid}
            onChange={(e) => onState({ ...state, uid: e.target.value })}
            placeholder={parsedDoc?.uid ? `${String(parsedDoc.uid)} (from the JSON)` : 'assigned by Vigil'}
            maxLength={40}
            data-testid="import-uid"
          />
        </label>
      </fieldset>
      {error !== undefined && <ProblemList error={error} doc={parsedDoc} title="Not imported" />}
      {conflict && (
        <p className="muted">
          Choose “Import as a copy” to keep both dashboards, or “Replace it” to overwrite the existing one.
        </p>
      )}
    </Modal>
  );
}

/** Saves a document under a new uid with a new title, then opens the copy. */
export function SaveAsDialog({
  doc,
  onClose,
  onSaved,
}: {
  doc: DashboardDoc;
  onClose: () => void;
  onSaved?: (uid: string) => void;
}) {
  const navigate = useNavigate();
  return (
    <TitleDialog
      heading="Save as a new dashboard"
      testId="save-as-dialog"
      initialTitle={`${doc.title} (copy)`}
      titleTestId="save-as-title"
      makeDoc={(title) => copyOf(doc, title)}
      onCreated={(uid) => {
        onSaved?.(uid);
        void navigate(dashboardPath(uid));
      }}
      problemDoc={doc}
      problemTitle="Not saved"
      submitLabel="Save copy"
      onClose={onClose}
    />
  );
}
