/**
 * A dashboard at /d/:uid: title bar, variables and time range (all in the URL), and the panel grid. Edit
 * mode works on a draft copy (kept in localStorage until saved or discarded): add, move, resize, duplicate
 * and remove panels, the panel editor, settings; Save sends the draft with the version it started from, so
 * a concurrent save is detected and the user chooses what happens to their edits.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { TimeRangePicker, useTimeRange } from '../../app/timerange.tsx';
import { ConfirmDialog, Modal } from '../../components/Modal.tsx';
import { ErrorMessage, Loading } from '../../components/states.tsx';
import { ApiError } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/time.ts';
import { downloadText, getDashboard, updateDashboard } from './api.ts';
import { DashboardGrid } from './DashboardGrid.tsx';
import { ProblemList, SaveAsDialog } from './dialogs.tsx';
import { clearDraft, loadDraft, saveDraft, type Draft } from './draft.ts';
import {
  applyLayout,
  canonical,
  duplicatePanel,
  exportFileName,
  exportJson,
  newPanel,
  sameDoc,
  type DashboardDoc,
  type DashboardResponse,
  type Panel,
} from './model.ts';
import type { PanelContext, PanelStatus } from './panelData.ts';
import { PanelEditor } from './PanelEditor.tsx';
import { SettingsView, type SettingsTab } from './SettingsView.tsx';
import { useVariables } from './useVariables.ts';
import { VariablesBar } from './VariablesBar.tsx';
import './dashboards.css';

export default function DashboardPage() {
  const { uid = '' } = useParams();
  const q = useQuery({
    queryKey: ['dashboard', uid],
    queryFn: ({ signal }) => getDashboard(uid, signal),
    staleTime: 0,
  });
  if (q.isPending)
    return (
      <div className="page dashboard" data-view="dashboard" data-ready="false">
        <Loading label="Loading the dashboard…" />
      </div>
    );
  if (q.isError) {
    const notFound = q.error instanceof ApiError && q.error.kind === 'not_found';
    return (
      <div className="page dashboard" data-view="dashboard" data-ready="true">
        <div className="page-head">
          <h1>{notFound ? 'Dashboard not found' : 'Dashboard'}</h1>
        </div>
        <ErrorMessage
          error={q.error}
          title={notFound ? `There is no dashboard with the uid “${uid}”` : 'Could not load the dashboard'}
        />
        <p>
          <Link to="/dashboards">Back to the list of dashboards</Link>
        </p>
      </div>
    );
  }
  return <DashboardView key={uid} uid={uid} initial={q.data} />;
}

/** Panels whose queries are all empty or hidden have nothing to wait for. */
function idle(p: Panel): boolean {
  return p.queries.every((q) => q.hidden || q.expr.trim() === '');
}

