/**
 * The OTLP protobuf types, loaded once from the .proto files beside this module.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';

const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(protoDir, target);
root.loadSync(['opentelemetry/proto/collector/metrics/v1/metrics_service.proto', 'google/rpc/status.proto'], {
  keepCase: false,
});
root.resolveAll();

export const ExportMetricsServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
);
export const ExportMetricsServiceResponse = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
);
export const RpcStatus = root.lookupType('google.rpc.Status');
