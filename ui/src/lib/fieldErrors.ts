/**
 * API validation problems arrive as `details: [{path, message}]` with paths in one of several spellings
 * (`steps[1].delayMinutes`, `/steps/1/delayMinutes`, `steps.1.delayMinutes`). Forms show each message next to
 * its field, so paths are normalised to one key form: `steps.1.delayMinutes`.
 */

/** The normalised field key of a detail path. */
export function fieldKey(path: string): string {
  return path
    .replace(/^\/+/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\//g, '.')
    .replace(/^\.+/, '');
}

/** The first message per field key. */
export function problemsByField(details: readonly { path: string; message: string }[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of details) {
    const k = fieldKey(d.path);
    if (!m.has(k)) m.set(k, d.message);
  }
  return m;
}

/** Messages whose key is not one of `shown` (so the form can list them at the top instead of losing them). */
export function unplacedProblems(problems: Map<string, string>, shown: readonly string[]): string[] {
  return [...problems].filter(([k]) => !shown.includes(k)).map(([k, v]) => (k ? `${k}: ${v}` : v));
}
