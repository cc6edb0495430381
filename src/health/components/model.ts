/**
 * The component health model as pure code: what Vigil knows right now (scrape targets, OTLP and trace services,
 * health-check results, firing alerts, the newest sample of identity series, the service graph) goes in; every
 * component's status, the reasons for it and what it is impacted by comes out. No I/O: `inputs.ts` gathers
 * the inputs.
 *
 * Rules (docs/health.md):
 * - Statuses by rank: healthy < unknown < degraded < down. A component's own status is the worst status of its
 *   known inputs; unknown only when no input is known (nothing scraped or probed yet).
 * - Scrape targets of a component and its health checks each count as a family: every one failing → down,
 *   some failing → degraded. A newest sample older than `staleFactor` × the interval → degraded (stale).
 * - Firing alerts mapped to it by `component`, `service`, `job` or `instance`: critical → down, warning and
 *   error → degraded, info → listed as healthy (noted, no effect).
 * - Dependencies: a component whose dependency (direct, or further down the dependency graph) is down or
 *   degraded by its own inputs lists it in `impactedBy` and is at least degraded. Propagation uses the
 *   dependency's own status, so cycles and long chains never amplify.
 */
import { DEFAULT_SEVERITY_SPELLINGS, type SeverityClass } from '../../alerts/severity.ts';
import type { ComponentConfig } from './config.ts';

export const STATUSES = ['healthy', 'unknown', 'degraded', 'down'] as const;
export type HealthStatus = (typeof STATUSES)[number];
export const rank = (s: HealthStatus): number => STATUSES.indexOf(s);
const worst = (a: HealthStatus, b: HealthStatus): HealthStatus => (rank(a) >= rank(b) ? a : b);

export type ComponentKind = 'declared' | 'scrape' | 'host' | 'otlp' | 'service';
export type ReasonSource =
  'scrape' | 'host' | 'freshness' | 'check' | 'alert' | 'traces' | 'otlp' | 'dependency';

export interface Reason {
  readonly source: ReasonSource;
  readonly detail: string;
  readonly status: HealthStatus;
}

export interface Impact {
  readonly component: string;
  /** The dependency's own status (down or degraded). */
  readonly status: HealthStatus;
  /** Components between this one and the dependency, nearest first; empty for a direct dependency. */
  readonly via: readonly string[];
}

export interface ComponentHealth {
  readonly name: string;
  readonly kind: ComponentKind;
  readonly status: HealthStatus;
  /** Status from its own inputs, before dependencies. */
  readonly ownStatus: HealthStatus;
  readonly reasons: readonly Reason[];
  readonly dependsOn: readonly string[];
  readonly impactedBy: readonly Impact[];
}

/** A scrape target as the scrape manager reports it. */
export interface TargetInput {
  readonly job: string;
  readonly instance: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
  readonly intervalMs: number;
  /** Vigil's own host collector rather than a scrape (same rules, its own wording and kind). */
  readonly host?: boolean;
}

/** The newest sample of an identity series (`up` for scrape targets, `target_info` for OTLP services). */
export interface FreshnessInput {
  readonly job: string;
  readonly instance: string;
  /** The OTLP service name, for `target_info`. */
  readonly service?: string;
  readonly lastT: number;
  /** The expected interval between samples (scrape interval, or guessed from the last two samples). */
  readonly intervalMs?: number;
  /** True when the newest sample is a stale marker: the series ended at `lastT`. */
  readonly ended?: boolean;
}

export interface CheckInput {
  readonly name: string;
  /** The check's `job` label. */
  readonly job: string;
  /** The probed target, the `instance` label of its series. */
  readonly instance: string;
  /** Extra labels of the check: `component` and `service` map it to a component. */
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined until its first probe ends. */
  readonly up: boolean | undefined;
  readonly reason: string;
}

export interface AlertInput {
  readonly labels: Readonly<Record<string, string>>;
}

export interface TraceInput {
  readonly services: readonly string[];
  readonly edges: readonly { readonly parent: string; readonly child: string }[];
}

