/**
 * Query annotations: warnings and infos that accompany a successful result, as Prometheus 3 returns them in the
 * `warnings` and `infos` fields of its API responses. Each names the place in the query it is about.
 */
import type { Expr, PositionRange } from './ast.ts';

/** `line:col` (1-based) of an offset in the query, as Prometheus prints positions. */
export function positionOf(query: string, offset: number): string {
  let line = 1;
  let lastBreak = -1;
  const p = Math.max(0, Math.min(offset, query.length));
  for (let i = 0; i < p; i++) {
    if (query[i] === '\n') {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${p - lastBreak}`;
}

/** Formats a number like Go's `%g` verb, which Prometheus uses inside annotation texts. */
export function goG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, e] = v.toExponential().split('e') as [string, string];
  const exp = Number(e);
  // Shortest round-trip digits; like Go's %g, exponent form below 1e-4 and from 1e6.
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

/**
 * Collects the annotations of one query. Duplicates (same text and position) are kept once, in the order they
 * were first raised.
 */
export class Annotations {
  private readonly warningSet = new Set<string>();
  private readonly infoSet = new Set<string>();

  constructor(private readonly query: string) {}

  /** A warning: the result is probably not what the user meant (e.g. a quantile outside [0, 1]). */
  warn(text: string, pos: PositionRange): void {
    this.warningSet.add(`PromQL warning: ${text} (${positionOf(this.query, pos.start)})`);
  }

  /** An info: the result is fine but the input looks suspicious (e.g. rate() of a gauge-like name). */
  info(text: string, pos: PositionRange): void {
    this.infoSet.add(`PromQL info: ${text} (${positionOf(this.query, pos.start)})`);
  }

  get warnings(): string[] {
    return [...this.warningSet];
  }

  get infos(): string[] {
    return [...this.infoSet];
  }
}

/** Prometheus' warning for a φ outside [0, 1] (or NaN) at any step, placed at the parameter. */
export function warnInvalidQuantile(annotations: Annotations, q: Float64Array, at: Expr): void {
  for (const x of q) {
    if (Number.isNaN(x) || x < 0 || x > 1) {
      annotations.warn(`quantile value should be between 0 and 1, got ${goG(x)}`, at.pos);
      return;
    }
  }
}
