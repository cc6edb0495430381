/**
 * Where notification records are kept between restarts: the state store's key/value repository (namespace
 * `alertmanager.notifications`, keys ordered by time), bounded by age and count so it stays small.
 */
import type { JsonValue, KvRepo } from '../state/interface.ts';
import type { NotificationRecord } from './dispatch.ts';

export interface RecordStorage {
  /** Every stored record, oldest first. */
  load(): Promise<NotificationRecord[]>;
  save(r: NotificationRecord): Promise<void>;
  /** Deletes records older than `minAt` and all but the newest `keep`; returns how many were deleted. */
  prune(minAt: number, keep: number): Promise<number>;
}

/** Records kept for a week, at most this many. */
export const RECORD_RETENTION_MS = 7 * 86_400_000;
export const RECORD_MAX = 10_000;

function key(r: NotificationRecord): string {
  return `${String(r.at).padStart(15, '0')}-${r.id}`;
}

export function kvRecordStorage(kv: KvRepo, namespace = 'alertmanager.notifications'): RecordStorage {
  return {
    load: async () => (await kv.list(namespace)).map((e) => e.value as unknown as NotificationRecord),
    save: (r) => kv.set(namespace, key(r), r as unknown as JsonValue),
    prune: async (minAt, keep) => {
      const entries = await kv.list(namespace);
      let n = 0;
      for (const [i, e] of entries.entries()) {
        const r = e.value as unknown as NotificationRecord;
        if (r.at < minAt || i < entries.length - keep) {
          await kv.delete(namespace, e.key);
          n++;
        }
      }
      return n;
    },
  };
}