export interface ModelInputs {
  readonly now: number;
  readonly declared: readonly ComponentConfig[];
  readonly targets: readonly TargetInput[];
  readonly freshness: readonly FreshnessInput[];
  readonly checks: readonly CheckInput[];
  readonly alerts: readonly AlertInput[];
  readonly traces: TraceInput;
  /** A series is stale after this many intervals without a sample (default 3). */
  readonly staleFactor?: number;
  /** Staleness limit for series whose interval is unknown (default 5 minutes, PromQL's lookback). */
  readonly defaultStaleMs?: number;
}

interface Draft {
  name: string;
  kind: ComponentKind;
  jobs: Set<string>;
  services: Set<string>;
  instances: Set<string>;
  checks: Set<string>;
  dependsOn: Set<string>;
  reasons: Reason[];
}

/** The OTLP job label is `namespace/name`; the service name is its last part. */
const serviceOfJob = (job: string): string => job.slice(job.lastIndexOf('/') + 1) || job;

function classOf(labels: Readonly<Record<string, string>>): SeverityClass {
  const raw = (labels.severity ?? '').toLowerCase();
  return DEFAULT_SEVERITY_SPELLINGS[raw] ?? (raw === 'info' ? 'info' : 'warning');
}

const SEVERITY_STATUS: Record<SeverityClass, HealthStatus> = {
  info: 'healthy',
  warning: 'degraded',
  error: 'degraded',
  critical: 'down',
};

/** A family of same-kind inputs (targets, checks): all failing → down, some → degraded. */
function familyStatus(failing: number, known: number): HealthStatus {
  if (known === 0) return 'unknown';
  if (failing === 0) return 'healthy';
  return failing === known ? 'down' : 'degraded';
}

