/**
 * Alert correlation: joins current alerts into correlated groups with reasons and a ranked root cause.
 *
 * 1. Every pair of alerts gets a link score from four kinds of evidence: time proximity (exp(-Δstart/decay),
 *    zero beyond the window), service topology (same service, or one service calling the other within a few
 *    hops), TF-IDF similarity of labels and annotations, and history (the two were in one group before).
 *    Current evidence is time × noisy-or(topology, similarity); history is combined with it by noisy-or, so
 *    a flapping or re-firing alert returns to its group even when it started much later.
 * 2. Alerts are ordered by precedence (most upstream first, then most severe, then earliest). Each alert links
 *    to the single best-scoring alert of higher precedence above the join threshold (a critical alert needs the
 *    higher critical threshold). Groups are the trees of that forest, so a symptom shared by two causes joins
 *    one of them and does not chain two incidents together. An alert left alone joins its best neighbour.
 * 3. In each group the root cause is the member with the best weighted score of upstream position (how many
 *    members it explains through topology), earliness and severity.
 * 4. Group IDs are stable: a group takes the ID of the previous group most of its members belonged to (each
 *    old ID used once, biggest group first); a group with no past gets a hash of its member fingerprints.
 *
 * Pure: state is passed in and returned, nothing is read or written elsewhere.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_SEVERITY_SPELLINGS, SEVERITY_CLASSES } from '../severity.ts';
import {
  DEFAULT_CORRELATION_OPTIONS,
  serviceOf,
  type CorrelatedGroup,
  type CorrelationAlert,
  type CorrelationOptions,
  type GroupMember,
  type Reason,
  type Topology,
} from './model.ts';
import { SimilarityModel } from './similarity.ts';
import { CallGraph, type CallPath } from './topology.ts';

/** What correlation remembers about an alert between evaluations. */
export interface RememberedAlert {
  readonly groupId: string;
  /** Last evaluation the alert was active in, ms. */
  readonly lastSeen: number;
  /** Start of the episode last seen, ms. */
  readonly startsAt: number;
  /** Episodes seen (a new startsAt is a new episode: the alert resolved and fired again). */
  readonly episodes: number;
}

/** Correlation's memory between evaluations; treat as immutable. */
export interface CorrelationState {
  readonly alerts: ReadonlyMap<string, RememberedAlert>;
}

export const EMPTY_STATE: CorrelationState = { alerts: new Map() };

export interface CorrelationResult {
  /** Biggest first, then earliest. */
  readonly groups: CorrelatedGroup[];
  readonly state: CorrelationState;
}

/** Severity class index 0 (info) … 3 (critical) for any known spelling; -1 for none or unknown. */
export function severityRank(value: string | undefined): number {
  if (value === undefined) return -1;
  const cls = DEFAULT_SEVERITY_SPELLINGS[value.trim().toLowerCase()];
  return cls ? SEVERITY_CLASSES.indexOf(cls) : -1;
}

const CRITICAL = SEVERITY_CLASSES.indexOf('critical');

interface Evidence {
  readonly score: number;
  readonly time: number;
  readonly topology: number;
  /** The call path: the caller first; `upstream` says which of the pair it ends at. */
  readonly path?: CallPath;
  readonly sameService?: string;
  /** Label pairs the more general alert is about and the other alert carries (`node="node-7"`). */
  readonly scope?: readonly string[];
  /** 1 when the first alert's service is called by the second's (first explains second), -1 reverse, 0 none. */
  readonly direction: number;
  readonly similarity: number;
  readonly history: number;
}

/** `1m30s`, `45s`, `2h5m`. */
export function formatDuration(ms: number): string {
  let s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return (h ? `${h}h` : '') + (m ? `${m}m` : '') + (s || (!h && !m) ? `${s}s` : '');
}

function describeAlert(a: CorrelationAlert): string {
  const svc = serviceOf(a.labels);
  const inst = a.labels.instance ?? a.labels.node ?? a.labels.pod;
  const where = [svc, inst].filter(Boolean).join(', ');
  return `${a.labels.alertname ?? a.fingerprint}${where ? ` (${where})` : ''}`;
}

/**
 * Correlates `alerts` (the currently active ones) at `now`. `topology` may be empty (no traces): topology
 * evidence then comes from shared service labels only. Returns the groups and the state to pass next time.
 */
