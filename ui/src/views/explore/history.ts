/**
 * Query history for Explore: the last 50 distinct expressions that were run, newest first, kept in
 * localStorage. The list functions are pure; load and save tolerate storage that is full, disabled or holds
 * something unexpected.
 */

export const HISTORY_KEY = 'vigil.explore.history';
export const HISTORY_MAX = 50;

/** Puts `exprs` (in run order) at the front of `list`, dropping blanks, duplicates and entries past `max`. */
export function addToHistory(list: readonly string[], exprs: readonly string[], max = HISTORY_MAX): string[] {
  const fresh = exprs.map((e) => e.trim()).filter((e) => e !== '');
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of [...fresh.reverse(), ...list]) {
    if (seen.has(e)) continue;
    seen.add(e);
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

/** Entries containing every word of `text` (case-insensitive), in history order. */
export function filterHistory(list: readonly string[], text: string): string[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...list];
  return list.filter((e) => {
    const l = e.toLowerCase();
    return words.every((w) => l.includes(w));
  });
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

function defaultStorage(): StorageLike | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // some privacy settings make merely touching localStorage throw
  }
}

export function loadHistory(storage: StorageLike | undefined = defaultStorage()): string[] {
  try {
    const raw = storage?.getItem(HISTORY_KEY);
    if (!raw) return [];
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return [];
    // Older entries first, so addToHistory keeps the stored order (newest first) while cleaning it up.
    return addToHistory([], parsed.filter((e): e is string => typeof e === 'string').reverse());
  } catch {
    return [];
  }
}

export function saveHistory(
  list: readonly string[],
  storage: StorageLike | undefined = defaultStorage(),
): void {
  try {
    storage?.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_MAX)));
  } catch {
    // Storage full or refused: history is a convenience, the query still ran.
  }
}
