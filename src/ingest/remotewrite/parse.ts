/**
 * Prometheus remote-write 1.0: a snappy block-compressed `prometheus.WriteRequest` → validated series. No I/O.
 *
 * Every series is validated on its own: an invalid series (bad name, bad or duplicate label, too many labels)
 * is refused whole, a sample too far in the future is refused alone; everything else is returned for storing,
 * so one bad series never costs the good ones.
 */
import { uncompressSync } from 'snappy';
import { isValidMetricName } from '../../model/labels.ts';
import type { ExemplarRecord } from '../../store/exemplars.ts';
import {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  MalformedRequestError,
  PayloadTooLargeError,
  type ExemplarDrop,
  type ParsedMetadata,
  type ParsedSeries,
  type ParseError,
  type ParseResult,
} from '../http.ts';
import {
  InvalidSampleError,
  checkExemplarLabels,
  validateLabelPairs,
  validateTimestamp,
  type IngestLimits,
} from '../validate.ts';
import { decodeWriteRequest, type RawExemplar, type RawWriteRequest } from './decode.ts';
import { METRIC_TYPE_BY_NUMBER } from './proto.ts';
import { snappyDeclaredLength } from './wire.ts';

export interface RemoteWriteParseOptions {
  /** Current time (ms), for the future-timestamp check. */
  readonly now: number;
  readonly limits: IngestLimits;
  /** Largest decompressed body accepted. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Validated label sets of series seen before, kept across requests by the handler. */
  readonly cache?: SeriesCache;
}

/**
 * Validated label sets keyed by the raw bytes of their label fields. A sender repeats the same series in
 * every request; a hit skips decoding, validating and building its labels, and hands storage the same
 * label object each time. Cleared whole when full, which costs one slower request per series.
 */
export class SeriesCache extends Map<string, Readonly<Record<string, string>>> {
  constructor(readonly maxEntries = 1_000_000) {
    super();
  }

  remember(rawKey: string, labels: Readonly<Record<string, string>>): void {
    if (this.size >= this.maxEntries) this.clear();
    this.set(rawKey, labels);
  }
}

/** Decompresses and parses one request body. Throws MalformedRequestError or PayloadTooLargeError. */
export function parseRemoteWrite(body: Uint8Array, opts: RemoteWriteParseOptions): ParseResult {
  return parseWriteRequest(
    decompressSnappy(body, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES),
    opts,
  );
}