function DashboardView({ uid, initial }: { uid: string; initial: DashboardResponse }) {
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const [saved, setSaved] = useState(initial);
  const [draft, setDraft] = useState<DashboardDoc | null>(null);
  const [baseVersion, setBaseVersion] = useState(initial.version);
  const [stored, setStored] = useState<Draft | undefined>(() => {
    const d = loadDraft(uid);
    return d && !sameDoc(d.doc, initial.dashboard) ? d : undefined;
  });
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [conflict, setConflict] = useState<ApiError>();
  const [dialog, setDialog] = useState<'save-as' | 'discard' | undefined>();
  const [removed, setRemoved] = useState<{ panel: Panel; index: number }>();
  const [editorSnapshot, setEditorSnapshot] = useState<Panel>();

  const editing = draft !== null;
  const doc = draft ?? saved.dashboard;
  const dirty = draft !== null && !sameDoc(draft, saved.dashboard);
  const editPanelId = editing ? params.get('editPanel') : null;
  const settingsTab = editing ? (params.get('settings') as SettingsTab | null) : null;

  const patchParams = useCallback(
    (patch: Record<string, string | undefined>, replace = false) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch)) {
            if (v === undefined) next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace },
      ),
    [setParams],
  );

  // ---- time range: the dashboard's own defaults when the URL has none ----
  const tr = useTimeRange(doc.time?.from ?? 'now-1h', doc.refresh ?? 'off');
  useEffect(() => {
    if (doc.time && doc.time.to !== 'now' && !params.has('from') && !params.has('to'))
      patchParams({ from: doc.time.from, to: doc.time.to }, true);
  }, []);
  const vars = useVariables(doc.variables, tr.range);
  const zoomRef = useRef(tr.zoom);
  zoomRef.current = tr.zoom;
  const onZoom = useCallback((a: number, b: number) => zoomRef.current(a, b), []);
  const ctx = useMemo<PanelContext>(
    () => ({ range: tr.range, values: vars.values, pending: vars.pending, live: tr.live, onZoom }),
    [tr.range, vars.values, vars.pending, tr.live, onZoom],
  );

  // ---- edit mode ----
  const enterEdit = useCallback(
    (from?: Draft, replace = false) => {
      setDraft(structuredClone(from?.doc ?? saved.dashboard));
      setBaseVersion(from?.baseVersion ?? saved.version);
      setSaveError(undefined);
      patchParams({ edit: '1' }, replace);
    },
    [saved, patchParams],
  );
  const leaveEdit = useCallback(() => {
    setDraft(null);
    clearDraft(uid);
    setSaveError(undefined);
    setConflict(undefined);
    setRemoved(undefined);
    patchParams({ edit: undefined, editPanel: undefined, settings: undefined });
  }, [uid, patchParams]);

  // A link or reload with ?edit=1 opens edit mode (unless a stored draft is waiting for a decision).
  useEffect(() => {
    if (params.get('edit') === '1' && !editing) {
      if (stored) patchParams({ edit: undefined, editPanel: undefined, settings: undefined }, true);
      else enterEdit(undefined, true);
    }
    // Back button out of edit mode: the draft stays in storage and is offered again.
    if (params.get('edit') !== '1' && editing) {
      setDraft(null);
      if (dirty) setStored(loadDraft(uid));
    }
  }, [params.get('edit')]);

  // Every change to the draft is kept in localStorage at once; a draft equal to the saved one is dropped.
  useEffect(() => {
    if (!draft) return;
    if (sameDoc(draft, saved.dashboard)) clearDraft(uid);
    else saveDraft(uid, { doc: draft, baseVersion, savedAt: Date.now() });
  }, [draft, baseVersion, saved, uid]);

  useEffect(() => {
    const before = document.title;
    document.title = `${doc.title} · Vigil`;
    return () => {
      document.title = before;
    };
  }, [doc.title]);

  const change = useCallback((fn: (d: DashboardDoc) => DashboardDoc) => setDraft((d) => (d ? fn(d) : d)), []);

  const save = async (overwrite = false) => {
    if (!draft) return;
    setSaving(true);
    setSaveError(undefined);
    try {
      const version = overwrite ? (await getDashboard(uid)).version : baseVersion;
      const res = await updateDashboard(uid, draft, version);
      setSaved(res);
      setBaseVersion(res.version);
      qc.setQueryData(['dashboard', uid], res);
      void qc.invalidateQueries({ queryKey: ['dashboards'] });
      setConflict(undefined);
      setStored(undefined);
      leaveEdit();
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'conflict') setConflict(err);
      else setSaveError(err);
    } finally {
      setSaving(false);
    }
  };
  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    if (!editing) return undefined;
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        if (!saved.provisioned) void saveRef.current();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [editing, saved.provisioned]);

  const loadTheirs = async () => {
    try {
      const latest = await getDashboard(uid);
      setSaved(latest);
      qc.setQueryData(['dashboard', uid], latest);
      setConflict(undefined);
      setStored(undefined);
      leaveEdit();
    } catch (err) {
      setConflict(undefined);
      setSaveError(err);
    }
  };

  // ---- panels ----
  const openEditor = useCallback(
    (id: string) => {
      setEditorSnapshot(undefined);
      patchParams({ editPanel: id, settings: undefined });
    },
    [patchParams],
  );
  const addPanel = () => {
    if (!draft) return;
    const p = newPanel(draft.panels);
    change((d) => ({ ...d, panels: [...d.panels, p] }));
    openEditor(p.id);
  };
  const onDuplicate = useCallback(
    (id: string) => change((d) => ({ ...d, panels: duplicatePanel(d.panels, id) })),
    [change],
  );
  const onRemove = useCallback(
    (id: string) =>
      change((d) => {
        const index = d.panels.findIndex((p) => p.id === id);
        if (index >= 0) setRemoved({ panel: d.panels[index]!, index });
        return { ...d, panels: d.panels.filter((p) => p.id !== id) };
      }),
    [change],
  );
  const undoRemove = () => {
    if (!removed) return;
    change((d) => {
      const panels = [...d.panels];
      panels.splice(Math.min(removed.index, panels.length), 0, removed.panel);
      return { ...d, panels };
    });
    setRemoved(undefined);
  };
  const onLayout = useCallback(
    (layout: readonly { i: string; x: number; y: number; w: number; h: number }[]) =>
      change((d) => {
        const panels = applyLayout(d.panels, layout);
        return panels === d.panels ? d : { ...d, panels };
      }),
    [change],
  );

  // ---- readiness: every panel has its first answer ----
  const [readyIds, setReadyIds] = useState<ReadonlySet<string>>(() => new Set());
  const onStatus = useCallback((id: string, s: PanelStatus) => {
    if (s.ready) setReadyIds((prev) => (prev.has(id) ? prev : new Set(prev).add(id)));
  }, []);
  const allReady = doc.panels.every((p) => readyIds.has(p.id) || idle(p));

  const editedPanel = editPanelId ? doc.panels.find((p) => p.id === editPanelId) : undefined;
  useEffect(() => {
    if (editedPanel && !editorSnapshot) setEditorSnapshot(structuredClone(editedPanel));
  }, [editedPanel, editorSnapshot]);

  const exportDoc = () => downloadText(exportFileName(doc), exportJson({ ...doc, uid }));

  return (
    <div
      className={`page dashboard ${editing ? 'is-editing' : ''}`}
      data-view="dashboard"
      data-uid={uid}
      data-ready={allReady ? 'true' : 'false'}
    >
      <div className="page-head dash-head">
        <div className="title-block">
          <nav className="crumbs" aria-label="Breadcrumb">
            <Link to="/dashboards">Dashboards</Link>
            <span aria-hidden>/</span>
          </nav>
          <h1 data-testid="dashboard-title" title={doc.description}>
            {doc.title || 'Untitled dashboard'}
          </h1>
          {(doc.tags ?? []).map((t) => (
            <Link key={t} className="tag" to={`/dashboards?tag=${encodeURIComponent(t)}`}>
              {t}
            </Link>
          ))}
          {saved.provisioned && (
            <span className="prov" title="Loaded from a provisioning file; change the file, or save a copy">
              provisioned
            </span>
          )}
          {dirty && (
            <span className="unsaved" data-testid="unsaved">
              Unsaved changes
            </span>
          )}
        </div>
        <div className="toolbar">
          {!editing && (
            <>
              <button type="button" className="btn" onClick={exportDoc} data-testid="export">
                Export
              </button>
              <button type="button" className="btn" onClick={() => setDialog('save-as')}>
                Save as…
              </button>
              <button type="button" className="btn primary" onClick={() => enterEdit()} data-testid="edit">
                Edit
              </button>
            </>
          )}
          {editing && (
            <>
              <button type="button" className="btn" onClick={addPanel} data-testid="add-panel">
                + Add panel
              </button>
              <button
                type="button"
                className={`btn ${settingsTab ? 'on' : ''}`}
                aria-pressed={!!settingsTab}
                onClick={() =>
                  patchParams({ settings: settingsTab ? undefined : 'general', editPanel: undefined })
                }
                data-testid="settings"
              >
                Settings
              </button>
              <span className="toolbar-sep" aria-hidden />
              <button type="button" className="btn" onClick={exportDoc} data-testid="export">
                Export
              </button>
              <button type="button" className="btn" onClick={() => setDialog('save-as')}>
                Save as…
              </button>
              <button
                type="button"
                className="btn"
                onClick={() => (dirty ? setDialog('discard') : leaveEdit())}
                data-testid="exit-edit"
              >
                {dirty ? 'Discard' : 'Done'}
              </button>
              <button
                type="button"
                className="btn primary"
                disabled={saving || !dirty || saved.provisioned}
                title={
                  saved.provisioned
                    ? 'Provisioned from a file: change the file, or use “Save as…”'
                    : 'Save (Ctrl+S)'
                }
                onClick={() => void save()}
                data-testid="save"
              >
                {saving ? 'Saving…' : 'Save'}
              </button>
            </>
          )}
        </div>
      </div>

      {stored && !editing && (
        <div className="notice warn" role="status" data-testid="restore-draft">
          <span>
            You have unsaved changes to this dashboard from {formatDateTime(stored.savedAt)}
            {stored.baseVersion !== saved.version &&
              ` (made on version ${stored.baseVersion}; it has been saved as version ${saved.version} since)`}
            .
          </span>
          <button
            type="button"
            className="btn small primary"
            onClick={() => {
              const d = stored;
              setStored(undefined);
              enterEdit(d);
            }}
            data-testid="restore"
          >
            Restore and edit
          </button>
          <button
            type="button"
            className="btn small"
            onClick={() => {
              clearDraft(uid);
              setStored(undefined);
            }}
          >
            Discard them
          </button>
        </div>
      )}
      {saveError !== undefined && (
        <div className="save-error">
          <ProblemList
            error={saveError}
            doc={draft ?? undefined}
            title="Not saved: your changes are still here"
          />
        </div>
      )}
      {removed && editing && (
        <div className="notice" role="status">
          <span>Removed the panel “{removed.panel.title || 'Untitled'}”.</span>
          <button type="button" className="btn small" onClick={undoRemove}>
            Undo
          </button>
          <button
            type="button"
            className="btn icon small"
            aria-label="Dismiss"
            onClick={() => setRemoved(undefined)}
          >
            ✕
          </button>
        </div>
      )}

      <div className="dash-controls">
        <VariablesBar vars={vars} />
        <span className="spacer" />
        <TimeRangePicker tr={tr} />
      </div>

      {settingsTab && draft ? (
        <SettingsView
          doc={draft}
          tab={settingsTab}
          range={tr.range}
          values={vars.values}
          onTab={(t) => patchParams({ settings: t }, true)}
          onChange={(d) => setDraft(d)}
          onClose={() => patchParams({ settings: undefined })}
        />
      ) : editedPanel && draft ? (
        <PanelEditor
          key={editedPanel.id}
          panel={editedPanel}
          ctx={ctx}
          variableNames={doc.variables.map((v) => v.name)}
          onChange={(p) => change((d) => ({ ...d, panels: d.panels.map((x) => (x.id === p.id ? p : x)) }))}
          canRevert={!!editorSnapshot && canonical(editorSnapshot) !== canonical(editedPanel)}
          onRevert={() => {
            const snap = editorSnapshot;
            if (snap)
              change((d) => ({
                ...d,
                panels: d.panels.map((x) => (x.id === snap.id ? structuredClone(snap) : x)),
              }));
          }}
          onClose={() => {
            setEditorSnapshot(undefined);
            patchParams({ editPanel: undefined });
          }}
        />
      ) : doc.panels.length === 0 ? (
        <div className="state empty dash-empty">
          <strong>This dashboard has no panels.</strong>
          {editing ? (
            <button type="button" className="btn primary" onClick={addPanel}>
              + Add a panel
            </button>
          ) : (
            <button type="button" className="btn primary" onClick={() => enterEdit()}>
              Edit to add panels
            </button>
          )}
        </div>
      ) : (
        <DashboardGrid
          panels={doc.panels}
          ctx={ctx}
          editing={editing}
          onLayout={onLayout}
          onEdit={openEditor}
          onDuplicate={onDuplicate}
          onRemove={onRemove}
          onStatus={onStatus}
        />
      )}

      {dialog === 'save-as' && (
        <SaveAsDialog
          doc={doc}
          onClose={() => setDialog(undefined)}
          onSaved={() => {
            // The edits now live in the copy; the original keeps its saved version.
            clearDraft(uid);
            setDraft(null);
          }}
        />
      )}
      {dialog === 'discard' && (
        <ConfirmDialog
          title="Discard your changes?"
          confirmLabel="Discard changes"
          danger
          onConfirm={() => {
            setDialog(undefined);
            leaveEdit();
          }}
          onClose={() => setDialog(undefined)}
        >
          <p>
            The changes made since the last save will be lost. Use “Save as…” to keep them as a new dashboard.
          </p>
        </ConfirmDialog>
      )}
      {conflict && (
        <Modal
          title="Someone else saved this dashboard"
          onClose={() => setConflict(undefined)}
          size="medium"
          testId="conflict-dialog"
          footer={
            <>
              <button type="button" className="btn" onClick={() => setConflict(undefined)}>
                Keep editing
              </button>
              <button type="button" className="btn" onClick={() => void loadTheirs()}>
                Discard mine, load theirs
              </button>
              <button
                type="button"
                className="btn"
                onClick={() => {
                  setConflict(undefined);
                  setDialog('save-as');
                }}
              >
                Save mine as a copy
              </button>
              <button
                type="button"
                className="btn danger-solid"
                disabled={saving}
                onClick={() => void save(true)}
              >
                Overwrite with mine
              </button>
            </>
          }
        >
          <p>{conflict.message}.</p>
          <p className="muted">
            Your changes are kept as a draft in this browser until you choose. Overwriting replaces what they
            saved; loading theirs drops your changes.
          </p>
        </Modal>
      )}
    </div>
  );
}
