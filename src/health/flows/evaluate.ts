/**
 * Data-flow checks as pure code over a QueryFn: for each stage and channel of a flow, conservation (in ≈ out
 * + dropped + Δin_flight), the hand-off between consecutive stages (out of N ≈ in of N+1), freshness of a
 * series, throughput against a learned baseline, and lag. A missing series or a failed query gives status
 * `unknown` with the reason; nothing here throws for bad data. Reference: docs/flows.md.
 */
import type { QueryFn } from '../../rules/rule.ts';
import type { ChannelConfig, FlowConfig, StageConfig, ThroughputConfig } from './config.ts';

export type CheckStatus = 'ok' | 'violated' | 'unknown';
export type CheckKind = 'conservation' | 'handoff' | 'freshness' | 'throughput' | 'lag';

/** Alert name raised for each kind of check. */
export const ALERT_NAMES: Record<CheckKind, string> = {
  conservation: 'FlowConservation',
  handoff: 'FlowConservation',
  freshness: 'FlowStale',
  throughput: 'FlowThroughputDrop',
  lag: 'FlowLag',
};

/**
 * One check's outcome. `value` is what was measured and `expected` its bound, in the unit the kind uses:
 * conservation/handoff the gap as a share of the larger rate vs the tolerance, freshness the age in seconds
 * vs max_age, throughput the `in` rate vs the lowest accepted rate, lag the lag vs its max. Both are null
 * when unknown. `numbers` holds the figures behind the value for alert annotations.
 */
export interface CheckResult {
  readonly kind: CheckKind;
  readonly status: CheckStatus;
  readonly value: number | null;
  readonly expected: number | null;
  readonly reason: string;
  readonly numbers: Readonly<Record<string, number>>;
  /** A throughput check still learning its baseline: unknown, but no reason to call its part unknown. */
  readonly learning?: boolean;
}

export interface Rates {
  readonly in: number | null;
  readonly out: number | null;
  readonly dropped: number | null;
}

/** A stage or a channel with its checks; `status` is the worst of them (violated > unknown > ok). */
export interface PartResult {
  readonly name: string;
  /** For a channel, the stage it receives from; for a stage, its own name. */
  readonly stage: string;
  readonly channel: boolean;
  readonly status: CheckStatus;
  readonly checks: readonly CheckResult[];
  readonly rates: Rates;
}

export interface FlowResult {
  readonly name: string;
  /** Evaluation time, ms since the epoch. */
  readonly t: number;
  readonly stages: readonly PartResult[];
  readonly channels: readonly PartResult[];
}

/** Learned throughput baseline of one stage or channel: moving mean and mean absolute deviation of `in`. */
export interface Baseline {
  mean: number;
  dev: number;
  n: number;
  /** Violated evaluations in a row. */
  violations: number;
}

/**
 * What the evaluator keeps between evaluations: the throughput baselines, by `flow/stage` or
 * `flow/channel:name`. Owned by one caller; not safe for concurrent evaluations of the same flow.
 */
export class FlowState {
  readonly baselines = new Map<string, Baseline>();
}

/** The outcome of one query: a number, nothing (no series), or an error message. */
type Measured = { ok: true; value: number } | { ok: false; reason: string };

async function measure(query: QueryFn, expr: string, t: number, agg: 'sum' | 'max'): Promise<Measured> {
  let res;
  try {
    res = await query(expr, t);
  } catch (err) {
    return { ok: false, reason: `query ${JSON.stringify(expr)} failed: ${(err as Error).message}` };
  }
  const values = res.map((s) => s.value).filter((v) => !Number.isNaN(v));
  if (!values.length) return { ok: false, reason: `no series for ${JSON.stringify(expr)}` };
  const value = agg === 'sum' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
  return { ok: true, value };
}

const unknown = (kind: CheckKind, reason: string): CheckResult => ({
  kind,
  status: 'unknown',
  value: null,
  expected: null,
  reason,
  numbers: {},
});

