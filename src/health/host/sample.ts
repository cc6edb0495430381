/** The unit of output of the host collector: one value of one series, with its family's type and help. */

/**
 * One host metric value. `labels` excludes `__name__`, `job` and `instance` (the collector adds those).
 * Names, labels and units follow prometheus-node-exporter on Linux, so its dashboards and alerts work as-is.
 */
export interface HostSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  type: 'counter' | 'gauge';
  help: string;
}

export function gauge(
  name: string,
  help: string,
  value: number,
  labels: Record<string, string> = {},
): HostSample {
  return { name, labels, value, type: 'gauge', help };
}

export function counter(
  name: string,
  help: string,
  value: number,
  labels: Record<string, string> = {},
): HostSample {
  return { name, labels, value, type: 'counter', help };
}
