import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/config.ts';
import { STALE_NAN, isStaleNaN } from '../model/labels.ts';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import { ClickHouseStorage } from '../store/clickhouse/storage.ts';
import { openStateStore } from '../state/open.ts';
import { ClickHouseSpanStore } from '../traces/store.clickhouse.ts';
import { span } from '../traces/store.cases.ts';
import { createBackup, restoreBackup, verifyBackup, type BackupSource } from './backup.ts';
import { backupApi } from './handler.ts';
import { BackupError, parseManifest, type BackupManifest } from './manifest.ts';

// chDB: one data folder per process; the restore goes into a second database of the same folder.
const root = mkdtempSync(join(tmpdir(), 'vigil-backup-unit-'));
const chdb = new ChdbTransport(join(root, 'clickhouse'));
let storage: ClickHouseStorage;
let source: BackupSource;
const T0 = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  storage = await ClickHouseStorage.open(chdb, { database: 'src' });
  const app = storage.appender();
  for (let i = 0; i < 1000; i++) app.append({ __name__: 'm', i: String(i % 10) }, T0 + i * 1000, i / 3);
  app.append({ __name__: 'm', i: '0' }, T0 + 1_000_000, STALE_NAN);
  app.appendMetadata('m', { type: 'gauge', help: 'Help with "quotes".', unit: '' });
  await app.commit();
  const state = await openStateStore({ driver: 'sqlite', path: join(root, 'state.db') });
  await state.kv.set('ns', 'k', { a: [1, 2] });
  await state.close();
  source = {
    sql: chdb,
    database: 'src',
    state: { driver: 'sqlite', path: join(root, 'state.db') },
    online: true,
    flushed: () => storage.flushed(),
  };
});
afterAll(async () => {
  await storage.close();
  await chdb.close();
  rmSync(root, { recursive: true, force: true });
});

