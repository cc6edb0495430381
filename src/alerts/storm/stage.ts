/**
 * Storm protection (docs/storm.md): a stage between aggregation groups and delivery.
 *
 * - Storm mode: when more than `threshold` new alerts reach one receiver within `window`, alerts that belong to
 *   a correlated group of two or more (src/alerts/correlate) stop going out per aggregation group; each
 *   correlated group gets one storm-summary notification instead, updated at most every group_interval.
 *   An alert that joined a summary stays with it until it resolved and that was told.
 * - Rate limit: a token bucket per receiver integration. A notification without a token is queued, replaced by
 *   the group's newer notification if one comes (merged), and sent when a token is free: never dropped.
 * - Flapping: an alert that fires more than `flapMaxFires` times within `flapWindowMs` is held (left out of its
 *   group's notifications) until it has not changed for `flapStableMs`; then its group notifies once.
 * - A critical alert that is not in a storm summary yet bypasses storm mode and the rate limit, and a correlated
 *   group's first summary never waits for a token.
 *
 * Pure and synchronous: time is passed in, correlation comes from an injected function, and what is to be sent
 * is handed out by `route` and `due` for the caller to deliver (then `done`). The same code runs in the
 * pipeline (src/alerts/storm/runner.ts) and in the corpus replay (bench/alert-correlation.ts).
 */
import { severityRank } from '../correlate/correlate.ts';
import type { CorrelatedGroup } from '../correlate/model.ts';
import { isResolved } from '../model.ts';
import { needsUpdate, type NflogEntry } from '../nflog.ts';
import type { StoredAlert } from '../store.ts';

/** Tunable parameters of the stage (from `alerting.storm`, src/alerts/config/storm.ts). */
export interface StormOptions {
  /** New alerts for one receiver within `windowMs` that turn storm mode on. */
  readonly threshold: number;
  readonly windowMs: number;
  /** Storm mode stays on this long after the threshold was last reached. */
  readonly calmMs: number;
  /** Notifications per minute per receiver integration; 0 = no limit. */
  readonly ratePerMinute: number;
  /** Token bucket size. */
  readonly burst: number;
  /** Fires within `flapWindowMs` above which an alert is flapping; 0 = no flap detection. */
  readonly flapMaxFires: number;
  readonly flapWindowMs: number;
  readonly flapStableMs: number;
  /** In storm mode, how long an alert alone in its correlated group waits for related alerts. */
  readonly gatherMs: number;
}

export const DEFAULT_STORM_OPTIONS: StormOptions = {
  threshold: 100,
  windowMs: 60_000,
  calmMs: 300_000,
  ratePerMinute: 120,
  burst: 120,
  flapMaxFires: 4,
  flapWindowMs: 900_000,
  flapStableMs: 600_000,
  gatherMs: 60_000,
};

/** The annotation the pipeline sets on a flapping alert. */
export const FLAPPING_ANNOTATION = 'vigil_flapping';
/** The group label of storm summaries. */
export const STORM_LABEL = 'vigil_storm';

/**
 * A token bucket refilled continuously at `perMinute`; holds at most `burst` tokens, starts full.
 * `take` never blocks: it says whether a token was available.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at)
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perMinute) / 60_000);
    this.at = Math.max(this.at, now);
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether no token is missing at `now`. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  /** Its level, for a snapshot. */
  state(): { tokens: number; at: number } {
    return { tokens: this.tokens, at: this.at };
  }

  /** Sets the level from a snapshot (at most `burst` tokens). */
  load(state: { tokens: number; at: number }): void {
    this.tokens = Math.min(this.burst, Math.max(0, state.tokens));
    this.at = state.at;
  }

  /** When the next token is available (now when one is). */
  nextAt(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? now : now + Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute);
  }
}

