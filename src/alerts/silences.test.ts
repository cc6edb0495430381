import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/interface.ts';
import {
  kvSilenceStorage,
  memorySilenceStorage,
  silenceState,
  Silences,
  SilenceNotFoundError,
  SilenceValidationError,
  type SilenceInput,
  type SilenceStorage,
} from './silences.ts';

const T = Date.parse('2026-05-01T12:00:00Z');
const H = 3_600_000;

const input = (over: Partial<SilenceInput> = {}): SilenceInput => ({
  matchers: [{ name: 'job', value: 'api', isRegex: false, isEqual: true }],
  startsAt: T,
  endsAt: T + H,
  createdBy: 'ops@example.org',
  comment: 'deploy',
  ...over,
});

const pgUrl = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
async function pgReachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return undefined;
  } catch (err) {
    return `cannot connect to ${pgUrl}: ${(err as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}
const pgSkip = await pgReachable();
const schema = `vigil_silences_${randomBytes(5).toString('hex')}`;
const sqlitePath = join(tmpdir(), `vigil-silences-${randomBytes(5).toString('hex')}.db`);

afterAll(async () => {
  rmSync(sqlitePath, { force: true });
  rmSync(sqlitePath + '-wal', { force: true });
  rmSync(sqlitePath + '-shm', { force: true });
  if (!pgSkip) {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.end();
  }
});

describe('silence rules', () => {
  it('computes states and matches regex and negative matchers', async () => {
    const s = await Silences.open(memorySilenceStorage());
    const id = await s.set(
      input({
        matchers: [
          { name: 'job', value: 'api|web', isRegex: true, isEqual: true },
          { name: 'env', value: 'dev', isRegex: false, isEqual: false },
          { name: 'zone', value: 'eu-.*', isRegex: true, isEqual: false },
        ],
      }),
      T,
    );
    expect(s.mutedBy({ job: 'web', env: 'prod', zone: 'us-1' }, T)).toEqual([id]);
    expect(s.mutedBy({ job: 'web', env: 'dev' }, T)).toEqual([]);
    expect(s.mutedBy({ job: 'web', zone: 'eu-2' }, T)).toEqual([]);
    expect(s.mutedBy({ job: 'db' }, T)).toEqual([]);
    expect(silenceState(s.get(id)!, T - 1)).toBe('pending');
    expect(silenceState(s.get(id)!, T)).toBe('active');
    expect(silenceState(s.get(id)!, T + H)).toBe('expired');
  });

  it('moves a start in the past to now, rejects bad input', async () => {
    const s = await Silences.open(memorySilenceStorage());
    const id = await s.set(input({ startsAt: T - H }), T);
    expect(s.get(id)!.startsAt).toBe(T);
    await expect(s.set(input({ matchers: [] }), T)).rejects.toThrow('at least one matcher required');
    await expect(s.set(input({ endsAt: T - 1 }), T)).rejects.toThrow('start time must be before end time');
    await expect(
      s.set(input({ matchers: [{ name: 'job', value: '.*', isRegex: true, isEqual: true }] }), T),
    ).rejects.toThrow('at least one matcher must not match the empty string');
    await expect(
      s.set(input({ matchers: [{ name: 'job', value: '(', isRegex: true, isEqual: true }] }), T),
    ).rejects.toBeInstanceOf(SilenceValidationError);
    await expect(s.set(input({ id: '00000000-0000-4000-8000-000000000000' }), T)).rejects.toBeInstanceOf(
      SilenceNotFoundError,
    );
  });

  it('updates in place when allowed, otherwise expires the old silence and creates a new one', async () => {
    const s = await Silences.open(memorySilenceStorage());
    const id = await s.set(input(), T);
    // Extending an active silence keeps its ID.
    expect(await s.set(input({ id, endsAt: T + 2 * H }), T + 1000)).toBe(id);
    expect(s.get(id)!.endsAt).toBe(T + 2 * H);
    // Changing the matchers replaces it.
    const id2 = await s.set(
      input({ id, matchers: [{ name: 'job', value: 'web', isRegex: false, isEqual: true }] }),
      T + 2000,
    );
    expect(id2).not.toBe(id);
    expect(silenceState(s.get(id)!, T + 2000)).toBe('expired');
    expect(silenceState(s.get(id2)!, T + 2000)).toBe('active');
  });

  it('expires active and pending silences; expiring twice is an error', async () => {
    const s = await Silences.open(memorySilenceStorage());
    const active = await s.set(input(), T);
    const pending = await s.set(input({ startsAt: T + H, endsAt: T + 2 * H }), T);
    await s.expire(active, T + 10);
    await s.expire(pending, T + 10);
    expect(s.get(active)!.endsAt).toBe(T + 10);
    expect(s.get(pending)).toMatchObject({ startsAt: T + 10, endsAt: T + 10 });
    await expect(s.expire(active, T + 20)).rejects.toThrow('already expired');
    expect(await s.gc(T + 10 + 120 * H)).toBe(2);
    expect(s.list()).toEqual([]);
  });
});

async function persistenceCase(open: () => Promise<StateStore>) {
  const store = await open();
  let storage: SilenceStorage = kvSilenceStorage(store.kv);
  const s = await Silences.open(storage);
  const id = await s.set(
    input({
      matchers: [
        { name: 'job', value: 'a.*', isRegex: true, isEqual: false },
        { name: 'x', value: '1', isRegex: false, isEqual: true },
      ],
    }),
    T,
  );
  const gone = await s.set(input(), T);
  await s.expire(gone, T + 5);
  await store.close();

  const again = await open();
  storage = kvSilenceStorage(again.kv);
  const s2 = await Silences.open(storage);
  expect(s2.get(id)).toEqual(s.get(id));
  expect(silenceState(s2.get(gone)!, T + 10)).toBe('expired');
  expect(s2.mutedBy({ job: 'b', x: '1' }, T + 10)).toEqual([id]);
  await again.close();
}

describe('silences survive a restart', () => {
  it('SQLite', async () => {
    await persistenceCase(() => openStateStore({ driver: 'sqlite', path: sqlitePath }));
  });
  it.skipIf(pgSkip !== undefined)(`PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, async () => {
    await persistenceCase(() => openStateStore({ driver: 'postgres', url: pgUrl, schema }));
  });
});
