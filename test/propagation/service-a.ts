/**
 * Process A of the propagation test: starts a trace (root span `checkout`, client span `GET /quote`) with the
 * OpenTelemetry Node SDK, sets baggage, and calls B_URL with `traceparent`, `tracestate` and `baggage`
 * headers injected by the W3C propagators. Its sampler adds `vigil=a1` to the trace state so `tracestate`
 * is not empty. Exports over OTLP/HTTP protobuf to VIGIL_OTLP_HTTP (a /v1/traces URL), then prints
 * `{"traceId", "clientSpanId", "status"}` as JSON.
 */
import {
  SpanKind,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  TraceState,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  SamplingDecision,
  SimpleSpanProcessor,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Samples everything and marks the trace state, as a vendor sampler would. */
const markingSampler: Sampler = {
  shouldSample(
    ctx: Context,
    _t: string,
    _n: string,
    _k: SpanKind,
    _a: Attributes,
    _l: Link[],
  ): SamplingResult {
    const parentState = trace.getSpanContext(ctx)?.traceState ?? new TraceState();
    return { decision: SamplingDecision.RECORD_AND_SAMPLED, traceState: parentState.set('vigil', 'a1') };
  },
  toString: () => 'markingSampler',
};

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'checkout-service' }),
  sampler: markingSampler,
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: process.env.VIGIL_OTLP_HTTP }))],
});
provider.register({
  propagator: new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  }),
});
const tracer = trace.getTracer('checkout-service');

const baggage = propagation.createBaggage({ 'tenant.id': { value: 'acme' }, 'user.tier': { value: 'gold' } });
const result = await context.with(propagation.setBaggage(context.active(), baggage), () =>
  tracer.startActiveSpan('checkout', async (root) => {
    const out = await tracer.startActiveSpan('GET /quote', { kind: SpanKind.CLIENT }, async (client) => {
      for (const [key, entry] of baggage.getAllEntries()) client.setAttribute(`baggage.${key}`, entry.value);
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      const res = await fetch(`${process.env.B_URL}/quote`, { headers });
      await res.text();
      client.setAttribute('http.response.status_code', res.status);
      client.end();
      return {
        traceId: client.spanContext().traceId,
        clientSpanId: client.spanContext().spanId,
        status: res.status,
      };
    });
    root.end();
    return out;
  }),
);
await provider.shutdown();
process.stdout.write(JSON.stringify(result) + '\n');