/** Components and their health, problems first (down, degraded, unknown, healthy), then by name. */
export function evaluateComponents(inp: ModelInputs): ComponentHealth[] {
  const staleFactor = inp.staleFactor ?? 3;
  const defaultStaleMs = inp.defaultStaleMs ?? 300_000;
  const drafts = new Map<string, Draft>();
  const byJob = new Map<string, Draft>();
  const byService = new Map<string, Draft>();

  const add = (name: string, kind: ComponentKind): Draft => {
    let d = drafts.get(name);
    if (!d) {
      d = {
        name,
        kind,
        jobs: new Set(),
        services: new Set(),
        instances: new Set(),
        checks: new Set(),
        dependsOn: new Set(),
        reasons: [],
      };
      drafts.set(name, d);
    }
    return d;
  };
  const claimJob = (d: Draft, job: string) => {
    d.jobs.add(job);
    if (!byJob.has(job)) byJob.set(job, d);
  };
  const claimService = (d: Draft, service: string) => {
    d.services.add(service);
    if (!byService.has(service)) byService.set(service, d);
  };

  // Declared components claim their job or service first; discovered ones only take what is left.
  for (const c of inp.declared) {
    const d = add(c.name, 'declared');
    if (c.match?.job !== undefined) claimJob(d, c.match.job);
    if (c.match?.service !== undefined) claimService(d, c.match.service);
    if (c.match === undefined) claimService(d, c.name);
    for (const ch of c.checks) d.checks.add(ch);
    for (const dep of c.depends_on) d.dependsOn.add(dep);
  }
  const discover = (job: string | undefined, service: string | undefined, kind: ComponentKind): Draft => {
    const known =
      (job !== undefined ? byJob.get(job) : undefined) ?? (service ? byService.get(service) : undefined);
    const d = known ?? add(service ?? job!, kind);
    if (job !== undefined) claimJob(d, job);
    if (service) claimService(d, service);
    return d;
  };

  for (const t of inp.targets)
    discover(t.job, undefined, t.host ? 'host' : 'scrape').instances.add(t.instance);
  for (const f of inp.freshness) {
    const d =
      f.service !== undefined ? discover(f.job, f.service, 'otlp') : discover(f.job, undefined, 'scrape');
    if (f.service === undefined) d.instances.add(f.instance);
  }
  for (const s of inp.traces.services) discover(undefined, s, 'service');

  // Scrape targets: one family per component.
  const targetsOf = new Map<Draft, TargetInput[]>();
  for (const t of inp.targets) {
    const d = byJob.get(t.job)!;
    targetsOf.set(d, [...(targetsOf.get(d) ?? []), t]);
  }
  for (const [d, ts] of targetsOf) {
    const known = ts.filter((t) => t.health !== 'unknown');
    const failing = known.filter((t) => t.health === 'down');
    const status = familyStatus(failing.length, known.length);
    for (const t of failing)
      d.reasons.push(
        t.host
          ? {
              source: 'host',
              detail: `host ${t.instance} is not collected: ${t.lastError || 'the last collection failed'}`,
              status,
            }
          : {
              source: 'scrape',
              detail: `target ${t.instance} (job ${t.job}) is down: ${t.lastError || 'the last scrape failed'}`,
              status,
            },
      );
    if (failing.length === 0 && known.length > 0)
      d.reasons.push(
        ts.every((t) => t.host)
          ? {
              source: 'host',
              detail: `host ${ts.map((t) => t.instance).join(', ')} collected`,
              status: 'healthy',
            }
          : {
              source: 'scrape',
              detail: `${known.length} of ${ts.length} scrape target${ts.length === 1 ? '' : 's'} up`,
              status: 'healthy',
            },
      );
    for (const t of ts)
      if (t.health === 'unknown')
        d.reasons.push(
          t.host
            ? { source: 'host', detail: `host ${t.instance} not collected yet`, status: 'unknown' }
            : { source: 'scrape', detail: `target ${t.instance} not scraped yet`, status: 'unknown' },
        );
  }

  // Freshness of identity series.
  for (const f of inp.freshness) {
    const d = f.service !== undefined ? byService.get(f.service)! : byJob.get(f.job)!;
    const limit = f.intervalMs !== undefined ? staleFactor * f.intervalMs : defaultStaleMs;
    const what = f.service !== undefined ? `service ${f.service} (target_info)` : `target ${f.instance} (up)`;
    const age = inp.now - f.lastT;
    if (f.ended)
      d.reasons.push({
        source: 'freshness',
        detail: `${what} stopped reporting at ${new Date(f.lastT).toISOString()}`,
        status: 'degraded',
      });
    else if (age > limit)
      d.reasons.push({
        source: 'freshness',
        detail:
          `${what}: newest sample is ${Math.round(age / 1000)}s old` +
          (f.intervalMs !== undefined
            ? `, more than ${staleFactor} × its ${Math.round(f.intervalMs / 1000)}s interval`
            : `, more than ${Math.round(limit / 1000)}s`),
        status: 'degraded',
      });
    else if (f.service !== undefined)
      d.reasons.push({
        source: 'otlp',
        detail: `${what} reported ${Math.round(age / 1000)}s ago`,
        status: 'healthy',
      });
  }

  // Health checks: named in a component's `checks`, or labelled with its name or service, or given its job (a
  // job other than the default `health`), or probing one of its scrape targets.
  const checksOf = new Map<Draft, CheckInput[]>();
  for (const c of inp.checks) {
    const owners = new Set<Draft>();
    for (const d of drafts.values()) if (d.checks.has(c.name)) owners.add(d);
    const byLabel =
      (c.labels.component !== undefined ? drafts.get(c.labels.component) : undefined) ??
      (c.labels.service !== undefined ? byService.get(c.labels.service) : undefined);
    if (byLabel) owners.add(byLabel);
    const byCheckJob = c.job !== 'health' ? (byJob.get(c.job) ?? byService.get(c.job)) : undefined;
    if (owners.size === 0 && byCheckJob) owners.add(byCheckJob);
    if (owners.size === 0) for (const d of drafts.values()) if (d.instances.has(c.instance)) owners.add(d);
    for (const d of owners) checksOf.set(d, [...(checksOf.get(d) ?? []), c]);
  }
  for (const [d, cs] of checksOf) {
    const known = cs.filter((c) => c.up !== undefined);
    const failing = known.filter((c) => c.up === false);
    const status = familyStatus(failing.length, known.length);
    for (const c of cs) {
      if (c.up === undefined)
        d.reasons.push({ source: 'check', detail: `check ${c.name} has not run yet`, status: 'unknown' });
      else if (!c.up)
        d.reasons.push({
          source: 'check',
          detail: `check ${c.name} (${c.instance}) is failing: ${c.reason || 'probe failed'}`,
          status,
        });
      else
        d.reasons.push({
          source: 'check',
          detail: `check ${c.name} (${c.instance}) passes`,
          status: 'healthy',
        });
    }
  }

  // Firing alerts.
  for (const a of inp.alerts) {
    const l = a.labels;
    const owners = new Set<Draft>();
    if (l.component !== undefined && drafts.has(l.component)) owners.add(drafts.get(l.component)!);
    if (owners.size === 0 && l.service !== undefined && byService.has(l.service))
      owners.add(byService.get(l.service)!);
    if (owners.size === 0 && l.job !== undefined) {
      const d = byJob.get(l.job) ?? byService.get(serviceOfJob(l.job));
      if (d) owners.add(d);
    }
    if (owners.size === 0 && l.instance !== undefined)
      for (const d of drafts.values()) if (d.instances.has(l.instance)) owners.add(d);
    const cls = classOf(l);
    const name = l.alertname ?? '(no alertname)';
    for (const d of owners)
      d.reasons.push({
        source: 'alert',
        detail: `alert ${name} is firing (severity ${cls})${l.summary ? `: ${l.summary}` : ''}`,
        status: SEVERITY_STATUS[cls],
      });
  }

  // Trace services with nothing else to say about them are known to be alive.
  const traced = new Set(inp.traces.services);
  for (const d of drafts.values())
    if (d.reasons.every((r) => r.status === 'unknown') && [...d.services].some((s) => traced.has(s)))
      d.reasons.push({ source: 'traces', detail: 'sent spans in the last hour', status: 'healthy' });

  // Dependencies seen in traces, between components.
  for (const e of inp.traces.edges) {
    const from = byService.get(e.parent);
    const to = byService.get(e.child);
    if (from && to && from !== to) from.dependsOn.add(to.name);
  }

  const own = new Map<string, HealthStatus>();
  for (const d of drafts.values()) {
    const known = d.reasons.filter((r) => r.status !== 'unknown');
    own.set(d.name, known.length === 0 ? 'unknown' : known.map((r) => r.status).reduce(worst, 'healthy'));
  }

  const out: ComponentHealth[] = [];
  for (const d of drafts.values()) {
    const impactedBy = impactsOf(d.name, drafts, own);
    const ownStatus = own.get(d.name)!;
    let status = ownStatus;
    const reasons = [...d.reasons];
    for (const dep of d.dependsOn)
      if (!drafts.has(dep))
        reasons.push({
          source: 'dependency',
          detail: `depends on ${dep}, which is neither declared nor seen in scrapes, OTLP or traces`,
          status: 'unknown',
        });
    for (const i of impactedBy) {
      reasons.push({
        source: 'dependency',
        detail:
          `depends on ${i.component}, which is ${i.status}` +
          (i.via.length ? ` (through ${i.via.join(' → ')})` : ''),
        status: 'degraded',
      });
      status = worst(status, 'degraded');
    }
    out.push({
      name: d.name,
      kind: d.kind,
      status,
      ownStatus,
      reasons: reasons.sort((a, b) => rank(b.status) - rank(a.status)),
      dependsOn: [...d.dependsOn].sort(),
      impactedBy,
    });
  }
  return out.sort((a, b) => problemOrder(a.status) - problemOrder(b.status) || cmp(a.name, b.name));
}

