import { describe, expect, it } from 'vitest';
import { clearDraft, loadDraft, saveDraft } from './draft.ts';
import { newDashboardDoc } from './model.ts';

function memoryStore() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    m,
  };
}

describe('drafts', () => {
  it('round-trips per uid and clears', () => {
    const s = memoryStore();
    const draft = { doc: newDashboardDoc('x'), baseVersion: 3, savedAt: 42 };
    saveDraft('a', draft, s);
    expect(loadDraft('a', s)).toEqual(draft);
    expect(loadDraft('b', s)).toBeUndefined();
    clearDraft('a', s);
    expect(loadDraft('a', s)).toBeUndefined();
  });
  it('ignores garbage and failing storage', () => {
    const s = memoryStore();
    s.setItem('vigil.dashboard-draft.a', '{not json');
    expect(loadDraft('a', s)).toBeUndefined();
    s.setItem('vigil.dashboard-draft.a', '{"doc": {"title": "x"}, "baseVersion": 1}');
    expect(loadDraft('a', s)).toBeUndefined();
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    expect(loadDraft('a', broken)).toBeUndefined();
    expect(() =>
      saveDraft('a', { doc: newDashboardDoc('x'), baseVersion: 1, savedAt: 0 }, broken),
    ).not.toThrow();
    expect(() => clearDraft('a', broken)).not.toThrow();
  });
});
