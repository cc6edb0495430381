/**
 * `vigil backup` and `vigil restore`: a backup of a running Vigil (through its admin API), its data folder
 * wiped, the backup restored: every query answer, the metadata, a dashboard and the settings in the state
 * store are as before. Also the refusals (non-empty target, a folder in use), an offline
 * backup, and the PostgreSQL state store (JSON export, and a SQLite backup restored into PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/config.ts';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { STALE_NAN } from '../src/model/labels.ts';
import type { Appender } from '../src/store/interface.ts';
import type { StateStore, StateStoreConfig } from '../src/state/interface.ts';
import { openStateStore } from '../src/state/open.ts';
import type { BackupManifest } from '../src/backup/manifest.ts';
import { RemoteWriteSink } from '../src/import/remote-write-sink.ts';
import { getJSON, queryURL, tempDir } from './helpers.ts';
import { startVigilProcess, vigilCli, type VigilProcess } from './cli-helpers.ts';

const root = tempDir('backup');
const dataDir = join(root, 'data');
const backupDir = join(root, 'backup-online');
const children: VigilProcess[] = [];
afterAll(async () => {
  for (const c of children) await c.stop();
  rmSync(root, { recursive: true, force: true });
});

const BASE = 'self_monitoring:\n  enabled: false\nstorage:\n  retention: 0\n';
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

function configFile(name: string, extra = ''): string {
  const file = join(root, `${name}.yml`);
  writeFileSync(file, BASE + extra);
  return file;
}

/** A Vigil in a child process (chDB keeps state of a folder in its process, so restarts after a restore are). */
async function child(config: string, dir: string): Promise<VigilProcess> {
  const p = await startVigilProcess(config, dir);
  children.push(p);
  return p;
}

async function stopChild(p: VigilProcess): Promise<void> {
  await p.stop();
  children.splice(children.indexOf(p), 1);
}

/** Two days of samples for a few series, a stale marker, metadata, and a series deleted again. */
async function fill(appender: Appender, deleteDoomed: () => Promise<void>): Promise<number> {
  let n = 0;
  for (let s = 0; s < 4; s++)
    for (let i = 0; i < 2 * 24 * 12; i++) {
      appender.append({ __name__: 'jobs_total', queue: `q${s}` }, T0 + i * 300_000, i * (s + 1));
      n++;
    }
  const temp = { __name__: 'temp', room: 'x' };
  for (let i = 0; i < 100; i++) appender.append(temp, T0 + i * 60_000, 20 + (i % 7) / 10);
  appender.append(temp, T0 + 100 * 60_000, STALE_NAN);
  n += 101;
  appender.append({ __name__: 'doomed', a: 'b' }, T0, 1);
  appender.appendMetadata('jobs', { type: 'counter', help: 'Jobs done.', unit: '' });
  appender.appendMetadata('temp', { type: 'gauge', help: 'Temperature.', unit: 'celsius' });
  await appender.commit();
  await deleteDoomed();
  return n;
}

/** Fills a Vigil running elsewhere, through remote-write and the admin API. */
async function fillOverHttp(url: string): Promise<number> {
  return fill(new RemoteWriteSink({ url }).appender(), async () => {
    const res = await fetch(queryURL(url, '/api/v1/admin/tsdb/delete_series', { 'match[]': 'doomed' }), {
      method: 'POST',
    });
    expect(res.status).toBe(204);
  });
}

/** Answers that must survive backup and restore unchanged. */
async function answers(url: string) {
  const range = { start: T0 / 1000, end: (T0 + 2 * DAY) / 1000, step: 3600 };
  const out: unknown[] = [];
  for (const query of ['jobs_total', 'rate(jobs_total[30m])', 'sum(temp)', 'count_over_time(temp[2h])'])
    out.push((await getJSON(queryURL(url, '/api/v1/query_range', { query, ...range }))).body);
  // 30 s after the stale marker: nothing (the marker came back as a marker, not as a NaN value).
  for (const time of [T0 / 1000 + 7200, T0 / 1000 + 6030])
    out.push((await getJSON(queryURL(url, '/api/v1/query', { query: 'temp', time }))).body);
  out.push(
    (await getJSON(queryURL(url, '/api/v1/query', { query: 'temp[3h]', time: T0 / 1000 + 7200 }))).body,
  );
  out.push(
    (await getJSON(queryURL(url, '/api/v1/series', { 'match[]': '{__name__=~".+"}', start: 0 }))).body,
  );
  out.push((await getJSON(queryURL(url, '/api/v1/metadata', {}))).body);
  return out;
}

async function addState(state: StateStore): Promise<void> {
  await state.dashboards.create({
    uid: 'ops',
    title: 'Ops "main"',
    tags: ['team-a', 'prod'],
    body: { panels: [{ id: 1, type: 'timeseries', targets: [{ expr: 'rate(jobs_total[5m])' }] }] },
    createdBy: 'alice',
  });
  await state.kv.set('ui', 'theme', { dark: true, accents: ['blue'] });
}

