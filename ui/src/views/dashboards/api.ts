/** The dashboards API (`/api/vigil/v1/dashboards`): typed calls through the shared `request()`. */
import { request } from '../../lib/api.ts';
import type { DashboardDoc, DashboardListItem, DashboardResponse } from './model.ts';

const BASE = '/api/vigil/v1/dashboards';
const JSON_HEADERS = { 'content-type': 'application/json' };

export function listDashboards(
  filter: { query?: string; tag?: string } = {},
  signal?: AbortSignal,
): Promise<DashboardListItem[]> {
  const p = new URLSearchParams();
  if (filter.query) p.set('query', filter.query);
  if (filter.tag) p.set('tag', filter.tag);
  return request<DashboardListItem[]>(`${BASE}${p.size ? `?${p}` : ''}`, { signal });
}

export function getDashboard(uid: string, signal?: AbortSignal): Promise<DashboardResponse> {
  return request<DashboardResponse>(`${BASE}/${encodeURIComponent(uid)}`, { signal });
}

/** Creates (or imports) a dashboard; with `overwrite`, replaces the one with the same uid. */
export function createDashboard(
  doc: unknown,
  opts: { overwrite?: boolean } = {},
): Promise<DashboardResponse> {
  return request<DashboardResponse>(`${BASE}${opts.overwrite ? '?overwrite=true' : ''}`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify(doc),
  });
}

/** Saves a new version; fails with kind 'conflict' when someone else saved after `version`. */
export function updateDashboard(uid: string, doc: DashboardDoc, version: number): Promise<DashboardResponse> {
  return request<DashboardResponse>(`${BASE}/${encodeURIComponent(uid)}`, {
    method: 'PUT',
    headers: JSON_HEADERS,
    body: JSON.stringify({ dashboard: doc, version }),
  });
}

export function deleteDashboard(uid: string): Promise<void> {
  return request<void>(`${BASE}/${encodeURIComponent(uid)}`, { method: 'DELETE' });
}

/** Offers text as a file download (export). */
export function downloadText(fileName: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