export interface FlapRecord {
  /** Starts of the episodes within the flap window. */
  fires: number[];
  lastStart: number;
  flapping: boolean;
  /** When the alert last stopped flapping (its group then notifies once, whatever its log says). */
  releasedAt?: number;
  seenAt: number;
}

/**
 * Flap detection per alert fingerprint. `observe` is called with every received alert (a new startsAt is a new
 * episode); `held` says at notification time whether the alert is left out, and ends flapping once the alert
 * has been stable for `flapStableMs`.
 */
export class FlapDetector {
  private readonly alerts = new Map<string, FlapRecord>();

  constructor(private readonly o: StormOptions) {}

  /** Records the alert; true when it is flapping now. */
  observe(a: StoredAlert, now: number): boolean {
    if (this.o.flapMaxFires <= 0) return false;
    let r = this.alerts.get(a.fingerprint);
    if (!r) {
      r = { fires: [a.startsAt], lastStart: a.startsAt, flapping: false, seenAt: now };
      this.alerts.set(a.fingerprint, r);
    } else if (a.startsAt !== r.lastStart && !isResolved(a, now)) {
      r.fires.push(a.startsAt);
      r.lastStart = a.startsAt;
    }
    r.seenAt = now;
    r.fires = r.fires.filter((t) => t > now - this.o.flapWindowMs);
    if (r.fires.length > this.o.flapMaxFires) r.flapping = true;
    return r.flapping;
  }

  /** True while the alert is flapping and changed within `flapStableMs`; ends flapping otherwise. */
  held(a: StoredAlert, now: number): boolean {
    const r = this.alerts.get(a.fingerprint);
    if (!r?.flapping) return false;
    const lastChange = isResolved(a, now)
      ? Math.max(r.lastStart, a.endsAt)
      : Math.max(r.lastStart, a.startsAt);
    if (now - lastChange < this.o.flapStableMs) return true;
    r.flapping = false;
    r.fires = [];
    r.releasedAt = now;
    return false;
  }

  isFlapping(fp: string): boolean {
    return this.alerts.get(fp)?.flapping ?? false;
  }

  /** When the alert last stopped flapping, if it did. */
  releasedAt(fp: string): number | undefined {
    return this.alerts.get(fp)?.releasedAt;
  }

  /** Forgets alerts not seen for a day that are not flapping. */
  gc(now: number): void {
    for (const [fp, r] of this.alerts) if (!r.flapping && now - r.seenAt > 86_400_000) this.alerts.delete(fp);
  }

  /** Whether any alert is flapping or has fired more than once within the window (worth keeping). */
  remembersAny(): boolean {
    for (const r of this.alerts.values()) if (r.flapping || r.fires.length > 1) return true;
    return false;
  }

  /** The records, for a snapshot. */
  entries(): [string, FlapRecord][] {
    return [...this.alerts].map(([fp, r]) => [fp, { ...r, fires: [...r.fires] }]);
  }

  /** Adds records from a snapshot. */
  load(entries: readonly (readonly [string, FlapRecord])[]): void {
    for (const [fp, r] of entries) this.alerts.set(fp, { ...r, fires: [...r.fires] });
  }
}

/** What an aggregation group would send to one integration of its receiver. */
export interface StormRequest {
  readonly receiver: string;
  /** `webhook[0]`, ... */
  readonly integration: string;
  readonly groupKey: string;
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly sendResolved: boolean;
  /** The alerts of the notification (already without silenced, inhibited and held alerts). */
  readonly alerts: readonly StoredAlert[];
}

/**
 * The stage's answer to a request:
 * - `send`: deliver these alerts now (all of the request, or those not taken into storm summaries); when
 *   `absorbed` > 0 the others went into summaries. An empty `alerts` means everything was absorbed.
 * - `deferred`: rate-limited; the stage queued the payload and hands it out from `due` when a token is free.
 * - `held`: in storm mode, alerts alone in their correlated group wait `gatherMs`; if related alerts come
 *   meanwhile they join a summary, otherwise the stage hands the payload out from `due` (as `deferred`).
 * Either way the caller may consider the absorbed alerts notified (their summary carries them).
 */