/** down, degraded, unknown, healthy. */
const problemOrder = (s: HealthStatus): number => ({ down: 0, degraded: 1, unknown: 2, healthy: 3 })[s];
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Components reachable from `name` through `dependsOn` whose own status is down or degraded, breadth first (the
 * nearest path to each), skipping `name` itself so a cycle back to it is no impact.
 */
function impactsOf(name: string, drafts: Map<string, Draft>, own: Map<string, HealthStatus>): Impact[] {
  const out: Impact[] = [];
  const visited = new Set([name]);
  let frontier: { name: string; via: string[] }[] = [{ name, via: [] }];
  while (frontier.length) {
    const next: { name: string; via: string[] }[] = [];
    for (const f of frontier) {
      const deps = [...(drafts.get(f.name)?.dependsOn ?? [])].sort();
      for (const dep of deps) {
        if (visited.has(dep)) continue;
        visited.add(dep);
        const via = f.name === name ? [] : [...f.via, f.name];
        const s = own.get(dep);
        if (s === 'down' || s === 'degraded') out.push({ component: dep, status: s, via });
        next.push({ name: dep, via });
      }
    }
    frontier = next;
  }
  return out.sort(
    (a, b) => rank(b.status) - rank(a.status) || a.via.length - b.via.length || cmp(a.component, b.component),
  );
}
