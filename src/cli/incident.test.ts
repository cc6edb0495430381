/** `vigil incident` against a real incidents API (SQLite store, in-memory pager) listening on a local port. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentsApi } from '../api/incidents.ts';
import { MemoryPager } from '../incidents/pager.ts';
import { IncidentService } from '../incidents/service.ts';
import { systemClock } from '../rules/clock.ts';
import type { StateStore } from '../state/interface.ts';
import { openStateStore } from '../state/open.ts';
import { incidentCommand } from './incident.ts';

let dir: string;
let state: StateStore;
let svc: IncidentService;
let app: FastifyInstance;
let url = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-incident-cli-'));
  state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
  svc = await IncidentService.start({
    state,
    clock: systemClock,
    pager: new MemoryPager(),
    externalURL: () => 'http://x',
  });
  app = Fastify();
  await app.register(incidentsApi({ state, incidents: svc, externalURL: () => 'http://x' }));
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await svc?.stop();
  await state?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await incidentCommand(
    args,
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}

describe('vigil incident', () => {
  it('lists, shows, acknowledges and resolves', async () => {
    const inc = await svc.create({ title: 'Disk full on db-1', severity: 'warning' }, 'test');
    const list = await run('list', '--url', url);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(
      new RegExp(
        `^ID\\s+STATUS\\s+SEVERITY\\s+OPENED\\s+TITLE\\n${inc.id}\\s+triggered\\s+warning\\s+\\S+Z\\s+Disk full on db-1\\n$`,
      ),
    );
    expect(await run('ack', inc.id, '--actor', 'ana', '--url', url)).toEqual({
      code: 0,
      out: `incident ${inc.id} acknowledged by ana\n`,
      err: '',
    });
    const again = await run('ack', inc.id, '--actor', 'bob', '--url', url);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/409: cannot acknowledge incident \w+: it was already acknowledged by ana/);
    expect((await run('resolve', inc.id, '--url', url)).code).toBe(0);
    const show = await run('show', inc.id, '--url', url);
    expect(show.out).toMatch(/\[resolved\] warning: Disk full on db-1/);
    expect(show.out).toMatch(/created[\s\S]*acknowledged\s+ana[\s\S]*resolved/);
  });

  it('pages through the list with the API cursor, up to --limit or --all', async () => {
    const service = `cli-paged-${Date.now()}`;
    const ids: string[] = [];
    for (let n = 0; n < 7; n++)
      ids.unshift(
        (
          await svc.create(
            { title: n === 3 ? 'batch job zebra' : `batch job ${n}`, severity: 'info', services: [service] },
            't',
          )
        ).id,
      );
    const rows = (out: string) =>
      out
        .split('\n')
        .slice(1, -1)
        .map((l) => l.split(/\s+/)[0]);
    const all = await run('list', '--service', service, '--all', '--page-size', '2', '--url', url);
    expect(all.code).toBe(0);
    expect(all.err).toBe('');
    expect(new Set(rows(all.out))).toEqual(new Set(ids));
    expect(rows(all.out)).toHaveLength(7);
    const some = await run('list', '--service', service, '--limit', '5', '--page-size', '2', '--url', url);
    expect(rows(some.out)).toEqual(rows(all.out).slice(0, 5));
    expect(some.err).toMatch(/5 shown, more follow; use --limit N or --all/);
    const found = await run('list', '--service', service, '--search', 'zebra', '--url', url);
    expect(found.out).toMatch(/^ID .*\n\S+ .*batch job zebra\n$/);
  });

  it.each([
    [['list', '--limit', '0'], 2, /--limit: "0" is not a whole number above 0/],
    [['list', '--limit', '5', '--all'], 2, /--limit or --all, not both/],
    [['list', '--page-size', 'many'], 2, /--page-size: "many"/],
    [['ack'], 2, /ack needs exactly one incident ID/],
    [['frobnicate'], 2, /unknown subcommand "frobnicate"/],
    [[], 2, /missing subcommand/],
    [['list', '--url', 'not a url'], 2, /--url: "not a url" is not a URL/],
    [['list', '--url', 'http://127.0.0.1:1'], 1, /cannot reach Vigil at http:\/\/127\.0\.0\.1:1/],
    [['ack', 'NOPE2345', '--url', 'URL'], 1, /404: incident "NOPE2345" not found/],
  ])('%j exits %i', async (args, code, message) => {
    const r = await run(...args.map((a) => (a === 'URL' ? url : a)));
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
  });
});
