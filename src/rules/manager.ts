/**
 * Runs every loaded rule group on its own schedule and remembers, per group, the last evaluation timestamp in
 * the state store (kv namespace `rules`), so a restart resumes right after it: no timestamp evaluated twice,
 * and evaluations missed while stopped are caught up (a bounded number of them).
 */
import type { KvRepo } from '../state/interface.ts';
import type { RuleGroupDef } from './file.ts';
import { RuleGroup, type GroupOptions } from './group.ts';

/** Namespace of the state store's kv repository holding `{ lastEvaluation: ms }` per group key. */
export const STATE_NAMESPACE = 'rules';

export interface RuleManagerOptions extends GroupOptions {
  /** Where progress is kept across restarts; without it every start begins at the next aligned timestamp. */
  readonly kv?: KvRepo;
  /** Most missed evaluations per group to catch up on after a restart (default 10). */
  readonly maxCatchUp?: number;
}

export class RuleManager {
  readonly groups: readonly RuleGroup[];
  private ctl: AbortController | undefined;
  private loops: Promise<void>[] = [];

  constructor(
    defs: readonly RuleGroupDef[],
    private readonly opts: RuleManagerOptions,
  ) {
    this.groups = defs.map((d) => new RuleGroup(d, opts));
  }

  /** Reads each group's saved progress and starts evaluating. Resolves once every group is scheduled. */
  async start(): Promise<void> {
    if (this.ctl) throw new Error('rule manager already started');
    const ctl = new AbortController();
    this.ctl = ctl;
    const saved = new Map<string, number>();
    if (this.opts.kv && this.groups.length) {
      for (const e of await this.opts.kv.list(STATE_NAMESPACE)) {
        const v = e.value as { lastEvaluation?: unknown } | null;
        if (v && typeof v === 'object' && typeof v.lastEvaluation === 'number')
          saved.set(e.key, v.lastEvaluation);
      }
    }
    const kv = this.opts.kv;
    this.loops = this.groups.map((g) =>
      g
        .run(ctl.signal, {
          resumeAfter: saved.get(g.key),
          maxCatchUp: this.opts.maxCatchUp,
          onEvaluated: kv ? (ts) => kv.set(STATE_NAMESPACE, g.key, { lastEvaluation: ts }) : undefined,
        })
        .catch((err: Error) =>
          this.opts.log?.(`rule group ${JSON.stringify(g.name)} stopped: ${err.message}`),
        ),
    );
  }

  /** Stops every group and waits for evaluations in flight to end. */
  async stop(): Promise<void> {
    this.ctl?.abort();
    await Promise.all(this.loops);
    this.loops = [];
    for (const g of this.groups) g.forgetMetrics();
  }
}