function pct(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
}

/** The gap between what came in and what is accounted for, as a share of the larger side. */
function gapShare(inRate: number, accounted: number): number {
  const base = Math.max(Math.abs(inRate), Math.abs(accounted));
  return base === 0 ? 0 : Math.abs(inRate - accounted) / base;
}

interface Counters {
  readonly in: Measured;
  readonly out: Measured;
  readonly dropped: Measured | undefined;
}

async function conservation(
  part: StageConfig | ChannelConfig,
  c: Counters,
  query: QueryFn,
  t: number,
  intervalMs: number,
  tolerance: number,
  minRate: number,
): Promise<CheckResult> {
  if (!c.in.ok) return unknown('conservation', c.in.reason);
  if (!c.out.ok) return unknown('conservation', c.out.reason);
  const notes: string[] = [];
  let dropped = 0;
  if (c.dropped) {
    if (c.dropped.ok) dropped = c.dropped.value;
    // A drop counter that was never incremented often has no series at all: count it as none dropped.
    else notes.push(`dropped taken as 0 (${c.dropped.reason})`);
  }
  let inFlightDelta = 0;
  if (part.in_flight) {
    const now = await measure(query, part.in_flight, t, 'sum');
    const before = await measure(query, part.in_flight, t - intervalMs, 'sum');
    if (now.ok && before.ok) inFlightDelta = (now.value - before.value) / (intervalMs / 1000);
    else
      notes.push(
        `in_flight change taken as 0 (${now.ok ? (before as { reason: string }).reason : now.reason})`,
      );
  }
  const accounted = c.out.value + dropped + inFlightDelta;
  const share = gapShare(c.in.value, accounted);
  const numbers = {
    in: c.in.value,
    out: c.out.value,
    dropped,
    in_flight_change: inFlightDelta,
    gap: c.in.value - accounted,
    gap_percent: share * 100,
  };
  const figures = `in ${fmt(c.in.value)}/s, out ${fmt(c.out.value)}/s, dropped ${fmt(dropped)}/s${
    part.in_flight ? `, in flight ${inFlightDelta >= 0 ? '+' : ''}${fmt(inFlightDelta)}/s` : ''
  }`;
  const note = notes.length ? `; ${notes.join('; ')}` : '';
  if (Math.max(c.in.value, accounted) < minRate || (c.in.value === 0 && accounted === 0))
    return {
      kind: 'conservation',
      status: 'ok',
      value: share,
      expected: tolerance,
      reason: `too little traffic to judge (${figures})${note}`,
      numbers,
    };
  const violated = share > tolerance;
  return {
    kind: 'conservation',
    status: violated ? 'violated' : 'ok',
    value: share,
    expected: tolerance,
    reason: `${figures}: ${violated ? 'gap' : 'within tolerance,'} ${pct(share)} of ${
      violated ? (c.in.value > accounted ? 'items unaccounted for' : 'more out than in') : 'flow'
    } (tolerance ${pct(tolerance)})${note}`,
    numbers,
  };
}

function handoff(
  prev: string,
  prevOut: Measured,
  cur: Measured,
  tolerance: number,
  minRate: number,
): CheckResult {
  if (!prevOut.ok) return unknown('handoff', `out of stage ${prev}: ${prevOut.reason}`);
  if (!cur.ok) return unknown('handoff', cur.reason);
  const share = gapShare(prevOut.value, cur.value);
  const numbers = {
    out: prevOut.value,
    in: cur.value,
    gap: prevOut.value - cur.value,
    gap_percent: share * 100,
  };
  const figures = `out of ${prev} ${fmt(prevOut.value)}/s, in ${fmt(cur.value)}/s`;
  if (Math.max(prevOut.value, cur.value) < minRate || Math.max(prevOut.value, cur.value) === 0)
    return {
      kind: 'handoff',
      status: 'ok',
      value: share,
      expected: tolerance,
      reason: `too little traffic to judge (${figures})`,
      numbers,
    };
  const violated = share > tolerance;
  return {
    kind: 'handoff',
    status: violated ? 'violated' : 'ok',
    value: share,
    expected: tolerance,
    reason: violated
      ? `${figures}: ${pct(share)} ${prevOut.value > cur.value ? `lost between ${prev} and this stage` : 'more in than sent'} (tolerance ${pct(tolerance)})`
      : `${figures}: within tolerance ${pct(tolerance)}`,
    numbers,
  };
}

