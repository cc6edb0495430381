/**
 * chDB transport: ClickHouse running inside this process, data in a local folder.
 * chDB allows one data folder per process, so sessions are shared per path.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Session } from 'chdb';
import { TransportError, sqlString, type SqlTransport } from './transport.ts';

let spoolSeq = 0;
const sessions = new Map<string, { session: Session; refs: number }>();

function settingsClause(settings?: Record<string, string | number>): string {
  if (!settings) return '';
  const parts = Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`);
  return parts.length ? ` SETTINGS ${parts.join(', ')}` : '';
}

export class ChdbTransport implements SqlTransport {
  readonly kind = 'chdb' as const;
  private closed = false;
  private readonly path: string;
  private readonly session: Session;
  /** Folder for binary insert payloads; emptied at open (leftovers of a killed process were never acknowledged). */
  private readonly spool: string;

  constructor(dataDir: string) {
    this.path = resolve(dataDir);
    mkdirSync(this.path, { recursive: true });
    this.spool = join(this.path, 'vigil-spool');
    const open = sessions.get(this.path);
    if (open) {
      open.refs++;
      this.session = open.session;
    } else {
      if (sessions.size > 0)
        throw new TransportError(
          `chDB supports one data folder per process; ${[...sessions.keys()][0]} is already open, cannot open ${this.path}`,
        );
      rmSync(this.spool, { recursive: true, force: true });
      mkdirSync(this.spool, { recursive: true });
      this.session = new Session(this.path);
      sessions.set(this.path, { session: this.session, refs: 1 });
    }
  }

  private async run(sql: string, format: string, signal?: AbortSignal) {
    if (this.closed) throw new TransportError('chDB transport is closed');
    try {
      return await this.session.queryAsync(sql, { format, signal });
    } catch (err) {
      throw new TransportError(`chDB: ${(err as Error).message}`, { cause: err });
    }
  }

  async exec(sql: string, settings?: Record<string, string | number>): Promise<void> {
    await this.run(sql + settingsClause(settings), 'TSV');
  }

  async queryRows<T>(sql: string, signal?: AbortSignal): Promise<T[]> {
    const text = (await this.run(sql, 'JSONEachRow', signal)).text();
    if (!text) return [];
    const out: T[] = [];
    for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as T);
    return out;
  }

  async queryRowBinary(
    sql: string,
    signal?: AbortSignal,
    settings?: Record<string, string | number>,
  ): Promise<Uint8Array> {
    return (await this.run(sql + settingsClause(settings), 'RowBinary', signal)).bytes();
  }

  /**
   * chDB's insert call takes text formats only, so binary rows go through a file in the data folder that
   * `INSERT ... SELECT FROM file()` reads; the file is removed once the insert has returned.
   */
  async insertRowBinary(
    table: string,
    structure: string,
    body: Buffer,
    settings?: Record<string, string | number>,
  ): Promise<void> {
    if (this.closed) throw new TransportError('chDB transport is closed');
    const file = join(this.spool, `${process.pid}-${++spoolSeq}.bin`);
    try {
      await writeFile(file, body);
      await this.session.queryAsync(
        `INSERT INTO ${table} SELECT * FROM file(${sqlString(file)}, 'RowBinary', ${sqlString(structure)})` +
          settingsClause(settings),
        { format: 'TSV' },
      );
    } catch (err) {
      throw new TransportError(`chDB insert into ${table}: ${(err as Error).message}`, { cause: err });
    } finally {
      await rm(file, { force: true });
    }
  }

  async insertJSON(table: string, body: Buffer): Promise<void> {
    if (this.closed) throw new TransportError('chDB transport is closed');
    try {
      await this.session.insert({ table, values: body, format: 'JSONEachRow' });
    } catch (err) {
      throw new TransportError(`chDB insert into ${table}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = sessions.get(this.path);
    if (open && --open.refs === 0) {
      sessions.delete(this.path);
      open.session.close();
    }
  }
}
