/**
 * The figures of the overview page, as PromQL templates. Each template renders two ways: grouped by
 * (job, instance) over every component at once (what the overview evaluates, one range query per
 * alternative), and for one component (what the user opens in Explore). Pure: no I/O.
 */

export type ComponentKind = 'scrape' | 'otlp' | 'host' | 'vigil';

/** How a template is rendered: extra matchers for every selector, and the grouping of its aggregations. */
export interface Scope {
  /** Matchers written inside every selector, e.g. `job="api",instance="a:1"`; '' for none. */
  readonly matchers: string;
  /** `job, instance` when grouped over all components, '' for one component. */
  readonly by: string;
}

/** One way of computing a figure, from one family of metrics. */
export interface FigureAlternative {
  readonly unit: string;
  /** Kinds of component this alternative applies to. */
  readonly kinds: readonly ComponentKind[];
  /**
   * Only for components that push their data (no `up` series). The query has no metric name, so grouped it
   * is limited to the jobs of those components.
   */
  readonly pushedOnly?: boolean;
  /**
   * Grouped, the values are divided by each component's write interval (seconds) after the query; for one
   * component, `interval` is passed to the query, which divides by it.
   */
  readonly perInterval?: boolean;
  /** The query; `w` is the rate window (e.g. `75s`), `ws` the same in seconds. */
  readonly query: (s: Scope, w: string, ws: number, interval?: number) => string;
}

/** A figure: the first alternative with data for a component wins. */
export interface FigureDef {
  readonly key: string;
  readonly label: string;
  readonly alternatives: readonly FigureAlternative[];
}

/** `name{extra,scope}`: a selector with the scope's matchers added. */
export function sel(name: string, s: Scope, extra = ''): string {
  const m = [extra, s.matchers].filter((x) => x !== '').join(',');
  return m === '' ? name : `${name}{${m}}`;
}

/** `sum by (job, instance) (x)` grouped, `sum(x)` for one component; `more` adds grouping labels (le). */
export function agg(op: string, s: Scope, inner: string, more = ''): string {
  const by = [s.by, more].filter((x) => x !== '').join(', ');
  return by === '' ? `${op}(${inner})` : `${op} by (${by}) (${inner})`;
}

/** A PromQL double-quoted string literal. */
export function promqlString(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A regex matching exactly one of `values` (RE2 syntax, special characters escaped). */
export function exactRegex(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

const NOT_HOST: ComponentKind[] = ['scrape', 'otlp', 'vigil'];

/** `100 * (errors or 0 * all) / all`: a component with requests and no errors shows 0, not nothing. */
function errorPercent(s: Scope, errors: string, all: string): string {
  return `100 * (${agg('sum', s, errors)} or 0 * ${agg('sum', s, all)}) / ${agg('sum', s, all)}`;
}

const OTEL_HTTP = 'http_server_request_duration_seconds';
const VIGIL_PROCESS = 'vigil_process_process_';

export const FIGURES: readonly FigureDef[] = [
  {
    key: 'samples',
    label: 'Sample rate',
    alternatives: [
      {
        // Samples per scrape summed over the window, divided by the window: exact whatever the interval.
        unit: 'samples/s',
        kinds: ['scrape', 'vigil', 'host'],
        query: (s, w, ws) =>
          `${agg('sum', s, `sum_over_time(${sel('scrape_samples_scraped', s)}[${w}])`)} / ${ws}`,
      },
      {
        // Pushed data has no scrape report: its active series per write interval. (count_over_time over every
        // series of a job cannot be used: dropping the metric names leaves duplicate label sets.)
        unit: 'samples/s',
        kinds: ['otlp', 'host'],
        pushedOnly: true,
        perInterval: true,
        query: (s, _w, _ws, interval) =>
          agg('count', s, `{${s.matchers}}`) + (interval === undefined ? '' : ` / ${interval}`),
      },
    ],
  },
  {
    key: 'requests',
    label: 'Request rate',
    alternatives: [
      {
        unit: 'req/s',
        kinds: NOT_HOST,
        query: (s, w) => agg('sum', s, `rate(${sel(`${OTEL_HTTP}_count`, s)}[${w}])`),
      },
      {
        unit: 'req/s',
        kinds: NOT_HOST,
        query: (s, w) => agg('sum', s, `rate(${sel('http_requests_total', s)}[${w}])`),
      },
    ],
  },
  {
    key: 'errors',
    label: 'Error rate (5xx)',
    alternatives: [
      {
        unit: 'percent',
        kinds: NOT_HOST,
        query: (s, w) =>
          errorPercent(
            s,
            `rate(${sel(`${OTEL_HTTP}_count`, s, 'http_response_status_code=~"5.."')}[${w}])`,
            `rate(${sel(`${OTEL_HTTP}_count`, s)}[${w}])`,
          ),
      },
      {
        unit: 'percent',
        kinds: NOT_HOST,
        query: (s, w) =>
          errorPercent(
            s,
            `rate(${sel('http_requests_total', s, 'code=~"5.."')}[${w}]) or ` +
              `rate(${sel('http_requests_total', s, 'status=~"5.."')}[${w}])`,
            `rate(${sel('http_requests_total', s)}[${w}])`,
          ),
      },
    ],
  },
  {
    key: 'latency_p95',
    label: 'Latency p95',
    alternatives: [
      {
        unit: 'seconds',
        kinds: NOT_HOST,
        query: (s, w) =>
          `histogram_quantile(0.95, ${agg('sum', s, `rate(${sel(`${OTEL_HTTP}_bucket`, s)}[${w}])`, 'le')})`,
      },
      {
        unit: 'seconds',
        kinds: NOT_HOST,
        query: (s, w) =>
          `histogram_quantile(0.95, ${agg('sum', s, `rate(${sel('http_request_duration_seconds_bucket', s)}[${w}])`, 'le')})`,
      },
    ],
  },
  {
    key: 'cpu',
    label: 'CPU',
    alternatives: [
      {
        // A node_exporter's own process figures describe the exporter, not the host: hosts use node_*.
        unit: 'percent',
        kinds: ['host'],
        query: (s, w) =>
          `100 * ${agg('sum', s, `rate(${sel('node_cpu_seconds_total', s, 'mode!="idle"')}[${w}])`)} / ` +
          agg('sum', s, `rate(${sel('node_cpu_seconds_total', s)}[${w}])`),
      },
      {
        unit: 'cores',
        kinds: NOT_HOST,
        query: (s, w) => agg('sum', s, `rate(${sel('process_cpu_seconds_total', s)}[${w}])`),
      },
      {
        // Vigil's own /metrics prefixes prom-client's process metrics.
        unit: 'cores',
        kinds: ['vigil'],
        query: (s, w) => agg('sum', s, `rate(${sel(`${VIGIL_PROCESS}cpu_seconds_total`, s)}[${w}])`),
      },
    ],
  },
  {
    key: 'memory',
    label: 'Memory',
    alternatives: [
      {
        unit: 'percent',
        kinds: ['host'],
        query: (s) =>
          `100 * (1 - ${agg('sum', s, sel('node_memory_MemAvailable_bytes', s))} / ` +
          `${agg('sum', s, sel('node_memory_MemTotal_bytes', s))})`,
      },
      {
        unit: 'bytes',
        kinds: NOT_HOST,
        query: (s) => agg('sum', s, sel('process_resident_memory_bytes', s)),
      },
      {
        unit: 'bytes',
        kinds: ['vigil'],
        query: (s) => agg('sum', s, sel(`${VIGIL_PROCESS}resident_memory_bytes`, s)),
      },
    ],
  },
];
