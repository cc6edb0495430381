import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../../model/labels.ts';
import {
  RemoteReadProtocolError,
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadRequest,
  decodeReadResponse,
  encodeReadRequest,
  encodeReadResponse,
  snappyCompress,
  snappyDecompress,
  type ReadSeries,
} from './codec.ts';

// protobufjs' reflection decoder, independent of the hand-written field-by-field code under test.
const root = protobuf.loadSync(fileURLToPath(new URL('./proto/remote-read.proto', import.meta.url)));
const ReadResponse = root.lookupType('prometheus.ReadResponse');
const ReadRequest = root.lookupType('prometheus.ReadRequest');

describe('ReadRequest', () => {
  it('round-trips queries with every matcher type', () => {
    const queries = [
      {
        start: -5000,
        end: 1767000000000,
        matchers: [
          { name: '__name__', type: '=' as const, value: 'up' },
          { name: 'job', type: '!=' as const, value: '' },
          { name: 'instance', type: '=~' as const, value: 'a.*|b' },
          { name: 'le', type: '!~' as const, value: '\\+Inf' },
        ],
      },
      { start: 0, end: 1, matchers: [] },
    ];
    const buf = encodeReadRequest(queries, [STREAMED_XOR_CHUNKS, SAMPLES]);
    expect(decodeReadRequest(buf)).toEqual({ queries, acceptedResponseTypes: [1, 0] });
    // What protobufjs' own decoder sees, with Prometheus's field names.
    const obj = ReadRequest.toObject(ReadRequest.decode(buf), { longs: Number, enums: String });
    expect(obj.queries[0].matchers[2]).toEqual({ type: 'RE', name: 'instance', value: 'a.*|b' });
    expect(obj.acceptedResponseTypes).toEqual(['STREAMED_XOR_CHUNKS', 'SAMPLES']);
  });

  it("clamps Prometheus's unbounded time sentinels", () => {
    const buf = ReadRequest.encode(
      ReadRequest.fromObject({
        queries: [
          { startTimestampMs: '-9223309901257974', endTimestampMs: '9223309901257974', matchers: [] },
        ],
      }),
    ).finish();
    expect(decodeReadRequest(buf).queries[0]).toMatchObject({
      start: -Number.MAX_SAFE_INTEGER,
      end: Number.MAX_SAFE_INTEGER,
    });
  });

  it('rejects undecodable bodies and unknown matcher types', () => {
    expect(() => decodeReadRequest(Buffer.from([0x0a, 0x7f, 0x01]))).toThrow(RemoteReadProtocolError);
    const bad = ReadRequest.encode(
      ReadRequest.fromObject({ queries: [{ matchers: [{ type: 7, name: 'a', value: 'b' }] }] }),
    ).finish();
    expect(() => decodeReadRequest(bad)).toThrow('queries[0].matchers[0]: unknown matcher type 7');
  });
});

/** Float64Array from numbers; set element by element, since V8 may canonicalise NaNs in array literals. */
function f64(...xs: number[]): Float64Array {
  const a = new Float64Array(xs.length);
  xs.forEach((x, i) => (a[i] = x));
  return a;
}

describe('ReadResponse', () => {
  const results: ReadSeries[][] = [
    [
      {
        labels: { job: 'x', __name__: 'up', instance: 'h:1', empty: '' },
        t: Float64Array.from([-1000, 0, 1767000000000, 2 ** 50]),
        v: f64(1, -0.5, STALE_NAN, Infinity),
      },
      { labels: { __name__: 'other' }, t: new Float64Array(0), v: new Float64Array(0) },
    ],
    [],
  ];

  it('encodes valid protobuf with sorted labels', () => {
    const obj = ReadResponse.toObject(ReadResponse.decode(encodeReadResponse(results)), {
      longs: Number,
      defaults: false,
    });
    expect(obj.results).toHaveLength(2);
    const ts = obj.results[0].timeseries[0];
    expect(ts.labels).toEqual([
      { name: '__name__', value: 'up' },
      { name: 'instance', value: 'h:1' },
      { name: 'job', value: 'x' },
    ]);
    expect(ts.samples.map((s: { timestamp: number }) => s.timestamp)).toEqual([
      -1000,
      0,
      1767000000000,
      2 ** 50,
    ]);
    expect(obj.results[1].timeseries ?? []).toEqual([]);
  });

  it('round-trips through the field-by-field decoder with float bits intact', () => {
    const back = decodeReadResponse(encodeReadResponse(results));
    expect(back).toHaveLength(2);
    expect(back[0]![0]!.labels).toEqual({ __name__: 'up', instance: 'h:1', job: 'x' });
    expect([...back[0]![0]!.t]).toEqual([-1000, 0, 1767000000000, 2 ** 50]);
    const v = back[0]![0]!.v;
    expect([v[0], v[1], v[3]]).toEqual([1, -0.5, Infinity]);
    expect(isStaleNaN(v[2]!)).toBe(true);
    expect(back[0]![1]!.t.length).toBe(0);
    expect(back[1]).toEqual([]);
  });

  it('decodes what protobufjs encodes', () => {
    const buf = ReadResponse.encode(
      ReadResponse.fromObject({
        results: [
          {
            timeseries: [
              {
                labels: [{ name: '__name__', value: 'm' }],
                samples: [
                  { value: 2, timestamp: 10 },
                  { value: 3, timestamp: 20 },
                ],
                histograms: [Buffer.from([1, 2, 3])],
              },
            ],
          },
        ],
      }),
    ).finish();
    const back = decodeReadResponse(buf);
    expect(back[0]![0]!.labels).toEqual({ __name__: 'm' });
    expect([...back[0]![0]!.t]).toEqual([10, 20]);
    expect([...back[0]![0]!.v]).toEqual([2, 3]);
  });

  it('rejects truncated responses', () => {
    const buf = encodeReadResponse(results);
    expect(() => decodeReadResponse(buf.subarray(0, buf.length - 3))).toThrow(RemoteReadProtocolError);
  });
});

describe('snappy', () => {
  it('round-trips and checks the declared length first', () => {
    const data = Buffer.from('x'.repeat(1000));
    const c = snappyCompress(data);
    expect(snappyDecompress(c, 1000, 'request').equals(data)).toBe(true);
    expect(() => snappyDecompress(c, 999, 'request')).toThrow(
      'request: snappy body declares 1000 bytes uncompressed, more than the limit of 999',
    );
    expect(() => snappyDecompress(Buffer.alloc(0), 10, 'request')).toThrow('request: body is empty');
    expect(() => snappyDecompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), 10, 'r')).toThrow(
      /no valid length header/,
    );
    expect(() => snappyDecompress(Buffer.from([0x05, 0x00]), 10, 'r')).toThrow(/cannot decompress/);
  });
});
