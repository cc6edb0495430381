/**
 * Unsaved edits survive a reload: while a dashboard is being edited its draft is kept in localStorage,
 * with the version it was based on, and the page offers to restore it. Storage failures (private windows,
 * quota) are ignored: the draft is a safety net, not the source of truth.
 */
import type { DashboardDoc } from './model.ts';

export interface Draft {
  readonly doc: DashboardDoc;
  /** The server version the edits started from (sent with the save, so concurrent saves are detected). */
  readonly baseVersion: number;
  /** When the draft was last written (ms since the epoch). */
  readonly savedAt: number;
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const key = (uid: string) => `vigil.dashboard-draft.${uid}`;

function storage(): StorageLike | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

export function loadDraft(uid: string, store: StorageLike | undefined = storage()): Draft | undefined {
  try {
    const text = store?.getItem(key(uid));
    if (!text) return undefined;
    const d = JSON.parse(text) as Partial<Draft>;
    if (
      !d.doc ||
      typeof d.doc !== 'object' ||
      !Array.isArray(d.doc.panels) ||
      typeof d.baseVersion !== 'number'
    )
      return undefined;
    return { doc: d.doc, baseVersion: d.baseVersion, savedAt: typeof d.savedAt === 'number' ? d.savedAt : 0 };
  } catch {
    return undefined;
  }
}

export function saveDraft(uid: string, draft: Draft, store: StorageLike | undefined = storage()): void {
  try {
    store?.setItem(key(uid), JSON.stringify(draft));
  } catch {
    // Quota or a private window: the edits are still in memory.
  }
}

export function clearDraft(uid: string, store: StorageLike | undefined = storage()): void {
  try {
    store?.removeItem(key(uid));
  } catch {
    // Nothing to do.
  }
}
