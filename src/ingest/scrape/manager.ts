/**
 * The scrape manager: one pool per job, one loop per target. applyConfig reconciles pools and loops with a new
 * configuration: loops of targets that stay keep their series state (no spurious stale markers), removed
 * targets and jobs get stale markers for everything they last wrote.
 */
import type { ExemplarStore } from '../../store/exemplars.ts';
import type { Storage } from '../../store/interface.ts';
import {
  ScrapeConfigError,
  resolveScrapeConfig,
  type GlobalConfig,
  type ResolvedScrapeConfig,
  type ScrapeConfig,
  type TargetGroup,
} from './config.ts';
import { FileSDWatcher } from './file_sd.ts';
import { ScrapeLoop, type LoopDeps, type TargetStatus } from './loop.ts';
import { compileRelabelConfigs, type CompiledRelabel } from './relabel.ts';
import { buildTargets, type DroppedTarget } from './target.ts';

export type { TargetStatus } from './loop.ts';

export interface ScrapeManagerDeps {
  readonly storage: Storage;
  /** Where exemplars of OpenMetrics pages are kept; without it they are not stored. */
  readonly exemplars?: ExemplarStore;
  /** Clock for sample timestamps (ms). Scheduling always uses the real clock. */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  readonly log?: (msg: string) => void;
}

/** One entry of /api/v1/targets' droppedTargets. */
export interface DroppedTargetStatus extends DroppedTarget {
  readonly scrapePool: string;
}

interface PoolSpec {
  readonly cfg: ResolvedScrapeConfig;
  readonly fingerprint: string;
  readonly targetRules: CompiledRelabel[];
  readonly metricRules: CompiledRelabel[];
}

class ScrapePool {
  readonly loops = new Map<string, ScrapeLoop>();
  dropped: DroppedTarget[] = [];
  private fileGroups: TargetGroup[];
  private watcher: FileSDWatcher | undefined;
  private stopped = false;

  constructor(
    readonly spec: PoolSpec,
    private readonly deps: LoopDeps,
    private readonly track: (p: Promise<void>) => void,
    initialFileGroups: TargetGroup[] = [],
  ) {
    this.fileGroups = initialFileGroups;
  }

  /** Starts loops; `previous` is the pool this one replaces (same job), whose loops are handed over or stopped. */
  start(previous?: ScrapePool): void {
    if (previous) previous.detachWatcher();
    this.sync(previous?.loops);
    if (previous) previous.loops.clear();
    if (this.spec.cfg.fileSDConfigs.length) {
      this.watcher = new FileSDWatcher(
        this.spec.cfg.fileSDConfigs,
        (groups) => {
          this.fileGroups = groups;
          this.sync();
        },
        this.deps.log,
        this.fileGroups,
      );
      this.track(this.watcher.start());
    }
  }

  groups(): TargetGroup[] {
    return [...this.spec.cfg.staticConfigs, ...this.fileGroups];
  }

  fileTargetGroups(): TargetGroup[] {
    return this.fileGroups;
  }

  /** Reconciles loops with the current target groups. `inherited` loops (from a replaced pool) are reused by key. */
  private sync(inherited?: Map<string, ScrapeLoop>): void {
    if (this.stopped) return;
    const { active, dropped } = buildTargets(this.spec.cfg, this.spec.targetRules, this.groups());
    this.dropped = dropped;
    const wanted = new Set(active.map((t) => t.key));
    for (const [key, loop] of this.loops) {
      if (wanted.has(key)) continue;
      this.loops.delete(key);
      this.track(loop.stop(true));
    }
    for (const target of active) {
      if (this.loops.has(target.key)) continue;
      const loop = new ScrapeLoop(
        target,
        { cfg: this.spec.cfg, metricRules: this.spec.metricRules },
        this.deps,
      );
      this.loops.set(target.key, loop);
      const old = inherited?.get(target.key);
      if (old) {
        inherited!.delete(target.key);
        this.track(
          old.stop(false).then(() => {
            loop.adopt(old.state());
            if (this.loops.get(target.key) === loop) loop.start();
          }),
        );
      } else loop.start();
    }
    if (inherited) for (const old of inherited.values()) this.track(old.stop(true));
  }

