/** Aggregation operators (`sum by (job) (...)` etc.), computed per group over all steps at once. */
import { isValidLabelName, labelsKey, METRIC_NAME, seriesId, type Labels } from '../../model/labels.ts';
import type { AggregateExpr } from './ast.ts';
import { EvalError } from './errors.ts';
import type { Evaluator } from './eval.ts';
import { formatValue } from './format.ts';
import { goG, warnInvalidQuantile } from './annotations.ts';
import { kahanInc, quantile } from './mathutil.ts';
import { newSeries, type Grid, type StepSeries, type VectorValue } from './value.ts';

interface Group {
  readonly labels: Labels;
  readonly members: StepSeries[];
}

function groupSeries(series: StepSeries[], e: AggregateExpr): Group[] {
  const groups = new Map<string, Group>();
  for (const s of series) {
    const out: Record<string, string> = {};
    if (e.without) {
      for (const k of Object.keys(s.labels))
        if (k !== METRIC_NAME && !e.grouping.includes(k)) out[k] = s.labels[k]!;
    } else {
      for (const k of e.grouping) if (s.labels[k]) out[k] = s.labels[k];
    }
    const key = labelsKey(out);
    let grp = groups.get(key);
    if (!grp) groups.set(key, (grp = { labels: out, members: [] }));
    grp.members.push(s);
  }
  return [...groups.values()];
}

/** Evaluates an aggregation expression. */
export async function evalAggregate(ev: Evaluator, e: AggregateExpr, g: Grid): Promise<VectorValue> {
  let param: Float64Array | undefined;
  let label = '';
  if (e.param) {
    if (e.op === 'count_values') {
      const p = await ev.eval(e.param, g);
      if (p.kind !== 'string') throw new EvalError('count_values parameter must be a string');
      label = p.value;
      if (!isValidLabelName(label)) throw new EvalError(`invalid label name ${JSON.stringify(label)}`);
    } else {
      param = await ev.evalScalar(e.param, g);
    }
  }
  const input = await ev.evalVector(e.expr, g);
  const groups = groupSeries(input.series, e);
  if (e.op === 'quantile') warnInvalidQuantile(ev.annotations, param!, e.param!);
  if (e.op === 'limit_ratio') {
    for (const r of param!) {
      if (r < -1 || r > 1) {
        const to = Math.max(-1, Math.min(1, r));
        ev.annotations.warn(
          `ratio value should be between -1 and 1, got ${goG(r)}, capping to ${goG(to)}`,
          e.param!.pos,
        );
        break;
      }
    }
  }
  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
    case 'limit_ratio':
      return { kind: 'vector', series: selectK(e.op, groups, param!, g) };
    case 'count_values':
      return { kind: 'vector', series: countValues(groups, label, g) };
    case 'quantile':
      return {
        kind: 'vector',
        series: groups.map((grp) => quantileGroup(grp, param!, g)).filter((s) => s !== undefined),
      };
    default: {
      const out: StepSeries[] = [];
      for (const grp of groups) {
        const s = simpleAggregate(e.op, grp, g);
        if (s) out.push(s);
      }
      return { kind: 'vector', series: out };
    }
  }
}

function simpleAggregate(op: string, grp: Group, g: Grid): StepSeries | undefined {
  const n = g.n;
  const o = newSeries(grp.labels, n);
  const vals = o.vals;
  const has = o.has;
  const count = new Float64Array(n);
  switch (op) {
    case 'sum': {
      const c = new Float64Array(n);
      for (const s of grp.members) {
        for (let i = 0; i < n; i++) {
          if (!s.has[i]) continue;
          count[i]!++;
          // Inlined Kahan-Neumaier step: this is the hottest loop of typical dashboards.
          const x = s.vals[i]!;
          const sum = vals[i]!;
          const t = sum + x;
          if (t === Infinity || t === -Infinity) c[i] = 0;
          else if (Math.abs(sum) >= Math.abs(x)) c[i] = c[i]! + (sum - t + x);
          else c[i] = c[i]! + (x - t + sum);
          vals[i] = t;
        }
      }
      for (let i = 0; i < n; i++) {
        if (!count[i]) continue;
        has[i] = 1;
        if (Number.isFinite(vals[i]!)) vals[i] = vals[i]! + c[i]!;
      }
      return o;
    }
    case 'avg': {
      // Kahan sum, switching to an incremental mean only if the sum would overflow (as Prometheus does).
      const c = new Float64Array(n);
      const incremental = new Uint8Array(n);
      const mean = new Float64Array(n);
      for (const s of grp.members) {
        for (let i = 0; i < n; i++) {
          if (!s.has[i]) continue;
          const x = s.vals[i]!;
          const cnt = ++count[i]!;
          if (cnt === 1) {
            vals[i] = x;
            continue;
          }
          if (!incremental[i]) {
            const [t, cc] = kahanInc(x, vals[i]!, c[i]!);
            if (Number.isFinite(t) || Number.isNaN(t)) {
              vals[i] = t;
              c[i] = cc;
              continue;
            }
            incremental[i] = 1;
            mean[i] = vals[i]! / (cnt - 1);
            c[i] = c[i]! / (cnt - 1);
          }
          const m = mean[i]!;
          if (m === Infinity || m === -Infinity) {
            if ((x === Infinity || x === -Infinity) && m > 0 === x > 0) continue;
            if (Number.isFinite(x)) continue;
          }
          const cur = m + c[i]!;
          const [t, cc] = kahanInc(x / cnt - cur / cnt, m, c[i]!);
          mean[i] = t;
          c[i] = cc;
        }
      }
      for (let i = 0; i < n; i++) {
        if (!count[i]) continue;
        has[i] = 1;
        if (incremental[i]) vals[i] = Number.isFinite(mean[i]!) ? mean[i]! + c[i]! : mean[i]!;
        else vals[i] = (Number.isFinite(vals[i]!) ? vals[i]! + c[i]! : vals[i]!) / count[i]!;
      }
      return o;
    }
    case 'count':
    case 'group': {
      for (const s of grp.members) for (let i = 0; i < n; i++) if (s.has[i]) count[i]!++;
      for (let i = 0; i < n; i++) {
        if (!count[i]) continue;
        has[i] = 1;
        vals[i] = op === 'count' ? count[i]! : 1;
      }
      return o;
    }
    case 'min':
    case 'max': {
      const isMax = op === 'max';
      for (const s of grp.members) {
        for (let i = 0; i < n; i++) {
          if (!s.has[i]) continue;
          const x = s.vals[i]!;
          if (!has[i]) {
            has[i] = 1;
            vals[i] = x;
            continue;
          }
          const cur = vals[i]!;
          // NaN only wins if every value is NaN.
          if ((isMax ? cur < x : cur > x) || Number.isNaN(cur)) vals[i] = x;
        }
      }
      return o;
    }
    case 'stddev':
    case 'stdvar': {
      const mean = new Float64Array(n);
      for (const s of grp.members) {
        for (let i = 0; i < n; i++) {
          if (!s.has[i]) continue;
          const x = s.vals[i]!;
          const cnt = ++count[i]!;
          if (cnt === 1) {
            mean[i] = x;
            vals[i] = 0;
            continue;
          }
          const d = x - mean[i]!;
          mean[i] = mean[i]! + d / cnt;
          vals[i] = vals[i]! + d * (x - mean[i]!);
        }
      }
      for (let i = 0; i < n; i++) {
        if (!count[i]) continue;
        has[i] = 1;
        const v = vals[i]! / count[i]!;
        vals[i] = op === 'stddev' ? Math.sqrt(v) : v;
      }
      return o;
    }
  }
  throw new EvalError(`unknown aggregation ${op}`);
}