describe('createBackup and restoreBackup', () => {
  const dir = join(root, 'b1');
  let manifest: BackupManifest;

  it('writes every table with row counts and checksums', async () => {
    manifest = await createBackup(source, dir);
    expect(await verifyBackup(dir)).toEqual(manifest);
    expect(manifest.telemetry.tables.map((t) => [t.name, t.rows, t.file.path])).toEqual([
      ['samples', 1001, 'clickhouse/samples.native.zst'],
      ['series', 10, 'clickhouse/series.native.zst'],
      ['metadata', 1, 'clickhouse/metadata.native.zst'],
      ['settings', 0, 'clickhouse/settings.native.zst'],
    ]);
    expect(manifest.telemetry.tables[0]!.columns).toEqual([
      { name: 'series_id', type: 'UInt64' },
      { name: 'ts', type: 'Int64' },
      { name: 'value', type: 'Float64' },
      { name: 'flags', type: 'UInt8' },
      { name: 'reset_prev', type: 'Float64' },
    ]);
    expect(manifest.state).toMatchObject({
      driver: 'sqlite',
      database: { path: 'state/state.db' },
      tables: expect.arrayContaining([{ name: 'kv', rows: 1 }]),
    });
  });

  it('refuses a folder that is not empty, and removes a failed backup', async () => {
    await expect(createBackup(source, dir)).rejects.toThrow(
      /is not empty; back up into a new or empty folder/,
    );
    const failing = join(root, 'b-failing');
    await expect(
      createBackup({ ...source, state: { driver: 'sqlite', path: join(root, 'missing.db') } }, failing),
    ).rejects.toThrow(/there is no state store at/);
    expect(() => readFileSync(join(failing, 'manifest.json'))).toThrow();
  });

  it('restores samples bit for bit, metadata and state into an empty target', async () => {
    const target = join(root, 'target');
    const report = await restoreBackup(dir, {
      dataDir: target,
      database: 'copy',
      state: { driver: 'sqlite', path: join(target, 'state.db') },
      retentionMs: 0,
      openSql: () => new ChdbTransport(join(root, 'clickhouse')),
    });
    expect(report).toMatchObject({ samples: 1001, olderThanRetention: 0 });
    const copy = await ClickHouseStorage.open(chdb, { database: 'copy' });
    const all = [{ name: '__name__', type: '=' as const, value: 'm' }];
    const want = await storage.querier(0, T0 * 2).select(all);
    const got = await copy.querier(0, T0 * 2).select(all);
    expect(got.map((s) => [s.labels, [...s.t]])).toEqual(want.map((s) => [s.labels, [...s.t]]));
    expect(got.map((s) => [...s.v].slice(0, -1))).toEqual(want.map((s) => [...s.v].slice(0, -1)));
    expect(isStaleNaN(got[0]!.v.at(-1)!)).toBe(true);
    expect(await copy.metadata()).toEqual(await storage.metadata());
    await copy.close();
    const state = await openStateStore({ driver: 'sqlite', path: join(target, 'state.db') });
    expect(await state.kv.get('ns', 'k')).toEqual({ a: [1, 2] });
    await state.close();
  });

  it('checks files, versions and migrations before changing anything', async () => {
    const target = () => ({
      dataDir: join(root, 'never'),
      database: 'never',
      state: { driver: 'sqlite' as const, path: join(root, 'never', 'state.db') },
      retentionMs: 0,
      openSql: () => {
        throw new Error('must not be opened');
      },
    });
    const edit = (name: string, change: (m: BackupManifest) => void) => {
      const d = join(root, name);
      rmSync(d, { recursive: true, force: true });
      cpSync(dir, d, { recursive: true });
      const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as BackupManifest;
      change(m);
      writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
      return d;
    };
    await expect(
      restoreBackup(
        edit('b-bytes', (m) => (m.telemetry.tables[0]!.file.bytes += 1)),
        target(),
      ),
    ).rejects.toThrow(/is damaged: clickhouse\/samples.native.zst has \d+ bytes, the manifest says \d+/);
    const flipped = edit('b-flipped', () => {});
    const f = join(flipped, 'clickhouse', 'series.native.zst');
    const bytes = readFileSync(f);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(f, bytes);
    await expect(restoreBackup(flipped, target())).rejects.toThrow(
      'is damaged: clickhouse/series.native.zst does not match its SHA-256 in the manifest (corrupted?)',
    );
    await expect(restoreBackup(join(root, 'clickhouse'), target())).rejects.toThrow(
      /has no manifest.json: not a Vigil backup, or an unfinished one/,
    );
    await expect(
      restoreBackup(
        edit('b-newer', (m) => (m.telemetry.schema_version = 99)),
        {
          ...target(),
          openSql: () => new ChdbTransport(join(root, 'clickhouse')),
        },
      ),
    ).rejects.toThrow(/telemetry schema is version 99, newer than this Vigil's \d+/);
  });
});

describe('spans in backups', () => {
  const traceId = '3df7651916cd43dd8448eb211c80319f';
  const restoreInto = (dir: string, database: string) =>
    restoreBackup(dir, {
      dataDir: join(root, `target-${database}`),
      database,
      state: { driver: 'sqlite', path: join(root, `target-${database}`, 'state.db') },
      retentionMs: 0,
      openSql: () => new ChdbTransport(join(root, 'clickhouse')),
    });
  const count = async (db: string, table: string) =>
    Number((await chdb.queryRows<{ n: string }>(`SELECT count() AS n FROM ${db}.${table}`))[0]!.n);

  it('restores a backup made before spans were backed up, with no spans', async () => {
    const dir = join(root, 'b-legacy');
    cpSync(join(root, 'b1'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
    delete (m.telemetry as { schema_versions?: unknown }).schema_versions;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const report = await restoreInto(dir, 'legacy');
    expect(report.samples).toBe(1001);
    expect(await count('legacy', 'spans')).toBe(0);
    expect(await count('legacy', 'exemplars')).toBe(0);
    expect(await count('legacy', 'alert_events')).toBe(0);
  });

  it('exports spans and restores them with their trace id lookup', async () => {
    const spans = await ClickHouseSpanStore.open(chdb, { database: 'src', retentionMs: 0 });
    const rows = [
      span({ traceId, spanId: 'a1ad6b7169203331', events: [] }),
      span({
        traceId,
        spanId: 'a2ad6b7169203331',
        parentSpanId: 'a1ad6b7169203331',
        name: 'db',
        kind: 'client',
      }),
    ];
    await spans.write(rows);
    const want = await spans.trace(traceId);
    await spans.close();
    const dir = join(root, 'b-spans');
    const m = await createBackup(source, dir);
    expect(m.telemetry.tables.find((t) => t.name === 'spans')?.rows).toBe(2);
    expect(m.telemetry.tables.map((t) => t.name)).not.toContain('trace_id_ts');
    expect(m.telemetry.schema_versions).toMatchObject({ traces: expect.any(Number) });
    await restoreInto(dir, 'withspans');
    expect(await count('withspans', 'trace_id_ts')).toBe(await count('src', 'trace_id_ts'));
    const copy = await ClickHouseSpanStore.open(chdb, { database: 'withspans', retentionMs: 0 });
    expect(await copy.trace(traceId)).toEqual(want);
    await copy.close();

    const newer = join(root, 'b-spans-newer');
    cpSync(dir, newer, { recursive: true });
    const edited = JSON.parse(readFileSync(join(newer, 'manifest.json'), 'utf8')) as BackupManifest;
    edited.telemetry.schema_versions = { traces: 99 };
    writeFileSync(join(newer, 'manifest.json'), JSON.stringify(edited));
    await expect(restoreInto(newer, 'never2')).rejects.toThrow(
      /the backup's traces schema is version 99, newer than this Vigil's \d+/,
    );
  });
});

describe('parseManifest', () => {
  const good = (): Record<string, unknown> =>
    JSON.parse(readFileSync(join(root, 'b1', 'manifest.json'), 'utf8'));
  it.each<[string, (m: any) => void, RegExp]>([
    ['not a manifest', (m) => (m.format = 'tar'), /is not a Vigil backup manifest \(format is "tar"\)/],
    ['a newer format', (m) => (m.version = 2), /is backup format version 2; this Vigil reads version 1/],
    [
      'a path outside the folder',
      (m) => (m.telemetry.tables[0].file.path = '../etc/passwd'),
      /file.path: must/,
    ],
    [
      'an absolute path',
      (m) => (m.state.database.path = '/etc/passwd'),
      /state.database.path: must be a relative path/,
    ],
    [
      'a bad checksum field',
      (m) => (m.telemetry.tables[1].file.sha256 = 'xyz'),
      /telemetry.tables.1.file.sha256/,
    ],
    [
      'a table name that is no identifier',
      (m) => (m.telemetry.tables[0].name = 'a; DROP'),
      /must be an SQL identifier/,
    ],
  ])('refuses %s', (_what, change, message) => {
    const m = good();
    change(m);
    expect(() => parseManifest(JSON.stringify(m), 'm.json')).toThrow(message);
    expect(() => parseManifest(JSON.stringify(m), 'm.json')).toThrow(BackupError);
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseManifest('{', 'm.json')).toThrow(/m.json is not valid JSON/);
  });
});

describe('POST /api/vigil/v1/admin/backup', () => {
  const cfg = loadConfigText('', 'test.yml', { dataDir: root });
  const app = Fastify();
  beforeAll(async () => {
    await app.register(backupApi({ storage, config: cfg }));
  });
  afterAll(() => app.close());
  const post = (body: unknown) =>
    app.inject({ method: 'POST', url: '/api/vigil/v1/admin/backup', payload: body as object });

  it('backs up into an absolute folder and answers with the manifest', async () => {
    const res = await post({ dir: join(root, 'api') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      dir: join(root, 'api'),
      manifest: { format: 'vigil-backup', source: 'online' },
    });
  });

  it('answers 400 for a missing or relative folder and 409 while a backup runs', async () => {
    expect((await post({})).json()).toEqual({
      error: 'send {"dir": "/absolute/path"}: the folder on the Vigil host to back up into',
    });
    expect((await post({ dir: 'relative' })).statusCode).toBe(400);
    const [a, b] = await Promise.all([post({ dir: join(root, 'api2') }), post({ dir: join(root, 'api3') })]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect((a.statusCode === 409 ? a : b).json().error).toMatch(
      /a backup into .* is running; try again when it is done/,
    );
    const again = await post({ dir: join(root, 'api') });
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toMatch(/is not empty/);
  });
});
