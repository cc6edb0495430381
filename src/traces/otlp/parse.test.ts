import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../../ingest/http.ts';
import { ExportTraceServiceRequest } from './proto.ts';
import {
  decodeOtlpTracesRequest,
  parseOtlpTraces,
  readOtlpTracesProtobuf,
  translateOtlpTraces,
  TRUNCATED_MARKER,
  type OtlpEncoding,
} from './parse.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';
const OPTS = { maxAttributeValueBytes: 64 };

/** One request in OTLP/JSON form (hex IDs); `encode` turns it into either encoding's bytes. */
function request(spans: Record<string, unknown>[], resourceAttrs: unknown[] = svc('checkout')) {
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttrs },
        scopeSpans: [{ scope: { name: 'lib', version: '1.2.3' }, spans }],
      },
    ],
  };
}

function svc(name: string) {
  return [{ key: 'service.name', value: { stringValue: name } }];
}

function span(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE,
    spanId: SPAN,
    parentSpanId: PARENT,
    name: 'GET /cart',
    kind: 2,
    startTimeUnixNano: '1700000000123456789',
    endTimeUnixNano: '1700000000223456789',
    ...over,
  };
}

/** Protobuf bytes for a JSON-shaped request: hex IDs become bytes, as an SDK would send them. */
function toProto(req: unknown): Uint8Array {
  const conv = (x: unknown, key?: string): unknown => {
    if (Array.isArray(x)) return x.map((v) => conv(v));
    if (x && typeof x === 'object')
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, conv(v, k)]));
    if (typeof x === 'string' && key && /^(traceId|spanId|parentSpanId)$/.test(key))
      return Buffer.from(x, 'hex');
    return x;
  };
  const m = ExportTraceServiceRequest.fromObject(conv(req) as Record<string, unknown>);
  return ExportTraceServiceRequest.encode(m).finish();
}

function encode(req: unknown, enc: OtlpEncoding): Uint8Array {
  return enc === 'json' ? Buffer.from(JSON.stringify(req)) : toProto(req);
}