export type StormDecision = {
  readonly kind: 'send' | 'deferred' | 'held';
  readonly alerts: readonly StoredAlert[];
  readonly absorbed: number;
};

/** A storm summary to deliver: every member of one correlated group, root-cause candidate first. */
export interface SummaryItem {
  readonly kind: 'summary';
  readonly key: string;
  readonly receiver: string;
  readonly integration: string;
  /** The correlated group's ID when the summary started (stable for its life). */
  readonly stormId: string;
  readonly groupIntervalMs: number;
  /** Alerts to send (resolved ones only with send_resolved), root-cause candidate first. */
  readonly alerts: readonly StoredAlert[];
  /** The correlated group as last evaluated, for the root cause and the reasons; absent when it is gone. */
  readonly group: CorrelatedGroup | undefined;
  /** How many alerts the summary holds (firing and resolved). */
  readonly members: number;
  readonly first: boolean;
  readonly entry: NflogEntry;
}

/** A rate-limited notification whose token is now free. */
export interface DeferredItem<P> {
  readonly kind: 'deferred';
  readonly key: string;
  readonly receiver: string;
  readonly integration: string;
  readonly groupKey: string;
  readonly payload: P;
  readonly deferredAt: number;
}

export type StormItem<P> = SummaryItem | DeferredItem<P>;

/** What identifies a storm summary and its timing (kept in snapshots as is). */
interface StreamSettings {
  readonly key: string;
  readonly id: string;
  readonly receiver: string;
  readonly integration: string;
  /** The first summary goes out this long after the first member came, so a storm arriving together is one. */
  readonly firstAt: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly sendResolved: boolean;
}

function settingsOf(x: StreamSettings): StreamSettings {
  const { key, id, receiver, integration, firstAt, groupIntervalMs, repeatIntervalMs, sendResolved } = x;
  return { key, id, receiver, integration, firstAt, groupIntervalMs, repeatIntervalMs, sendResolved };
}

interface Stream extends StreamSettings {
  readonly members: Map<string, StoredAlert>;
  /** Members that were notified on their own (critical bypass); the summary starts with a new member. */
  readonly announced: Set<string>;
  group: CorrelatedGroup | undefined;
  sent: NflogEntry | undefined;
  inFlight: boolean;
  retryAt: number;
}

interface Queued<P> {
  readonly groupKey: string;
  req: StormRequest;
  payload: P;
  readonly deferredAt: number;
  /** Not handed out before (the end of a lone alert's wait in storm mode). */
  notBefore: number;
  inFlight: boolean;
}

/** Counters the stage reports (the pipeline turns them into metrics). */
export interface StormHooks {
  readonly rateLimited?: (receiver: string, integration: string) => void;
  readonly absorbed?: (receiver: string, count: number) => void;
}

/** How long a summary whose members all resolved is kept for members that fire again. */
const STREAM_MEMORY_MS = 3_600_000;

function lastEnd(alerts: readonly StoredAlert[]): number {
  return alerts.reduce((t, a) => Math.max(t, a.endsAt), -Infinity);
}

/** Longest wait between a summary's first member and its first notification. */
const MAX_GATHER_MS = 10_000;

const isCritical = (a: StoredAlert) => severityRank(a.labels.severity) === 3;

/**
 * What storm protection keeps across restarts, as JSON: flap records, alert rates (storm mode), rate-limit
 * buckets and the summaries with their members and what they last sent. Deferred notifications are not kept
 * (they are closures over a running group); after a restart their groups notify again at their next tick.
 */