async function freshness(
  f: NonNullable<StageConfig['freshness']>,
  query: QueryFn,
  t: number,
): Promise<CheckResult> {
  // Look back well beyond the bound, so a series that stopped is reported as stale with its age, not missing.
  const windowS = Math.max(3600, Math.ceil((f.max_age * 4) / 1000));
  const expr = `max(time() - ts_of_last_over_time(${f.series}[${windowS}s]))`;
  const m = await measure(query, expr, t, 'max');
  const maxAge = f.max_age / 1000;
  if (!m.ok)
    return unknown(
      'freshness',
      m.reason.startsWith('no series') ? `no samples of ${f.series} in the last ${windowS}s` : m.reason,
    );
  const violated = m.value > maxAge;
  return {
    kind: 'freshness',
    status: violated ? 'violated' : 'ok',
    value: m.value,
    expected: maxAge,
    reason: `${f.series} last updated ${fmt(m.value)}s ago (max ${fmt(maxAge)}s)`,
    numbers: { age_seconds: m.value, max_age_seconds: maxAge },
  };
}

/**
 * Throughput continuity: `in` against an exponentially weighted moving mean with a mean absolute deviation
 * as its spread (less thrown by one spike than a standard deviation). A drop counts when `in` is below the
 * mean by more than `min_drop` of it and by more than `deviations` spreads. The baseline stays frozen while
 * a drop lasts, so the alert holds for as long as the drop; after `relearn_after` violated evaluations in a
 * row the lower level is taken as the new normal and learned from scratch.
 */
export function throughput(cfg: ThroughputConfig, b: Baseline, inRate: number): CheckResult {
  const numbers = { in: inRate, baseline: b.mean, spread: b.dev };
  if (b.n < cfg.warmup) {
    learn(cfg, b, inRate);
    return {
      kind: 'throughput',
      status: 'unknown',
      value: inRate,
      expected: null,
      reason: `learning the baseline (${b.n} of ${cfg.warmup} evaluations)`,
      numbers,
      learning: true,
    };
  }
  const floor = Math.max(0, Math.min(b.mean * (1 - cfg.min_drop), b.mean - cfg.deviations * b.dev));
  const judged = b.mean >= cfg.min_rate && b.mean > 0;
  const violated = judged && inRate < floor;
  const result: CheckResult = {
    kind: 'throughput',
    status: violated ? 'violated' : 'ok',
    value: inRate,
    expected: floor,
    reason: !judged
      ? `baseline ${fmt(b.mean)}/s is too low to judge`
      : `in ${fmt(inRate)}/s against a baseline of ${fmt(b.mean)}/s ± ${fmt(b.dev)} (lowest accepted ${fmt(floor)}/s)`,
    numbers,
  };
  if (!violated) {
    b.violations = 0;
    learn(cfg, b, inRate);
  } else if (++b.violations >= cfg.relearn_after) {
    b.mean = 0;
    b.dev = 0;
    b.n = 0;
    b.violations = 0;
    learn(cfg, b, inRate);
  }
  return result;
}

function learn(cfg: ThroughputConfig, b: Baseline, v: number): void {
  if (b.n === 0) {
    b.mean = v;
    b.dev = 0;
  } else {
    const d = v - b.mean;
    b.mean += cfg.alpha * d;
    b.dev += cfg.alpha * (Math.abs(d) - b.dev);
  }
  b.n++;
}

