/** Binary operators: scalar/scalar, vector/scalar, vector matching (one-to-one, group_left/right) and set ops. */
import { dropMetricName, labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import type { BinaryExpr, VectorMatching } from './ast.ts';
import { COMPARISON_OPS } from './ast.ts';
import { EvalError } from './errors.ts';
import type { Evaluator } from './eval.ts';
import {
  mergeSameLabels,
  newSeries,
  SeriesAllocator,
  type Grid,
  type StepSeries,
  type Value,
  type VectorValue,
} from './value.ts';

/** Go's math.Pow differs from `**` for a few special cases that PromQL users can observe. */
function pow(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return a ** b;
}

/** Applies an arithmetic operator. */
export function arith(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return pow(a, b);
    case 'atan2':
      return Math.atan2(a, b);
  }
  throw new EvalError(`operator ${JSON.stringify(op)} not allowed for arithmetic`);
}

/** Applies a comparison operator; false whenever NaN is involved (except `!=`). */
export function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
  throw new EvalError(`operator ${JSON.stringify(op)} is not a comparison`);
}

/** Labels rendered like Prometheus' labels.String(): `{__name__="x", a="b"}`. */
export function labelsString(l: Labels): string {
  return `{${Object.keys(l)
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(', ')}}`;
}

function matchLabels(l: Labels, m: VectorMatching): Labels {
  const out: Record<string, string> = {};
  if (m.on) {
    for (const n of m.labels) if (l[n]) out[n] = l[n];
  } else {
    for (const n of Object.keys(l)) if (n !== METRIC_NAME && !m.labels.includes(n)) out[n] = l[n]!;
  }
  return out;
}

/** Evaluates a binary expression. */
export async function evalBinary(ev: Evaluator, e: BinaryExpr, g: Grid): Promise<Value> {
  const lhs = await ev.eval(e.lhs, g);
  const rhs = await ev.eval(e.rhs, g);
  const isCmp = COMPARISON_OPS.has(e.op);
  if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
    const out = new Float64Array(g.n);
    for (let i = 0; i < g.n; i++) {
      const a = lhs.vals[i]!;
      const b = rhs.vals[i]!;
      out[i] = isCmp ? (compare(e.op, a, b) ? 1 : 0) : arith(e.op, a, b);
    }
    return { kind: 'scalar', vals: out };
  }
  if (lhs.kind === 'vector' && rhs.kind === 'scalar') return vectorScalar(e, lhs, rhs.vals, false, g);
  if (lhs.kind === 'scalar' && rhs.kind === 'vector') return vectorScalar(e, rhs, lhs.vals, true, g);
  if (lhs.kind !== 'vector' || rhs.kind !== 'vector')
    throw new EvalError('binary expression must contain only scalar and instant vector types');
  const m = e.matching ?? { card: 'one-to-one', on: false, explicit: false, labels: [], include: [] };
  switch (e.op) {
    case 'and':
      return setAnd(lhs, rhs, m, g, false);
    case 'unless':
      return setAnd(lhs, rhs, m, g, true);
    case 'or':
      return setOr(lhs, rhs, m, g);
    default:
      return vectorVector(e, lhs, rhs, m, g);
  }
}

/**
 * Whether the result loses `__name__`: arithmetic changes what the value means, a filter does not. `atan2` keeps
 * the name, a Prometheus quirk users can observe (checked against Prometheus 2.42).
 */
function dropsName(e: BinaryExpr): boolean {
  return e.returnBool || (!COMPARISON_OPS.has(e.op) && e.op !== 'atan2');
}

function vectorScalar(
  e: BinaryExpr,
  vec: VectorValue,
  sc: Float64Array,
  scalarLeft: boolean,
  g: Grid,
): VectorValue {
  const isCmp = COMPARISON_OPS.has(e.op);
  const dropName = dropsName(e);
  const out: StepSeries[] = [];
  const alloc = new SeriesAllocator(g.n);
  for (const s of vec.series) {
    const o = alloc.alloc(dropName ? dropMetricName(s.labels) : s.labels);
    let any = false;
    for (let i = 0; i < g.n; i++) {
      if (!s.has[i]) continue;
      const x = s.vals[i]!;
      const a = scalarLeft ? sc[i]! : x;
      const b = scalarLeft ? x : sc[i]!;
      if (isCmp) {
        const keep = compare(e.op, a, b);
        if (e.returnBool) o.vals[i] = keep ? 1 : 0;
        else if (keep)
          o.vals[i] = x; // the vector's own value survives a filter, whichever side it was on
        else continue;
      } else {
        o.vals[i] = arith(e.op, a, b);
      }
      o.has[i] = 1;
      any = true;
    }
    if (any) out.push(o);
  }
  return { kind: 'vector', series: dropName ? mergeSameLabels(out) : out };
}

/** Per signature, the series indices of one side. */
function bySignature(
  series: StepSeries[],
  m: VectorMatching,
): { sigs: string[]; groups: Map<string, number[]> } {
  const sigs: string[] = [];
  const groups = new Map<string, number[]>();
  series.forEach((s, i) => {
    const sig = labelsKey(matchLabels(s.labels, m));
    sigs.push(sig);
    const g = groups.get(sig);
    if (g) g.push(i);
    else groups.set(sig, [i]);
  });
  return { sigs, groups };
}

/** True if any of the candidate series has a value at step i. */
function presentAt(series: readonly StepSeries[], cands: readonly number[], i: number): boolean {
  for (const c of cands) if (series[c]!.has[i]) return true;
  return false;
}

