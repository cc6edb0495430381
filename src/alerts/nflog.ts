/**
 * The notification log: per (group key, receiver, integration) the alerts that were firing and resolved at
 * the last successful notification, and when. The dedup stage compares against it to decide whether a
 * flush must notify (Alertmanager's nflog). Kept in the state store so a restart does not re-send.
 */
import type { JsonValue, KvRepo } from '../state/interface.ts';

export interface NflogEntry {
  readonly firing: readonly string[];
  readonly resolved: readonly string[];
  /** When the notification was sent (epoch ms). */
  readonly timestamp: number;
}

export interface NflogStorage {
  load(): Promise<[string, NflogEntry][]>;
  save(key: string, e: NflogEntry): Promise<void>;
  remove(key: string): Promise<void>;
}

export function kvNflogStorage(kv: KvRepo, namespace = 'alertmanager.nflog'): NflogStorage {
  return {
    load: async () => (await kv.list(namespace)).map((e) => [e.key, e.value as unknown as NflogEntry]),
    save: (key, e) => kv.set(namespace, key, e as unknown as JsonValue),
    remove: async (key) => void (await kv.delete(namespace, key)),
  };
}

/** Entries older than this are dropped (Alertmanager's default --data.retention). */
export const NFLOG_RETENTION_MS = 120 * 3_600_000;

export class NotificationLog {
  private readonly entries = new Map<string, NflogEntry>();

  constructor(private readonly storage?: NflogStorage) {}

  static async open(storage?: NflogStorage): Promise<NotificationLog> {
    const log = new NotificationLog(storage);
    if (storage) for (const [k, e] of await storage.load()) log.entries.set(k, e);
    return log;
  }

  static key(groupKey: string, receiver: string, integration: string): string {
    return `${receiver}/${integration}/${groupKey}`;
  }

  get(key: string): NflogEntry | undefined {
    return this.entries.get(key);
  }

  async set(key: string, e: NflogEntry): Promise<void> {
    this.entries.set(key, e);
    await this.storage?.save(key, e);
  }

  async gc(now: number, retentionMs = NFLOG_RETENTION_MS): Promise<void> {
    for (const [k, e] of this.entries)
      if (e.timestamp + retentionMs <= now) {
        this.entries.delete(k);
        await this.storage?.remove(k);
      }
  }
}

/**
 * Alertmanager's DedupStage decision: notify when there was no notification yet and something fires, when
 * a firing alert is new, when everything resolved after a firing notification, when (with send_resolved)
 * a resolved alert is new, or when repeat_interval has passed since the last notification.
 */
export function needsUpdate(
  entry: NflogEntry | undefined,
  firing: ReadonlySet<string>,
  resolved: ReadonlySet<string>,
  sendResolved: boolean,
  repeatIntervalMs: number,
  now: number,
): boolean {
  if (!entry) return firing.size > 0;
  const prevFiring = new Set(entry.firing);
  for (const f of firing) if (!prevFiring.has(f)) return true;
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved) {
    const prevResolved = new Set(entry.resolved);
    for (const r of resolved) if (!prevResolved.has(r)) return true;
  }
  return entry.timestamp < now - repeatIntervalMs;
}
