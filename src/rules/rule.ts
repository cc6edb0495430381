/**
 * What rule evaluation depends on, as functions: a QueryFn that runs an instant query and an AppendFn that
 * stores samples. The composition root (src/app.ts) builds both from the engine and storage; the unit-test
 * runner builds them over in-memory storage.
 */
import type { Labels } from '../model/labels.ts';
import type { Queryable } from '../store/interface.ts';
import type { Engine } from '../query/promql/index.ts';

/** One element of an instant vector. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export type InstantVector = Sample[];

/**
 * Evaluates `expr` as an instant query at `timeMs`. A scalar result comes back as one sample with no labels;
 * a query error, or a result that is a string or range vector, rejects the promise.
 */
export type QueryFn = (expr: string, timeMs: number, signal?: AbortSignal) => Promise<InstantVector>;

/** One series of a range query's result: points at the query's steps where the series had a value. */
export interface RangeSeries {
  readonly labels: Labels;
  /** Timestamps in ms, ascending, aligned with `values`. */
  readonly times: number[];
  readonly values: number[];
}

/**
 * Evaluates `expr` at `startMs, startMs + stepMs, ... <= endMs` (a Prometheus range query). A query error
 * rejects the promise. Used by rules that need history: anomaly warm-up and forecasts.
 */
export type RangeQueryFn = (
  expr: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  signal?: AbortSignal,
) => Promise<RangeSeries[]>;

/** A sample to store. */
export interface OutputSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** Stores samples atomically (all or none); resolves once they are visible to queries. */
export type AppendFn = (samples: readonly OutputSample[]) => Promise<void>;

export type RuleHealth = 'ok' | 'err' | 'unknown';

/** A rule's evaluation failed: the query failed or its result cannot be stored. */
export class RuleEvalError extends Error {
  override name = 'RuleEvalError';
}

/** Health and timing every rule keeps, as shown by /api/v1/rules. */
export class RuleStatus {
  health: RuleHealth = 'unknown';
  lastError = '';
  /** Wall-clock start of the last evaluation (ms), undefined before the first. */
  lastEvaluation: number | undefined;
  /** Duration of the last evaluation in ms. */
  evaluationMs = 0;
  /** Evaluation timestamp (ms) of the last evaluation, as opposed to the wall clock. */
  lastTimestamp: number | undefined;
}

function parseApiValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** A QueryFn over the PromQL engine and a storage, converting the API-shaped result back to numbers. */
export function engineQueryFn(engine: Engine, queryable: Queryable): QueryFn {
  return async (expr, timeMs, signal) => {
    const res = await engine.instantQuery(queryable, expr, timeMs, { signal });
    switch (res.resultType) {
      case 'vector':
        return res.result.map((r) => ({ labels: r.metric, value: parseApiValue(r.value[1]) }));
      case 'scalar':
        return [{ labels: {}, value: parseApiValue(res.result[1]) }];
      default:
        throw new RuleEvalError('rule result is not a vector or scalar');
    }
  };
}

/** A RangeQueryFn over the PromQL engine and a storage. */
export function engineRangeQueryFn(engine: Engine, queryable: Queryable): RangeQueryFn {
  return async (expr, startMs, endMs, stepMs, signal) => {
    const res = await engine.rangeQuery(queryable, expr, startMs, endMs, stepMs, { signal });
    if (res.resultType !== 'matrix') throw new RuleEvalError('range query result is not a matrix');
    return res.result.map((r) => ({
      labels: r.metric,
      times: r.values.map((p) => Math.round(p[0] * 1000)),
      values: r.values.map((p) => parseApiValue(p[1])),
    }));
  };
}

/** An AppendFn over a storage with an appender: one appender per call, committed at the end. */
export function storageAppendFn(storage: {
  appender(): { append(l: Labels, t: number, v: number): void; commit(): Promise<void>; rollback(): void };
}): AppendFn {
  return async (samples) => {
    if (!samples.length) return;
    const app = storage.appender();
    try {
      for (const s of samples) app.append(s.labels, s.t, s.v);
    } catch (err) {
      app.rollback();
      throw err;
    }
    await app.commit();
  };
}
