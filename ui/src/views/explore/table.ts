/**
 * The table mode's rows: one per series of an instant query, with its labels and value, and the sorting of
 * those rows by any label or by value. Pure functions.
 */
import type { QueryData } from '../../lib/api.ts';
import { formatSeries, parseSampleValue, type Metric } from '../../lib/format.ts';

export interface TableRow {
  readonly key: string;
  readonly metric: Metric;
  /** The value to sort by: the sample's value, or a range vector's last one. */
  readonly value: number;
  /** The value as the server sent it (exact, no rounding). */
  readonly text: string;
  /** Seconds. */
  readonly time: number;
  /** A range vector's samples (an instant query of `x[5m]`), oldest first. */
  readonly samples?: readonly [number, string][];
}

export interface TableResult {
  readonly resultType: QueryData['resultType'];
  readonly rows: TableRow[];
}

export function tableRows(data: QueryData): TableResult {
  switch (data.resultType) {
    case 'vector':
      return {
        resultType: 'vector',
        rows: data.result.map((s) => ({
          key: JSON.stringify(s.metric),
          metric: s.metric,
          value: parseSampleValue(s.value[1]),
          text: s.value[1],
          time: s.value[0],
        })),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        rows: data.result.map((s) => {
          const last = s.values.at(-1);
          return {
            key: JSON.stringify(s.metric),
            metric: s.metric,
            value: last ? parseSampleValue(last[1]) : NaN,
            text: last?.[1] ?? '',
            time: last?.[0] ?? 0,
            samples: s.values,
          };
        }),
      };
    case 'scalar':
    case 'string':
      return {
        resultType: data.resultType,
        rows: [
          {
            key: data.resultType,
            metric: {},
            value: data.resultType === 'scalar' ? parseSampleValue(data.result[1]) : NaN,
            text: data.result[1],
            time: data.result[0],
          },
        ],
      };
  }
}

/** Label names across rows: `__name__` first, then alphabetical. */
export function labelColumns(rows: readonly TableRow[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metric)) names.add(k);
  const hasName = names.delete('__name__');
  return [...(hasName ? ['__name__'] : []), ...[...names].sort()];
}

export interface Sort {
  /** `value`, `series` (the whole label set as text) or a label name. */
  readonly col: string;
  readonly desc: boolean;
}

export const DEFAULT_SORT: Sort = { col: 'value', desc: true };

/** `-value` sorts by value descending, `job` by the job label ascending. */
export function parseSort(s: string | null): Sort {
  if (!s) return DEFAULT_SORT;
  return s.startsWith('-') ? { col: s.slice(1), desc: true } : { col: s, desc: false };
}

export function formatSort(s: Sort): string {
  return `${s.desc ? '-' : ''}${s.col}`;
}

/** The next sort after clicking a column header: new columns start descending for values, ascending for labels. */
export function nextSort(cur: Sort, col: string): Sort {
  if (cur.col === col) return { col, desc: !cur.desc };
  return { col, desc: col === 'value' };
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * Sorts a copy of `rows`. Values compare numerically with NaN always last; labels compare naturally
 * (`a2` before `a10`) with rows that lack the label last; ties keep the series order.
 */
export function sortRows(rows: readonly TableRow[], sort: Sort): TableRow[] {
  const dir = sort.desc ? -1 : 1;
  const labelOf = (r: TableRow) => (sort.col === 'series' ? formatSeries(r.metric) : r.metric[sort.col]);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      let c: number;
      if (sort.col === 'value') {
        const av = a.r.value;
        const bv = b.r.value;
        if (Number.isNaN(av) || Number.isNaN(bv)) c = Number.isNaN(av) ? (Number.isNaN(bv) ? 0 : 1) : -1;
        else c = av === bv ? 0 : av < bv ? -dir : dir;
      } else {
        const al = labelOf(a.r);
        const bl = labelOf(b.r);
        if (al === undefined || bl === undefined) c = al === undefined ? (bl === undefined ? 0 : 1) : -1;
        else c = dir * collator.compare(al, bl);
      }
      return c !== 0 ? c : a.i - b.i;
    })
    .map((x) => x.r);
}