/** Snappy block format decompression, checking the declared length before allocating. */
export function decompressSnappy(body: Uint8Array, maxBytes: number): Buffer {
  if (body.length === 0)
    throw new MalformedRequestError(
      'request body is empty; expected a snappy-compressed prometheus.WriteRequest',
    );
  const declared = snappyDeclaredLength(body);
  if (declared === undefined)
    throw new MalformedRequestError(
      'snappy: body does not start with a valid length header (expected snappy block format)',
    );
  if (declared > maxBytes)
    throw new PayloadTooLargeError(
      `snappy body declares ${declared} bytes uncompressed, more than the limit of ${maxBytes}; send smaller batches`,
    );
  try {
    return uncompressSync(body, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new MalformedRequestError(
      `snappy: cannot decompress body (remote-write 1.0 uses the snappy block format, not the framed format): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Parses an uncompressed WriteRequest. */
export function parseWriteRequest(raw: Uint8Array, opts: RemoteWriteParseOptions): ParseResult {
  let req: RawWriteRequest;
  try {
    req = decodeWriteRequest(raw, opts.cache);
  } catch (err) {
    throw new MalformedRequestError(
      `protobuf: body is not a valid prometheus.WriteRequest: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const { now, limits } = opts;
  const series: ParsedSeries[] = [];
  const errors: ParseError[] = [];
  const exemplars: ExemplarRecord[] = [];
  const exemplarDrops: ExemplarDrop[] = [];
  const all = req.series;
  const T = req.t;
  const V = req.v;
  for (let i = 0; i < all.length; i++) {
    const ts = all[i]!;
    const n = ts.end - ts.start;
    const where = `timeseries[${i}]`;
    let labels: Readonly<Record<string, string>>;
    if (ts.cached) labels = ts.cached;
    else {
      try {
        labels = validateLabelPairs(ts.pairs, where, limits);
      } catch (err) {
        if (!(err instanceof InvalidSampleError)) throw err;
        errors.push({ message: err.message, reason: err.reason, points: n + ts.histograms });
        if (ts.exemplars)
          for (let e = 0; e < ts.exemplars.length; e++)
            exemplarDrops.push({
              message: `${where}.exemplars[${e}]: its series was refused`,
              reason: 'invalid_series',
            });
        continue;
      }
      if (ts.rawKey) opts.cache?.remember(ts.rawKey, labels);
    }
    if (ts.exemplars) seriesExemplars(ts.exemplars, labels, where, opts, exemplars, exemplarDrops);
    if (ts.histograms)
      errors.push({
        message: `${where} (${labels.__name__}): ${ts.histograms} native histogram sample(s) refused; remote-write 1.0 carries float samples only`,
        reason: 'unsupported_metric_type',
        points: ts.histograms,
      });
    const t: number[] = [];
    let bad = 0;
    let firstBad: InvalidSampleError | undefined;
    /** Indices of the valid samples, kept only once a sample has been refused. */
    let kept: number[] | undefined;
    for (let k = ts.start; k < ts.end; k++) {
      try {
        validateTimestamp(T[k]!, where, now, limits);
      } catch (err) {
        if (!(err instanceof InvalidSampleError)) throw err;
        if (!kept) {
          kept = [];
          for (let x = ts.start; x < k; x++) kept.push(x);
        }
        bad++;
        firstBad ??= err;
        continue;
      }
      t.push(T[k]!);
      kept?.push(k);
    }
    if (firstBad)
      errors.push({
        message: `${firstBad.message.replace(where, `${where} (${labels.__name__})`)}${bad > 1 ? ` (${bad} of ${n} samples refused)` : ''}`,
        reason: firstBad.reason,
        points: bad,
      });
    if (t.length === 0) continue;
    let v: Float64Array;
    if (!kept) v = V.slice(ts.start, ts.end);
    else {
      v = new Float64Array(kept.length);
      for (let j = 0; j < kept.length; j++) v[j] = V[kept[j]!]!;
    }
    series.push({ labels, t, v });
  }

  const metadata: ParsedMetadata[] = [];
  for (let i = 0; i < req.metadata.length; i++) {
    const m = req.metadata[i]!;
    if (!isValidMetricName(m.metricFamilyName)) {
      errors.push({
        message: `metadata[${i}]: invalid metric family name ${JSON.stringify(m.metricFamilyName)}`,
        reason: 'invalid_metric_name',
        points: 0,
      });
      continue;
    }
    metadata.push({
      metric: m.metricFamilyName,
      type: METRIC_TYPE_BY_NUMBER[m.type] ?? 'unknown',
      help: m.help,
      unit: m.unit,
    });
  }
  if (exemplars.length === 0 && exemplarDrops.length === 0) return { series, metadata, errors };
  return { series, metadata, errors, exemplars, exemplarDrops };
}

/**
 * Keeps the valid exemplars of one series (labels checked, at most 128 characters, timestamp not too far
 * ahead); the others are reported as drops. An exemplar is kept even when its series' samples were refused.
 */
function seriesExemplars(
  raw: readonly RawExemplar[],
  seriesLabels: Readonly<Record<string, string>>,
  where: string,
  opts: RemoteWriteParseOptions,
  out: ExemplarRecord[],
  drops: ExemplarDrop[],
): void {
  for (let e = 0; e < raw.length; e++) {
    const ex = raw[e]!;
    const ew = `${where} (${seriesLabels.__name__}).exemplars[${e}]`;
    const checked = checkExemplarLabels(ex.pairs, ew);
    if (!checked.ok) {
      drops.push({ message: checked.message, reason: checked.reason });
      continue;
    }
    try {
      validateTimestamp(ex.t, ew, opts.now, opts.limits);
    } catch (err) {
      if (!(err instanceof InvalidSampleError)) throw err;
      drops.push({
        message: err.message,
        reason: err.reason === 'too_far_in_future' ? 'too_far_in_future' : 'invalid_exemplar',
      });
      continue;
    }
    out.push({ seriesLabels, labels: checked.labels, value: ex.value, t: ex.t });
  }
}
