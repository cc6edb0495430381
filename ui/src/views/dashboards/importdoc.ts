/** Import: the text a user pasted or chose, checked as JSON here and as a dashboard by the server. Pure. */

export type ImportMode = 'keep' | 'copy' | 'overwrite';

export type ParsedImport = { ok: true; value: unknown } | { ok: false; message: string };

/** Parses pasted JSON; a syntax error says where (line and column), since pasted text is often long. */
export function parseImportText(text: string): ParsedImport {
  if (text.trim() === '') return { ok: false, message: 'Paste the JSON of a dashboard, or choose a file.' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /at position (\d+)/.exec(msg);
    const lc = /line (\d+) column (\d+)/.exec(msg);
    let where = '';
    if (lc) where = ` (line ${lc[1]}, column ${lc[2]})`;
    else if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      const col = before.length - before.lastIndexOf('\n');
      where = ` (line ${line}, column ${col})`;
    }
    const reason = msg.replace(/\s*\(line \d+ column \d+\)/, '').replace(/\s*in JSON at position \d+.*$/, '');
    return { ok: false, message: `This is not valid JSON${where}: ${reason}` };
  }
}

/**
 * The document to send for an import mode: `keep` sends it as it is (the server refuses an existing uid),
 * `copy` drops the uid so the server assigns a new one, `overwrite` keeps it and replaces that dashboard.
 * With `uid`, that uid is used instead of the document's.
 */
export function documentForImport(value: unknown, mode: ImportMode, uid?: string): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const doc = { ...(value as Record<string, unknown>) };
  if (uid && uid.trim() !== '') doc.uid = uid.trim();
  else if (mode === 'copy') delete doc.uid;
  return doc;
}
