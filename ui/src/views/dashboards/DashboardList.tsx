/**
 * The list of dashboards: search by title and filter by tag (both in the URL), open, duplicate, export or
 * delete one, create a new one or import JSON.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmDialog } from '../../components/Modal.tsx';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { formatDateTime } from '../../lib/time.ts';
import { createDashboard, deleteDashboard, downloadText, getDashboard, listDashboards } from './api.ts';
import { EMPTY_IMPORT, ImportDialog, NewDashboardDialog, type ImportState } from './dialogs.tsx';
import { ago, copyOf, exportFileName, exportJson, type DashboardListItem } from './model.ts';
import './dashboards.css';

type Notice = { kind: 'ok' | 'error'; text: string; link?: { to: string; label: string } };

export default function DashboardList() {
  const [params, setParams] = useSearchParams();
  const query = params.get('query') ?? '';
  const tag = params.get('tag') ?? '';
  const [typed, setTyped] = useState(query);
  const [dialog, setDialog] = useState<'new' | 'import' | undefined>(
    params.get('new') === '1' ? 'new' : undefined,
  );
  const [importState, setImportState] = useState<ImportState>(EMPTY_IMPORT);
  const [deleting, setDeleting] = useState<DashboardListItem>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<Notice>();
  const qc = useQueryClient();

  const setParam = (k: string, v: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (v === '') next.delete(k);
        else next.set(k, v);
        return next;
      },
      { replace: true },
    );

  // Typing filters after a short pause, so the URL and the server are not hit on every key.
  useEffect(() => {
    if (typed === query) return undefined;
    const id = setTimeout(() => setParam('query', typed.trim()), 250);
    return () => clearTimeout(id);
  }, [typed]);
  useEffect(() => setTyped((t) => (t.trim() === query ? t : query)), [query]);

  const list = useQuery({
    queryKey: ['dashboards', query, tag],
    queryFn: ({ signal }) => listDashboards({ query, tag }, signal),
    placeholderData: (prev) => prev,
  });
  // All tags, whatever the filter, for the tag menu.
  const all = useQuery({
    queryKey: ['dashboards', '', ''],
    queryFn: ({ signal }) => listDashboards({}, signal),
  });
  const tags = useMemo(() => [...new Set((all.data ?? []).flatMap((d) => d.tags))].sort(), [all.data]);
  const ready = list.isSuccess || list.isError;
  const filtered = query !== '' || tag !== '';
  const now = Date.now();

  const duplicate = async (d: DashboardListItem) => {
    setNotice(undefined);
    try {
      const full = await getDashboard(d.uid);
      const res = await createDashboard(copyOf(full.dashboard, `${d.title} (copy)`));
      await qc.invalidateQueries({ queryKey: ['dashboards'] });
      setNotice({
        kind: 'ok',
        text: `Created “${res.dashboard.title}”.`,
        link: { to: `/d/${encodeURIComponent(res.dashboard.uid)}`, label: 'Open it' },
      });
    } catch (err) {
      setNotice({ kind: 'error', text: `Could not duplicate “${d.title}”: ${(err as Error).message}` });
    }
  };

  const exportOne = async (d: DashboardListItem) => {
    setNotice(undefined);
    try {
      const full = await getDashboard(d.uid);
      downloadText(exportFileName(full.dashboard), exportJson(full.dashboard));
    } catch (err) {
      setNotice({ kind: 'error', text: `Could not export “${d.title}”: ${(err as Error).message}` });
    }
  };

  const remove = async (d: DashboardListItem) => {
    setBusy(true);
    try {
      await deleteDashboard(d.uid);
      qc.removeQueries({ queryKey: ['dashboard', d.uid] });
      await qc.invalidateQueries({ queryKey: ['dashboards'] });
      setNotice({ kind: 'ok', text: `Deleted “${d.title}”.` });
    } catch (err) {
      setNotice({ kind: 'error', text: `Could not delete “${d.title}”: ${(err as Error).message}` });
    } finally {
      setBusy(false);
      setDeleting(undefined);
    }
  };

  return (
    <div className="page dashboards-list" data-view="dashboards" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Dashboards</h1>
        <div className="toolbar">
          <button type="button" className="btn" onClick={() => setDialog('import')} data-testid="import-open">
            Import
          </button>
          <button
            type="button"
            className="btn primary"
            onClick={() => setDialog('new')}
            data-testid="new-dashboard"
          >
            + New dashboard
          </button>
        </div>
      </div>

      <div className="toolbar list-filters">
        <label className="sr-only" htmlFor="dash-search">
          Search dashboards by title
        </label>
        <input
          id="dash-search"
          className="search"
          type="search"
          placeholder="Search by title…"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          data-testid="dashboard-search"
        />
        <label className="sr-only" htmlFor="dash-tag">
          Filter by tag
        </label>
        <select
          id="dash-tag"
          className="select"
          value={tag}
          onChange={(e) => setParam('tag', e.target.value)}
        >
          <option value="">All tags</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
          {tag !== '' && !tags.includes(tag) && <option value={tag}>{tag}</option>}
        </select>
        {filtered && (
          <button
            type="button"
            className="btn"
            onClick={() => {
              setTyped('');
              setParams(new URLSearchParams(), { replace: true });
            }}
          >
            Clear filters
          </button>
        )}
        {list.isFetching && <span className="spinner" aria-label="Loading" />}
      </div>

      {notice && (
        <div className={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
          <span>{notice.text}</span>
          {notice.link && <Link to={notice.link.to}>{notice.link.label}</Link>}
          <button
            type="button"
            className="btn icon small"
            aria-label="Dismiss"
            onClick={() => setNotice(undefined)}
          >
            ✕
          </button>
        </div>
      )}

      {list.isError && <ErrorMessage error={list.error} title="Could not load the dashboards" />}
      {list.isPending && <Loading />}
      {list.data && list.data.length === 0 && !filtered && (
        <Empty>
          <strong>No dashboards yet</strong>
          <span>
            A dashboard puts the charts you watch together, with variables to switch between jobs or hosts.
          </span>
          <div className="toolbar empty-actions">
            <button type="button" className="btn primary" onClick={() => setDialog('new')}>
              Create your first dashboard
            </button>
            <button type="button" className="btn" onClick={() => setDialog('import')}>
              Import JSON
            </button>
          </div>
        </Empty>
      )}
      {list.data && list.data.length === 0 && filtered && (
        <Empty>
          No dashboard matches {query ? `“${query}”` : ''}
          {tag ? ` with the tag “${tag}”` : ''}.
        </Empty>
      )}
      {list.data && list.data.length > 0 && (
        <div className="card list-card">
          <table className="table dash-table" data-testid="dashboard-table">
            <thead>
              <tr>
                <th>Title</th>
                <th>Tags</th>
                <th className="col-updated">Updated</th>
                <th className="col-actions">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => (
                <tr key={d.uid} data-uid={d.uid}>
                  <td className="col-title">
                    <Link to={`/d/${encodeURIComponent(d.uid)}`} className="dash-link">
                      {d.title}
                    </Link>
                    {d.provisioned && (
                      <span className="prov" title="Loaded from a provisioning file: read-only here">
                        provisioned
                      </span>
                    )}
                  </td>
                  <td>
                    {d.tags.map((t) => (
                      <button
                        type="button"
                        key={t}
                        className={`tag tag-btn ${t === tag ? 'on' : ''}`}
                        title={`Show dashboards tagged “${t}”`}
                        onClick={() => setParam('tag', t === tag ? '' : t)}
                      >
                        {t}
                      </button>
                    ))}
                  </td>
                  <td className="col-updated muted" title={formatDateTime(d.updatedAt)}>
                    {ago(d.updatedAt, now)}
                  </td>
                  <td className="col-actions">
                    <div className="row-actions">
                      <button type="button" className="btn small" onClick={() => void duplicate(d)}>
                        Duplicate
                      </button>
                      <button type="button" className="btn small" onClick={() => void exportOne(d)}>
                        Export
                      </button>
                      <button
                        type="button"
                        className="btn small danger"
                        disabled={d.provisioned}
                        title={
                          d.provisioned
                            ? 'Provisioned dashboards are deleted by removing their file'
                            : undefined
                        }
                        onClick={() => setDeleting(d)}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {dialog === 'new' && <NewDashboardDialog onClose={() => setDialog(undefined)} />}
      {dialog === 'import' && (
        <ImportDialog state={importState} onState={setImportState} onClose={() => setDialog(undefined)} />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete dashboard?"
          confirmLabel="Delete"
          danger
          busy={busy}
          onConfirm={() => void remove(deleting)}
          onClose={() => setDeleting(undefined)}
        >
          <p>
            “<strong>{deleting.title}</strong>” and its panels will be deleted. This cannot be undone; export
            it first if you may need it again.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
