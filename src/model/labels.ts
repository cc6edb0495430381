/**
 * A series' identity: label name to value, including `__name__` for the metric name.
 * Treated as immutable once built; empty values are equivalent to an absent label (Prometheus semantics).
 */
export type Labels = Readonly<Record<string, string>>;

export const METRIC_NAME = '__name__';

/** Prometheus' stale marker: a NaN with a fixed payload, written when a series disappears. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
const staleBuf = new DataView(new ArrayBuffer(8));
staleBuf.setBigUint64(0, STALE_NAN_BITS);
export const STALE_NAN: number = staleBuf.getFloat64(0);

/** True only for the stale-marker NaN, not for an ordinary NaN value. */
export function isStaleNaN(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  staleBuf.setFloat64(0, v);
  return staleBuf.getBigUint64(0) === STALE_NAN_BITS;
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/** Canonical string for a label set: sorted by name, empty values dropped. Used as a map key and hash input. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let out = '';
  for (const n of names) {
    const v = labels[n]!;
    if (v === '') continue;
    out += n + '\u0000' + v + '\u0001';
  }
  return out;
}

/** Returns the labels sorted by name with empty values removed. */
export function normalizeLabels(labels: Labels): Labels {
  const out: Record<string, string> = {};
  for (const n of Object.keys(labels).sort()) {
    const v = labels[n]!;
    if (v !== '') out[n] = v;
  }
  return out;
}

/** A copy without `__name__`. */
export function dropMetricName(labels: Labels): Labels {
  if (!(METRIC_NAME in labels)) return labels;
  const { [METRIC_NAME]: _drop, ...rest } = labels;
  return rest;
}

/** Prometheus-style rendering: `name{a="b", c="d"}`. */
export function formatLabels(labels: Labels): string {
  const name = labels[METRIC_NAME] ?? '';
  const parts = Object.keys(labels)
    .filter((n) => n !== METRIC_NAME)
    .sort()
    .map((n) => `${n}=${JSON.stringify(labels[n])}`);
  return parts.length ? `${name}{${parts.join(', ')}}` : name || '{}';
}

/**
 * 64-bit series identifier derived from the canonical label key (FNV-1a over UTF-16 code units, 64-bit).
 * Stable across processes and restarts; collisions are astronomically unlikely at our scale.
 */
export function seriesId(key: string): bigint {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (BigInt(h1 >>> 0) << 32n) | BigInt((h2 ^ h1) >>> 0);
}
