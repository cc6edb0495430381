/**
 * Checkpoints of anomaly rules' detectors in the state store's key/value repository. One rule's series are
 * split into chunks of a few hundred (one kv entry each, about 1.5 MB) under `RULEKEY#N`, with a header entry
 * `RULEKEY` naming the chunk count, so no entry grows with the number of series and a rule's state is read
 * without listing the whole namespace.
 */
import type { JsonValue, KvRepo } from '../state/interface.ts';

/** Namespace of the state store's kv repository holding anomaly detectors. */
export const ANOMALY_NAMESPACE = 'anomaly';

/** One series' detector as saved: its labels, the detector's state (base64 of float64s) and bookkeeping. */
export interface SavedAnomalySeries {
  readonly labels: Record<string, string>;
  /** `AnomalyDetector.saveState()` as base64 of the little-endian float64 bytes. */
  readonly state: string;
  /** Time (ms) the series was last returned by the rule's expression. */
  readonly lastSeen: number;
  /** The value last fed to the detector and its time (Unix seconds). */
  readonly lastValue: number | null;
  readonly lastFedT: number | null;
  /** The last output: score, expected, lower, upper (null for NaN). */
  readonly last: (number | null)[];
}

/** A rule's checkpoint. `config` identifies the detector settings; a different one makes the state unusable. */
export interface SavedAnomalyRule {
  readonly config: string;
  readonly savedAt: number;
  readonly series: readonly SavedAnomalySeries[];
}

/** Where anomaly rules keep their detectors across restarts. Calls for one rule key never overlap. */
export interface AnomalyStateStore {
  /** The rule's last checkpoint, or undefined when there is none. */
  load(ruleKey: string): Promise<SavedAnomalyRule | undefined>;
  /** Replaces the rule's checkpoint. */
  save(ruleKey: string, state: SavedAnomalyRule): Promise<void>;
  /** Removes the rule's checkpoint (the rule was removed). Idempotent. */
  delete(ruleKey: string): Promise<void>;
}

export function encodeState(s: Float64Array): string {
  return Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('base64');
}

/** The float64s of a base64 string; undefined when it is not a whole number of float64s. */
export function decodeState(b64: string): Float64Array | undefined {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 8 !== 0) return undefined;
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

interface Header {
  readonly config: string;
  readonly savedAt: number;
  readonly chunks: number;
}

/** An AnomalyStateStore over a kv repository; `chunkSize` series per entry. */
export function kvAnomalyStore(
  kv: KvRepo,
  chunkSize = 500,
  namespace = ANOMALY_NAMESPACE,
): AnomalyStateStore {
  const header = async (key: string): Promise<Header | undefined> => {
    const h = (await kv.get(namespace, key)) as Partial<Header> | null | undefined;
    if (!h || typeof h !== 'object' || typeof h.chunks !== 'number' || typeof h.config !== 'string')
      return undefined;
    return { config: h.config, savedAt: Number(h.savedAt) || 0, chunks: h.chunks };
  };
  return {
    async load(key) {
      const h = await header(key);
      if (!h) return undefined;
      const series: SavedAnomalySeries[] = [];
      for (let i = 0; i < h.chunks; i++) {
        const chunk = await kv.get(namespace, `${key}#${i}`);
        if (Array.isArray(chunk)) series.push(...(chunk as unknown as SavedAnomalySeries[]));
      }
      return { config: h.config, savedAt: h.savedAt, series };
    },
    async save(key, state) {
      const old = await header(key);
      const chunks = Math.ceil(state.series.length / chunkSize);
      for (let i = 0; i < chunks; i++)
        await kv.set(
          namespace,
          `${key}#${i}`,
          state.series.slice(i * chunkSize, (i + 1) * chunkSize) as unknown as JsonValue,
        );
      await kv.set(namespace, key, { config: state.config, savedAt: state.savedAt, chunks });
      for (let i = chunks; i < (old?.chunks ?? 0); i++) await kv.delete(namespace, `${key}#${i}`);
    },
    async delete(key) {
      const old = await header(key);
      await kv.delete(namespace, key);
      for (let i = 0; i < (old?.chunks ?? 0); i++) await kv.delete(namespace, `${key}#${i}`);
    },
  };
}

/** An AnomalyStateStore in memory, for tests and for running without a state store. */
export class MemoryAnomalyStore implements AnomalyStateStore {
  readonly saved = new Map<string, SavedAnomalyRule>();
  async load(key: string): Promise<SavedAnomalyRule | undefined> {
    const s = this.saved.get(key);
    return s && (JSON.parse(JSON.stringify(s)) as SavedAnomalyRule);
  }
  async save(key: string, state: SavedAnomalyRule): Promise<void> {
    this.saved.set(key, JSON.parse(JSON.stringify(state)) as SavedAnomalyRule);
  }
  async delete(key: string): Promise<void> {
    this.saved.delete(key);
  }
}
