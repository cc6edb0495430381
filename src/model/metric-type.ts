/** The metric types Vigil keeps as metadata: OpenMetrics 1.0's, which are the values of the store's MetricType. */
import type { MetricType } from '../store/interface.ts';

// A record, so that a type missing here (or one MetricType does not have) fails to compile.
const TYPES: Readonly<Record<MetricType, true>> = {
  counter: true,
  gauge: true,
  histogram: true,
  gaugehistogram: true,
  summary: true,
  info: true,
  stateset: true,
  unknown: true,
};

/** Every MetricType, in the order OpenMetrics 1.0 lists them. */
export const METRIC_TYPES = Object.keys(TYPES) as readonly MetricType[];

/** True when `s` is a MetricType as written in OpenMetrics (lower case; `unknown`, not `untyped`). */
export function isMetricType(s: string): s is MetricType {
  return Object.hasOwn(TYPES, s);
}
