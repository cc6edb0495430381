/**
 * A Vigil process killed with SIGKILL while span exports are in flight loses no span it acknowledged: with the
 * span write-ahead log (the default) a 200 comes before the spans are in ClickHouse, so after a restart the
 * log is replayed and every span answered 200 before the kill is there.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ExportTraceServiceRequest } from '../src/traces/otlp/proto.ts';
import { crashWhileWriting, getJSON, tempDir } from './helpers.ts';

const dir = tempDir('kill-traces');
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const SPANS = 50;
const traceId = (batch: number) => (0xabc00000 + batch).toString(16).padStart(32, '0');

/** One trace of SPANS spans per request, its ID derived from the request number. */
function request(batch: number): Uint8Array {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: SPANS }, (_, i) => ({
    traceId: Buffer.from(traceId(batch), 'hex'),
    spanId: Buffer.from((i + 1).toString(16).padStart(16, '0'), 'hex'),
    name: `step ${i}`,
    kind: 2,
    startTimeUnixNano: (t0 + BigInt(i) * 1000n).toString(),
    endTimeUnixNano: (t0 + BigInt(i) * 1000n + 500n).toString(),
    attributes: [{ key: 'batch', value: { intValue: batch } }],
  }));
  const msg = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'durable' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  };
  return ExportTraceServiceRequest.encode(msg as never).finish();
}

describe('span durability', () => {
  it('keeps every acknowledged span across SIGKILL and restart', async () => {
    const yaml =
      'self_monitoring:\n  enabled: false\notlp:\n  http_port: 0\n  grpc_port: 0\ntraces:\n  retention: 0\n';
    const { port, acked } = await crashWhileWriting(dir, yaml, procs, async (port, b) => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: request(b) as Uint8Array<ArrayBuffer>,
      });
      await res.arrayBuffer();
      return res.status === 200;
    });
    for (const b of acked) {
      const { body } = await getJSON(`http://127.0.0.1:${port}/api/traces/${traceId(b)}`);
      expect(body.data?.[0]?.spans?.length, `spans of acknowledged trace ${b}`).toBe(SPANS);
    }
  }, 180_000);
});
