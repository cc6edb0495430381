/**
 * The OTLP trace protobuf types, loaded once. The trace messages live beside this module; the common and
 * resource messages they import are the ones the metrics receiver already ships (src/ingest/otlp/proto/).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';

const ownDir = fileURLToPath(new URL('./proto/', import.meta.url));
const sharedDir = fileURLToPath(new URL('../../ingest/otlp/proto/', import.meta.url));

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => {
  const own = path.join(ownDir, target);
  return existsSync(own) ? own : path.join(sharedDir, target);
};
root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto'], { keepCase: false });
root.resolveAll();

export const ExportTraceServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);
/** Decodes attribute values that are arrays or key-value lists (rare enough for the generic decoder). */
export const AnyValue = root.lookupType('opentelemetry.proto.common.v1.AnyValue');
export const ExportTraceServiceResponse = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
);
