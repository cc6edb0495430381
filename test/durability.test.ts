/**
 * A Vigil process killed with SIGKILL while writes are in flight loses nothing it acknowledged: every
 * remote-write request answered 204 before the kill is fully there after a restart.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import snappy from 'snappy';
import { afterAll, describe, expect, it } from 'vitest';
import { WriteRequest } from '../src/ingest/remotewrite/proto.ts';
import { crashWhileWriting, getJSON, queryURL, tempDir } from './helpers.ts';

const dir = tempDir('kill');
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function request(batch: number, series: number, samplesPerSeries: number): Buffer {
  const base = 1_700_000_000_000 + batch * samplesPerSeries * 1000;
  const timeseries = Array.from({ length: series }, (_, s) => ({
    labels: [
      { name: '__name__', value: 'durable_total' },
      { name: 'batch', value: String(batch) },
      { name: 'series', value: String(s) },
    ],
    samples: Array.from({ length: samplesPerSeries }, (_, i) => ({ value: i, timestamp: base + i * 1000 })),
  }));
  const bytes = WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
  return snappy.compressSync(Buffer.from(bytes));
}

describe('durability', () => {
  it('keeps every acknowledged sample across SIGKILL and restart', async () => {
    const SERIES = 20;
    const PER = 50;
    const yaml =
      'self_monitoring:\n  enabled: false\notlp:\n  http_port: 0\n  grpc_port: 0\nstorage:\n  retention: 0\n';
    const {
      port,
      acked,
      started: next,
    } = await crashWhileWriting(dir, yaml, procs, async (port, b) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
        body: new Uint8Array(request(b, SERIES, PER)),
      });
      return res.status === 204;
    });
    const { body } = await getJSON(
      queryURL(`http://127.0.0.1:${port}`, '/api/v1/query', {
        query: 'count by (batch) (count_over_time(durable_total[10y]))',
        time: 1_700_000_000 + next * PER + 100,
      }),
    );
    expect(body.status).toBe('success');
    const counts = new Map<string, number>(
      body.data.result.map((r: any) => [r.metric.batch, Number(r.value[1])]),
    );
    const { body: samples } = await getJSON(
      queryURL(`http://127.0.0.1:${port}`, '/api/v1/query', {
        query: 'sum by (batch) (count_over_time(durable_total[10y]))',
        time: 1_700_000_000 + next * PER + 100,
      }),
    );
    const sampleCounts = new Map<string, number>(
      samples.data.result.map((r: any) => [r.metric.batch, Number(r.value[1])]),
    );
    for (const b of acked) {
      expect(counts.get(String(b)), `series of acknowledged batch ${b}`).toBe(SERIES);
      expect(sampleCounts.get(String(b)), `samples of acknowledged batch ${b}`).toBe(SERIES * PER);
    }
  }, 180_000);
});
