import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, StateStoreError } from './errors.ts';
import { openStateStore } from './open.ts';
import { runStateStoreSuite } from './state.cases.ts';

const url = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL tests skipped: cannot connect to ${url} (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
if (unreachable) console.warn(unreachable);

// Each run gets its own schema, dropped afterwards, so runs never see each other's rows.
const schema = `vigil_test_${randomBytes(6).toString('hex')}`;

async function dropSchema(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${name}" cascade`);
  } finally {
    await client.end();
  }
}

describe.skipIf(unreachable !== undefined)('PostgreSQL', () => {
  runStateStoreSuite(
    'postgres',
    () => openStateStore({ driver: 'postgres', url, schema }),
    () => dropSchema(schema),
  );

  it('keeps its tables in the configured schema', async () => {
    const own = `${schema}_own`;
    const store = await openStateStore({ driver: 'postgres', url, schema: own });
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const res = await client.query<{ table_name: string }>(
        'select table_name from information_schema.tables where table_schema = $1 order by table_name',
        [own],
      );
      expect(res.rows.map((r) => r.table_name)).toEqual([
        'dashboards',
        'escalation_policies',
        'incident_events',
        'incident_pages',
        'incidents',
        'kv',
        'kysely_migration',
        'kysely_migration_lock',
        'oncall_schedules',
        'oncall_teams',
        'oncall_users',
      ]);
    } finally {
      await client.end();
      await dropSchema(own);
    }
  });

  it('rejects an unsafe schema name', async () => {
    await expect(
      openStateStore({ driver: 'postgres', url, schema: 'x"; drop table y; --' }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('explains an unreachable server without leaking the password', async () => {
    const err = await openStateStore({
      driver: 'postgres',
      url: 'postgres://vigil:s3cret@127.0.0.1:1/none',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(
      /PostgreSQL database postgres:\/\/vigil:\*\*\*@127\.0\.0\.1:1\/none/,
    );
    expect((err as Error).message).not.toContain('s3cret');
  });
});
