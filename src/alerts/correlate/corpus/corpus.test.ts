import { describe, expect, it } from 'vitest';
import { generateCorpus } from './generate.ts';
import {
  alertnameStrategy,
  correlationStrategy,
  figures,
  noGroupingStrategy,
  scoreCorpus,
  stormStrategy,
  DEFAULT_STORM_REPLAY,
} from './metrics.ts';

const corpus = generateCorpus({ seed: 7, cases: 15 });

describe('alert-storm corpus', () => {
  it('is deterministic for a seed and labels every alert with an incident that exists', () => {
    expect(generateCorpus({ seed: 7, cases: 15 })).toEqual(corpus);
    expect(generateCorpus({ seed: 8, cases: 15 })).not.toEqual(corpus);
    for (const c of corpus) {
      const ids = new Set(c.incidents.map((i) => i.id));
      for (const a of c.alerts) {
        expect(ids.has(a.incident)).toBe(true);
        expect(a.episodes.length).toBeGreaterThan(0);
      }
      for (const i of c.incidents) expect(c.alerts.some((a) => a.fingerprint === i.root)).toBe(true);
    }
    const scenarios = new Set(corpus.flatMap((c) => c.incidents.map((i) => i.scenario)));
    expect([...scenarios].sort()).toEqual([
      'cascade',
      'flapping',
      're-fire',
      'storm',
      'two-causes',
      'unrelated',
    ]);
  });

  it('correlation beats grouping by alertname and no grouping', () => {
    const ours = figures(scoreCorpus(corpus, (c) => correlationStrategy(c)));
    const byName = figures(scoreCorpus(corpus, () => alertnameStrategy));
    const none = figures(scoreCorpus(corpus, () => noGroupingStrategy));
    expect(none.recall).toBe(0);
    expect(none.notificationsPerAlert).toBeGreaterThan(0.99);
    expect(ours.precision).toBeGreaterThan(0.85);
    expect(ours.recall).toBeGreaterThan(0.9);
    expect(ours.recall).toBeGreaterThan(byName.recall);
    expect(ours.rootCauseAccuracy).toBeGreaterThan(0.85);
    expect(ours.notificationsPerAlert).toBeLessThan(byName.notificationsPerAlert);
    expect(ours.incidentsNotified).toBeGreaterThan(0.9);
  });

  it('storm protection collapses storms and still notifies every critical incident', () => {
    const replay = {
      ...DEFAULT_STORM_REPLAY,
      storm: { threshold: 1, flapMaxFires: 2, flapWindowMs: 1_800_000, gatherMs: 120_000 },
    };
    const storm = scoreCorpus(corpus, (c) => stormStrategy(c, replay));
    const none = scoreCorpus(corpus, () => noGroupingStrategy);
    expect(storm.notifications + storm.updates).toBeLessThan(none.notifications / 2);
    expect(figures(storm).incidentsNotified).toBeGreaterThan(0.9);
    // Every incident with a critical alert led a notification (replayed as scoreCase does).
    for (const c of corpus) {
      const st = stormStrategy(c, replay);
      const leaders = new Set<string>();
      for (let now = c.start; now <= c.end; now += 30_000) {
        const active = c.alerts.flatMap((a) => {
          const e = a.episodes.find((x) => x.start <= now && now < x.end);
          return e ? [{ ...a, startsAt: e.start }] : [];
        });
        st.group(active, now);
        for (const n of st.notify!(now)) leaders.add(n.root);
      }
      for (const i of c.incidents) {
        const members = c.alerts.filter((a) => a.incident === i.id);
        if (members.some((a) => a.labels.severity === 'critical'))
          expect(
            members.some((a) => leaders.has(a.fingerprint)),
            `${c.name} ${i.id}`,
          ).toBe(true);
      }
    }
  });
});
