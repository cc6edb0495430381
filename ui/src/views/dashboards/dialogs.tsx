/** Dialogs shared by the list and the dashboard page: create, import, save as. */
import { useRef, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { Modal } from '../../components/Modal.tsx';
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

/** Asks for a title, creates a dashboard with one empty panel and opens it in edit mode. */
export function NewDashboardDialog({ onClose }: { onClose: () => void }) {
  const [title, setTitle] = useState('New dashboard');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res = await createDashboard(newDashboardDoc(title.trim()));
      await qc.invalidateQueries({ queryKey: ['dashboards'] });
      qc.setQueryData(['dashboard', res.dashboard.uid], res);
      void navigate(`/d/${encodeURIComponent(res.dashboard.uid)}?edit=1`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title="New dashboard" onClose={onClose} size="small" testId="new-dashboard-dialog">
      <form className="dash-form" onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>Title</span>
          <input
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            autoFocus
            onFocus={(e) => e.target.select()}
            maxLength={200}
            data-testid="new-title"
          />
        </label>
        {error !== undefined && <ProblemList error={error} title="Not created" />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            className="btn primary"
            disabled={busy || title.trim() === ''}
            data-testid="create"
          >
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Import state that outlives the dialog, so closing it by mistake loses nothing that was pasted. */
export interface ImportState {
  text: string;
  mode: ImportMode;
  uid: string;
}

export const EMPTY_IMPORT: ImportState = { text: '', mode: 'keep', uid: '' };

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
  const qc = useQueryClient();
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
      const res = await createDashboard(documentForImport(parsed.value, state.mode, state.uid), {
        overwrite: state.mode === 'overwrite',
      });
      await qc.invalidateQueries({ queryKey: ['dashboards'] });
      qc.setQueryData(['dashboard', res.dashboard.uid], res);
      onState(EMPTY_IMPORT);
      void navigate(`/d/${encodeURIComponent(res.dashboard.uid)}`);
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
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="btn primary"
            disabled={busy || state.text.trim() === ''}
            onClick={() => void submit()}
            data-testid="import-submit"
          >
            {state.mode === 'overwrite' ? 'Import and replace' : 'Import'}
          </button>
        </>
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
        <label className="check">
          <input
            type="radio"
            name="import-mode"
            checked={state.mode === 'keep'}
            onChange={() => onState({ ...state, mode: 'keep' })}
          />
          Stop and tell me
        </label>
        <label className="check">
          <input
            type="radio"
            name="import-mode"
            checked={state.mode === 'copy'}
            onChange={() => onState({ ...state, mode: 'copy' })}
            data-testid="import-mode-copy"
          />
          Import as a copy with a new uid
        </label>
        <label className="check">
          <input
            type="radio"
            name="import-mode"
            checked={state.mode === 'overwrite'}
            onChange={() => onState({ ...state, mode: 'overwrite' })}
          />
          Replace it
        </label>
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
  const [title, setTitle] = useState(`${doc.title} (copy)`);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res = await createDashboard(copyOf(doc, title.trim()));
      await qc.invalidateQueries({ queryKey: ['dashboards'] });
      qc.setQueryData(['dashboard', res.dashboard.uid], res);
      onSaved?.(res.dashboard.uid);
      void navigate(`/d/${encodeURIComponent(res.dashboard.uid)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title="Save as a new dashboard" onClose={onClose} size="small" testId="save-as-dialog">
      <form className="dash-form" onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>Title</span>
          <input
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            autoFocus
            maxLength={200}
            data-testid="save-as-title"
          />
        </label>
        {error !== undefined && <ProblemList error={error} doc={doc} title="Not saved" />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy || title.trim() === ''}>
            Save copy
          </button>
        </div>
      </form>
    </Modal>
  );
}
