/**
 * Process B of the propagation test: an HTTP server instrumented with the OpenTelemetry Node SDK that
 * extracts W3C trace context and baggage from each request, records a server span (baggage entries become
 * `baggage.<key>` attributes) with one child, and exports over OTLP/gRPC to VIGIL_OTLP_GRPC (host:port).
 * Spans are flushed before the response is sent, so a caller that got its answer knows B's spans are stored.
 * Prints `listening <port>` once ready.
 */
import { createServer } from 'node:http';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'quote-service' }),
  spanProcessors: [
    new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://${process.env.VIGIL_OTLP_GRPC}` })),
  ],
});
provider.register({
  propagator: new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  }),
});
const tracer = trace.getTracer('quote-service');

const server = createServer((req, res) => {
  const parent = propagation.extract(context.active(), req.headers);
  const span = tracer.startSpan(`${req.method} ${req.url}`, { kind: SpanKind.SERVER }, parent);
  for (const [key, entry] of propagation.getBaggage(parent)?.getAllEntries() ?? [])
    span.setAttribute(`baggage.${key}`, entry.value);
  context.with(trace.setSpan(parent, span), () => {
    const child = tracer.startSpan('price lookup');
    child.end();
  });
  span.end();
  provider.forceFlush().then(
    () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ price: 42 })),
    (err: Error) => res.writeHead(500).end(err.message),
  );
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void provider.shutdown().then(() => process.exit(0));
});
