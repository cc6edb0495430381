import { describe, expect, it } from 'vitest';
import { Engine } from '../query/promql/index.ts';
import { parseRuleFile } from '../rules/file.ts';
import { RuleGroup } from '../rules/group.ts';
import { engineQueryFn, engineRangeQueryFn, storageAppendFn } from '../rules/rule.ts';
import { MemoryStorage } from '../store/memory.ts';
import { dailyPattern, seededNormal } from './synthetic.ts';

const HOUR_MS = 3_600_000;
/** 2026-03-02T09:00:00Z */
const T = 1_772_409_600_000 + 9 * HOUR_MS;

const RULES = `
groups:
  - name: disks
    interval: 5m
    rules:
      - forecast: disk_full
        expr: disk_used_bytes
        capacity: disk_size_bytes
        horizon: 1d
        lookback: 3d
      - forecast: disk_free
        expr: disk_size_bytes - disk_used_bytes
        horizon: 1d
        lookback: 3d
        labels: {severity: warning}
      - alert: DiskWillFill
        expr: forecast:seconds_to_exhaustion{forecast="disk_full"} < 86400
        annotations:
          summary: '{{ $labels.device }} full in {{ $value | humanizeDuration }}'
`;

function setup(yaml = RULES, withRange = true) {
  const r = parseRuleFile(yaml, 'f.yml');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const storage = new MemoryStorage();
  const engine = new Engine();
  const group = new RuleGroup(r.groups[0]!, {
    query: engineQueryFn(engine, storage),
    rangeQuery: withRange ? engineRangeQueryFn(engine, storage) : undefined,
    append: storageAppendFn(storage),
    defaultIntervalMs: 60_000,
    evaluateAlerts: true,
  });
  const values = async (expr: string) =>
    new Map((await engineQueryFn(engine, storage)(expr, T)).map((s) => [s.labels.device ?? '', s]));
  return { storage, group, values };
}

/** Three days of disk usage every 5 minutes: `filling` grows 10/h to reach 1000 about 20 h after T. */
function disks(storage: MemoryStorage): void {
  const n = seededNormal(11);
  const usage: Record<string, (t: number) => number> = {
    filling: (t) => 800 + (10 * (t - T)) / HOUR_MS,
    flat: () => 700,
    shrinking: (t) => 600 - (5 * (t - T)) / HOUR_MS,
    // Busy days take it near the capacity and back; no trend.
    daily_peak: (t) => dailyPattern(t / 1000, 650, 250),
  };
  for (let t = T - 3 * 24 * HOUR_MS; t <= T; t += 300_000)
    for (const [device, f] of Object.entries(usage)) {
      storage.add({ __name__: 'disk_used_bytes', device }, t, f(t) + 3 * n());
      storage.add({ __name__: 'disk_size_bytes', device }, t, 1000);
    }
}

describe('ForecastRule in a rule group', () => {
  it('predicts when a filling disk runs out, and nothing for flat, shrinking or seasonal ones', async () => {
    const { storage, group, values } = setup();
    disks(storage);
    await group.evaluate(T);
    for (const r of group.rules)
      expect([r.name, r.status.health, r.status.lastError]).toEqual([r.name, 'ok', '']);
    const secs = await values('forecast:seconds_to_exhaustion{forecast="disk_full"}');
    expect([...secs.keys()]).toEqual(['filling']);
    expect(Math.abs(secs.get('filling')!.value - 20 * 3600)).toBeLessThan(1800);
    const at = await values('forecast:exhaustion_timestamp_seconds{forecast="disk_full"}');
    expect(at.get('filling')!.value).toBeCloseTo(T / 1000 + secs.get('filling')!.value, 3);
    // The free amount reaching 0 is the same event.
    const free = await values('forecast:seconds_to_exhaustion{forecast="disk_free"}');
    expect([...free.keys()]).toEqual(['filling']);
    expect(free.get('filling')!.labels).toEqual({
      __name__: 'forecast:seconds_to_exhaustion',
      device: 'filling',
      forecast: 'disk_free',
      severity: 'warning',
    });
    expect(Math.abs(free.get('filling')!.value - secs.get('filling')!.value)).toBeLessThan(600);
    const alerts = group.rules.flatMap((r) => (r.kind === 'alerting' ? r.activeAlerts() : []));
    expect(alerts.map((a) => [a.labels.device, a.state])).toEqual([['filling', 'firing']]);
    expect(alerts[0]!.annotations.summary).toMatch(/^filling full in 19h 3\dm|^filling full in 20h \d+m/);
  });

  it('reports an error, not a crash, without range queries or with a failing capacity query', async () => {
    const { group } = setup(RULES, false);
    await group.evaluate(T);
    expect(group.rules[0]!.status.health).toBe('err');
    expect(group.rules[0]!.status.lastError).toMatch(/need range queries/);
    const bad = setup(RULES.replace('capacity: disk_size_bytes', 'capacity: disk_size_bytes[5m]'));
    disks(bad.storage);
    await bad.group.evaluate(T);
    expect(bad.group.rules[0]!.status.health).toBe('err');
    expect(bad.group.rules[1]!.status.health).toBe('ok');
  });
});
