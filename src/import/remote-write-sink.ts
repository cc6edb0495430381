/**
 * An Appender that sends each committed batch to a running Vigil (or any Prometheus remote-write 1.0
 * receiver) as one snappy-compressed WriteRequest. A commit resolves when the receiver answered 2xx, which
 * for Vigil means the samples are durable. 429, 5xx and network failures are retried with the receiver's
 * Retry-After (or a growing delay); other answers fail the commit with the receiver's message.
 */
import protobuf from 'protobufjs';
import type { Labels } from '../model/labels.ts';
import { StorageError, type Appender, type MetricMetadata } from '../store/interface.ts';
import {
  METRIC_TYPE_BY_NUMBER,
  MetricMetadata as MetadataType,
  WriteRequest,
} from '../ingest/remotewrite/proto.ts';
import { LEN, SampleBuffer, tag, writeLabels, writeSample } from '../ingest/remotewrite/wire.ts';
import { snappyCompress } from './remoteread/codec.ts';
import { VERSION } from '../version.ts';

export interface RemoteWriteSinkOptions {
  /** Base URL of the receiver, e.g. http://127.0.0.1:9400 (the path /api/v1/write is added). */
  readonly url: string;
  readonly fetch?: typeof fetch;
  /** Largest uncompressed WriteRequest; larger batches are sent as several requests. Default 8 MiB. */
  readonly maxRequestBytes?: number;
  /** Attempts per request for retryable failures. Default 8. */
  readonly maxAttempts?: number;
  /** Waits between attempts; replaceable in tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The receiver refused a batch for good (4xx other than 429), or kept failing. */
export class RemoteWriteError extends StorageError {
  override name = 'RemoteWriteError';
}

const WR_TIMESERIES = tag(WriteRequest.fields.timeseries!.id, LEN);
const WR_METADATA = tag(WriteRequest.fields.metadata!.id, LEN);

/** The samples of one series in the order appended, noting whether that is time order. */
class SeriesSamples extends SampleBuffer {
  sorted = true;

  constructor() {
    super(16);
  }

  override push(t: number, v: number): void {
    if (this.n > 0 && t < this.t[this.n - 1]!) this.sorted = false;
    super.push(t, v);
  }
}

/** Samples of one series per TimeSeries message; a longer series continues in the next message. */
const SAMPLES_PER_SERIES_PART = 50_000;

/**
 * Encodes series and metadata as prometheus.WriteRequests (labels sorted, samples in time order), starting
 * a new request whenever one reaches `maxBytes`, so a large batch never exceeds the receiver's body limits.
 */
function encodeWriteRequests(
  series: Iterable<[Labels, SeriesSamples]>,
  metadata: Iterable<[string, MetricMetadata]>,
  maxBytes: number,
): { body: Uint8Array; samples: number }[] {
  const out: { body: Uint8Array; samples: number }[] = [];
  let w = protobuf.Writer.create();
  let samples = 0;
  const cut = (force: boolean) => {
    if (w.len === 0 || (!force && w.len < maxBytes)) return;
    out.push({ body: w.finish(), samples });
    w = protobuf.Writer.create();
    samples = 0;
  };
  for (const [labels, s] of series) {
    let order: number[] | undefined;
    if (!s.sorted) order = Array.from({ length: s.n }, (_, i) => i).sort((a, b) => s.t[a]! - s.t[b]!);
    for (let from = 0; from < s.n; from += SAMPLES_PER_SERIES_PART) {
      w.uint32(WR_TIMESERIES).fork();
      writeLabels(w, labels);
      const to = Math.min(s.n, from + SAMPLES_PER_SERIES_PART);
      for (let k = from; k < to; k++) {
        const i = order ? order[k]! : k;
        writeSample(w, s.t[i]!, s.v[i]!);
      }
      w.ldelim();
      samples += to - from;
      cut(false);
    }
  }
  for (const [metric, m] of metadata) {
    const msg = MetadataType.fromObject({
      type: Math.max(0, METRIC_TYPE_BY_NUMBER.indexOf(m.type)),
      metricFamilyName: metric,
      help: m.help,
      unit: m.unit,
    });
    w.uint32(WR_METADATA).fork();
    MetadataType.encode(msg, w);
    w.ldelim();
  }
  cut(true);
  return out;
}

export class RemoteWriteSink {
  private readonly endpoint: string;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: RemoteWriteSinkOptions) {
    this.endpoint = new URL('/api/v1/write', opts.url).toString();
    this.fetchFn = opts.fetch ?? fetch;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  appender(): Appender {
    const series = new Map<Labels, SeriesSamples>();
    const metadata = new Map<string, MetricMetadata>();
    let count = 0;
    let last: Labels | undefined;
    let lastSamples: SeriesSamples | undefined;
    let done = false;
    const check = () => {
      if (done) throw new StorageError('appender already committed or rolled back');
    };
    return {
      append: (labels, t, v) => {
        check();
        if (labels !== last) {
          last = labels;
          lastSamples = series.get(labels);
          if (!lastSamples) series.set(labels, (lastSamples = new SeriesSamples()));
        }
        lastSamples!.push(t, v);
        count++;
      },
      appendMetadata: (metric, m) => {
        check();
        metadata.set(metric, m);
      },
      get count() {
        return count;
      },
      commit: async () => {
        check();
        done = true;
        if (count === 0 && metadata.size === 0) return;
        // A batch larger than one request goes as several; a failure part way fails the commit, and the
        // resumed import sends the whole batch again (samples already stored are then read back once).
        for (const req of encodeWriteRequests(series, metadata, this.opts.maxRequestBytes ?? 8 << 20))
          await this.send(snappyCompress(req.body), req.samples);
      },
      rollback: () => {
        done = true;
        series.clear();
      },
    };
  }

  private async send(body: Buffer, samples: number): Promise<void> {
    const attempts = this.opts.maxAttempts ?? 8;
    let delay = 250;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let res: Response;
      try {
        res = await this.fetchFn(this.endpoint, {
          method: 'POST',
          body: new Uint8Array(body),
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'x-prometheus-remote-write-version': '0.1.0',
            'user-agent': `vigil-import/${VERSION}`,
          },
        });
      } catch (err) {
        last = `cannot reach ${this.endpoint}: ${(err as Error).message}`;
        await this.sleep(delay);
        delay = Math.min(delay * 2, 10_000);
        continue;
      }
      if (res.ok) {
        await res.arrayBuffer();
        return;
      }
      const text = (await res.text()).trim();
      if (res.status === 413)
        throw new RemoteWriteError(
          `${this.endpoint} refused a batch of ${samples} samples (${body.length} bytes) as too large: ${text}; use a smaller --batch-size`,
        );
      if (res.status !== 429 && res.status < 500)
        throw new RemoteWriteError(`${this.endpoint} answered ${res.status}: ${text}`);
      last = `${this.endpoint} answered ${res.status}: ${text}`;
      const retryAfter = Number(res.headers.get('retry-after'));
      await this.sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : delay);
      delay = Math.min(delay * 2, 10_000);
    }
    throw new RemoteWriteError(`${last} (gave up after ${attempts} attempts)`);
  }
}
