/** A recording rule: evaluates its expression and stores the result under a new metric name. */
import { METRIC_NAME, labelsKey, normalizeLabels, type Labels } from '../model/labels.ts';
import { formatExpr } from '../query/promql/index.ts';
import type { RecordingRuleDef } from './file.ts';
import { RuleEvalError, RuleStatus, type OutputSample, type QueryFn } from './rule.ts';

export class RecordingRule {
  readonly kind = 'recording';
  readonly status = new RuleStatus();
  /** The rule's labels merged over its group's (the rule's win). */
  readonly labels: Readonly<Record<string, string>>;
  /** The expression as Prometheus prints it back. */
  readonly query: string;

  constructor(
    readonly def: RecordingRuleDef,
    groupLabels: Readonly<Record<string, string>> = {},
  ) {
    this.labels = { ...groupLabels, ...def.labels };
    this.query = formatExpr(def.query);
  }

  get name(): string {
    return this.def.name;
  }

  /**
   * Evaluates at `ts` and returns the samples to store (without stale markers). Throws RuleEvalError (or the
   * query's own error) when the query fails, the result has duplicate label sets after renaming, or it has
   * more series than `limit` (0 = no limit).
   */
  async eval(ts: number, query: QueryFn, limit: number, signal?: AbortSignal): Promise<OutputSample[]> {
    const vector = await query(this.def.expr, ts, signal);
    const out: OutputSample[] = [];
    const seen = new Set<string>();
    for (const s of vector) {
      const l: Record<string, string> = { ...s.labels, [METRIC_NAME]: this.def.name };
      for (const [k, v] of Object.entries(this.labels)) l[k] = v;
      const labels: Labels = normalizeLabels(l);
      const key = labelsKey(labels);
      if (seen.has(key))
        throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      out.push({ labels, t: ts, v: s.value });
    }
    if (limit > 0 && out.length > limit)
      throw new RuleEvalError(`exceeded limit of ${limit} with ${out.length} series`);
    return out;
  }
}