describe.each(['json', 'protobuf'] as const)('parseOtlpTraces (%s)', (enc) => {
  it('turns a span into a row with every field', () => {
    const body = encode(
      request(
        [
          span({
            traceState: 'vendor=x',
            flags: 0x301,
            status: { code: 2, message: 'boom' },
            attributes: [
              { key: 'http.method', value: { stringValue: 'GET' } },
              { key: 'http.status_code', value: { intValue: '503' } },
              { key: 'big', value: { intValue: '9007199254740993' } },
              { key: 'ratio', value: { doubleValue: 0.25 } },
              { key: 'retry', value: { boolValue: true } },
              {
                key: 'tags',
                value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } },
              },
            ],
            events: [
              {
                timeUnixNano: '1700000000150000000',
                name: 'exception',
                attributes: [{ key: 'exception.message', value: { stringValue: 'no stock' } }],
              },
            ],
            links: [{ traceId: TRACE.replace('5b', '6c'), spanId: PARENT, traceState: 'a=b' }],
          }),
        ],
        [...svc('checkout'), { key: 'host.name', value: { stringValue: 'h1' } }],
      ),
      enc,
    );
    const got = parseOtlpTraces(body, enc, OPTS);
    expect(got.errors).toEqual([]);
    expect(got.rejectedSpans).toBe(0);
    expect(got.spans).toEqual([
      {
        traceId: TRACE,
        spanId: SPAN,
        parentSpanId: PARENT,
        traceState: 'vendor=x',
        flags: 1,
        name: 'GET /cart',
        kind: 'server',
        startNs: 1700000000123456789n,
        endNs: 1700000000223456789n,
        statusCode: 'error',
        statusMessage: 'boom',
        service: 'checkout',
        resourceAttributes: { 'service.name': 'checkout', 'host.name': 'h1' },
        resourceAttributeTypes: {},
        scopeName: 'lib',
        scopeVersion: '1.2.3',
        attributes: {
          'http.method': 'GET',
          'http.status_code': '503',
          big: '9007199254740993',
          ratio: '0.25',
          retry: 'true',
          tags: '["a",2]',
        },
        attributeTypes: {
          'http.status_code': 'int',
          big: 'int',
          ratio: 'double',
          retry: 'bool',
          tags: 'array',
        },
        events: [
          {
            timeNs: 1700000000150000000n,
            name: 'exception',
            attributes: { 'exception.message': 'no stock' },
          },
        ],
        links: [{ traceId: TRACE.replace('5b', '6c'), spanId: PARENT, traceState: 'a=b', attributes: {} }],
      },
    ]);
  });

  it('treats a missing or all-zero parent as a root span and a missing service as unknown_service', () => {
    const body = encode(
      request(
        [
          span({ parentSpanId: undefined }),
          span({ spanId: 'eee19b7ec3c1b175', parentSpanId: '0000000000000000' }),
        ],
        [],
      ),
      enc,
    );
    const got = parseOtlpTraces(body, enc, OPTS);
    expect(got.errors).toEqual([]);
    expect(got.spans.map((s) => [s.parentSpanId, s.service])).toEqual([
      ['', 'unknown_service'],
      ['', 'unknown_service'],
    ]);
  });

  it('refuses bad spans one by one and says what and where', () => {
    const body = encode(
      request([
        span(),
        span({ traceId: '00000000000000000000000000000000' }),
        span({ spanId: 'abcd' }),
        span({ endTimeUnixNano: '1700000000000000000' }),
        span({ traceId: undefined }),
        span({ name: '' }),
        span({ spanId: 'eee19b7ec3c1b176' }),
      ]),
      enc,
    );
    const got = parseOtlpTraces(body, enc, OPTS);
    expect(got.spans.map((s) => s.spanId)).toEqual([SPAN, 'eee19b7ec3c1b176']);
    expect(got.rejectedSpans).toBe(5);
    const at = 'resourceSpans[0].scopeSpans[0].spans';
    expect(got.errors).toEqual([
      `${at}[1]: traceId is all zeros, which is invalid`,
      `${at}[2]: spanId abcd has 2 bytes; expected 8`,
      `${at}[3]: span "GET /cart" ends before it starts (endTimeUnixNano 1700000000000000000 < startTimeUnixNano 1700000000123456789)`,
      `${at}[4]: traceId is missing`,
      `${at}[5]: span ${SPAN} has an empty name; every span needs one`,
    ]);
  });

  it('cuts long attribute values and marks them', () => {
    const long = 'é'.repeat(100); // 200 UTF-8 bytes
    const body = encode(request([span({ attributes: [{ key: 'sql', value: { stringValue: long } }] })]), enc);
    const v = parseOtlpTraces(body, enc, OPTS).spans[0]!.attributes.sql!;
    expect(v).toBe('é'.repeat(32) + TRUNCATED_MARKER);
  });
});

describe('parseOtlpTraces input errors', () => {
  it('accepts enum names and numbers as JSON timestamps', () => {
    const body = Buffer.from(
      JSON.stringify(
        request([
          span({
            kind: 'SPAN_KIND_CLIENT',
            startTimeUnixNano: 1000,
            endTimeUnixNano: 2000,
            status: { code: 'STATUS_CODE_OK' },
          }),
        ]),
      ),
    );
    const s = parseOtlpTraces(body, 'json', OPTS).spans[0]!;
    expect([s.kind, s.statusCode, s.startNs, s.endNs]).toEqual(['client', 'ok', 1000n, 2000n]);
  });

  it('refuses a span whose JSON ID is not hex', () => {
    const got = parseOtlpTraces(
      Buffer.from(JSON.stringify(request([span({ traceId: 'W4781YSb' })]))),
      'json',
      OPTS,
    );
    expect(got.errors).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[0]: traceId "W4781YSb" is not hex (OTLP/JSON IDs are hex)',
    ]);
  });

  it.each([
    ['not JSON', '{', /OTLP JSON body is not valid JSON/],
    ['not an object', '[]', /must be an ExportTraceServiceRequest object/],
    ['wrong field type', '{"resourceSpans": {}}', /resourceSpans: expected an array, got an object/],
    [
      'wrong timestamp',
      JSON.stringify(request([span({ startTimeUnixNano: 'yesterday' })])),
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.startTimeUnixNano: expected nanoseconds/,
    ],
  ])('refuses the whole request when the body is malformed: %s', (_name, text, re) => {
    expect(() => parseOtlpTraces(Buffer.from(text), 'json', OPTS)).toThrow(MalformedRequestError);
    expect(() => parseOtlpTraces(Buffer.from(text), 'json', OPTS)).toThrow(re);
  });

  it('refuses undecodable protobuf', () => {
    expect(() => parseOtlpTraces(Buffer.from([0x0a, 0xff, 0xff]), 'protobuf', OPTS)).toThrow(
      /not a valid ExportTraceServiceRequest/,
    );
  });
});

