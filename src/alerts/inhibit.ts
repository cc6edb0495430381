/**
 * Inhibition (Alertmanager's `inhibit_rules`): an alert matching a rule's target matchers is muted while a
 * firing alert matches the source matchers and has the same values for every `equal` label (absent and
 * empty are the same). An alert matching both sides cannot be inhibited by itself or by another alert that
 * also matches both sides.
 */
import type { Labels } from '../model/labels.ts';
import type { InhibitRule } from './config/load.ts';
import { matchAll } from './matchers.ts';
import type { StoredAlert } from './store.ts';

/** Source alerts of one rule, by their `equal` label values. */
type SourceIndex = Map<string, StoredAlert[]>;

function equalKey(labels: Labels, equal: readonly string[]): string {
  return JSON.stringify(equal.map((l) => labels[l] ?? ''));
}

export class Inhibitor {
  private cache: { version: number; now: number; index: SourceIndex[] } | undefined;

  constructor(
    private readonly rules: readonly InhibitRule[],
    /** The firing alerts at a time (the alert store). */
    private readonly firing: (now: number) => readonly StoredAlert[],
    /** Changes whenever the alert store changes, so the source index is rebuilt only then. */
    private readonly version: () => number = () => NaN,
  ) {}

  private sources(now: number): SourceIndex[] {
    const v = this.version();
    if (this.cache && this.cache.version === v && this.cache.now === now) return this.cache.index;
    const firing = this.firing(now);
    const index = this.rules.map((r) => {
      const m: SourceIndex = new Map();
      for (const a of firing) {
        if (!matchAll(r.sourceMatchers, a.labels)) continue;
        const k = equalKey(a.labels, r.equal);
        const list = m.get(k);
        if (list) list.push(a);
        else m.set(k, [a]);
      }
      return m;
    });
    this.cache = { version: v, now, index };
    return index;
  }

  /** Fingerprints of the alerts inhibiting `labels` at `now` (empty when not inhibited). */
  inhibitedBy(labels: Labels, now: number): string[] {
    if (this.rules.length === 0) return [];
    let index: SourceIndex[] | undefined;
    for (const [i, r] of this.rules.entries()) {
      if (!matchAll(r.targetMatchers, labels)) continue;
      const bothSides = matchAll(r.sourceMatchers, labels);
      index ??= this.sources(now);
      for (const s of index[i]!.get(equalKey(labels, r.equal)) ?? []) {
        if (bothSides && matchAll(r.targetMatchers, s.labels)) continue;
        return [s.fingerprint];
      }
    }
    return [];
  }
}
