/** Number, unit and series-name formatting shared by charts, tables and stats. Pure functions. */

export type Metric = Record<string, string>;

/** `name{a="b", c="d"}` as Prometheus prints a series; `{}` for no labels. */
export function formatSeries(metric: Metric): string {
  const name = metric.__name__ ?? '';
  const labels = Object.keys(metric)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}="${metric[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  if (labels.length === 0) return name === '' ? '{}' : name;
  return `${name}{${labels.join(', ')}}`;
}

/** Applies a Grafana-style legend template (`{{job}} {{instance}}`); the full series name when empty. */
export function legendFor(template: string | undefined, metric: Metric): string {
  if (!template) return formatSeries(metric);
  return template.replace(
    /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
    (_m, name: string) => metric[name] ?? '',
  );
}

const SI = [
  { v: 1e15, s: 'P' },
  { v: 1e12, s: 'T' },
  { v: 1e9, s: 'G' },
  { v: 1e6, s: 'M' },
  { v: 1e3, s: 'k' },
];
const IEC = [
  { v: 2 ** 50, s: 'PiB' },
  { v: 2 ** 40, s: 'TiB' },
  { v: 2 ** 30, s: 'GiB' },
  { v: 2 ** 20, s: 'MiB' },
  { v: 2 ** 10, s: 'KiB' },
];

function trim(v: number, decimals?: number): string {
  if (decimals !== undefined) return v.toFixed(decimals);
  const a = Math.abs(v);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return String(Number(v.toFixed(d)));
}

function short(v: number, decimals?: number): string {
  const a = Math.abs(v);
  for (const u of SI) if (a >= u.v) return trim(v / u.v, decimals) + u.s;
  if (a !== 0 && a < 0.001) return v.toExponential(1);
  return trim(v, decimals);
}

function seconds(v: number, decimals?: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0 s';
  if (a < 1e-3) return `${trim(v * 1e6, decimals)} µs`;
  if (a < 1) return `${trim(v * 1e3, decimals)} ms`;
  if (a < 60) return `${trim(v, decimals)} s`;
  if (a < 3600) return `${trim(v / 60, decimals)} min`;
  if (a < 86400) return `${trim(v / 3600, decimals)} h`;
  return `${trim(v / 86400, decimals)} d`;
}

/** Units a panel can choose, with their labels. */
export const UNITS: readonly { readonly id: string; readonly label: string }[] = [
  { id: 'short', label: 'Number' },
  { id: 'percent', label: 'Percent (0–100)' },
  { id: 'percentunit', label: 'Percent (0–1)' },
  { id: 'bytes', label: 'Bytes' },
  { id: 's', label: 'Seconds' },
  { id: 'ms', label: 'Milliseconds' },
  { id: 'reqps', label: 'Requests/s' },
  { id: 'ops', label: 'Operations/s' },
];

/** Formats a value for display; null, NaN and infinities get readable words. */
export function formatValue(v: number | null | undefined, unit = 'short', decimals?: number): string {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'percent':
      return `${trim(v, decimals)}%`;
    case 'percentunit':
      return `${trim(v * 100, decimals)}%`;
    case 'bytes': {
      const a = Math.abs(v);
      for (const u of IEC) if (a >= u.v) return `${trim(v / u.v, decimals)} ${u.s}`;
      return `${trim(v, decimals)} B`;
    }
    case 's':
    case 'seconds':
      return seconds(v, decimals);
    case 'ms':
      return seconds(v / 1000, decimals);
    case 'reqps':
    case 'req/s':
      return `${short(v, decimals)} req/s`;
    case 'ops':
      return `${short(v, decimals)} ops/s`;
    case 'short':
    case '':
      return short(v, decimals);
    default:
      // Any other unit is printed after the number (`12 samples/s`).
      return `${short(v, decimals)} ${unit}`;
  }
}

/** Prometheus sample values are strings; `NaN`, `+Inf`, `-Inf` included. */
export function parseSampleValue(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}