export interface StormSnapshot {
  readonly version: 1;
  readonly savedAt: number;
  readonly flaps: [string, FlapRecord][];
  readonly rates: [string, { times: number[]; starts: [string, number][]; hotUntil: number | null }][];
  readonly buckets: [string, { tokens: number; at: number }][];
  readonly summaries: (StreamSettings & {
    readonly members: StoredAlert[];
    readonly announced: string[];
    readonly sent: NflogEntry | null;
  })[];
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

export class StormStage<P> {
  readonly options: StormOptions;
  readonly flaps: FlapDetector;
  /** Per receiver: times new alerts arrived (within the window), the latest episode start per alert. */
  private readonly rates = new Map<
    string,
    { times: number[]; starts: Map<string, number>; hotUntil: number }
  >();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly streams = new Map<string, Stream>();
  /** receiver/integration → fingerprint → its stream. */
  private readonly memberOf = new Map<string, Map<string, Stream>>();
  /** receiver/integration → group key → queued notification (insertion order = deferral order). */
  private readonly queues = new Map<string, Map<string, Queued<P>>>();

  /**
   * `correlation(now)` returns the correlated groups of the current alerts; it is called only in storm mode,
   * at most once per `route` call, so it may cache.
   */
  constructor(
    options: Partial<StormOptions>,
    private readonly correlation: (now: number) => readonly CorrelatedGroup[],
    private readonly hooks: StormHooks = {},
  ) {
    this.options = { ...DEFAULT_STORM_OPTIONS, ...options };
    this.flaps = new FlapDetector(this.options);
  }

  /**
   * Records a received alert routed to `receivers`: a new firing episode counts towards each receiver's alert
   * rate; flap detection sees it too. Returns whether the alert is flapping.
   */
  observe(a: StoredAlert, receivers: readonly string[], now: number): boolean {
    if (!isResolved(a, now))
      for (const r of receivers) {
        let s = this.rates.get(r);
        if (!s) this.rates.set(r, (s = { times: [], starts: new Map(), hotUntil: -Infinity }));
        if (s.starts.get(a.fingerprint) === a.startsAt) continue;
        s.starts.set(a.fingerprint, a.startsAt);
        s.times.push(now);
        s.times = s.times.filter((t) => t > now - this.options.windowMs);
        if (s.times.length >= this.options.threshold) s.hotUntil = now + this.options.calmMs;
      }
    return this.flaps.observe(a, now);
  }

  /** Whether `receiver` is in storm mode at `now`. */
  stormy(receiver: string, now: number): boolean {
    const s = this.rates.get(receiver);
    if (!s) return false;
    if (s.times.filter((t) => t > now - this.options.windowMs).length >= this.options.threshold)
      s.hotUntil = Math.max(s.hotUntil, now + this.options.calmMs);
    return s.hotUntil > now;
  }

