/**
 * What a panel needs before it draws: its expressions with variables substituted, the step that sizes
 * `$__interval`, whether it must wait for a variable, and the data hooks for instant queries and sizes.
 */
import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { useQuery } from '@tanstack/react-query';
import { queryInstant, type VectorSample } from '../../lib/api.ts';
import { stepFor, type ResolvedRange } from '../../lib/time.ts';
import { builtinVariables, interpolate, referencedVariables, type VariableValue } from './interpolate.ts';
import type { Panel } from './model.ts';

/** Everything outside a panel that its queries depend on. */
export interface PanelContext {
  readonly range: ResolvedRange;
  /** Resolved variables by name. */
  readonly values: ReadonlyMap<string, VariableValue>;
  /** Variables still waiting for their values (their first list of values). */
  readonly pending: ReadonlySet<string>;
  readonly live: boolean;
  readonly onZoom?: (startMs: number, endMs: number) => void;
}

export interface PreparedQuery {
  /** Index in `panel.queries` (errors are reported against it). */
  readonly index: number;
  readonly raw: string;
  readonly expr: string;
  readonly legend?: string;
}

export interface PreparedPanel {
  readonly queries: readonly PreparedQuery[];
  readonly points: number;
  readonly step: number;
  /** Names of variables the panel waits for; its queries run once this is empty. */
  readonly waiting: readonly string[];
}

/** Points per query: about 25 per grid column for lines (600 across the page), fewer for heatmap cells. */
export function pointsFor(panel: Pick<Panel, 'kind' | 'grid'>): number {
  const w = Math.max(1, panel.grid.w);
  if (panel.kind === 'heatmap') return Math.max(24, w * 5);
  if (panel.kind === 'stat') return Math.max(30, w * 10);
  return Math.max(60, w * 25);
}

/** Substitutes variables and built-ins in a panel's visible, non-empty queries. Pure. */
export function preparePanel(
  panel: Pick<Panel, 'kind' | 'grid' | 'queries'>,
  ctx: Omit<PanelContext, 'live'>,
): PreparedPanel {
  const points = pointsFor(panel);
  const step = stepFor(ctx.range, points, 1);
  const builtins = builtinVariables(step, ctx.range.end - ctx.range.start);
  const queries: PreparedQuery[] = [];
  const waiting = new Set<string>();
  panel.queries.forEach((q, index) => {
    if (q.hidden || q.expr.trim() === '') return;
    for (const name of referencedVariables(q.expr, ctx.pending)) waiting.add(name);
    queries.push({ index, raw: q.expr, expr: interpolate(q.expr, ctx.values, builtins), legend: q.legend });
  });
  return { queries, points, step, waiting: [...waiting] };
}

/** A query's failure, against its index in `panel.queries`. */
export interface QueryError {
  readonly index: number;
  readonly error: unknown;
}

export interface InstantResult {
  /** One sample list per prepared query (empty when it failed). */
  readonly samples: readonly VectorSample[][];
  readonly errors: readonly QueryError[];
  readonly warnings: readonly string[];
  readonly loading: boolean;
  readonly ready: boolean;
}

/** Runs each prepared query as an instant query at the end of the range. */
export function useInstantQueries(
  prepared: PreparedPanel,
  range: ResolvedRange,
  enabled: boolean,
): InstantResult {
  const time = Math.floor(range.end / 1000);
  const exprs = prepared.queries.map((q) => q.expr);
  type Settled = PromiseSettledResult<Awaited<ReturnType<typeof queryInstant>>>[];
  const result = useQuery<Settled>({
    queryKey: ['instant', exprs, time],
    enabled: enabled && exprs.length > 0,
    placeholderData: (prev) => prev,
    queryFn: ({ signal }) => Promise.allSettled(exprs.map((e) => queryInstant(e, time, signal))),
  });
  const samples: VectorSample[][] = [];
  const errors: QueryError[] = [];
  const warnings: string[] = [];
  (result.data ?? []).forEach((r, i) => {
    const index = prepared.queries[i]?.index ?? i;
    if (r.status === 'rejected') {
      samples.push([]);
      errors.push({ index, error: r.reason });
      return;
    }
    warnings.push(...r.value.warnings);
    const d = r.value.data;
    if (d.resultType === 'vector') samples.push(d.result);
    else if (d.resultType === 'scalar') samples.push([{ metric: {}, value: d.result }]);
    else if (d.resultType === 'matrix')
      samples.push(
        d.result
          .filter((s) => s.values.length > 0)
          .map((s) => ({ metric: s.metric, value: s.values[s.values.length - 1]! })),
      );
    else {
      samples.push([]);
      errors.push({ index, error: new Error('the query returns a string; this panel shows numbers') });
    }
  });
  if (result.error) for (const q of prepared.queries) errors.push({ index: q.index, error: result.error });
  return { samples, errors, warnings, loading: result.isFetching, ready: result.isSuccess || result.isError };
}

/** The content size of an element, kept up to date by a ResizeObserver. */
export function useSize<T extends HTMLElement>(): [RefObject<T | null>, { width: number; height: number }] {
  const ref = useRef<T>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => {
      const width = Math.floor(el.clientWidth);
      const height = Math.floor(el.clientHeight);
      setSize((s) => (s.width === width && s.height === height ? s : { width, height }));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, size];
}

/** A value that follows `value` after it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): [T, (v: T) => void] {
  const [out, setOut] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setOut(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return [out, setOut];
}

/** What a panel body tells its frame: first answer arrived, fetching, failures, warnings. */
export interface PanelStatus {
  readonly ready: boolean;
  readonly loading: boolean;
  readonly errors: readonly QueryError[];
  readonly warnings: readonly string[];
}

/** The props every panel body gets. */
export interface BodyProps {
  readonly panel: Panel;
  readonly prepared: PreparedPanel;
  readonly ctx: PanelContext;
  /** False while a variable the panel uses has no value yet. */
  readonly enabled: boolean;
  readonly report: (s: PanelStatus) => void;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reports a body's status to its frame when it changes (compared by content, not identity). */
export function useReport(report: (s: PanelStatus) => void, status: PanelStatus): void {
  const sig = JSON.stringify([
    status.ready,
    status.loading,
    status.errors.map((e) => [e.index, errorText(e.error)]),
    status.warnings,
  ]);
  const latest = useRef(status);
  latest.current = status;
  useEffect(() => report(latest.current), [sig, report]);
}