/** The dashboard and settings as Vigil's state store reads them. */
async function stateIn(cfg: StateStoreConfig) {
  const store = await openStateStore(cfg);
  try {
    return { dashboard: await store.dashboards.get('ops'), kv: await store.kv.list('ui') };
  } finally {
    await store.close();
  }
}

const TRACE_ID = '5b8efff798038103d269b633813fc60c';

/** A two-span trace sent as OTLP/HTTP JSON; its timestamps are recent so that trace retention keeps it. */
async function sendTrace(url: string): Promise<void> {
  const start = BigInt(Date.now() - 60_000) * 1_000_000n;
  const span = (spanId: string, name: string, parent: string, offsetMs: number) => ({
    traceId: TRACE_ID,
    spanId,
    parentSpanId: parent,
    name,
    kind: 2,
    startTimeUnixNano: String(start + BigInt(offsetMs) * 1_000_000n),
    endTimeUnixNano: String(start + BigInt(offsetMs + 25) * 1_000_000n),
    attributes: [{ key: 'http.route', value: { stringValue: `/${name}` } }],
    status: { code: 1 },
  });
  const res = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'backup-test' },
              spans: [
                span('eee19b7ec3c1b174', 'orders', '', 0),
                span('eee19b7ec3c1b175', 'pay', 'eee19b7ec3c1b174', 5),
              ],
            },
          ],
        },
      ],
    }),
  });
  expect(res.status, await res.text()).toBe(200);
}

async function traceOf(url: string) {
  return getJSON(`${url}/api/traces/${TRACE_ID}`);
}

function manifestOf(dir: string): BackupManifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
}

