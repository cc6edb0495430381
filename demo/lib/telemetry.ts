/**
 * OpenTelemetry set-up for one demo service: a Node tracer provider (AsyncLocalStorage context, W3C trace
 * context propagation) and a meter provider, both exporting OTLP/HTTP to Vigil; plus a prom-client registry
 * for the service's older-style `/metrics`.
 */
import {
  context,
  metrics,
  trace,
  type Context,
  type Meter,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { traceSampling, type TraceSampling } from './sampling.ts';

/**
 * Offset from the SDK's clock (`performance.timeOrigin + performance.now()`) to the system clock, in ms.
 * Each process fixes its time origin at start, a few ms apart, which makes a server span start before its
 * client span in another process. Date.now() only has ms resolution, so the largest difference seen over a
 * few ms of samples is taken: it is the one read just after the millisecond ticked.
 */
function measureClockOffset(): number {
  let best = -Infinity;
  const until = performance.now() + 3;
  while (performance.now() < until)
    best = Math.max(best, Date.now() - (performance.timeOrigin + performance.now()));
  return best;
}

const clockOffset = measureClockOffset();

/** Epoch milliseconds (fractional) on the system clock, with performance.now()'s resolution. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now() + clockOffset;
}

/** A tracer whose spans start and end on wallNow() unless a time is given, so processes agree on time. */
class WallClockTracer implements Tracer {
  constructor(private readonly inner: Tracer) {}

  startSpan(name: string, options: SpanOptions = {}, ctx?: Context): Span {
    const span = this.inner.startSpan(
      name,
      options.startTime === undefined ? { ...options, startTime: wallNow() } : options,
      ctx,
    );
    // A span the sampler dropped records nothing, so its end time needs no fixing (and no closure).
    if (!span.isRecording()) return span;
    const end = span.end.bind(span);
    span.end = (t) => end(t ?? wallNow());
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.pop() as F;
    const [options, ctx] = rest as [SpanOptions | undefined, Context | undefined];
    const parent = ctx ?? context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(trace.setSpan(parent, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

/** What a service instruments with; `shutdown` flushes and stops the exporters. */
export interface Telemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** The older-style metrics served on `/metrics` (process metrics included). */
  readonly legacy: Registry;
  shutdown(): Promise<void>;
}

/**
 * Reads the telemetry switch `DEMO_TELEMETRY` (`on`, the default, or `off`). Pure; throws naming the valid
 * values for anything else, so a typo cannot silently benchmark the wrong mode.
 */
export function telemetryEnabled(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'on') return true;
  if (v === 'off') return false;
  throw new Error(`DEMO_TELEMETRY must be "on" or "off", got ${JSON.stringify(value)}`);
}

/** The SDK sampler for `s`: parent-based ones follow the caller's decision and apply their root rule to new traces. */
export function buildSampler(s: TraceSampling): Sampler {
  const root: Sampler = s.sampler.endsWith('always_on')
    ? new AlwaysOnSampler()
    : s.sampler.endsWith('always_off')
      ? new AlwaysOffSampler()
      : new TraceIdRatioBasedSampler(s.ratio);
  return s.sampler.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

/**
 * Telemetry switched off: no SDK, no provider registered, no exporter. The API's no-op tracer and meter
 * remain (spans are non-recording, no context is propagated), and the legacy registry holds only the
 * service's own counters (no process metrics are collected; nobody scrapes it in this mode).
 */
function disabledTelemetry(): Telemetry {
  return {
    tracer: trace.getTracer('vigil-demo', '1.0.0'),
    meter: metrics.getMeter('vigil-demo', '1.0.0'),
    legacy: new Registry(),
    shutdown: async () => {},
  };
}

/**
 * Starts the SDK for `service`, exporting to `otlpBase` (`http://host:port`, paths `/v1/traces` and
 * `/v1/metrics`) every `exportMs`, with the head sampler of `OTEL_TRACES_SAMPLER` (see traceSampling; throws on
 * a bad value). The providers are registered globally, so `propagation` and `context`
 * from `@opentelemetry/api` work anywhere in the process. With `enabled` false nothing is started (see
 * disabledTelemetry).
 */
export function startTelemetry(
  service: string,
  otlpBase: string,
  exportMs = 5000,
  enabled = true,
): Telemetry {
  if (!enabled) return disabledTelemetry();
  const resource = resourceFromAttributes({
    'service.name': service,
    'service.instance.id': `${service}-${process.pid}`,
    'deployment.environment': 'demo',
  });
  const tracing = new NodeTracerProvider({
    resource,
    sampler: buildSampler(traceSampling(process.env)),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpBase}/v1/traces` }), {
        scheduledDelayMillis: 1000,
        maxQueueSize: 20_000,
        maxExportBatchSize: 2000,
      }),
    ],
  });
  tracing.register();
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${otlpBase}/v1/metrics` }),
        exportIntervalMillis: exportMs,
        exportTimeoutMillis: Math.min(exportMs, 10_000),
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  const legacy = new Registry();
  collectDefaultMetrics({ register: legacy });
  return {
    tracer: new WallClockTracer(trace.getTracer('vigil-demo', '1.0.0')),
    meter: meterProvider.getMeter('vigil-demo', '1.0.0'),
    legacy,
    shutdown: async () => {
      await Promise.allSettled([tracing.shutdown(), meterProvider.shutdown()]);
    },
  };
}
