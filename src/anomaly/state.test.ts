import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/interface.ts';
import { AnomalyDetector, type Seasonality } from './detector.ts';
import {
  ANOMALY_NAMESPACE,
  decodeState,
  encodeState,
  kvAnomalyStore,
  type SavedAnomalySeries,
} from './state.ts';
import { dailyPattern, seededNormal } from './synthetic.ts';

describe('detector state', () => {
  const cases: [string, { seasons: Seasonality[]; counter: boolean }][] = [
    ['daily and weekly', { seasons: ['daily', 'weekly'], counter: false }],
    ['none, counter', { seasons: [], counter: true }],
  ];
  it.each(cases)('a restored detector (%s) scores exactly as the original would have', (_n, o) => {
    const n = seededNormal(5);
    const a = new AnomalyDetector(o);
    let t = 1_772_409_600;
    let c = 0;
    const next = () => {
      t += 300;
      c += o.counter ? 10 + n() : 0;
      return o.counter ? c : dailyPattern(t) + 2 * n();
    };
    for (let i = 0; i < 2000; i++) a.push(t, next());
    const b = new AnomalyDetector(o);
    expect(b.loadState(decodeState(encodeState(a.saveState()))!)).toBe(true);
    for (let i = 0; i < 500; i++) {
      const v = next();
      expect(b.push(t, v)).toEqual(a.push(t, v));
    }
  });

  it('refuses a state of other seasons', () => {
    const daily = new AnomalyDetector({ seasons: ['daily'] });
    daily.push(1, 1);
    expect(new AnomalyDetector({ seasons: [] }).loadState(daily.saveState())).toBe(false);
    expect(decodeState('AAA')).toBeUndefined();
  });
});

describe('kvAnomalyStore', () => {
  let dir: string;
  let state: StateStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-anomaly-'));
    state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
  });
  afterAll(async () => {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const series = (n: number): SavedAnomalySeries[] =>
    Array.from({ length: n }, (_, i) => ({
      labels: { job: String(i) },
      state: encodeState(new Float64Array([i, NaN])),
      lastSeen: i,
      lastValue: i,
      lastFedT: null,
      last: [0, 1, null, 2],
    }));

  it('saves in chunks, reads back, shrinks and deletes', async () => {
    const store = kvAnomalyStore(state.kv, 3);
    await store.save('f;g;r', { config: 'c', savedAt: 5, series: series(7) });
    expect((await state.kv.list(ANOMALY_NAMESPACE)).map((e) => e.key)).toEqual([
      'f;g;r',
      'f;g;r#0',
      'f;g;r#1',
      'f;g;r#2',
    ]);
    const back = await store.load('f;g;r');
    expect(back).toEqual({ config: 'c', savedAt: 5, series: series(7) });
    expect(decodeState(back!.series[1]!.state)).toEqual(new Float64Array([1, NaN]));
    await store.save('f;g;r', { config: 'c', savedAt: 6, series: series(2) });
    expect((await state.kv.list(ANOMALY_NAMESPACE)).map((e) => e.key)).toEqual(['f;g;r', 'f;g;r#0']);
    await store.delete('f;g;r');
    expect(await state.kv.list(ANOMALY_NAMESPACE)).toEqual([]);
    expect(await store.load('f;g;r')).toBeUndefined();
  });
});