/** A copy of `s` keeping only the steps where `keep` holds; undefined when no step is kept. */
function filterSteps(s: StepSeries, g: Grid, keep: (i: number) => boolean): StepSeries | undefined {
  const o = newSeries(s.labels, g.n);
  let any = false;
  for (let i = 0; i < g.n; i++) {
    if (!s.has[i] || !keep(i)) continue;
    o.vals[i] = s.vals[i]!;
    o.has[i] = 1;
    any = true;
  }
  return any ? o : undefined;
}

function setAnd(
  lhs: VectorValue,
  rhs: VectorValue,
  m: VectorMatching,
  g: Grid,
  unless: boolean,
): VectorValue {
  const r = bySignature(rhs.series, m);
  const out: StepSeries[] = [];
  for (const s of lhs.series) {
    const cands = r.groups.get(labelsKey(matchLabels(s.labels, m)));
    if (!cands) {
      if (unless) out.push(s);
      continue;
    }
    const o = filterSteps(s, g, (i) => presentAt(rhs.series, cands, i) !== unless);
    if (o) out.push(o);
  }
  return { kind: 'vector', series: out };
}

function setOr(lhs: VectorValue, rhs: VectorValue, m: VectorMatching, g: Grid): VectorValue {
  const l = bySignature(lhs.series, m);
  const out: StepSeries[] = [...lhs.series];
  for (const s of rhs.series) {
    const cands = l.groups.get(labelsKey(matchLabels(s.labels, m)));
    if (!cands) {
      out.push(s);
      continue;
    }
    const o = filterSteps(s, g, (i) => !presentAt(lhs.series, cands, i));
    if (o) out.push(o);
  }
  return { kind: 'vector', series: mergeSameLabels(out) };
}

function vectorVector(
  e: BinaryExpr,
  lhs: VectorValue,
  rhs: VectorValue,
  m: VectorMatching,
  g: Grid,
): VectorValue {
  const isCmp = COMPARISON_OPS.has(e.op);
  const dropName = dropsName(e);
  // For group_right the right side is the "many" side: iterate it and look up the left.
  const swapped = m.card === 'one-to-many';
  const many = swapped ? rhs.series : lhs.series;
  const one = swapped ? lhs.series : rhs.series;
  const oneSide = bySignature(one, m);
  const manySide = bySignature(many, m);

  // The "one" side must be unique per match group at every step where the other side has anything at all
  // (Prometheus short-circuits a step where either side is empty).
  const manyPresent = new Uint8Array(g.n);
  for (const s of many) for (let i = 0; i < g.n; i++) manyPresent[i] = manyPresent[i]! | s.has[i]!;
  for (const [, idx] of oneSide.groups) {
    if (idx.length < 2) continue;
    for (let i = 0; i < g.n; i++) {
      if (!manyPresent[i]) continue;
      let first = -1;
      for (const c of idx) {
        if (!one[c]!.has[i]) continue;
        if (first < 0) {
          first = c;
          continue;
        }
        const a = one[first]!.labels;
        // Listed as Prometheus does: the series found later first.
        throw new EvalError(
          `found duplicate series for the match group ${labelsString(matchLabels(a, m))} on the ${swapped ? 'left' : 'right'} hand-side of the operation: [${labelsString(one[c]!.labels)}, ${labelsString(a)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
    }
  }

  const resultLabels = (l: Labels, r: Labels): Labels => {
    const out: Record<string, string> = { ...l };
    if (dropName) delete out[METRIC_NAME];
    if (m.card === 'one-to-one') {
      if (m.on) {
        for (const k of Object.keys(out)) if (!m.labels.includes(k)) delete out[k];
      } else {
        for (const k of m.labels) delete out[k];
      }
    }
    for (const k of m.include) {
      const v = r[k];
      if (v) out[k] = v;
      else delete out[k];
    }
    return out;
  };

  const outByKey = new Map<string, StepSeries>();
  // One-to-one: a match group may be used once per step even if the output labels would differ.
  const sigUsed = new Map<string, Uint8Array>();
  for (let li = 0; li < many.length; li++) {
    const ls = many[li]!;
    const sig = manySide.sigs[li]!;
    const cands = oneSide.groups.get(sig);
    if (!cands) continue;
    const trackSig = m.card === 'one-to-one' && manySide.groups.get(sig)!.length > 1;
    let used: Uint8Array | undefined;
    if (trackSig) {
      used = sigUsed.get(sig);
      if (!used) sigUsed.set(sig, (used = new Uint8Array(g.n)));
    }
    const outFor = new Map<number, StepSeries>();
    for (let i = 0; i < g.n; i++) {
      if (!ls.has[i]) continue;
      let rIdx = -1;
      for (const c of cands) {
        if (one[c]!.has[i]) {
          rIdx = c;
          break;
        }
      }
      if (rIdx < 0) continue;
      const rs = one[rIdx]!;
      let a = ls.vals[i]!;
      let b = rs.vals[i]!;
      if (swapped) [a, b] = [b, a];
      let value: number;
      if (isCmp) {
        const keep = compare(e.op, a, b);
        if (e.returnBool) value = keep ? 1 : 0;
        else if (keep) value = a;
        else continue;
      } else {
        value = arith(e.op, a, b);
      }
      if (used) {
        if (used[i])
          throw new EvalError(
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          );
        used[i] = 1;
      }
      let o = outFor.get(rIdx);
      if (!o) {
        const labels = resultLabels(ls.labels, rs.labels);
        const key = labelsKey(labels);
        o = outByKey.get(key);
        if (!o) outByKey.set(key, (o = newSeries(labels, g.n)));
        outFor.set(rIdx, o);
      }
      if (o.has[i]) {
        throw new EvalError(
          m.card === 'one-to-one'
            ? 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'
            : 'multiple matches for labels: grouping labels must ensure unique matches',
        );
      }
      o.has[i] = 1;
      o.vals[i] = value;
    }
  }
  return { kind: 'vector', series: [...outByKey.values()] };
}
