/**
 * The Prometheus remote-write 1.0 protobuf types, loaded once from remote.proto beside this module.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { isMetricType } from '../../model/metric-type.ts';
import type { MetricType } from '../../store/interface.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('./proto/remote.proto', import.meta.url)));
root.resolveAll();

export const WriteRequest = root.lookupType('prometheus.WriteRequest');
export const TimeSeries = root.lookupType('prometheus.TimeSeries');
export const Label = root.lookupType('prometheus.Label');
export const Sample = root.lookupType('prometheus.Sample');
export const Exemplar = root.lookupType('prometheus.Exemplar');
export const MetricMetadata = root.lookupType('prometheus.MetricMetadata');

/** `prometheus.MetricMetadata.MetricType` by enum number, as Vigil's MetricType ('unknown', 'counter', …). */
export const METRIC_TYPE_BY_NUMBER: readonly MetricType[] = metricTypesByNumber(
  root.lookupEnum('prometheus.MetricMetadata.MetricType').values,
);

function metricTypesByNumber(values: Readonly<Record<string, number>>): MetricType[] {
  const out: MetricType[] = [];
  for (const [name, n] of Object.entries(values)) {
    const type = name.toLowerCase();
    if (!isMetricType(type)) throw new Error(`remote.proto: MetricType ${name} is not a Vigil metric type`);
    out[n] = type;
  }
  return out;
}
