/**
 * Explore's state as the URL carries it, so every view is a shareable link:
 * `q` (repeated, one per query), `legend` (repeated, aligned with `q`, only when one is set), `hide`
 * (repeated 0-based indexes of queries switched off), `mode=graph|table`, `stacked=1`, `log=1`,
 * `labels=text` and `sort` for the table, `anomaly=1` for anomaly bands on the graph. The time range (`from`, `to`, `refresh`, `live`) belongs to
 * useTimeRange. Pure functions.
 */

export interface QueryDraft {
  readonly expr: string;
  /** Legend template such as `{{job}}`; empty for the full series name. */
  readonly legend: string;
  /** Hidden queries are kept but not run. */
  readonly hidden: boolean;
}

export type Mode = 'graph' | 'table';

export const EMPTY_QUERY: QueryDraft = { expr: '', legend: '', hidden: false };

/** The queries in the URL; one empty query when there are none, so there is always a row to type in. */
export function queriesFromParams(p: URLSearchParams): QueryDraft[] {
  const exprs = p.getAll('q');
  const legends = p.getAll('legend');
  const hidden = new Set(p.getAll('hide').map(Number));
  const out = exprs.map((expr, i) => ({ expr, legend: legends[i] ?? '', hidden: hidden.has(i) }));
  return out.length > 0 ? out : [EMPTY_QUERY];
}

/**
 * A copy of `p` carrying `queries`. Rows with an empty expression are not written (a link has no use for
 * them); `legend` is written for every query as soon as one has a template, so positions line up.
 */
export function withQueries(p: URLSearchParams, queries: readonly QueryDraft[]): URLSearchParams {
  const next = new URLSearchParams(p);
  next.delete('q');
  next.delete('legend');
  next.delete('hide');
  const kept = queries.filter((q) => q.expr.trim() !== '');
  for (const q of kept) next.append('q', q.expr);
  if (kept.some((q) => q.legend !== '')) for (const q of kept) next.append('legend', q.legend);
  kept.forEach((q, i) => q.hidden && next.append('hide', String(i)));
  return next;
}

/** A string that changes exactly when the URL-relevant part of the queries changes. */
export function queriesKey(queries: readonly QueryDraft[]): string {
  return JSON.stringify(queries.filter((q) => q.expr.trim() !== '').map((q) => [q.expr, q.legend, q.hidden]));
}

export function modeFromParams(p: URLSearchParams): Mode {
  return p.get('mode') === 'table' ? 'table' : 'graph';
}

/** `A`, `B`, … `Z`, `AA`: how the page names query rows. */
export function queryLetter(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(65 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}
