/**
 * ClickHouse server transport over HTTP (@clickhouse/client), for installations that outgrow one machine.
 * Same SQL as the chDB transport; needs a modern server (DateTime64, codecs, TTL, lightweight DELETE).
 */
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { TransportError, type SqlTransport } from './transport.ts';

export interface ClickHouseServerOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly requestTimeoutMs?: number;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

export class ClickHouseServerTransport implements SqlTransport {
  readonly kind = 'clickhouse' as const;
  private readonly client: ClickHouseClient;

  constructor(opts: ClickHouseServerOptions) {
    this.client = createClient({
      url: opts.url,
      username: opts.username,
      password: opts.password,
      request_timeout: opts.requestTimeoutMs ?? 120_000,
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
  }

  private wrap(what: string, err: unknown): TransportError {
    return new TransportError(`ClickHouse server ${what}: ${(err as Error).message}`, { cause: err });
  }

  async exec(sql: string, settings?: Record<string, string | number>): Promise<void> {
    try {
      await this.client.command({ query: sql, clickhouse_settings: settings as never });
    } catch (err) {
      throw this.wrap('command', err);
    }
  }

  async queryRows<T>(sql: string, signal?: AbortSignal): Promise<T[]> {
    try {
      const rs = await this.client.query({ query: sql, format: 'JSONEachRow', abort_signal: signal });
      return await rs.json<T>();
    } catch (err) {
      throw this.wrap('query', err);
    }
  }

  async queryRowBinary(
    sql: string,
    signal?: AbortSignal,
    settings?: Record<string, string | number>,
  ): Promise<Uint8Array> {
    try {
      const res = await this.client.exec({
        query: `${sql} FORMAT RowBinary`,
        abort_signal: signal,
        clickhouse_settings: settings as never,
      });
      return await collect(res.stream);
    } catch (err) {
      throw this.wrap('query', err);
    }
  }

  private async insertRaw(
    table: string,
    format: string,
    body: Buffer,
    settings?: Record<string, string | number>,
  ) {
    try {
      const res = await this.client.exec({
        query: `INSERT INTO ${table} FORMAT ${format}`,
        values: Readable.from([body]),
        clickhouse_settings: settings as never,
      });
      await collect(res.stream);
    } catch (err) {
      throw this.wrap(`insert into ${table}`, err);
    }
  }

  insertRowBinary(
    table: string,
    _structure: string,
    body: Buffer,
    settings?: Record<string, string | number>,
  ): Promise<void> {
    return this.insertRaw(table, 'RowBinary', body, settings);
  }

  insertJSON(table: string, body: Buffer): Promise<void> {
    return this.insertRaw(table, 'JSONEachRow', body);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