  private bucket(key: string, now: number): TokenBucket | undefined {
    if (this.options.ratePerMinute <= 0) return undefined;
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new TokenBucket(this.options.ratePerMinute, this.options.burst, now)));
    return b;
  }

  /**
   * Decides what becomes of one aggregation group notification (see StormDecision). `payload` is what the
   * caller needs to send the deferred notification later (the stage does not look into it).
   */
  route(req: StormRequest, payload: P, now: number): StormDecision {
    const ik = `${req.receiver}/${req.integration}`;
    const stormy = this.stormy(req.receiver, now);
    const { pass, absorbed, bypass, lone } = this.place(req, stormy, now);
    const queue = this.queues.get(ik);
    if (pass.length === 0) {
      // Nothing of this group goes out on its own any more: an older deferred notification is superseded.
      queue?.delete(req.groupKey);
      return { kind: 'send', alerts: [], absorbed };
    }
    const prev = queue?.get(req.groupKey);
    const since = prev?.deferredAt ?? now;
    // In storm mode a lone alert waits a little: related alerts that follow make it part of a summary.
    if (stormy && !bypass && lone && now < since + this.options.gatherMs) {
      this.enqueue(ik, req, payload, since, since + this.options.gatherMs);
      return { kind: 'held', alerts: pass, absorbed };
    }
    const bucket = this.bucket(ik, now);
    if (!bucket || bypass || bucket.take(now)) {
      queue?.delete(req.groupKey);
      return { kind: 'send', alerts: pass, absorbed };
    }
    this.enqueue(ik, req, payload, since, now);
    this.hooks.rateLimited?.(req.receiver, req.integration);
    return { kind: 'deferred', alerts: pass, absorbed };
  }

  private enqueue(ik: string, req: StormRequest, payload: P, deferredAt: number, notBefore: number): void {
    let q = this.queues.get(ik);
    if (!q) this.queues.set(ik, (q = new Map()));
    const prev = q.get(req.groupKey);
    // Merged: the group's newer notification replaces the older one, keeping its place in the queue.
    if (prev && !prev.inFlight) {
      prev.payload = payload;
      prev.req = req;
      prev.notBefore = notBefore;
    } else
      q.set(req.groupKey, { groupKey: req.groupKey, req, payload, deferredAt, notBefore, inFlight: false });
  }

  /**
   * Sorts a request's alerts: those of a live summary (and, in storm mode, of a correlated group of two or
   * more) are absorbed into summaries; the others pass. `bypass`: a firing critical alert not in a summary
   * yet passes (no rate limit, no waiting); `lone`: every passing alert is alone in its correlated group.
   */
  private place(req: StormRequest, stormy: boolean, now: number) {
    const ik = `${req.receiver}/${req.integration}`;
    const members = this.memberOf.get(ik);
    let groups: readonly CorrelatedGroup[] | undefined;
    const pass: StoredAlert[] = [];
    let absorbed = 0;
    let bypass = false;
    let lone = true;
    for (const a of req.alerts) {
      const own = members?.get(a.fingerprint);
      if (own) {
        this.absorb(own, a);
        absorbed++;
        continue;
      }
      const critical = isCritical(a) && !isResolved(a, now);
      // Outside storm mode only alerts of a live summary's correlated group join it.
      const live = members !== undefined && members.size > 0;
      if (stormy || live) groups ??= this.correlation(now);
      const g = groups?.find((x) => x.members.some((m) => m.fingerprint === a.fingerprint));
      const existing =
        g &&
        (this.streams.get(`${ik}/${g.id}`) ??
          g.members.map((m) => members?.get(m.fingerprint)).find((s) => s !== undefined));
      if (!g || g.members.length < 2 || (!stormy && !existing)) {
        pass.push(a);
        if (critical) bypass = true;
        if (g && g.members.length >= 2) lone = false;
        continue;
      }
      if (critical && !(existing && g.rootCause.fingerprint === a.fingerprint)) {
        // A critical alert goes out on its own at once and is listed in the summary from then on, unless it is
        // the root-cause candidate of a running summary (which then is updated at once, led by it): a critical
        // alert correlation joined on weaker evidence is never swallowed by a storm.
        const s = existing ?? this.stream(req, g, ik, now);
        s.members.set(a.fingerprint, a);
        s.announced.add(a.fingerprint);
        this.index(ik, a.fingerprint, s);
        pass.push(a);
        bypass = true;
        continue;
      }
      const s = existing ?? this.stream(req, g, ik, now);
      s.group = g;
      this.absorb(s, a);
      this.index(ik, a.fingerprint, s);
      absorbed++;
    }
    if (absorbed) this.hooks.absorbed?.(req.receiver, absorbed);
    return { pass, absorbed, bypass, lone: lone && pass.length > 0 };
  }

  private stream(req: StormRequest, g: CorrelatedGroup, ik: string, now: number): Stream {
    const key = `${ik}/${g.id}`;
    const s: Stream = {
      key,
      id: g.id,
      receiver: req.receiver,
      integration: req.integration,
      firstAt: now + Math.min(req.groupWaitMs, MAX_GATHER_MS),
      groupIntervalMs: req.groupIntervalMs,
      repeatIntervalMs: req.repeatIntervalMs,
      sendResolved: req.sendResolved,
      members: new Map(),
      announced: new Set(),
      group: g,
      sent: undefined,
      inFlight: false,
      retryAt: -Infinity,
    };
    this.streams.set(key, s);
    return s;
  }

  private index(ik: string, fp: string, s: Stream): void {
    let m = this.memberOf.get(ik);
    if (!m) this.memberOf.set(ik, (m = new Map()));
    m.set(fp, s);
  }

  private absorb(s: Stream, a: StoredAlert): void {
    s.members.set(a.fingerprint, a);
    s.announced.delete(a.fingerprint);
  }

  /** Whether an alert is in a storm summary of this receiver integration. */
  inSummary(receiver: string, integration: string, fp: string): boolean {
    return this.memberOf.get(`${receiver}/${integration}`)?.has(fp) ?? false;
  }

  /** Number of live storm summaries (tests, metrics). */
  get summaries(): number {
    return this.streams.size;
  }

  /**
   * Everything to deliver now: summaries that are new or due an update (at most every group_interval, with a
   * token for updates), and deferred notifications whose token is free (oldest first). Each item is in flight
   * until `done`. `lookup` gives an alert's current state (resolutions are seen without a group flush).
   */
  due(now: number, lookup: (fp: string) => StoredAlert | undefined = () => undefined): StormItem<P>[] {
    const out: StormItem<P>[] = [];
    // Lone alerts whose wait is over: those that have related alerts now join a summary (before it is sent).
    for (const [ik, q] of this.queues)
      for (const item of [...q.values()])
        if (!item.inFlight && item.notBefore > item.deferredAt && now >= item.notBefore) {
          const placed = this.place(item.req, this.stormy(splitKey(ik)[0], now), now);
          if (placed.pass.length === 0) q.delete(item.groupKey);
          else item.notBefore = item.deferredAt; // waited: goes out as soon as a token is free
        }
    let groups: readonly CorrelatedGroup[] | undefined;
    for (const s of [...this.streams.values()]) {
      if (s.inFlight || now < s.retryAt) continue;
      for (const [fp, a] of s.members) {
        const cur = lookup(fp);
        if (cur && cur !== a && cur.startsAt >= a.startsAt) s.members.set(fp, cur);
      }
      if (s.announced.size === s.members.size) {
        // Only alerts that went out on their own: no summary yet; forget it once they resolved.
        if ([...s.members.values()].every((a) => isResolved(a, now))) this.drop(s);
        continue;
      }
      groups ??= this.correlation(now);
      const g = groups.find((x) => x.members.some((m) => s.members.has(m.fingerprint)));
      if (g) s.group = g;
      const all = [...s.members.values()];
      const firing = new Set(all.filter((a) => !isResolved(a, now)).map((a) => a.fingerprint));
      const resolved = new Set(all.filter((a) => isResolved(a, now)).map((a) => a.fingerprint));
      const entry: NflogEntry = { firing: [...firing], resolved: [...resolved], timestamp: now };
      const first = s.sent === undefined;
      if (first && now < s.firstAt) continue;
      if (!first) {
        const update = needsUpdate(s.sent, firing, resolved, s.sendResolved, s.repeatIntervalMs, now);
        if (!update) {
          // Kept a while after everything resolved: a member that fires again (re-fire, flapping) returns to
          // its summary as an update instead of starting a new storm.
          if (firing.size === 0 && now - lastEnd(all) > STREAM_MEMORY_MS) this.drop(s);
          continue;
        }
        // A new member that became the root-cause candidate (the cause fired after its symptoms) is told at
        // once; other changes wait for the group_interval.
        const root = s.group?.rootCause.fingerprint;
        const newRoot =
          root !== undefined &&
          s.members.has(root) &&
          !s.sent!.firing.includes(root) &&
          !s.sent!.resolved.includes(root);
        // So is a critical alert that joined (it is never delayed by storm mode).
        const newCritical = all.some(
          (a) => firing.has(a.fingerprint) && isCritical(a) && !s.sent!.firing.includes(a.fingerprint),
        );
        if (!newRoot && !newCritical && now < s.sent!.timestamp + s.groupIntervalMs) continue;
        if (!s.sendResolved && firing.size === 0) {
          // Alertmanager's rule: everything resolved, nothing to send without send_resolved.
          s.sent = entry;
          continue;
        }
        const b = this.bucket(`${s.receiver}/${s.integration}`, now);
        if (b && !b.take(now)) continue;
      }
      const sent = s.sendResolved ? all : all.filter((a) => firing.has(a.fingerprint));
      s.inFlight = true;
      out.push({
        kind: 'summary',
        key: s.key,
        receiver: s.receiver,
        integration: s.integration,
        stormId: s.id,
        groupIntervalMs: s.groupIntervalMs,
        alerts: orderMembers(sent, s.group),
        group: s.group,
        members: all.length,
        first,
        entry,
      });
    }
    for (const [ik, q] of this.queues) {
      const [receiver, integration] = splitKey(ik);
      for (const item of [...q.values()]) {
        if (item.inFlight || now < item.notBefore) continue;
        const b = this.bucket(ik, now);
        if (b && !b.take(now)) break;
        item.inFlight = true;
        out.push({
          kind: 'deferred',
          key: `${ik}/${item.groupKey}`,
          receiver,
          integration,
          groupKey: item.groupKey,
          payload: item.payload,
          deferredAt: item.deferredAt,
        });
      }
    }
    return out;
  }

  /**
   * Reports the outcome of an item from `due`. A delivered summary records what it told; a failed one is tried
   * again after its group_interval. A deferred notification leaves the queue either way: when it failed, its
   * group did not log it and notifies again at its next flush.
   */
  done(item: StormItem<P>, ok: boolean, now: number): void {
    if (item.kind === 'summary') {
      const s = this.streams.get(item.key);
      if (!s) return;
      s.inFlight = false;
      if (ok) s.sent = item.entry;
      else s.retryAt = now + s.groupIntervalMs;
      return;
    }
    const ik = `${item.receiver}/${item.integration}`;
    const q = this.queues.get(ik);
    const cur = q?.get(item.groupKey);
    if (!cur) return;
    // A newer notification of the group that arrived meanwhile stays queued.
    if (cur.payload === item.payload) q!.delete(item.groupKey);
    else cur.inFlight = false;
  }

  /** Earliest time something may become due (a token frees up, a summary's group_interval ends); for sleeping. */
  nextAt(now: number): number | undefined {
    let t: number | undefined;
    const at = (x: number) => (t = t === undefined ? x : Math.min(t, x));
    for (const s of this.streams.values()) {
      at(Math.max(now, s.retryAt, s.sent ? s.sent.timestamp + s.groupIntervalMs : s.firstAt));
      for (const a of s.members.values()) if (!isResolved(a, now)) at(a.endsAt);
    }
    for (const [ik, q] of this.queues)
      for (const item of q.values()) at(Math.max(item.notBefore, this.bucket(ik, now)?.nextAt(now) ?? now));
    return t;
  }

  private drop(s: Stream): void {
    this.streams.delete(s.key);
    const m = this.memberOf.get(`${s.receiver}/${s.integration}`);
    if (m) for (const [fp, x] of m) if (x === s) m.delete(fp);
  }

  /**
   * True when a restart would lose nothing that matters: no summary, no receiver in storm mode, every rate
   * limit bucket full, no alert flapping or firing repeatedly.
   */
  quiet(now: number): boolean {
    if (this.streams.size > 0 || this.flaps.remembersAny()) return false;
    for (const r of this.rates.keys()) if (this.stormy(r, now)) return false;
    for (const b of this.buckets.values()) if (!b.full(now)) return false;
    return true;
  }

  /** The state worth keeping across a restart (see StormSnapshot). */
  snapshot(now: number): StormSnapshot {
    return {
      version: 1,
      savedAt: now,
      flaps: this.flaps.entries(),
      rates: [...this.rates].map(([r, x]) => [
        r,
        { times: [...x.times], starts: [...x.starts], hotUntil: finiteOrNull(x.hotUntil) },
      ]),
      buckets: [...this.buckets].map(([k, b]) => [k, b.state()]),
      summaries: [...this.streams.values()].map((st) => ({
        ...settingsOf(st),
        members: [...st.members.values()],
        announced: [...st.announced],
        sent: st.sent ?? null,
      })),
    };
  }

  /**
   * Takes over a snapshot saved by `snapshot` (before any alert arrived). Throws, changing nothing, when it is
   * not one; the caller then starts fresh.
   */
  restore(snap: unknown, now: number): void {
    const x = snap as Partial<StormSnapshot> | null;
    if (
      typeof x !== 'object' ||
      x === null ||
      x.version !== 1 ||
      !Array.isArray(x.flaps) ||
      !Array.isArray(x.rates) ||
      !Array.isArray(x.buckets) ||
      !Array.isArray(x.summaries)
    )
      throw new Error('not a storm-protection snapshot of version 1');
    const summaries = x.summaries;
    for (const [i, st] of summaries.entries())
      if (
        typeof st?.key !== 'string' ||
        typeof st.id !== 'string' ||
        !Array.isArray(st.members) ||
        !Array.isArray(st.announced) ||
        st.members.some((m) => typeof m?.fingerprint !== 'string' || typeof m.labels !== 'object')
      )
        throw new Error(`summaries[${i}]: not a storm summary`);
    this.flaps.load(x.flaps);
    for (const [r, v] of x.rates)
      this.rates.set(r, {
        times: v.times.filter((t) => t > now - this.options.windowMs),
        starts: new Map(v.starts),
        hotUntil: v.hotUntil ?? -Infinity,
      });
    for (const [k, v] of x.buckets) this.bucket(k, now)?.load(v);
    for (const st of summaries) {
      const s: Stream = {
        ...settingsOf(st),
        members: new Map(st.members.map((m) => [m.fingerprint, m])),
        announced: new Set(st.announced),
        group: undefined,
        sent: st.sent ?? undefined,
        inFlight: false,
        retryAt: -Infinity,
      };
      this.streams.set(s.key, s);
      for (const fp of s.members.keys()) this.index(`${s.receiver}/${s.integration}`, fp, s);
    }
  }

  /** Forgets idle state (flap records, alert rates of quiet receivers). */
  gc(now: number): void {
    this.flaps.gc(now);
    for (const [r, s] of this.rates) {
      s.times = s.times.filter((t) => t > now - this.options.windowMs);
      if (s.times.length === 0 && s.hotUntil < now - 86_400_000) this.rates.delete(r);
    }
  }
}

function splitKey(ik: string): [string, string] {
  const i = ik.lastIndexOf('/');
  return [ik.slice(0, i), ik.slice(i + 1)];
}

/** Root-cause candidate first, then by the group's member order, then alerts the group no longer has by start. */
function orderMembers(alerts: readonly StoredAlert[], g: CorrelatedGroup | undefined): StoredAlert[] {
  const rank = new Map<string, number>();
  g?.members.forEach((m, i) => rank.set(m.fingerprint, i));
  return [...alerts].sort(
    (a, b) =>
      (rank.get(a.fingerprint) ?? Infinity) - (rank.get(b.fingerprint) ?? Infinity) ||
      a.startsAt - b.startsAt ||
      (a.fingerprint < b.fingerprint ? -1 : 1),
  );
}
