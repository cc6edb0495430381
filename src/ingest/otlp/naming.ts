/**
 * OpenTelemetry → Prometheus name translation, after the OpenTelemetry specification "Prometheus and
 * OpenMetrics Compatibility" (metric names, UCUM unit suffixes, `_total`, attribute keys).
 */

/** The Prometheus metric kind a name is built for; units and suffixes depend on it. */
export type PromKind = 'counter' | 'gauge' | 'histogram' | 'summary';

/** UCUM unit → Prometheus unit word (plural, as a name suffix). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  bit: 'bits',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

/** UCUM unit → singular word, for the denominator of `X/Y` (`m/s` → `meters_per_second`). */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  ms: 'millisecond',
  min: 'minute',
  h: 'hour',
  d: 'day',
  wk: 'week',
  mo: 'month',
  a: 'year',
  y: 'year',
  m: 'meter',
  By: 'byte',
  bit: 'bit',
};

/** Replaces characters outside [a-zA-Z0-9_:] with `_`, collapses runs of `_`, prefixes a leading digit with `_`. */
export function sanitizeMetricName(name: string): string {
  let out = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  if (/^[0-9]/.test(out)) out = '_' + out;
  return out;
}

function sanitizeUnitWord(u: string): string {
  return u
    .replace(/[^a-zA-Z0-9_:]/g, '_')
    .replace(/__+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * The Prometheus unit suffix for a UCUM unit string, '' when there is none. `{...}` annotations are dropped,
 * `1` becomes `ratio` for gauges only, `X/Y` becomes `X_per_Y`, unknown units are sanitised.
 */
export function unitSuffix(unit: string, kind: PromKind): string {
  const u = unit.replace(/\{[^}]*\}/g, '').trim();
  if (u === '') return '';
  if (u === '1') return kind === 'gauge' ? 'ratio' : '';
  const slash = u.indexOf('/');
  if (slash >= 0) {
    const num = u.slice(0, slash).trim();
    const den = u.slice(slash + 1).trim();
    const numWord = num === '' || num === '1' ? '' : (UNIT_WORDS[num] ?? sanitizeUnitWord(num));
    const denWord = den === '' ? '' : (PER_UNIT_WORDS[den] ?? sanitizeUnitWord(den));
    if (!denWord) return numWord;
    return numWord ? `${numWord}_per_${denWord}` : `per_${denWord}`;
  }
  return UNIT_WORDS[u] ?? sanitizeUnitWord(u);
}

/**
 * Full Prometheus name for an OpenTelemetry metric: sanitised name, unit suffix unless already there,
 * `_total` for counters (monotonic sums).
 */
export function prometheusMetricName(name: string, unit: string, kind: PromKind): string {
  let base = sanitizeMetricName(name);
  if (kind === 'counter' && base.endsWith('_total')) base = base.slice(0, -'_total'.length);
  const suffix = unitSuffix(unit, kind);
  if (suffix && base !== suffix && !base.endsWith('_' + suffix)) base = base ? `${base}_${suffix}` : suffix;
  if (kind === 'counter') base += '_total';
  return base;
}

const labelKeyCache = new Map<string, string>();
const LABEL_KEY_CACHE_MAX = 10_000;

/** Attribute key → label name: invalid characters become `_`, a leading digit gets a `key_` prefix. */
export function sanitizeLabelName(key: string): string {
  const hit = labelKeyCache.get(key);
  if (hit !== undefined) return hit;
  let out = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(out)) out = 'key_' + out;
  if (labelKeyCache.size >= LABEL_KEY_CACHE_MAX) labelKeyCache.clear();
  labelKeyCache.set(key, out);
  return out;
}

/**
 * Attributes (original key, value) as labels under sanitised names. When several keys sanitise to the same
 * name their values are joined with `;` in the lexicographical order of the original keys, as the
 * specification requires.
 */
export function attributeLabels(attrs: readonly (readonly [string, string])[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of attrs) {
    const name = sanitizeLabelName(key);
    if (Object.prototype.hasOwnProperty.call(out, name)) return attributeLabelsColliding(attrs);
    out[name] = value;
  }
  return out;
}

function attributeLabelsColliding(attrs: readonly (readonly [string, string])[]): Record<string, string> {
  const groups = new Map<string, [string, string][]>();
  for (const [key, value] of attrs) {
    const name = sanitizeLabelName(key);
    const g = groups.get(name);
    if (g) g.push([key, value]);
    else groups.set(name, [[key, value]]);
  }
  const out: Record<string, string> = {};
  for (const [name, entries] of groups) {
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out[name] = entries.map((e) => e[1]).join(';');
  }
  return out;
}
