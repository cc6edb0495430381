/**
 * The incident service: turns correlated alert groups into incidents, pages people along escalation policies,
 * and carries acknowledgements, resolutions, notes and assignments, writing every step to the incident's
 * timeline. State lives in the state store (incident rows hold their escalation state, so a restarted Vigil
 * carries on); changes use compare-and-set, so of two concurrent acknowledgements exactly one wins, also
 * across nodes sharing PostgreSQL.
 *
 * Incidents come from correlated groups (src/alerts/correlate, docs/correlation.md), not Alertmanager
 * aggregation groups: a group is what one problem looks like across services, and its id is stable while
 * members come and go. Only a freshly firing alert opens or re-opens an incident, so resolving an incident by
 * hand while its alerts still fire does not open it again.
 */
import { createHash } from 'node:crypto';
import type { Correlator } from '../alerts/correlate/correlator.ts';
import { serviceOf, type CorrelatedGroup } from '../alerts/correlate/model.ts';
import type { AlertChange } from '../alerts/pipeline.ts';
import type { StoredAlert } from '../alerts/store.ts';
import type { NotifyAlert } from '../notify/message.ts';
import { onCallAt, parseSchedule } from '../oncall/schedule.ts';
import type { Clock } from '../rules/clock.ts';
import { AlreadyExistsError, NotFoundError, VersionConflictError } from '../state/errors.ts';
import { generateIncidentId } from '../state/store.incidents.ts';
import type { Incident, IncidentUpdate, JsonObject, OncallDoc, StateStore } from '../state/interface.ts';
import { afterAcknowledge, nextEscalation, startEscalation } from './escalation.ts';
import { linkSecret, linkUrl, readLinkSecret, type LinkAction } from './links.ts';
import { incidentMetrics } from './metrics.ts';
import {
  formatProblems,
  routePolicies,
  validatePolicy,
  validateUser,
  type EscalationPolicy,
  type KnownIds,
  type Target,
  type User,
} from './model.ts';
import { pageMessage, type Pager } from './pager.ts';
import { findSimilar } from './kb.ts';
import { similarSummary, type SimilarIncident, type SimilarOptions } from './similar.ts';

/** A change refused because the incident is not in a state that allows it (HTTP 409). */
export class IncidentConflictError extends Error {
  override name = 'IncidentConflictError';
}

/** Bad input to an incident action (HTTP 400). */
export class IncidentInputError extends Error {
  override name = 'IncidentInputError';
}

/** The slice of the alert pipeline the service uses. */
export interface AlertSource {
  activeAlerts(now?: number): StoredAlert[];
  onAlertChange(fn: (c: AlertChange) => void): () => void;
  /** The pipeline's correlation, shared with storm protection and the correlations API. */
  readonly correlator: Pick<Correlator, 'current'>;
}

export interface IncidentSettings {
  /** Resolve an incident when every alert linked to it has resolved. */
  readonly autoResolve: boolean;
  /** A linked alert firing again within this time after resolution re-opens the incident, ms. */
  readonly reopenGraceMs: number;
  /** How long signed links in pages stay valid, ms. */
  readonly linkTtlMs: number;
}

export const DEFAULT_INCIDENT_SETTINGS: IncidentSettings = {
  autoResolve: true,
  reopenGraceMs: 30 * 60_000,
  linkTtlMs: 24 * 3_600_000,
};

export interface IncidentServiceOptions {
  readonly state: StateStore;
  readonly alerts?: AlertSource;
  readonly clock: Clock;
  readonly pager: Pager;
  /** Vigil's URL as people reach it (links in pages). */
  readonly externalURL: () => string;
  readonly settings?: Partial<IncidentSettings>;
  /** Receiver names of the Alertmanager configuration (policy targets). */
  readonly receivers?: () => readonly string[];
  readonly log?: (msg: string) => void;
}

/** A new incident opened by hand. */
export interface ManualIncident {
  readonly title: string;
  readonly severity?: string;
  readonly services?: readonly string[];
  readonly components?: readonly string[];
  readonly policyId?: string | null;
  readonly assignee?: string | null;
}

const MAX_CAS_RETRIES = 8;

/**
 * The id of an incident opened by alerts: derived from the earliest of the alerts that just fired (its
 * fingerprint and start as the sender gave them), so nodes sharing one database that receive the same alerts
 * compute the same id and only the first insert wins. Alphabet as `generateIncidentId`.
 */
