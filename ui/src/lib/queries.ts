/**
 * Data hooks shared by every view that charts PromQL: range queries for several expressions aligned on one
 * time axis, refreshed with the time range, and extended by the live stream when live mode is on.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { queryRange, type MatrixSeries } from './api.ts';
import { alignMatrices, appendPoints, EMPTY, type ChartData } from './series.ts';
import { alignToStep, stepFor, type ResolvedRange } from './time.ts';
import type { Metric } from './format.ts';

export interface RangeQuerySpec {
  readonly expr: string;
  readonly legend?: string;
}

export interface RangeQueriesResult {
  readonly data: ChartData;
  readonly loading: boolean;
  /** One error per query (undefined when that query succeeded). */
  readonly errors: readonly (unknown | undefined)[];
  readonly warnings: readonly string[];
  readonly step: number;
  /** True once the first answer arrived (for "data-filled" markers in tests and benchmarks). */
  readonly ready: boolean;
}

/**
 * Runs each non-empty expression as a range query over `range` with about `points` points, aligned to the
 * step. With `live`, the chart then grows from the live stream instead of re-querying.
 */
export function useRangeQueries(
  queries: readonly RangeQuerySpec[],
  range: ResolvedRange,
  opts: { points?: number; live?: boolean; enabled?: boolean; minStep?: number } = {},
): RangeQueriesResult {
  const step = stepFor(range, opts.points ?? 300, opts.minStep ?? 1);
  const { start, end } = alignToStep(range, step);
  const active = queries.filter((q) => q.expr.trim() !== '');
  const key = active.map((q) => q.expr);
  const legendKey = active.map((q) => q.legend ?? '').join('\u0000');
  type Settled = PromiseSettledResult<Awaited<ReturnType<typeof queryRange>>>[];
  const result = useQuery<Settled>({
    queryKey: ['range', key, start, end, step],
    enabled: (opts.enabled ?? true) && active.length > 0,
    placeholderData: (prev) => prev,
    queryFn: ({ signal }) =>
      Promise.allSettled(active.map((q) => queryRange(q.expr, start, end, step, signal))),
  });

  const base = useMemo<{ data: ChartData; errors: unknown[]; warnings: string[] }>(() => {
    if (!result.data) return { data: EMPTY, errors: [], warnings: [] };
    const matrices: { series: MatrixSeries[]; legend?: string }[] = [];
    const errors: unknown[] = [];
    const warnings: string[] = [];
    result.data.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        matrices.push({ series: r.value.data.result, legend: active[i]?.legend });
        errors.push(undefined);
        warnings.push(...r.value.warnings);
      } else {
        matrices.push({ series: [], legend: active[i]?.legend });
        errors.push(r.reason);
      }
    });
    return { data: alignMatrices(matrices, { start, end, step }), errors, warnings };
  }, [result.data, legendKey]);

  const live = useLiveAppend(
    base.data,
    active,
    step,
    end,
    range.end - range.start,
    !!opts.live && result.isSuccess,
  );

  return {
    data: opts.live ? live : base.data,
    loading: result.isFetching,
    errors: result.error ? active.map(() => result.error) : base.errors,
    warnings: base.warnings,
    step,
    ready: result.isSuccess || result.isError,
  };
}

interface LivePoints {
  t?: number[];
  series: { query: number; metric: Metric; values: [number, string][] }[];
}

/** Subscribes to `/api/vigil/v1/live` from `from` (seconds) and appends what arrives to `base`. */
function useLiveAppend(
  base: ChartData,
  queries: readonly RangeQuerySpec[],
  step: number,
  from: number,
  windowMs: number,
  enabled: boolean,
): ChartData {
  const [data, setData] = useState(base);
  const baseRef = useRef(base);
  useEffect(() => {
    baseRef.current = base;
    setData(base);
  }, [base]);
  const exprKey = queries.map((q) => q.expr).join('\u0000');
  useEffect(() => {
    if (!enabled || queries.length === 0) return undefined;
    const p = new URLSearchParams();
    for (const q of queries) p.append('query', q.expr);
    p.set('step', String(step));
    p.set('start', String(from));
    const es = new EventSource(`/api/vigil/v1/live?${p}`);
    const legends = queries.map((q) => q.legend);
    es.addEventListener('points', (ev) => {
      const msg = JSON.parse((ev as MessageEvent<string>).data) as LivePoints;
      setData((cur) => appendPoints(cur, msg.series, legends, Date.now() / 1000 - windowMs / 1000));
    });
    return () => es.close();
  }, [enabled, exprKey, step, from]);
  return data;
}
