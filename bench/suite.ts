/**
 * Every benchmark `npm run bench` runs, in order. A new benchmark script is added here, with the heading of its
 * section in docs/benchmarks.md (the text `(bench/x.ts)` in a `## ` heading finds it).
 */
export interface BenchmarkEntry {
  /** Short name for `--only` / `--skip`. */
  readonly name: string;
  readonly script: string;
  /** One line for `--list`. */
  readonly what: string;
  /** Arguments of the recorded run. */
  readonly args: readonly string[];
  /** Smaller arguments for `--quick`; the full ones when absent. */
  readonly quickArgs?: readonly string[];
  /** The script writes its own section when given `--out FILE`. */
  readonly writesSection?: boolean;
  /** Matches the section heading (see replaceMarkedBlock). */
  readonly heading: string;
  /** Binaries the script needs on PATH; skipped (and reported) without them. */
  readonly needs?: readonly string[];
}

export const BENCHMARKS: readonly BenchmarkEntry[] = [
  {
    name: 'ingest-query',
    script: 'bench/ingest-query.ts',
    what: 'remote-write ingestion, bytes per sample and dashboard queries vs Prometheus and VictoriaMetrics',
    args: [],
    quickArgs: ['--hours', '2', '--runs', '3'],
    writesSection: true,
    heading: '(bench/ingest-query.ts)',
    needs: ['prometheus', 'victoria-metrics'],
  },
  {
    name: 'query',
    script: 'bench/query.ts',
    what: 'PromQL dashboard queries over 30 days (rollups, pushdown) vs Prometheus',
    args: ['--baseline'],
    quickArgs: ['--days', '3', '--runs', '3'],
    writesSection: true,
    heading: '(bench/query.ts)',
    needs: ['prometheus'],
  },
  {
    name: 'overview',
    script: 'bench/overview.ts',
    what: 'the Overview API with a few hundred components',
    args: [],
    heading: '(bench/overview.ts)',
  },
  {
    name: 'ui',
    script: 'bench/ui.ts',
    what: 'view load times in headless Chromium and bundle size',
    args: [],
    quickArgs: ['--hours', '2', '--runs', '3'],
    writesSection: true,
    heading: '(bench/ui.ts)',
    needs: ['chromium'],
  },
  {
    name: 'traces',
    script: 'bench/traces.ts',
    what: 'span ingestion, bytes per span, trace lookup and search with millions of spans',
    args: [],
    quickArgs: ['--spans', '500000', '--measure', '100000', '--lookups', '100', '--searches', '10'],
    heading: '(bench/traces.ts)',
  },
  {
    name: 'remote-read',
    script: 'bench/remote-read.ts',
    what: 'remote read of 720,000 samples: SAMPLES against STREAMED_XOR_CHUNKS, bytes and time',
    args: [],
    quickArgs: ['--series', '200', '--rounds', '3'],
    heading: '(bench/remote-read.ts)',
  },
  {
    name: 'trace-analysis',
    script: 'bench/trace-analysis.ts',
    what: 'reconstruction and critical path of a 10,000-span trace',
    args: [],
    quickArgs: ['--runs', '5'],
    heading: '(bench/trace-analysis.ts)',
  },
  {
    name: 'alert-latency',
    script: 'bench/alert-latency.ts',
    what: 'threshold crossing to webhook notification, Vigil vs Prometheus + Alertmanager',
    args: ['--iterations', '100'],
    quickArgs: ['--iterations', '20'],
    heading: '(bench/alert-latency.ts)',
    needs: ['prometheus', 'prometheus-alertmanager'],
  },
  {
    name: 'alert-storm-peers',
    script: 'bench/alert-storm-peers.ts',
    what: 'notifications per alert on storm corpus cases, Vigil and Alertmanager side by side',
    args: [],
    quickArgs: ['--cases', '0-1'],
    heading: '(bench/alert-storm-peers.ts)',
    needs: ['prometheus-alertmanager'],
  },
  {
    name: 'alert-correlation',
    script: 'bench/alert-correlation.ts',
    what: 'correlation precision/recall and notifications per alert on the storm corpus',
    args: [],
    heading: '(bench/alert-correlation.ts)',
  },
  {
    name: 'health-probes',
    script: 'bench/health-probes.ts',
    what: 'health-check probes per second and CPU per probe',
    args: [],
    quickArgs: ['--seconds', '5'],
    heading: '(bench/health-probes.ts)',
  },
  {
    name: 'anomaly',
    script: 'bench/anomaly.ts',
    what: 'anomaly detector precision, recall, delay, cost per sample and memory per series',
    args: [],
    quickArgs: ['--per-kind', '10', '--cost-series', '1000'],
    heading: '(bench/anomaly.ts)',
  },
  {
    name: 'oncall-schedule',
    script: 'bench/oncall-schedule.ts',
    what: 'resolving a year of a 5-layer on-call schedule: shifts, coverage, iCalendar',
    args: [],
    heading: '(bench/oncall-schedule.ts)',
  },
  {
    name: 'incidents-escalation',
    script: 'bench/incidents-escalation.ts',
    what: 'alert group to first page, and escalation timing against configured delays',
    args: [],
    writesSection: true,
    heading: '(bench/incidents-escalation.ts)',
  },
  {
    name: 'incidents-ui',
    script: 'bench/incidents-ui.ts',
    what: 'incident list and incident page load times with 1,000 open incidents in headless Chromium',
    args: [],
    quickArgs: ['--runs', '3'],
    writesSection: true,
    heading: '(bench/incidents-ui.ts)',
    needs: ['chromium'],
  },
  {
    name: 'incidents-list-paging',
    script: 'bench/incidents-list-paging.ts',
    what: 'incident list pages with keyset cursors against reading the whole list, 50,000 incidents (SQLite)',
    args: [],
    quickArgs: ['--incidents', '5000'],
    heading: '(bench/incidents-list-paging.ts)',
  },
  {
    name: 'pipeline-overhead',
    script: 'bench/pipeline-overhead.ts',
    what: 'demo pipeline throughput and latency with telemetry on vs off (ABAB), and where the CPU goes',
    args: ['--profile'],
    quickArgs: ['--rounds', '1', '--seconds', '8', '--latency-seconds', '4'],
    heading: '(bench/pipeline-overhead.ts)',
  },
];