export function incidentIdFor(fresh: readonly string[], byFp: ReadonlyMap<string, StoredAlert>): string {
  const first = [...fresh].sort(
    (a, b) => (byFp.get(a)?.startsAt ?? 0) - (byFp.get(b)?.startsAt ?? 0) || (a < b ? -1 : a > b ? 1 : 0),
  )[0]!;
  const digest = createHash('sha256')
    .update(`${first}\n${byFp.get(first)?.startsAt ?? 0}`)
    .digest();
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...digest.subarray(0, 8)].map((b) => alphabet[b % alphabet.length]).join('');
}

function uniq(xs: readonly (string | undefined)[]): string[] {
  return [...new Set(xs.filter((x): x is string => x !== undefined && x !== ''))];
}

export class IncidentService {
  private readonly settings: IncidentSettings;
  private readonly log: (msg: string) => void;
  private readonly freshFiring = new Set<string>();
  private readonly freshResolved = new Set<string>();
  private evaluation: Promise<void> = Promise.resolve();
  private evaluationQueued = false;
  private readonly timers = new Map<string, AbortController>();
  private readonly work = new Set<Promise<unknown>>();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  private secret: Promise<Buffer> | undefined;

  private constructor(private readonly o: IncidentServiceOptions) {
    this.settings = { ...DEFAULT_INCIDENT_SETTINGS, ...o.settings };
    this.log = o.log ?? (() => {});
  }

  /** Re-arms the escalation timers of open incidents and subscribes to alert changes. */
  static async start(o: IncidentServiceOptions): Promise<IncidentService> {
    const s = new IncidentService(o);
    for (const inc of await o.state.incidents.list({ status: ['triggered', 'acknowledged'] })) s.arm(inc);
    if (o.alerts)
      s.unsubscribe = o.alerts.onAlertChange((c) => {
        // A silenced or inhibited alert pages nobody: 'suppressed' follows its 'firing' in the same receive.
        if (c.event === 'firing' || c.event === 'unsuppressed') s.freshFiring.add(c.alert.fingerprint);
        else if (c.event === 'suppressed') s.freshFiring.delete(c.alert.fingerprint);
        else if (c.event === 'resolved') s.freshResolved.add(c.alert.fingerprint);
        else return;
        s.queueEvaluation();
      });
    await s.refreshGauge();
    return s;
  }

