/**
 * Two Vigil nodes sharing one state database (PostgreSQL when reachable, and SQLite within one process), each
 * with its own alert pipeline and incident service, receiving the same alert: one incident, each step paged
 * once, and of two acknowledgements through different nodes exactly one wins.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALERTMANAGER_CONFIG_YAML, loadAlertmanagerConfigText } from '../alerts/config/load.ts';
import { AlertPipeline } from '../alerts/pipeline.ts';
import { ManualClock } from '../rules/clock.ts';
import type { StateStore } from '../state/interface.ts';
import { openStateStore } from '../state/open.ts';
import { MemoryPager } from './pager.ts';
import { IncidentConflictError, IncidentService } from './service.ts';

const PG_URL = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const T0 = Date.UTC(2026, 10, 27, 12);
const MIN = 60_000;

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
const hasPg = await pgReachable();

interface Node {
  state: StateStore;
  pipeline: AlertPipeline;
  svc: IncidentService;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function nodes(driver: 'sqlite' | 'postgres', clock: ManualClock, pager: MemoryPager): Promise<Node[]> {
  let open: () => Promise<StateStore>;
  if (driver === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-nodes-'));
    const store = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    open = () => Promise.resolve(store);
  } else {
    const schema = `vigil_nodes_${randomBytes(6).toString('hex')}`;
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    });
    open = async () => {
      const s = await openStateStore({ driver: 'postgres', url: PG_URL, schema });
      cleanups.push(() => s.close());
      return s;
    };
  }
  const out: Node[] = [];
  for (let i = 0; i < 2; i++) {
    const state = await open();
    if (i === 0) {
      await state.users.put({ id: 'ana', name: 'Ana', body: { contacts: [{ email: 'ana@example.com' }] } });
      await state.users.put({ id: 'bob', name: 'Bob', body: { contacts: [{ email: 'bob@example.com' }] } });
      await state.policies.put({
        id: 'all',
        name: 'All',
        body: {
          id: 'all',
          steps: [
            { delayMs: 2 * MIN, targets: [{ type: 'user', id: 'ana' }] },
            { delayMs: 5 * MIN, targets: [{ type: 'user', id: 'bob' }] },
          ],
        },
      });
    }
    const pipeline = await AlertPipeline.start({
      config: loadAlertmanagerConfigText(DEFAULT_ALERTMANAGER_CONFIG_YAML, 'am.yml'),
      clock,
      externalURL: `http://node${i}`,
    });
    const svc = await IncidentService.start({
      state,
      alerts: pipeline,
      clock,
      pager,
      externalURL: () => `http://node${i}`,
    });
    cleanups.push(async () => {
      await svc.stop();
      await pipeline.stop();
    });
    out.push({ state, pipeline, svc });
  }
  return out;
}

describe.each([
  ['sqlite', true],
  ['postgres', hasPg],
] as const)('two nodes on %s', (driver, available) => {
  it.skipIf(!available)(
    'open one incident, page each step once, and let one acknowledgement win',
    async () => {
      const clock = new ManualClock(T0);
      const pager = new MemoryPager();
      const [a, b] = await nodes(driver, clock, pager);
      const alert = {
        labels: { alertname: 'QueueStuck', service: 'ingest', severity: 'critical' },
        annotations: {},
        startsAt: new Date(T0 - 5000).toISOString(),
        endsAt: new Date(T0 + 3_600_000).toISOString(),
      };
      await Promise.all([a!.pipeline.receive([alert], 'prom-1'), b!.pipeline.receive([alert], 'prom-2')]);
      await Promise.all([a!.svc.idle(), b!.svc.idle()]);
      const incidents = await a!.state.incidents.list();
      expect(incidents).toHaveLength(1);
      expect(pager.sent.map((p) => p.to)).toEqual(['email:ana@example.com']);

      await clock.advanceTo(T0 + 2 * MIN);
      await Promise.all([a!.svc.idle(), b!.svc.idle()]);
      expect(pager.sent.map((p) => p.to)).toEqual(['email:ana@example.com', 'email:bob@example.com']);

      const id = incidents[0]!.id;
      const results = await Promise.allSettled([
        a!.svc.acknowledge(id, 'ana', 'api'),
        b!.svc.acknowledge(id, 'bob', 'api'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect(lost.reason).toBeInstanceOf(IncidentConflictError);
      const events = (await b!.state.incidents.events(id)).map((e) => e.kind);
      expect(events).toEqual(['created', 'alert_firing', 'page', 'escalated', 'page', 'acknowledged']);
    },
  );
});