async function lag(l: NonNullable<StageConfig['lag']>, query: QueryFn, t: number): Promise<CheckResult> {
  const m = await measure(query, l.expr, t, 'max');
  if (!m.ok) return unknown('lag', m.reason);
  const violated = m.value > l.max;
  return {
    kind: 'lag',
    status: violated ? 'violated' : 'ok',
    value: m.value,
    expected: l.max,
    reason: `lag ${fmt(m.value)} (max ${fmt(l.max)})`,
    numbers: { lag: m.value, max: l.max },
  };
}

function worst(checks: readonly CheckResult[]): CheckStatus {
  if (checks.some((c) => c.status === 'violated')) return 'violated';
  // A part whose only unknown is a baseline still being learned is judged by its other checks.
  const judged = checks.filter((c) => !c.learning);
  if (judged.length === 0 && checks.length > 0) return 'unknown';
  if (judged.some((c) => c.status === 'unknown')) return 'unknown';
  return 'ok';
}

async function counters(part: StageConfig | ChannelConfig, query: QueryFn, t: number): Promise<Counters> {
  const [i, o, d] = await Promise.all([
    measure(query, part.in, t, 'sum'),
    measure(query, part.out, t, 'sum'),
    part.dropped ? measure(query, part.dropped, t, 'sum') : undefined,
  ]);
  return { in: i, out: o, dropped: d };
}

async function evaluatePart(
  flow: FlowConfig,
  part: StageConfig | ChannelConfig,
  c: Counters,
  extra: CheckResult | undefined,
  query: QueryFn,
  t: number,
  state: FlowState,
  key: string,
): Promise<CheckResult[]> {
  const tolerance = part.tolerance ?? flow.tolerance;
  const checks: CheckResult[] = [
    await conservation(part, c, query, t, flow.interval, tolerance, flow.min_rate),
  ];
  if (extra) checks.push(extra);
  if (part.freshness) checks.push(await freshness(part.freshness, query, t));
  if (part.throughput !== false) {
    if (!c.in.ok) checks.push(unknown('throughput', c.in.reason));
    else {
      let b = state.baselines.get(key);
      if (!b) state.baselines.set(key, (b = { mean: 0, dev: 0, n: 0, violations: 0 }));
      checks.push(throughput(part.throughput, b, c.in.value));
    }
  }
  if (part.lag) checks.push(await lag(part.lag, query, t));
  return checks;
}

const rates = (c: Counters): Rates => ({
  in: c.in.ok ? c.in.value : null,
  out: c.out.ok ? c.out.value : null,
  dropped: c.dropped ? (c.dropped.ok ? c.dropped.value : null) : 0,
});

/** Evaluates every check of one flow at `t` (ms). Never rejects: failures become `unknown` checks. */
export async function evaluateFlow(
  flow: FlowConfig,
  query: QueryFn,
  t: number,
  state: FlowState,
): Promise<FlowResult> {
  const stages: PartResult[] = [];
  let prev: { name: string; out: Measured } | undefined;
  for (const s of flow.stages) {
    const c = await counters(s, query, t);
    const tolerance = s.tolerance ?? flow.tolerance;
    const hand = prev ? handoff(prev.name, prev.out, c.in, tolerance, flow.min_rate) : undefined;
    const checks = await evaluatePart(flow, s, c, hand, query, t, state, `${flow.name}/${s.name}`);
    stages.push({
      name: s.name,
      stage: s.name,
      channel: false,
      status: worst(checks),
      checks,
      rates: rates(c),
    });
    prev = { name: s.name, out: c.out };
  }
  const channels: PartResult[] = [];
  for (const ch of flow.channels) {
    const c = await counters(ch, query, t);
    const checks = await evaluatePart(
      flow,
      ch,
      c,
      undefined,
      query,
      t,
      state,
      `${flow.name}/channel:${ch.name}`,
    );
    channels.push({
      name: ch.name,
      stage: ch.stage,
      channel: true,
      status: worst(checks),
      checks,
      rates: rates(c),
    });
  }
  return { name: flow.name, t, stages, channels };
}