  /** Stops timers and the subscription, and waits for pages in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers.values()) t.abort();
    this.timers.clear();
    await this.evaluation;
    while (this.work.size) await Promise.allSettled([...this.work]);
  }

  /** Resolves when queued evaluations and the pages they started are done (tests, benchmarks). */
  async idle(): Promise<void> {
    for (;;) {
      await this.evaluation;
      if (!this.work.size && !this.evaluationQueued) return;
      await Promise.allSettled([...this.work]);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const w = p.finally(() => this.work.delete(w));
    this.work.add(w);
    return p;
  }

  // ---- signed links -------------------------------------------------------------------------------------------

  /** The signed URL of an action, valid for the configured link lifetime from now. */
  async link(id: string, action: LinkAction): Promise<string> {
    return linkUrl(
      this.o.externalURL(),
      await this.linkSecret(),
      id,
      action,
      this.o.clock.now() + this.settings.linkTtlMs,
    );
  }

  /**
   * The secret links are signed with, created in the state store the first time a link is made (so a Vigil
   * that never pages writes nothing).
   */
  linkSecret(): Promise<Buffer> {
    if (!this.secret) {
      const p = linkSecret(this.o.state.kv);
      this.secret = p;
      // A failed read or write is retried next time rather than remembered.
      p.catch(() => {
        if (this.secret === p) this.secret = undefined;
      });
    }
    return this.secret;
  }

  /** The link secret if one was ever created (verifying a link must not create one). */
  async issuedLinkSecret(): Promise<Buffer | undefined> {
    return this.secret ? this.secret : readLinkSecret(this.o.state.kv);
  }

  // ---- documents --------------------------------------------------------------------------------------------------

  /** Ids of every user, schedule, team and receiver, for validating policies. */
  async knownIds(): Promise<KnownIds> {
    const [users, schedules, teams] = await Promise.all([
      this.o.state.users.list(),
      this.o.state.schedules.list(),
      this.o.state.teams.list(),
    ]);
    return {
      users: new Set(users.map((u) => u.id)),
      schedules: new Set(schedules.map((s) => s.id)),
      teams: new Set(teams.map((t) => t.id)),
      receivers: new Set(this.o.receivers?.() ?? []),
    };
  }

  /** Policies as stored; one whose shape no longer validates is skipped with a log line. */
  async policies(): Promise<EscalationPolicy[]> {
    // References are checked when a policy is saved; here only the shape, so a policy keeps working for the
    // targets that still exist.
    const out: EscalationPolicy[] = [];
    for (const d of await this.o.state.policies.list()) {
      const v = validatePolicy({ ...d.body, id: d.id, name: d.name }, undefined);
      if (v.ok) out.push(v.value);
      else
        this.log(
          `incidents: escalation policy ${d.id} is invalid and skipped: ${formatProblems(v.problems)}`,
        );
    }
    return out;
  }

  private async policy(id: string | null): Promise<EscalationPolicy | undefined> {
    if (id === null) return undefined;
    return (await this.policies()).find((p) => p.id === id);
  }

  // ---- alert-driven life cycle ------------------------------------------------------------------------------

  private queueEvaluation(): void {
    if (this.evaluationQueued || this.stopped) return;
    this.evaluationQueued = true;
    this.evaluation = this.evaluation.then(async () => {
      // Let the rest of the receive() batch arrive, so one POST of several alerts is one evaluation.
      await new Promise((r) => setImmediate(r));
      this.evaluationQueued = false;
      try {
        await this.evaluate();
      } catch (err) {
        this.log(`incidents: evaluation failed: ${(err as Error).message}`);
      }
    });
  }

  /** Runs one evaluation now (tests). */
  evaluateNow(): Promise<void> {
    this.evaluation = this.evaluation.then(() => this.evaluate());
    return this.evaluation;
  }

  private async evaluate(): Promise<void> {
    if (!this.o.alerts) return;
    const now = this.o.clock.now();
    const firing = new Set(this.freshFiring);
    const resolved = new Set(this.freshResolved);
    this.freshFiring.clear();
    this.freshResolved.clear();
    // The pipeline's correlation (it logs when the service graph cannot be read); the alerts read after it.
    const r = await this.o.alerts.correlator.current(now);
    const active = this.o.alerts.activeAlerts(now);
    const byFp = new Map(active.map((a) => [a.fingerprint, a]));

    const candidates = await this.o.state.incidents.list({
      openOrResolvedSince: now - this.settings.reopenGraceMs,
    });
    // Newest first, so a fingerprint maps to its most recent incident.
    const ofFp = new Map<string, Incident>();
    for (const inc of candidates) for (const fp of inc.alerts) if (!ofFp.has(fp)) ofFp.set(fp, inc);
    let policies: EscalationPolicy[] | undefined;

    for (const g of r.groups) {
      const fps = g.members.map((m) => m.fingerprint);
      const fresh = fps.filter((fp) => firing.has(fp));
      const inc =
        candidates.find((i) => i.groupId === g.id) ??
        fps.map((fp) => ofFp.get(fp)).find((i): i is Incident => i !== undefined);
      if (inc) {
        if (inc.status === 'resolved') {
          if (fresh.length) await this.reopen(inc, g, fresh, byFp, now);
        } else await this.attach(inc, g, fps, byFp, now);
        continue;
      }
      if (!fresh.length) continue;
      policies ??= await this.policies();
      await this.open(g, fresh, byFp, now, policies);
    }

    // Resolution: alerts of open incidents that resolved.
    if (resolved.size)
      for (const inc of candidates) {
        if (inc.status === 'resolved') continue;
        const gone = inc.alerts.filter((fp) => resolved.has(fp));
        if (!gone.length) continue;
        for (const fp of gone)
          await this.event(inc.id, now, 'alert_resolved', 'vigil', {
            fingerprint: fp,
            alertname: this.nameOf(fp, byFp),
          });
        if (this.settings.autoResolve && inc.alerts.every((fp) => !byFp.has(fp)))
          await this.resolve(inc.id, 'vigil', 'all linked alerts resolved').catch((err: Error) => {
            if (!(err instanceof IncidentConflictError)) throw err;
          });
      }
  }

  private nameOf(fp: string, byFp: ReadonlyMap<string, StoredAlert>): string {
    return byFp.get(fp)?.labels.alertname ?? fp;
  }

  private async open(
    g: CorrelatedGroup,
    fresh: readonly string[],
    byFp: ReadonlyMap<string, StoredAlert>,
    now: number,
    policies: readonly EscalationPolicy[],
  ): Promise<void> {
    const root = byFp.get(g.rootCause.fingerprint);
    const policy = routePolicies(policies, g.rootCause.labels, g.severity)[0];
    if (!policy) return;
    const labels = g.rootCause.labels;
    const svc = serviceOf(labels);
    const title =
      root?.annotations.summary ??
      `${labels.alertname ?? 'Alert'}${svc ? ` on ${svc}` : ''}` +
        (g.members.length > 1 ? ` (+${g.members.length - 1} related)` : '');
    const members = g.members.map((m) => m.labels);
    const start = startEscalation(policy, now);
    const insert = (id: string) =>
      this.o.state.transaction(async (tx) => {
        const created = await tx.incidents.create({
          id,
          title,
          severity: g.severity || 'unknown',
          status: 'triggered',
          assignee: null,
          groupId: g.id,
          policyId: policy.id,
          services: uniq(members.map(serviceOf)),
          components: uniq(members.map((l) => l.component)),
          alerts: g.members.map((m) => m.fingerprint),
          labels: { ...labels },
          createdAt: now,
          ackedAt: null,
          ackedBy: null,
          resolvedAt: null,
          resolvedBy: null,
          escalation: start.state,
        });
        await tx.incidents.addEvent({
          incidentId: created.id,
          at: now,
          kind: 'created',
          actor: 'vigil',
          detail: {
            groupId: g.id,
            policy: policy.id,
            rootCause: g.rootCause.fingerprint,
            severity: created.severity,
          },
        });
        for (const m of g.members)
          await tx.incidents.addEvent({
            incidentId: created.id,
            at: now,
            kind: 'alert_firing',
            actor: 'vigil',
            detail: {
              fingerprint: m.fingerprint,
              labels: { ...m.labels },
              startsAt: m.startsAt,
              generatorURL: byFp.get(m.fingerprint)?.generatorURL ?? '',
              // Kept for the knowledge base: runbook links stay readable after the alert is gone.
              annotations: { ...(byFp.get(m.fingerprint)?.annotations ?? {}) },
            },
          });
        return created;
      });
    const id = incidentIdFor(fresh, byFp);
    let inc: Incident;
    try {
      inc = await insert(id);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const existing = await this.o.state.incidents.get(id);
      if (existing && existing.status !== 'resolved') {
        // Another node sharing the database opened it for the same alert first: follow its escalation (the
        // compare-and-set in `due` lets only one node page per step).
        this.arm(existing);
        return;
      }
      // The same alert episode opened an incident long ago (its sender kept startsAt): a new one.
      inc = await insert(generateIncidentId());
    }
    incidentMetrics.created.inc({ severity: inc.severity });
    this.log(`incidents: opened ${inc.id} "${inc.title}" (policy ${policy.id})`);
    this.arm(inc);
    this.startPaging(inc, policy, start.step, start.loop, now);
    this.suggestSimilar(inc, now);
    await this.refreshGauge();
  }

  /** Links newly grouped alerts to an open incident. */
  private async attach(
    inc: Incident,
    g: CorrelatedGroup,
    fps: readonly string[],
    byFp: ReadonlyMap<string, StoredAlert>,
    now: number,
  ): Promise<void> {
    const added = fps.filter((fp) => !inc.alerts.includes(fp));
    if (!added.length) return;
    const members = g.members.filter((m) => added.includes(m.fingerprint)).map((m) => m.labels);
    await this.mutate(inc.id, (cur) => ({
      alerts: uniq([...cur.alerts, ...added]),
      services: uniq([...cur.services, ...members.map(serviceOf)]),
      components: uniq([...cur.components, ...members.map((l) => l.component)]),
    }));
    for (const fp of added)
      await this.event(inc.id, now, 'alert_firing', 'vigil', {
        fingerprint: fp,
        labels: { ...(byFp.get(fp)?.labels ?? {}) },
        startsAt: byFp.get(fp)?.startsAt ?? now,
        generatorURL: byFp.get(fp)?.generatorURL ?? '',
        annotations: { ...(byFp.get(fp)?.annotations ?? {}) },
      });
  }

  private async reopen(
    inc: Incident,
    g: CorrelatedGroup,
    fresh: readonly string[],
    byFp: ReadonlyMap<string, StoredAlert>,
    now: number,
  ): Promise<void> {
    const policy = await this.policy(inc.policyId);
    const start = policy ? startEscalation(policy, now) : undefined;
    let updated: Incident;
    try {
      updated = await this.mutate(inc.id, (cur) => {
        if (cur.status !== 'resolved') throw new IncidentConflictError(`incident ${cur.id} is open already`);
        return {
          status: 'triggered',
          resolvedAt: null,
          resolvedBy: null,
          ackedAt: null,
          ackedBy: null,
          alerts: uniq([...cur.alerts, ...g.members.map((m) => m.fingerprint)]),
          escalation: start?.state ?? { step: 0, loop: 0, nextAt: null },
        };
      });
    } catch (err) {
      if (err instanceof IncidentConflictError) return;
      throw err;
    }
    await this.event(inc.id, now, 'reopened', 'vigil', {
      reason: `${fresh.map((fp) => this.nameOf(fp, byFp)).join(', ')} fired again within the grace period`,
      fingerprints: [...fresh],
    });
    for (const fp of fresh)
      await this.event(inc.id, now, 'alert_firing', 'vigil', {
        fingerprint: fp,
        labels: { ...(byFp.get(fp)?.labels ?? {}) },
        startsAt: byFp.get(fp)?.startsAt ?? now,
        generatorURL: byFp.get(fp)?.generatorURL ?? '',
        annotations: { ...(byFp.get(fp)?.annotations ?? {}) },
      });
    this.arm(updated);
    if (policy && start) this.startPaging(updated, policy, start.step, start.loop, now);
    await this.refreshGauge();
  }

  // ---- knowledge base ---------------------------------------------------------------------------------------

  /** Resolved incidents most like this one, best first (see similar.ts). */
  similar(inc: Incident, opts?: SimilarOptions): Promise<SimilarIncident[]> {
    return findSimilar(this.o.state.incidents, inc, opts);
  }

  /** Records the best few similar past incidents in a new incident's timeline, beside paging (not before it). */
  private suggestSimilar(inc: Incident, now: number): void {
    this.track(
      (async () => {
        const list = await this.similar(inc, { limit: 3 });
        if (!list.length) return;
        await this.event(inc.id, now, 'similar_incidents', 'vigil', {
          text: similarSummary(list),
          suggestions: list.map((x) => ({
            id: x.id,
            title: x.title,
            score: x.score,
            reasons: [...x.reasons],
            resolution: x.resolution,
          })),
        });
      })(),
    ).catch((err: Error) => this.log(`incidents: similar incidents of ${inc.id}: ${err.message}`));
  }

  // ---- escalation timers ------------------------------------------------------------------------------------

  /** (Re)schedules the incident's next escalation action, replacing any earlier timer. */
  private arm(inc: Incident): void {
    this.timers.get(inc.id)?.abort();
    this.timers.delete(inc.id);
    const at = inc.escalation.nextAt;
    if (at === null || inc.status === 'resolved' || this.stopped) return;
    const ctl = new AbortController();
    this.timers.set(inc.id, ctl);
    void this.o.clock.sleep(Math.max(0, at - this.o.clock.now()), ctl.signal).then(() => {
      if (ctl.signal.aborted) return;
      this.timers.delete(inc.id);
      this.track(this.due(inc.id)).catch((err: Error) =>
        this.log(`incidents: escalation of ${inc.id} failed: ${err.message}`),
      );
    });
  }

  /** An escalation action came due: next step, re-escalation after an ack timeout, or exhaustion. */
  private async due(id: string): Promise<void> {
    const now = this.o.clock.now();
    const inc = await this.o.state.incidents.get(id);
    if (!inc || inc.status === 'resolved' || inc.escalation.nextAt === null) return;
    if (inc.escalation.nextAt > now) return this.arm(inc);
    const policy = await this.policy(inc.policyId);
    if (!policy) {
      await this.store(inc, { escalation: { ...inc.escalation, nextAt: null } });
      await this.event(id, now, 'escalation_stopped', 'vigil', {
        reason: `policy ${inc.policyId} no longer exists`,
      });
      return;
    }
    if (inc.status === 'acknowledged') {
      const start = startEscalation(policy, now);
      const updated = await this.store(inc, { status: 'triggered', escalation: start.state });
      if (!updated) return;
      await this.event(id, now, 're_escalated', 'vigil', {
        reason: `acknowledged but not resolved within ${Math.round(policy.ackTimeoutMs / 1000)}s`,
      });
      this.arm(updated);
      await this.refreshGauge();
      return this.pageStep(updated, policy, start.step, start.loop, now);
    }
    const next = nextEscalation(policy, inc.escalation, now);
    const updated = await this.store(inc, { escalation: next.state });
    if (!updated) return;
    if (next.kind === 'exhausted') {
      await this.event(id, now, 'escalation_exhausted', 'vigil', {
        reason: `no acknowledgement after every step${policy.repeat ? ` and ${policy.repeat} repeat(s)` : ''}`,
      });
      return;
    }
    await this.event(id, now, 'escalated', 'vigil', { step: next.step, loop: next.loop });
    this.arm(updated);
    return this.pageStep(updated, policy, next.step, next.loop, now);
  }

  /** Compare-and-set from a known version; undefined when someone else changed the incident first. */
  private async store(inc: Incident, patch: IncidentUpdate): Promise<Incident | undefined> {
    try {
      return await this.o.state.incidents.update(inc.id, patch, inc.version);
    } catch (err) {
      if (!(err instanceof VersionConflictError)) throw err;
      // Another node or action moved it on; follow its state instead.
      const cur = await this.o.state.incidents.get(inc.id);
      if (cur) this.arm(cur);
      return undefined;
    }
  }

  // ---- paging -------------------------------------------------------------------------------------------------

  private startPaging(
    inc: Incident,
    policy: EscalationPolicy,
    step: number,
    loop: number,
    now: number,
  ): void {
    this.track(this.pageStep(inc, policy, step, loop, now)).catch((err: Error) =>
      this.log(`incidents: paging ${inc.id} failed: ${err.message}`),
    );
  }

  /** Users (and receivers) a step reaches now; schedules resolve to whoever is on call. */
  private async resolveTargets(
    targets: readonly Target[],
    now: number,
  ): Promise<{ users: string[]; receivers: string[]; problems: string[] }> {
    const users: string[] = [];
    const receivers: string[] = [];
    const problems: string[] = [];
    for (const t of targets) {
      if (t.type === 'user') users.push(t.id);
      else if (t.type === 'receiver') receivers.push(t.id);
      else if (t.type === 'team') {
        const doc = await this.o.state.teams.get(t.id);
        if (!doc) problems.push(`team ${t.id} no longer exists`);
        else users.push(...((doc.body.members as string[] | undefined) ?? []));
      } else {
        const doc = await this.o.state.schedules.get(t.id);
        if (!doc) {
          problems.push(`schedule ${t.id} no longer exists`);
          continue;
        }
        try {
          const parsed = parseSchedule(doc.body.spec ?? doc.body);
          if (!parsed.ok) throw new Error(parsed.errors.join('; '));
          const who = onCallAt(parsed.schedule, now).users;
          if (!who.length) problems.push(`schedule ${t.id}: nobody is on call now (a gap in the schedule)`);
          users.push(...who);
        } catch (err) {
          problems.push(`schedule ${t.id}: ${(err as Error).message}`);
        }
      }
    }
    return { users: uniq(users), receivers: uniq(receivers), problems };
  }

  private async notifyAlerts(inc: Incident): Promise<NotifyAlert[]> {
    const now = this.o.clock.now();
    const active = new Map((this.o.alerts?.activeAlerts(now) ?? []).map((a) => [a.fingerprint, a]));
    return inc.alerts.flatMap((fp): NotifyAlert[] => {
      const a = active.get(fp);
      if (!a) return [];
      return [
        {
          status: 'firing',
          labels: a.labels,
          annotations: a.annotations,
          startsAt: a.startsAt,
          endsAt: undefined,
          generatorURL: a.generatorURL,
          fingerprint: fp,
        },
      ];
    });
  }

  /** Pages every target of a step: each user through their contact methods in order until one is delivered. */
  private async pageStep(
    inc: Incident,
    policy: EscalationPolicy,
    step: number,
    loop: number,
    at: number,
  ): Promise<void> {
    const s = policy.steps[step];
    if (!s) return;
    const { users, receivers, problems } = await this.resolveTargets(s.targets, at);
    for (const p of problems) await this.event(inc.id, at, 'page_failed', 'vigil', { step, loop, reason: p });
    const msg = pageMessage(
      inc,
      await this.notifyAlerts(inc),
      {
        ackUrl: await this.link(inc.id, 'ack'),
        resolveUrl: await this.link(inc.id, 'resolve'),
        incidentUrl: `${this.o.externalURL().replace(/\/+$/, '')}/incidents/${inc.id}`,
      },
      step,
      this.o.externalURL(),
    );
    await Promise.all([
      ...users.map(async (userId) => {
        const doc = await this.o.state.users.get(userId);
        const v = doc ? validateUser({ ...doc.body, id: doc.id, name: doc.name }) : undefined;
        if (!v?.ok) {
          await this.event(inc.id, at, 'page_failed', 'vigil', {
            step,
            loop,
            user: userId,
            reason: doc ? `user ${userId} has no valid contact methods` : `user ${userId} no longer exists`,
          });
          return;
        }
        await this.pageUser(inc.id, v.value, msg, step, loop);
      }),
      ...receivers.map(async (name) => {
        const results = await this.o.pager.sendToReceiver(name, msg);
        const failed = results.filter((r) => r.status !== 'ok').map((r) => ('error' in r ? r.error : ''));
        const outcome = failed.length ? 'failed' : 'delivered';
        const when = this.o.clock.now();
        await this.o.state.incidents.addPage({
          incidentId: inc.id,
          step,
          userId: null,
          channel: `receiver:${name}`,
          outcome,
          error: failed.length ? failed.join('; ') : null,
          at: when,
        });
        incidentMetrics.pages.inc({ channel: 'receiver', outcome });
        await this.event(inc.id, when, outcome === 'delivered' ? 'page' : 'page_failed', 'vigil', {
          step,
          loop,
          receiver: name,
          ...(failed.length ? { reason: failed.join('; ') } : {}),
        });
      }),
    ]);
  }

  private async pageUser(
    incidentId: string,
    user: User,
    msg: ReturnType<typeof pageMessage>,
    step: number,
    loop: number,
  ): Promise<void> {
    const failures: string[] = [];
    for (const c of user.contacts) {
      const r = await this.o.pager.sendToContact(c, msg);
      const when = this.o.clock.now();
      const outcome = r.status === 'ok' ? 'delivered' : 'failed';
      const error = r.status === 'ok' ? null : r.error;
      await this.o.state.incidents.addPage({
        incidentId,
        step,
        userId: user.id,
        channel: c.type,
        outcome,
        error,
        at: when,
      });
      incidentMetrics.pages.inc({ channel: c.type, outcome });
      if (r.status === 'ok') {
        await this.event(incidentId, when, 'page', 'vigil', {
          step,
          loop,
          user: user.id,
          channel: c.type,
          ...(failures.length ? { fallbackFrom: failures } : {}),
        });
        return;
      }
      failures.push(error ?? c.type);
    }
    await this.event(incidentId, this.o.clock.now(), 'page_failed', 'vigil', {
      step,
      loop,
      user: user.id,
      reason: `every contact method failed: ${failures.join('; ')}`,
    });
  }

  // ---- actions --------------------------------------------------------------------------------------------------

  private async event(
    incidentId: string,
    at: number,
    kind: string,
    actor: string,
    detail: JsonObject,
  ): Promise<void> {
    await this.o.state.incidents.addEvent({ incidentId, at, kind, actor, detail });
  }

  /**
   * Read-modify-write with compare-and-set, retried on a concurrent change. `fn` sees the current incident and
   * may throw (IncidentConflictError) to refuse the change in that state.
   */
  private async mutate(id: string, fn: (cur: Incident) => IncidentUpdate): Promise<Incident> {
    for (let i = 0; ; i++) {
      const cur = await this.o.state.incidents.get(id);
      if (!cur) throw new NotFoundError('incident', id);
      const patch = fn(cur);
      try {
        return await this.o.state.incidents.update(id, patch, cur.version);
      } catch (err) {
        if (!(err instanceof VersionConflictError) || i >= MAX_CAS_RETRIES) throw err;
      }
    }
  }

  /**
   * Acknowledges a triggered incident: stops escalation (or schedules the ack-timeout re-escalation). Exactly one
   * of concurrent acknowledgements wins; the others get IncidentConflictError naming who acknowledged.
   */
  async acknowledge(id: string, actor: string, via: string): Promise<Incident> {
    const now = this.o.clock.now();
    let policy: EscalationPolicy | undefined;
    let policyLoaded = false;
    for (let i = 0; ; i++) {
      const cur = await this.o.state.incidents.get(id);
      if (!cur) throw new NotFoundError('incident', id);
      if (cur.status !== 'triggered') throw this.stateConflict(cur, 'acknowledge');
      if (!policyLoaded) {
        policy = await this.policy(cur.policyId);
        policyLoaded = true;
      }
      try {
        const updated = await this.o.state.incidents.update(
          id,
          {
            status: 'acknowledged',
            // The first acknowledgement defines MTTA; a re-escalated incident keeps it.
            ackedAt: cur.ackedAt ?? now,
            ackedBy: cur.ackedBy ?? actor,
            escalation: afterAcknowledge(policy, cur.escalation, now),
          },
          cur.version,
        );
        await this.event(id, now, 'acknowledged', actor, { via });
        if (cur.ackedAt === null)
          incidentMetrics.mtta.observe({ severity: cur.severity }, (now - cur.createdAt) / 1000);
        this.arm(updated);
        await this.refreshGauge();
        return updated;
      } catch (err) {
        if (!(err instanceof VersionConflictError) || i >= MAX_CAS_RETRIES) throw err;
      }
    }
  }

  private stateConflict(cur: Incident, action: string): IncidentConflictError {
    const when = (t: number | null) => (t === null ? '' : ` at ${new Date(t).toISOString()}`);
    if (cur.status === 'acknowledged')
      return new IncidentConflictError(
        `cannot ${action} incident ${cur.id}: it was already acknowledged by ${cur.ackedBy ?? 'someone'}${when(cur.ackedAt)}`,
      );
    return new IncidentConflictError(
      `cannot ${action} incident ${cur.id}: it was already resolved by ${cur.resolvedBy ?? 'someone'}${when(cur.resolvedAt)}`,
    );
  }

  /**
   * Resolves an open incident; IncidentConflictError when it is resolved already. `note` is what fixed it (the
   * resolution the knowledge base shows on similar incidents later).
   */
  async resolve(id: string, actor: string, reason?: string, note?: unknown): Promise<Incident> {
    if (note !== undefined && (typeof note !== 'string' || note.length > 10_000))
      throw new IncidentInputError('resolution note must be a string of at most 10000 characters');
    const text = typeof note === 'string' && note.trim() !== '' ? note.trim() : undefined;
    const now = this.o.clock.now();
    const updated = await this.mutate(id, (cur) => {
      if (cur.status === 'resolved') throw this.stateConflict(cur, 'resolve');
      return {
        status: 'resolved',
        resolvedAt: now,
        resolvedBy: actor,
        escalation: { ...cur.escalation, nextAt: null },
      };
    });
    await this.event(id, now, 'resolved', actor, {
      ...(reason ? { reason } : {}),
      ...(text ? { note: text } : {}),
    });
    incidentMetrics.mttr.observe({ severity: updated.severity }, (now - updated.createdAt) / 1000);
    this.arm(updated);
    await this.refreshGauge();
    return updated;
  }

  async addNote(id: string, actor: string, text: unknown): Promise<void> {
    if (typeof text !== 'string' || text.trim() === '')
      throw new IncidentInputError('note text must be a non-empty string');
    if (!(await this.o.state.incidents.get(id))) throw new NotFoundError('incident', id);
    await this.event(id, this.o.clock.now(), 'note', actor, { text });
  }

  async assign(id: string, userId: unknown, actor: string): Promise<Incident> {
    if (userId !== null && (typeof userId !== 'string' || !(await this.o.state.users.get(userId))))
      throw new IncidentInputError(
        `unknown user ${JSON.stringify(userId)}: assign a user id from /api/vigil/v1/users`,
      );
    const updated = await this.mutate(id, () => ({ assignee: userId as string | null }));
    await this.event(id, this.o.clock.now(), 'assigned', actor, { assignee: userId as string | null });
    return updated;
  }

  /** Opens an incident by hand; with a policy, paging starts at once. */
  async create(input: ManualIncident, actor: string): Promise<Incident> {
    if (typeof input.title !== 'string' || input.title.trim() === '')
      throw new IncidentInputError('title must be a non-empty string');
    const policyId = input.policyId ?? null;
    const policy = policyId === null ? undefined : await this.policy(policyId);
    if (policyId !== null && !policy)
      throw new IncidentInputError(`unknown escalation policy ${JSON.stringify(policyId)}`);
    if (input.assignee != null && !(await this.o.state.users.get(input.assignee)))
      throw new IncidentInputError(`unknown user ${JSON.stringify(input.assignee)} as assignee`);
    const now = this.o.clock.now();
    const start = policy ? startEscalation(policy, now) : undefined;
    const inc = await this.o.state.transaction(async (tx) => {
      const created = await tx.incidents.create({
        title: input.title.trim(),
        severity: input.severity ?? 'error',
        status: 'triggered',
        assignee: input.assignee ?? null,
        groupId: null,
        policyId,
        services: uniq([...(input.services ?? [])]),
        components: uniq([...(input.components ?? [])]),
        alerts: [],
        labels: {},
        createdAt: now,
        ackedAt: null,
        ackedBy: null,
        resolvedAt: null,
        resolvedBy: null,
        escalation: start?.state ?? { step: 0, loop: 0, nextAt: null },
      });
      await tx.incidents.addEvent({
        incidentId: created.id,
        at: now,
        kind: 'created',
        actor,
        detail: { manual: true },
      });
      return created;
    });
    incidentMetrics.created.inc({ severity: inc.severity });
    this.arm(inc);
    if (policy && start) this.startPaging(inc, policy, start.step, start.loop, now);
    this.suggestSimilar(inc, now);
    await this.refreshGauge();
    return inc;
  }

  private async refreshGauge(): Promise<void> {
    try {
      const open = await this.o.state.incidents.list({ status: ['triggered', 'acknowledged'] });
      incidentMetrics.open.reset();
      for (const i of open) incidentMetrics.open.inc({ status: i.status, severity: i.severity });
    } catch (err) {
      this.log(`incidents: cannot count open incidents: ${(err as Error).message}`);
    }
  }
}

/** Stored document bodies as the API returns them. */
export function docJson(d: OncallDoc): JsonObject {
  return { ...d.body, id: d.id, name: d.name, updatedAt: d.updatedAt };
}