/** What the generic path (protobufjs message, then the shared walker) makes of a body, or its error. */
function generic(body: Uint8Array): unknown {
  try {
    return translateOtlpTraces(decodeOtlpTracesRequest(body, 'protobuf'), 'protobuf', OPTS);
  } catch (err) {
    return { error: (err as Error).name };
  }
}

function direct(body: Uint8Array): unknown {
  try {
    return readOtlpTracesProtobuf(body, OPTS);
  } catch (err) {
    return { error: (err as Error).name };
  }
}

const kv = (key: string, value: Record<string, unknown>) => ({ key, value });

describe('readOtlpTracesProtobuf (straight from bytes) agrees with the generic protobuf path', () => {
  const cases: [string, unknown][] = [
    [
      'every attribute type, events, links, status, flags',
      request(
        [
          span({
            traceState: 'a=1',
            flags: 0x301,
            status: { code: 2, message: 'boom' },
            attributes: [
              kv('s', { stringValue: 'x' }),
              kv('i', { intValue: '-9007199254740993' }),
              kv('d', { doubleValue: 0.1 }),
              kv('b', { boolValue: true }),
              kv('y', { bytesValue: Buffer.from([1, 2, 255]) }),
              kv('a', { arrayValue: { values: [{ intValue: 1 }, { stringValue: 'z' }] } }),
              kv('k', { kvlistValue: { values: [kv('n', { doubleValue: 2.5 })] } }),
              kv('empty', {}),
              { key: 'novalue' },
              kv('s', { intValue: 7 }),
            ],
            events: [
              {
                timeUnixNano: '1700000000123456790',
                name: 'exception',
                attributes: [kv('m', { stringValue: 'e' })],
              },
              {},
            ],
            links: [
              {
                traceId: TRACE,
                spanId: PARENT,
                traceState: 'b=2',
                attributes: [kv('l', { boolValue: false })],
              },
            ],
          }),
          span({ parentSpanId: '0000000000000000', kind: 9 }),
        ],
        [...svc('orders'), kv('host', { stringValue: 'h1' })],
      ),
    ],
    ['no resource, no scope', { resourceSpans: [{ scopeSpans: [{ spans: [span()] }] }, {}] }],
    [
      'refused spans and links',
      request([
        span({ links: [{ traceId: TRACE, spanId: 'abcd' }] }),
        span({ traceId: '', name: '' }),
        span({ startTimeUnixNano: '0' }),
        span({ name: 'x'.repeat(80), endTimeUnixNano: '1' }),
        span({ parentSpanId: 'ab' }),
      ]),
    ],
    ['long values are cut', request([span({ attributes: [kv('v', { stringValue: 'é'.repeat(100) })] })])],
    ['empty request', {}],
  ];

  it.each(cases)('%s', (_name, req) => {
    const body = toProto(req);
    expect(direct(body)).toEqual(generic(body));
  });

  it('agrees on every truncation of a body, and on a resource sent after its scopes', () => {
    const body = toProto(cases[0]![1]);
    for (let n = 0; n < body.length; n++) {
      const cut = body.subarray(0, n);
      expect([n, direct(cut)]).toEqual([n, generic(cut)]);
    }
    // ResourceSpans with field 2 (scopeSpans) before field 1 (resource).
    const rs = toProto({ resourceSpans: [{ scopeSpans: [{ spans: [span()] }] }] });
    const res = toProto({ resourceSpans: [{ resource: { attributes: svc('late') } }] });
    const inner = Buffer.concat([Buffer.from(rs.subarray(2)), Buffer.from(res.subarray(2))]);
    const swapped = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    const got = direct(swapped) as { spans: { service: string }[] };
    expect(got.spans[0]!.service).toBe('late');
    expect(got).toEqual(generic(swapped));
  });

  it('refuses a known field with the wrong wire type', () => {
    // ExportTraceServiceRequest field 1 as a varint.
    expect(() => readOtlpTracesProtobuf(Buffer.from([0x08, 0x01]), OPTS)).toThrow(
      /not a valid ExportTraceServiceRequest: field 1 has wire type 0, expected 2/,
    );
  });
});