describe('backup and restore with the SQLite state store', () => {
  const sqlite: StateStoreConfig = { driver: 'sqlite', path: join(dataDir, 'state.db') };
  const config = configFile('sqlite');
  let before: unknown[];
  let traceBefore: unknown;
  let stateBefore: Awaited<ReturnType<typeof stateIn>>;
  let written = 0;
  let restored: VigilProcess;

  it('backs up a running Vigil through its admin API', async () => {
    const cfg = loadConfigText(BASE, 'test.yml', {
      dataDir,
      port: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      listenAddress: '127.0.0.1',
    });
    const v: RunningVigil = await startVigil(cfg);
    try {
      const url = `http://127.0.0.1:${v.port}`;
      written = await fill(v.storage.appender(), () =>
        v.storage.deleteSeries([[{ name: '__name__', type: '=', value: 'doomed' }]], -Infinity, Infinity),
      );
      await addState(v.state);
      await sendTrace(url);
      before = await answers(url);
      const trace = await traceOf(url);
      expect(trace.status).toBe(200);
      expect(JSON.stringify(trace.body)).toContain('eee19b7ec3c1b175');
      traceBefore = trace.body;
      const res = await vigilCli(['backup', backupDir, '--url', url]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(new RegExp(`backup written to ${backupDir} in .*: ${written} samples`));
      const m = manifestOf(backupDir);
      expect(m).toMatchObject({ format: 'vigil-backup', version: 1, source: 'online' });
      expect(Object.fromEntries(m.telemetry.tables.map((t) => [t.name, t.rows]))).toEqual({
        samples: written, // the deleted series' sample is not in it
        series: 6,
        metadata: 2,
        settings: 0, // retention 0 is the default: nothing recorded
        exemplars: 0,
        exemplar_series: 0,
        spans: 2,
        alert_events: 0,
        alert_notifications: 0,
      });
      expect(m.telemetry.schema_versions).toMatchObject({
        traces: expect.any(Number),
        exemplars: expect.any(Number),
        alert_history: expect.any(Number),
      });
      expect(m.state).toMatchObject({
        driver: 'sqlite',
        migrations: expect.arrayContaining(['0001_initial']),
      });
      expect(m.state.tables).toEqual(
        expect.arrayContaining([
          { name: 'dashboards', rows: 1 },
          { name: 'kv', rows: 1 },
        ]),
      );
      // Written after the backup: must not come back with the restore.
      const app = v.storage.appender();
      app.append({ __name__: 'after_backup' }, T0, 1);
      await app.commit();
      await v.state.kv.set('ui', 'later', 1);
    } finally {
      await v.close();
    }
    stateBefore = await stateIn(sqlite);
    expect(stateBefore.kv).toHaveLength(2);
    stateBefore.kv = stateBefore.kv.filter((e) => e.key !== 'later');
  }, 60_000);

  it('restores into a wiped data folder with identical answers, dashboards and settings', async () => {
    rmSync(dataDir, { recursive: true, force: true });
    // Without the configuration's retention 0, the default 15 days would expire these old samples: said so.
    const warned = await vigilCli(['restore', backupDir, '--data-dir', join(root, 'default-retention')]);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toContain(
      `warning: ${written} restored samples are older than the configured retention (2w1d)`,
    );
    const res = await vigilCli(['restore', backupDir, '--config', config, '--data-dir', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(
      `restored the backup of ${manifestOf(backupDir).created_at} into ${dataDir}`,
    );
    expect(await stateIn(sqlite)).toEqual(stateBefore);
    restored = await child(config, dataDir);
    expect(await answers(restored.url)).toEqual(before);
    const trace = await traceOf(restored.url);
    expect(trace.status).toBe(200);
    expect(trace.body).toEqual(traceBefore);
  }, 60_000);

  it('refuses a folder in use, a non-empty target, and backing up into a non-empty folder', async () => {
    const inUse = await vigilCli(['restore', backupDir, '--data-dir', dataDir, '--force']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain(
      `the data folder ${dataDir} is in use by process ${restored.pid} (a running Vigil?); stop it before restoring`,
    );

    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'something'), '');
    const notEmpty = await vigilCli(['restore', backupDir, '--data-dir', other]);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toContain(
      `the data folder ${other} is not empty; restore into an empty one, or use --force`,
    );

    const into = await vigilCli(['backup', backupDir, '--url', restored.url]);
    expect(into.code).toBe(1);
    expect(into.stderr).toMatch(/answered 400: .* is not empty; back up into a new or empty folder/);
  }, 60_000);

  it('backs up a stopped Vigil from its data folder', async () => {
    const offline = join(root, 'backup-offline');
    const busy = await vigilCli(['backup', offline, '--data-dir', dataDir]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('back it up through it with --url');
    await stopChild(restored);
    const res = await vigilCli(['backup', offline, '--data-dir', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    const a = manifestOf(backupDir);
    const b = manifestOf(offline);
    expect(b.source).toBe('offline');
    expect(b.telemetry.tables.map((t) => [t.name, t.rows])).toEqual(
      a.telemetry.tables.map((t) => [t.name, t.rows]),
    );
    expect(b.state.tables).toEqual(a.state.tables);
  }, 60_000);
});

const PG = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T | undefined> {
  const c = new pg.Client({ connectionString: PG, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
  } catch {
    return undefined;
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
const pgReachable = (await pgAdmin(async () => true)) === true;
if (!pgReachable) console.warn(`PostgreSQL backup tests skipped: cannot connect to ${PG}`);

describe.skipIf(!pgReachable)('backup and restore with the PostgreSQL state store', () => {
  const suffix = randomBytes(4).toString('hex');
  const dbs = [`vigil_bk_${suffix}_a`, `vigil_bk_${suffix}_b`];
  const urlOf = (db: string) => {
    const u = new URL(PG);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const pgState = (db: string): StateStoreConfig => ({ driver: 'postgres', url: urlOf(db) });
  const pgConfig = (db: string) => configFile(db, `state:\n  driver: postgres\n  url: ${urlOf(db)}\n`);
  afterAll(async () => {
    await pgAdmin(async (c) => {
      for (const db of dbs) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    });
  });

  it('exports the tables as JSON and restores them into another database', async () => {
    await pgAdmin(async (c) => {
      for (const db of dbs) await c.query(`CREATE DATABASE ${db}`);
    });
    const store = await openStateStore(pgState(dbs[0]!));
    await addState(store);
    await store.close();
    const wantState = await stateIn(pgState(dbs[0]!));
    const src = await child(pgConfig(dbs[0]!), join(root, 'pg-src'));
    await fillOverHttp(src.url);
    const want = await answers(src.url);
    const bdir = join(root, 'backup-pg');
    const res = await vigilCli(['backup', bdir, '--url', src.url]);
    expect(res.code, res.stderr).toBe(0);
    await stopChild(src);
    const m = manifestOf(bdir);
    expect(m.state.driver).toBe('postgres');
    expect(m.state.tables.find((t) => t.name === 'dashboards')).toMatchObject({
      rows: 1,
      file: { path: 'state/dashboards.jsonl' },
    });

    const target = join(root, 'pg-target');
    const restoredRun = await vigilCli([
      'restore',
      bdir,
      '--config',
      pgConfig(dbs[1]!),
      '--data-dir',
      target,
    ]);
    expect(restoredRun.code, restoredRun.stderr).toBe(0);
    expect(await stateIn(pgState(dbs[1]!))).toEqual(wantState);
    const again = await vigilCli([
      'restore',
      bdir,
      '--config',
      pgConfig(dbs[1]!),
      '--data-dir',
      join(root, 'x'),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not empty (nor is the PostgreSQL state store)');

    const restored = await child(pgConfig(dbs[1]!), target);
    expect(await answers(restored.url)).toEqual(want);
    await stopChild(restored);
  }, 90_000);

  it('restores a SQLite backup into a PostgreSQL state store', async () => {
    const target = join(root, 'sqlite-to-pg');
    const res = await vigilCli([
      'restore',
      backupDir,
      '--config',
      pgConfig(dbs[1]!),
      '--data-dir',
      target,
      '--force',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const got = await stateIn(pgState(dbs[1]!));
    expect(got.dashboard).toMatchObject({
      uid: 'ops',
      title: 'Ops "main"',
      tags: ['team-a', 'prod'],
      version: 1,
    });
    expect(got.kv.map((e) => [e.key, e.value])).toEqual([['theme', { dark: true, accents: ['blue'] }]]);
  }, 60_000);
});
