/**
 * The dashboard's variables: their possible values from the label-values API over the current time range,
 * and their selection from the URL (`var-job=a&var-job=b`), else the saved `current`, else the first value
 * (or All when allowed). A variable's query may use the variables before it (`label_values(up{job=~"$job"},
 * instance)`); it is fetched once those are known.
 */
import { useCallback, useMemo, useRef } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useQueries, useQueryClient } from '@tanstack/react-query';
import { labelValues } from '../../lib/api.ts';
import type { ResolvedRange } from '../../lib/time.ts';
import {
  ALL_VALUE,
  interpolate,
  parseVariableQuery,
  readUrlValues,
  referencedVariables,
  toVariableValue,
  writeUrlValues,
  type VariableValue,
} from './interpolate.ts';
import type { Variable } from './model.ts';

export interface VariableState {
  readonly variable: Variable;
  /** Possible values; undefined until loaded. */
  readonly options: readonly string[] | undefined;
  readonly loading: boolean;
  readonly error?: unknown;
  /** The selection as shown (may contain ALL_VALUE); empty while pending. */
  readonly selected: readonly string[];
  /** Undefined while the variable waits for its values. */
  readonly value?: VariableValue;
}

export interface VariablesResult {
  readonly states: readonly VariableState[];
  readonly values: ReadonlyMap<string, VariableValue>;
  readonly pending: ReadonlySet<string>;
  select(name: string, selected: readonly string[]): void;
}

export type OptionsKey = readonly ['label-values', string, string, number, number];

const byNatural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

interface PlanRow {
  readonly key: OptionsKey | undefined;
  readonly enabled: boolean;
  readonly selector?: string;
  readonly label?: string;
  readonly parseError?: string;
  readonly selected: string[];
}

/** Resolves variables in order from the URL, saved selections and the option lists known so far. */
export function planVariables(
  variables: readonly Variable[],
  params: URLSearchParams,
  start: number,
  end: number,
  cached: (key: OptionsKey) => { data: string[] | undefined; failed: boolean },
  previous: Map<string, string[]>,
): { values: Map<string, VariableValue>; pending: Set<string>; rows: PlanRow[] } {
  const values = new Map<string, VariableValue>();
  const pending = new Set<string>();
  const rows: PlanRow[] = [];
  for (const v of variables) {
    const parsed = parseVariableQuery(v.query);
    let key: OptionsKey | undefined;
    let enabled = false;
    let selector: string | undefined;
    if (!('error' in parsed)) {
      const needs = parsed.selector ? referencedVariables(parsed.selector, pending) : [];
      selector = parsed.selector ? interpolate(parsed.selector, values) : undefined;
      key = ['label-values', parsed.label, selector ?? '', start, end];
      enabled = needs.length === 0;
    }
    const explicit =
      readUrlValues(params, v.name) ?? (v.current && v.current.length > 0 ? v.current : undefined);
    let selected: string[] | undefined = explicit ? [...explicit] : undefined;
    if (!selected) {
      const c = key && enabled ? cached(key) : { data: undefined, failed: 'error' in parsed };
      // A variable whose values cannot be listed still resolves (to nothing), so panels run and show why.
      if (c.data || c.failed) selected = v.includeAll ? [ALL_VALUE] : (c.data?.slice(0, 1) ?? []);
      // While the list is refetched for a new time range, keep the default chosen before (no flicker).
      selected ??= previous.get(`${v.name}\u0000${v.query}`);
      if (selected) previous.set(`${v.name}\u0000${v.query}`, selected);
    }
    if (selected) values.set(v.name, toVariableValue(selected, v));
    else pending.add(v.name);
    rows.push({
      key,
      enabled,
      selector,
      label: 'error' in parsed ? undefined : parsed.label,
      parseError: 'error' in parsed ? parsed.error : undefined,
      selected: selected ?? [],
    });
  }
  return { values, pending, rows };
}

export function useVariables(variables: readonly Variable[], range: ResolvedRange): VariablesResult {
  const [params, setParams] = useSearchParams();
  const qc = useQueryClient();
  // Minute buckets: the values of a label change slowly, and a refresh tick should not refetch them all.
  const start = Math.floor(range.start / 60_000) * 60;
  const end = Math.ceil(range.end / 60_000) * 60;

  // Resolve in order, reading lists already in the cache, so a chained variable sees the value before it.
  // Planning runs on every render (a handful of variables); the query subscriptions below re-render when a
  // list arrives, and the signature keeps the result's identity stable while nothing changed.
  const defaults = useRef(new Map<string, string[]>());
  const computed = planVariables(
    variables,
    params,
    start,
    end,
    (key) => ({ data: qc.getQueryData<string[]>(key), failed: qc.getQueryState(key)?.status === 'error' }),
    defaults.current,
  );
  const signature = JSON.stringify([[...computed.values], [...computed.pending], computed.rows]);
  const plan = useMemo(() => computed, [signature]);

  const results = useQueries({
    queries: plan.rows.map((r) => ({
      queryKey: r.key ?? ['label-values', 'invalid'],
      enabled: r.key !== undefined && r.enabled,
      staleTime: 30_000,
      queryFn: async ({ signal }: { signal: AbortSignal }) => {
        const vs = await labelValues(r.label!, {
          match: r.selector ? [r.selector] : undefined,
          start,
          end,
          signal,
        });
        return [...vs].sort(byNatural.compare);
      },
    })),
  });

  const states = variables.map((variable, i): VariableState => {
    const r = results[i];
    const row = plan.rows[i]!;
    const value = plan.values.get(variable.name);
    return {
      variable,
      options: r?.data,
      loading: !!r?.isFetching,
      error: row.parseError ? new Error(`${variable.name}: ${row.parseError}`) : (r?.error ?? undefined),
      selected: row.selected,
      value,
    };
  });

  const select = useCallback(
    (name: string, selected: readonly string[]) =>
      setParams((prev) => writeUrlValues(prev, name, selected.length > 0 ? selected : [])),
    [setParams],
  );

  return { states, values: plan.values, pending: plan.pending, select };
}