function quantileGroup(grp: Group, q: Float64Array, g: Grid): StepSeries | undefined {
  const o = newSeries(grp.labels, g.n);
  const buf: number[] = [];
  let any = false;
  for (let i = 0; i < g.n; i++) {
    buf.length = 0;
    for (const s of grp.members) if (s.has[i]) buf.push(s.vals[i]!);
    if (!buf.length) continue;
    o.vals[i] = quantile(q[i]!, buf);
    o.has[i] = 1;
    any = true;
  }
  return any ? o : undefined;
}

function countValues(groups: Group[], label: string, g: Grid): StepSeries[] {
  const out = new Map<string, StepSeries>();
  for (const grp of groups) {
    for (let i = 0; i < g.n; i++) {
      const counts = new Map<string, number>();
      for (const s of grp.members) {
        if (!s.has[i]) continue;
        const k = formatValue(s.vals[i]!);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const [value, c] of counts) {
        const labels = { ...grp.labels, [label]: value };
        const key = labelsKey(labels);
        let o = out.get(key);
        if (!o) out.set(key, (o = newSeries(labels, g.n)));
        o.vals[i] = c;
        o.has[i] = 1;
      }
    }
  }
  return [...out.values()];
}

/** Deterministic position of a series in [0, 1), for limit_ratio sampling. */
function ratioPosition(labels: Labels): number {
  return Number(seriesId(labelsKey(labels)) & 0xffffffffffffn) / 2 ** 48;
}

/** topk, bottomk, limitk and limit_ratio: keep input series (with their labels) where they are selected. */
function selectK(op: string, groups: Group[], param: Float64Array, g: Grid): StepSeries[] {
  const outs = new Map<StepSeries, StepSeries>();
  const ordered: StepSeries[] = [];
  const emit = (s: StepSeries, i: number) => {
    let o = outs.get(s);
    if (!o) {
      outs.set(s, (o = newSeries(s.labels, g.n)));
      ordered.push(o);
    }
    o.vals[i] = s.vals[i]!;
    o.has[i] = 1;
  };
  const positions = op === 'limit_ratio' ? new Map<StepSeries, number>() : undefined;
  for (let i = 0; i < g.n; i++) {
    const p = param[i]!;
    if (op === 'limit_ratio') {
      if (Number.isNaN(p)) throw new EvalError(`Ratio value is NaN`);
      const r = Math.max(-1, Math.min(1, p));
      for (const grp of groups) {
        for (const s of grp.members) {
          if (!s.has[i]) continue;
          let pos = positions!.get(s);
          if (pos === undefined) positions!.set(s, (pos = ratioPosition(s.labels)));
          // A positive ratio keeps the low end, a negative one the complementary high end.
          if (r >= 0 ? pos < r : pos >= 1 + r) emit(s, i);
        }
      }
      continue;
    }
    if (Number.isNaN(p)) throw new EvalError('Parameter value is NaN');
    const k = Math.trunc(p);
    if (k < 1) continue;
    for (const grp of groups) {
      const present = grp.members.filter((s) => s.has[i]);
      if (op === 'limitk') {
        for (const s of present.slice(0, k)) emit(s, i);
        continue;
      }
      const top = op === 'topk';
      // NaN sorts last for both directions: it is never preferred over a number.
      present.sort((a, b) => {
        const x = a.vals[i]!;
        const y = b.vals[i]!;
        if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
        if (Number.isNaN(y)) return -1;
        return top ? y - x || 0 : x - y || 0;
      });
      for (const s of present.slice(0, k)) emit(s, i);
    }
  }
  return ordered;
}