  private detachWatcher(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  /** Stops every loop; with `stale`, each writes stale markers. */
  stop(stale: boolean): Promise<void> {
    this.stopped = true;
    this.detachWatcher();
    const all = [...this.loops.values()].map((l) => l.stop(stale));
    this.loops.clear();
    return Promise.all(all).then(() => undefined);
  }
}

/**
 * Runs scrape loops for a set of scrape configs. Safe to call applyConfig repeatedly (config reload); stop()
 * resolves once every loop has ended and its stale markers are written.
 */
export class ScrapeManager {
  private readonly deps: LoopDeps;
  private readonly pools = new Map<string, ScrapePool>();
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(deps: ScrapeManagerDeps) {
    this.deps = {
      storage: deps.storage,
      exemplars: deps.exemplars,
      now: deps.now ?? Date.now,
      fetch: deps.fetch ?? globalThis.fetch,
      log: deps.log ?? ((msg) => console.warn(msg)),
    };
  }

  /**
   * Applies a configuration: new jobs start, removed jobs stop (stale markers), changed jobs restart with their
   * targets' state carried over. Validates everything first and throws ScrapeConfigError without changing
   * anything when the configuration is unusable (duplicate job names, timeout above interval, bad regex).
   */
  applyConfig(global: GlobalConfig, scrapeConfigs: readonly ScrapeConfig[]): void {
    if (this.stopped) throw new ScrapeConfigError('the scrape manager is stopped');
    const specs = new Map<string, PoolSpec>();
    for (const sc of scrapeConfigs) {
      if (specs.has(sc.jobName))
        throw new ScrapeConfigError(`duplicate job_name ${JSON.stringify(sc.jobName)}`);
      const cfg = resolveScrapeConfig(global, sc);
      let targetRules: CompiledRelabel[];
      let metricRules: CompiledRelabel[];
      try {
        targetRules = compileRelabelConfigs(cfg.relabelConfigs);
        metricRules = compileRelabelConfigs(cfg.metricRelabelConfigs);
      } catch (err) {
        throw new ScrapeConfigError(`job ${JSON.stringify(sc.jobName)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      specs.set(sc.jobName, { cfg, fingerprint: JSON.stringify(cfg), targetRules, metricRules });
    }
    for (const [job, pool] of this.pools) {
      if (specs.has(job)) continue;
      this.pools.delete(job);
      this.track(pool.stop(true));
    }
    for (const [job, spec] of specs) {
      const old = this.pools.get(job);
      if (old && old.spec.fingerprint === spec.fingerprint) continue;
      const sameFileSD =
        old && JSON.stringify(old.spec.cfg.fileSDConfigs) === JSON.stringify(spec.cfg.fileSDConfigs);
      const pool = new ScrapePool(
        spec,
        this.deps,
        (p) => this.track(p),
        sameFileSD ? old.fileTargetGroups() : [],
      );
      this.pools.set(job, pool);
      pool.start(old);
      if (old) this.track(old.stop(true));
    }
  }

  /** Active targets of every pool, ordered by pool and URL (the shape of Prometheus' activeTargets). */
  targets(): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (const job of [...this.pools.keys()].sort()) {
      const loops = [...this.pools.get(job)!.loops.values()].map((l) => l.status());
      loops.sort((a, b) => (a.scrapeUrl < b.scrapeUrl ? -1 : a.scrapeUrl > b.scrapeUrl ? 1 : 0));
      out.push(...loops);
    }
    return out;
  }

  /** Targets dropped by relabeling or invalid after it (Prometheus' droppedTargets). */
  droppedTargets(): DroppedTargetStatus[] {
    const out: DroppedTargetStatus[] = [];
    for (const job of [...this.pools.keys()].sort())
      for (const d of this.pools.get(job)!.dropped) out.push({ ...d, scrapePool: job });
    return out;
  }

  /** Stops all loops, writing stale markers for everything they scraped. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const pool of this.pools.values()) this.track(pool.stop(true));
    this.pools.clear();
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private track(p: Promise<void>): void {
    const wrapped = p.catch((err: unknown) => this.deps.log(`scrape manager: ${(err as Error).message}`));
    this.pending.add(wrapped);
    void wrapped.finally(() => this.pending.delete(wrapped));
  }
}
