// Pure helpers for the first page: no DOM, no network, so they can be tested under Node (lib.test.js).

/** Time ranges offered in the range select, in seconds, in display order. */
export const RANGES = Object.freeze({
  '5m': 5 * 60,
  '15m': 15 * 60,
  '1h': 60 * 60,
  '6h': 6 * 60 * 60,
  '24h': 24 * 60 * 60,
  '7d': 7 * 24 * 60 * 60,
});
export const DEFAULT_RANGE = '1h';
/** About this many points per series: enough detail for a page-wide chart, cheap for the server. */
export const TARGET_POINTS = 250;

/** Query and range from a location's search string; an unknown range falls back to the default. */
export function readState(search) {
  const params = new URLSearchParams(search);
  const range = params.get('range') ?? '';
  return {
    query: params.get('q') ?? '',
    range: Object.hasOwn(RANGES, range) ? range : DEFAULT_RANGE,
  };
}

/** The search string for a state (`?q=...&range=...`), so the page can be shared as a link. */
export function writeState({ query, range }) {
  const params = new URLSearchParams();
  if (query !== '') params.set('q', query);
  params.set('range', range);
  return `?${params.toString()}`;
}

/** Step in whole seconds for a range: range/TARGET_POINTS, never below one second. */
export function stepFor(rangeSeconds) {
  return Math.max(1, Math.round(rangeSeconds / TARGET_POINTS));
}

/**
 * start/end/step (Unix seconds) for a range ending now. Both ends sit on multiples of the step so that
 * running the same query again a little later gives the same grid, as Grafana does.
 */
export function rangeWindow(rangeSeconds, nowMs) {
  const step = stepFor(rangeSeconds);
  const end = Math.floor(nowMs / 1000 / step) * step;
  const start = end - Math.floor(rangeSeconds / step) * step;
  return { start, end, step };
}

/** Prometheus sample values are strings; NaN and infinities cannot be drawn and become gaps. */
export function parseSampleValue(s) {
  const v = Number(s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : s);
  return Number.isFinite(v) ? v : null;
}

/** `name{a="b", c="d"}` as Prometheus prints a series; `{}` for an empty label set. */
export function formatSeries(metric) {
  const name = metric.__name__ ?? '';
  const parts = Object.keys(metric)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  if (parts.length === 0) return name === '' ? '{}' : name;
  return `${name}{${parts.join(', ')}}`;
}

/**
 * Label pairs in display order (sorted by name, `__name__` apart), for rendering piece by piece as text.
 * Returns `{ name, labels: [[k, v], ...] }`.
 */
export function seriesParts(metric) {
  return {
    name: metric.__name__ ?? '',
    labels: Object.keys(metric)
      .filter((k) => k !== '__name__')
      .sort()
      .map((k) => [k, metric[k]]),
  };
}

/**
 * A Prometheus range-query matrix as uPlot data: one x array (the step grid from start to end) and one
 * y array per series, null where the series has no point. Series carrying only native histograms have no
 * `values` and are counted in `skipped`. At most `maxSeries` series are kept.
 */
export function matrixToColumns(matrix, start, end, step, maxSeries = Infinity) {
  const n = Math.floor((end - start) / step) + 1;
  const x = Array.from({ length: n }, (_, i) => start + i * step);
  const series = [];
  let skipped = 0;
  for (const s of matrix) {
    if (!Array.isArray(s.values)) {
      skipped++;
      continue;
    }
    if (series.length >= maxSeries) continue;
    const y = new Array(n).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((Number(t) - start) / step);
      if (i >= 0 && i < n) y[i] = parseSampleValue(v);
    }
    series.push({ metric: s.metric ?? {}, y });
  }
  return { x, series, skipped, total: matrix.length };
}

const SI = [
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** Compact number for axes and legends: 1.5k, 25.3G, 0.0042; at most 4 significant digits. */
export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(v);
  for (const [size, suffix] of SI) {
    if (abs >= size) return `${trim(v / size)}${suffix}`;
  }
  if (abs !== 0 && abs < 1e-3) return v.toExponential(2);
  return trim(v);
}

function trim(v) {
  return String(Number(v.toPrecision(4)));
}

/** Seconds as a short duration: 1s, 14s, 1m26s, 5m46s, 40m19s, 2h. */
export function formatDuration(seconds) {
  let rest = Math.round(seconds);
  if (rest === 0) return '0s';
  let out = '';
  for (const [size, unit] of [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ]) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/**
 * Turns one HTTP exchange with the Prometheus API into `{ ok: true, data, warnings }` or
 * `{ ok: false, error: { type, message, status } }`. Prometheus answers errors as JSON
 * `{status:"error", errorType, error}`; anything else (a proxy's HTML page, an empty body) is reported with
 * the HTTP status and the start of the body.
 */
export function interpretResponse(status, statusText, bodyText) {
  let body;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  const warnings = [...(body?.warnings ?? []), ...(body?.infos ?? [])].map(String);
  if (body?.status === 'success' && status >= 200 && status < 300)
    return { ok: true, data: body.data, warnings };
  if (body?.status === 'error')
    return {
      ok: false,
      error: {
        type: String(body.errorType ?? 'error'),
        message: String(body.error ?? 'unknown error'),
        status,
      },
      warnings,
    };
  const snippet = bodyText.trim().replace(/\s+/g, ' ').slice(0, 200);
  return {
    ok: false,
    error: {
      type: 'http',
      message: `unexpected response: HTTP ${status}${statusText ? ` ${statusText}` : ''}${snippet ? ` — ${snippet}` : ''}`,
      status,
    },
    warnings,
  };
}