export function correlate(
  alerts: readonly CorrelationAlert[],
  topology: Topology,
  state: CorrelationState,
  now: number,
  options: Partial<CorrelationOptions> = {},
): CorrelationResult {
  const o: CorrelationOptions = { ...DEFAULT_CORRELATION_OPTIONS, ...options };
  const list = [...new Map(alerts.map((a) => [a.fingerprint, a])).values()].sort(
    (a, b) => a.startsAt - b.startsAt || (a.fingerprint < b.fingerprint ? -1 : 1),
  );
  const n = list.length;
  const graph = new CallGraph(topology, o.hopScores.length - 1);
  const sim = new SimilarityModel(list);
  const services = list.map((a) => serviceOf(a.labels));
  const sev = list.map((a) => severityRank(a.labels.severity));
  const memory = new Map<string, RememberedAlert>();
  for (const [fp, r] of state.alerts) if (now - r.lastSeen <= o.memoryMs) memory.set(fp, r);

  const evidence = (i: number, j: number): Evidence => {
    const dt = Math.abs(list[i]!.startsAt - list[j]!.startsAt);
    const time = dt <= o.windowMs ? Math.exp(-dt / o.decayMs) : 0;
    let topo = 0;
    let direction = 0;
    let path: CallPath | undefined;
    let sameService: string | undefined;
    const si = services[i];
    const sj = services[j];
    if (si !== undefined && sj !== undefined) {
      if (si === sj) {
        topo = o.hopScores[0]!;
        sameService = si;
      } else if ((path = graph.path(sj, si))) {
        topo = o.hopScores[path.services.length - 1]!;
        direction = 1;
      } else if ((path = graph.path(si, sj))) {
        topo = o.hopScores[path.services.length - 1]!;
        direction = -1;
      }
    }
    // An upstream alert that starts long after its supposed symptom is a weaker explanation of it.
    if (direction !== 0) {
      const lag =
        direction > 0 ? list[i]!.startsAt - list[j]!.startsAt : list[j]!.startsAt - list[i]!.startsAt;
      if (lag > o.causalSlackMs) topo *= 0.5;
    }
    let scope: string[] | undefined;
    if (topo === 0 && time > 0) {
      const ij = sim.contains(i, j);
      const ji = sim.contains(j, i);
      scope = ij ?? ji;
      // Equal scopes: about the same thing, neither explains the other.
      direction = ij && ji ? 0 : ij ? 1 : ji ? -1 : 0;
      if (scope) topo = o.scopeScore;
    }
    let similarity = time > 0 ? sim.similarity(i, j) : 0;
    // The same symptom on two services the traces show as unrelated is weak evidence of one cause.
    if (topo === 0 && si !== undefined && sj !== undefined && graph.has(si) && graph.has(sj))
      similarity *= o.unrelatedServiceFactor;
    const mi = memory.get(list[i]!.fingerprint);
    const mj = memory.get(list[j]!.fingerprint);
    const history = mi && mj && mi.groupId === mj.groupId ? o.historyScore : 0;
    const current = time * (1 - (1 - topo) * (1 - similarity));
    const score = 1 - (1 - current) * (1 - history);
    return { score, time, topology: topo, path, sameService, scope, direction, similarity, history };
  };

  // Links: pairs within the window (sorted by start, so the inner loop stops early) and remembered pairs.
  const links = new Map<number, Map<number, Evidence>>();
  const setLink = (i: number, j: number, e: Evidence) => {
    for (const [a, b] of [
      [i, j],
      [j, i],
    ] as const) {
      let m = links.get(a);
      if (!m) links.set(a, (m = new Map()));
      m.set(b, a === i ? e : flip(e));
    }
  };
  const upstream = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n && list[j]!.startsAt - list[i]!.startsAt <= o.windowMs; j++) {
      const e = evidence(i, j);
      upstream[i]! += e.direction;
      upstream[j]! -= e.direction;
      if (e.score > 0) setLink(i, j, e);
    }
  const byGroup = new Map<string, number[]>();
  list.forEach((a, i) => {
    const g = memory.get(a.fingerprint)?.groupId;
    if (g !== undefined) byGroup.set(g, [...(byGroup.get(g) ?? []), i]);
  });
  for (const members of byGroup.values())
    for (const i of members)
      for (const j of members) if (i < j && !links.get(i)?.has(j)) setLink(i, j, evidence(i, j));

  // Precedence: most upstream, then most severe, then earliest (list order).
  const order = list
    .map((_, i) => i)
    .sort((a, b) => upstream[b]! - upstream[a]! || sev[b]! - sev[a]! || a - b);
  const prec = new Array<number>(n);
  order.forEach((i, rank) => (prec[i] = n - rank));
  // A critical alert joins only on strong evidence, unless it is the upstream cause of the other alert.
  const threshold = (i: number, j: number) => {
    const d = links.get(i)?.get(j)?.direction ?? 0;
    if ((sev[i] === CRITICAL && d <= 0) || (sev[j] === CRITICAL && d >= 0)) return o.criticalThreshold;
    return o.joinThreshold;
  };

  const parent = new Array<number>(n).fill(-1);
  const children = new Array<number>(n).fill(0);
  const best = (i: number, higherOnly: boolean): number => {
    let bi = -1;
    let bs = 0;
    for (const [j, e] of links.get(i) ?? []) {
      if ((higherOnly && prec[j]! <= prec[i]!) || e.score < threshold(i, j)) continue;
      // A lone alert upstream of j competes with the explanation j already has: it does not join through j.
      if (!higherOnly && e.direction > 0) continue;
      if (e.score > bs || (e.score === bs && prec[j]! > prec[bi]!)) {
        bi = j;
        bs = e.score;
      }
    }
    return bi;
  };
  for (let i = 0; i < n; i++) {
    parent[i] = best(i, true);
    if (parent[i]! >= 0) children[parent[i]!]!++;
  }
  const uf = list.map((_, i) => i);
  const find = (x: number): number => (uf[x] === x ? x : (uf[x] = find(uf[x]!)));
  const union = (a: number, b: number) => (uf[find(a)] = find(b));
  for (let i = 0; i < n; i++) if (parent[i]! >= 0) union(i, parent[i]!);
  // A lone alert whose only strong links go to lower-precedence alerts joins its best neighbour, unless it
  // would only be another explanation of that neighbour.
  for (let i = 0; i < n; i++)
    if (parent[i]! < 0 && children[i] === 0) {
      const j = best(i, false);
      if (j >= 0) {
        parent[i] = j;
        union(i, j);
      }
    }

  const components = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    components.set(r, [...(components.get(r) ?? []), i]);
  }

  interface Draft {
    members: number[];
    root: number;
    scores: Map<number, number>;
    explains: Map<number, number>;
  }
  const drafts: Draft[] = [];
  for (const members of components.values()) {
    const explains = new Map<number, number>();
    for (const a of members) {
      let x = 0;
      for (const b of members) if (a !== b) x += links.get(a)?.get(b)?.direction ?? 0;
      explains.set(a, x);
    }
    const minStart = list[members[0]!]!.startsAt;
    const w = o.rootWeights;
    const scores = new Map<number, number>();
    for (const m of members) {
      if (members.length === 1) {
        scores.set(m, 1);
        continue;
      }
      const up = (explains.get(m)! / (members.length - 1) + 1) / 2;
      // Earliness decays with time, not rank: firing 30 s before the cause says little.
      const early = Math.exp(-(list[m]!.startsAt - minStart) / o.decayMs);
      const s = Math.max(0, sev[m]!) / CRITICAL;
      scores.set(
        m,
        (w.upstream * up + w.earliest * early + w.severity * s) / (w.upstream + w.earliest + w.severity),
      );
    }
    const root = [...members].sort((a, b) => scores.get(b)! - scores.get(a)! || a - b)[0]!;
    drafts.push({ members, root, scores, explains });
  }
  drafts.sort(
    (a, b) =>
      b.members.length - a.members.length ||
      list[a.members[0]!]!.startsAt - list[b.members[0]!]!.startsAt ||
      a.root - b.root,
  );

  // Stable IDs: biggest overlap with a remembered group, each old ID once.
  const used = new Set<string>();
  const ids = drafts.map((d) => {
    const overlap = new Map<string, number>();
    for (const m of d.members) {
      const g = memory.get(list[m]!.fingerprint)?.groupId;
      if (g !== undefined && !used.has(g)) overlap.set(g, (overlap.get(g) ?? 0) + 1);
    }
    const pick = [...overlap].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    const id = pick ?? memberHash(d.members.map((m) => list[m]!.fingerprint));
    used.add(id);
    return id;
  });

  const nextMemory = new Map(memory);
  const groups: CorrelatedGroup[] = drafts.map((d, gi) => {
    const id = ids[gi]!;
    const root = list[d.root]!;
    const members: GroupMember[] = [...d.members]
      .sort((a, b) => (a === d.root ? -1 : b === d.root ? 1 : d.scores.get(b)! - d.scores.get(a)! || a - b))
      .map((m) => {
        const a = list[m]!;
        const prev = memory.get(a.fingerprint);
        const episodes = prev ? prev.episodes + (prev.startsAt === a.startsAt ? 0 : 1) : 1;
        nextMemory.set(a.fingerprint, { groupId: id, lastSeen: now, startsAt: a.startsAt, episodes });
        const reasons =
          m === d.root
            ? rootReasons(d, m)
            : memberReasons(m, d.root, parent[m]!, episodes, prev?.groupId === id);
        return {
          fingerprint: a.fingerprint,
          labels: a.labels,
          startsAt: a.startsAt,
          rootScore: round(d.scores.get(m)!),
          episodes,
          reasons,
        };
      });
    const top = d.members.reduce((x, m) => (sev[m]! > sev[x]! ? m : x), d.members[0]!);
    return {
      id,
      rootCause: { fingerprint: root.fingerprint, labels: root.labels, score: round(d.scores.get(d.root)!) },
      members,
      startedAt: list[d.members[0]!]!.startsAt,
      severity: sev[top]! >= 0 ? SEVERITY_CLASSES[sev[top]!]! : (list[top]!.labels.severity ?? 'none'),
    };
  });
  for (const [fp, r] of nextMemory) if (now - r.lastSeen > o.memoryMs) nextMemory.delete(fp);
  return { groups, state: { alerts: nextMemory } };

  function rootReasons(d: Draft, m: number): Reason[] {
    const size = d.members.length;
    if (size === 1) return [{ kind: 'root-cause', detail: 'alone: no related alert', score: 1 }];
    const parts: string[] = [];
    const first = d.members.every((x) => list[x]!.startsAt >= list[m]!.startsAt);
    if (first) parts.push(`earliest of ${size} alerts`);
    else
      parts.push(
        `started ${formatDuration(list[m]!.startsAt - list[d.members[0]!]!.startsAt)} after the first of ${size} alerts`,
      );
    const below = d.members
      .map((x) => (x === m ? undefined : links.get(m)?.get(x)))
      .filter((e) => e && e.direction > 0);
    const byCalls = below.filter((e) => e!.path).length;
    const byScope = below.filter((e) => e!.scope).length;
    if (byCalls > 0) parts.push(`${byCalls} other member(s) call its service ${services[m]}`);
    if (byScope > 0) parts.push(`${byScope} other member(s) run on what it is about`);
    if (sev[m]! >= 0) parts.push(`severity ${SEVERITY_CLASSES[sev[m]!]}`);
    return [{ kind: 'root-cause', detail: parts.join('; '), score: round(d.scores.get(m)!) }];
  }

  function memberReasons(m: number, root: number, via: number, episodes: number, sameId: boolean): Reason[] {
    const out = reasonsOf(m, root, '');
    const toRoot = links.get(m)?.get(root)?.score ?? 0;
    if (toRoot < o.joinThreshold && via >= 0 && via !== root)
      out.push(...reasonsOf(m, via, `via ${describeAlert(list[via]!)}: `));
    if (episodes > 1 && sameId)
      out.push({
        kind: 'history',
        detail: `fired ${episodes} times within ${formatDuration(o.memoryMs)}; kept in its previous group`,
        score: o.historyScore,
      });
    return out;
  }

  function reasonsOf(m: number, other: number, prefix: string): Reason[] {
    const e = links.get(m)?.get(other) ?? evidence(m, other);
    const a = list[m]!;
    const b = list[other]!;
    const out: Reason[] = [];
    if (e.time > 0) {
      const dt = a.startsAt - b.startsAt;
      const rel = dt === 0 ? 'at the same time as' : `${formatDuration(dt)} ${dt > 0 ? 'after' : 'before'}`;
      out.push({ kind: 'time', detail: `${prefix}started ${rel} ${describeAlert(b)}`, score: round(e.time) });
    }
    if (e.topology > 0) {
      const detail = e.sameService
        ? `both on service ${e.sameService}`
        : e.path
          ? graph.describe(e.path)
          : e.scope
            ? e.direction === 0
              ? `both about ${e.scope.join(', ')}`
              : `${e.direction > 0 ? 'this alert is' : `${describeAlert(b)} is`} about ${e.scope.join(', ')}, which the other runs on`
            : '';
      out.push({ kind: 'topology', detail: prefix + detail, score: round(e.topology) });
    }
    if (e.similarity >= 0.05)
      out.push({
        kind: 'similarity',
        detail: `${prefix}labels and text similar to ${describeAlert(b)} (shared: ${sim.shared(m, other).join(', ')})`,
        score: round(e.similarity),
      });
    if (e.history > 0)
      out.push({
        kind: 'history',
        detail: `${prefix}was in one group with ${describeAlert(b)} before`,
        score: round(e.history),
      });
    return out;
  }
}

function flip(e: Evidence): Evidence {
  return { ...e, direction: -e.direction };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** ID of a group without a past: a hash of its sorted member fingerprints. */
export function memberHash(fps: readonly string[]): string {
  return createHash('sha256')
    .update([...fps].sort().join(','))
    .digest('hex')
    .slice(0, 16);
}
