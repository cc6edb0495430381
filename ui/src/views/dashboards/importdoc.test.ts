import { describe, expect, it } from 'vitest';
import { documentForImport, parseImportText } from './importdoc.ts';

describe('parseImportText', () => {
  it('parses JSON', () => {
    expect(parseImportText('{"title": "x"}')).toEqual({ ok: true, value: { title: 'x' } });
  });
  it('says where a syntax error is', () => {
    const r = parseImportText('{\n  "title": "x",\n  oops\n}');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(/^This is not valid JSON \(line 3, column 3\)/);
      expect(r.message).not.toMatch(/position/);
    }
  });
  it('asks for text when empty', () => {
    expect(parseImportText('  \n')).toEqual({ ok: false, message: expect.stringMatching(/Paste the JSON/) });
  });
});

describe('documentForImport', () => {
  const doc = { schemaVersion: 1, uid: 'a', title: 't' };
  it('keeps, drops or replaces the uid', () => {
    expect(documentForImport(doc, 'keep')).toEqual(doc);
    expect(documentForImport(doc, 'overwrite')).toEqual(doc);
    expect(documentForImport(doc, 'copy')).toEqual({ schemaVersion: 1, title: 't' });
    expect(documentForImport(doc, 'copy', ' b ')).toEqual({ ...doc, uid: 'b' });
    expect(doc.uid).toBe('a');
  });
  it('passes non-objects through for the server to reject', () => {
    expect(documentForImport([1], 'copy')).toEqual([1]);
    expect(documentForImport('x', 'keep')).toBe('x');
  });
});
