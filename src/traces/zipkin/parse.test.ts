import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../../ingest/http.ts';
import { parseZipkinSpans } from './parse.ts';

const opts = { maxAttributeValueBytes: 16 };
const parse = (x: unknown) => parseZipkinSpans(Buffer.from(JSON.stringify(x)), opts);

const base = {
  traceId: '5b8efff798038103d269b633813fc60c',
  id: '352bff9a74ca9ad2',
  name: 'get /api',
  timestamp: 1_700_000_000_000_001,
  duration: 250,
};

describe('parseZipkinSpans', () => {
  it('maps a full span onto the span model', () => {
    const { spans, errors, received } = parse([
      {
        ...base,
        traceId: '463AC35C9F6413AD',
        parentId: '6b221d5bc9e6496c',
        kind: 'CLIENT',
        localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1', port: 3306 },
        remoteEndpoint: { serviceName: 'backend', ipv6: '2001:db8::c001', port: 8080 },
        annotations: [{ timestamp: 1_700_000_000_000_101, value: 'ws' }],
        tags: { 'http.method': 'GET', error: 'refused', big: 'x'.repeat(40) },
        debug: true,
      },
    ]);
    expect(errors).toEqual([]);
    expect(received).toBe(1);
    expect(spans).toEqual([
      {
        traceId: '0000000000000000463ac35c9f6413ad',
        spanId: '352bff9a74ca9ad2',
        parentSpanId: '6b221d5bc9e6496c',
        traceState: '',
        flags: 1,
        name: 'get /api',
        kind: 'client',
        startNs: 1_700_000_000_000_001_000n,
        endNs: 1_700_000_000_000_251_000n,
        statusCode: 'error',
        statusMessage: 'refused',
        service: 'frontend',
        resourceAttributes: { 'service.name': 'frontend' },
        resourceAttributeTypes: {},
        scopeName: '',
        scopeVersion: '',
        attributes: {
          'net.host.ip': '192.168.99.1',
          'net.host.port': '3306',
          'peer.service': 'backend',
          'net.peer.ip': '2001:db8::c001',
          'net.peer.port': '8080',
          'http.method': 'GET',
          error: 'refused',
          big: 'x'.repeat(16) + '…[truncated]',
        },
        attributeTypes: { 'net.host.port': 'int', 'net.peer.port': 'int' },
        events: [{ timeNs: 1_700_000_000_000_101_000n, name: 'ws', attributes: {} }],
        links: [],
      },
    ]);
  });

  it.each([
    ['SERVER', 'server'],
    ['PRODUCER', 'producer'],
    ['CONSUMER', 'consumer'],
    [undefined, 'internal'],
  ])('maps kind %s to %s', (kind, want) => {
    expect(parse([{ ...base, kind }]).spans[0]!.kind).toBe(want);
  });

  it.each([
    [{ error: '' }, 'error', ''],
    [{ error: 'true' }, 'error', ''],
    [{ 'otel.status_code': 'ERROR', 'otel.status_description': 'boom' }, 'error', 'boom'],
    [{ 'otel.status_code': 'OK' }, 'ok', ''],
    [{}, 'unset', ''],
  ])('derives the status from tags %j', (tags, code, message) => {
    const s = parse([{ ...base, tags }]).spans[0]!;
    expect([s.statusCode, s.statusMessage]).toEqual([code, message]);
  });

  it('defaults service, name and duration, and treats an all-zero parentId as a root', () => {
    const s = parse([{ traceId: base.traceId, id: 'abc', parentId: '0000000000000000', timestamp: 5 }])
      .spans[0]!;
    expect(s).toMatchObject({
      spanId: '0000000000000abc',
      parentSpanId: '',
      service: 'unknown_service',
      name: 'unknown',
      startNs: 5000n,
      endNs: 5000n,
    });
  });

  it('gives a shared server span its own ID, with the client span as parent', () => {
    const client = { ...base, kind: 'CLIENT', parentId: '0000000000000001' };
    const server = { ...base, kind: 'SERVER', parentId: '0000000000000001', shared: true };
    const { spans } = parse([client, server]);
    expect(spans[0]!.spanId).toBe(base.id);
    expect(spans[1]!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spans[1]!.spanId).not.toBe(base.id);
    expect(spans[1]!.parentSpanId).toBe(base.id);
    expect(spans[1]!.attributes['zipkin.shared_span_id']).toBe(base.id);
    // Deterministic: the same span reported twice keeps one ID.
    expect(parse([server]).spans[0]!.spanId).toBe(spans[1]!.spanId);
  });

  it.each([
    [{ ...base, traceId: '123' }, 'spans[0].traceId: "123" is not 16 or 32 hex digits'],
    [
      { ...base, traceId: 'zz8efff798038103d269b633813fc60c' },
      'spans[0].traceId: "zz8efff798038103d269b633813fc60c" is not 16 or 32 hex digits',
    ],
    [{ ...base, traceId: '0'.repeat(32) }, 'spans[0].traceId: is all zeros, which is invalid'],
    [{ ...base, traceId: 7 }, 'spans[0].traceId: expected a hex string, got number 7'],
    [{ ...base, id: '352bff9a74ca9ad2ff' }, 'spans[0].id: "352bff9a74ca9ad2ff" is not 1 to 16 hex digits'],
    [{ ...base, id: undefined }, 'spans[0].id: expected a hex string, got nothing'],
    [{ ...base, parentId: 'xyz' }, 'spans[0].parentId: "xyz" is not 1 to 16 hex digits'],
    [{ ...base, parentId: base.id }, "spans[0].parentId: 352bff9a74ca9ad2 is the span's own id"],
    [
      { ...base, kind: 'LOCAL' },
      'spans[0].kind: expected CLIENT, SERVER, PRODUCER or CONSUMER, got string "LOCAL"',
    ],
    [
      { ...base, timestamp: undefined },
      'spans[0].timestamp: missing; a span needs its start time in microseconds since the epoch',
    ],
    [
      { ...base, timestamp: -1 },
      'spans[0].timestamp: expected a non-negative number of microseconds, got number -1',
    ],
    [
      { ...base, duration: 'long' },
      'spans[0].duration: expected a non-negative number of microseconds, got string "long"',
    ],
    [{ ...base, tags: { a: { b: 1 } } }, 'spans[0].tags["a"]: expected a string, got an object'],
    [{ ...base, tags: [] }, 'spans[0].tags: expected an object of string values, got an array'],
    [{ ...base, annotations: [{ value: 'x' }] }, 'spans[0].annotations[0].timestamp: missing'],
    [
      { ...base, annotations: [{ timestamp: 1, value: 2 }] },
      'spans[0].annotations[0].value: expected a string, got number 2',
    ],
    [
      { ...base, localEndpoint: { serviceName: 5 } },
      'spans[0].localEndpoint.serviceName: expected a string, got number 5',
    ],
    [
      { ...base, remoteEndpoint: { port: 70000 } },
      'spans[0].remoteEndpoint.port: expected a port number 1-65535, got number 70000',
    ],
    ['span', 'spans[0]: expected a span object, got string "span"'],
  ])('refuses a bad span alone: %j', (bad, message) => {
    const { spans, errors } = parse([bad, { ...base, id: '0000000000000009' }]);
    expect(errors).toEqual([message]);
    expect(spans.map((s) => s.spanId)).toEqual(['0000000000000009']);
  });

  it.each([
    ['{"traceId": 1}', /body must be a JSON array of Zipkin v2 spans/],
    ['[{"traceId": ', /body is not valid JSON/],
  ])('refuses a body that is not a JSON array as a whole: %s', (body, message) => {
    expect(() => parseZipkinSpans(Buffer.from(body), opts)).toThrow(MalformedRequestError);
    expect(() => parseZipkinSpans(Buffer.from(body), opts)).toThrow(message);
  });
});
