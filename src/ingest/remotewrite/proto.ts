/**
 * The Prometheus remote-write 1.0 protobuf types, loaded once from remote.proto beside this module.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(fileURLToPath(new URL('./proto/remote.proto', import.meta.url)));
root.resolveAll();

export const WriteRequest = root.lookupType('prometheus.WriteRequest');
export const TimeSeries = root.lookupType('prometheus.TimeSeries');
export const Label = root.lookupType('prometheus.Label');
export const Sample = root.lookupType('prometheus.Sample');
export const MetricMetadata = root.lookupType('prometheus.MetricMetadata');
