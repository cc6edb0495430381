import { describe, expect, it } from 'vitest';
import { diagnosticRange, editorErrorFrom, offsetOf, parseErrorPosition } from './promqlPosition.ts';

describe('parseErrorPosition', () => {
  it.each([
    ['1:7: parse error: unexpected "}"', { message: 'parse error: unexpected "}"', line: 1, col: 7 }],
    ['2:14: parse error: x', { message: 'parse error: x', line: 2, col: 14 }],
    [
      'found duplicate series for the match group (1:5)',
      { message: 'found duplicate series for the match group', line: 1, col: 5 },
    ],
    ['query timed out', { message: 'query timed out' }],
    ['bad step 1:2 inside', { message: 'bad step 1:2 inside' }],
  ])('%s', (input, want) => {
    expect(parseErrorPosition(input)).toEqual(want);
  });
});

describe('editorErrorFrom', () => {
  it('reads Error messages and plain values, and passes undefined through', () => {
    expect(editorErrorFrom(new Error('1:3: parse error: y'))).toEqual({
      message: 'parse error: y',
      line: 1,
      col: 3,
    });
    expect(editorErrorFrom('boom')).toEqual({ message: 'boom' });
    expect(editorErrorFrom(undefined)).toBeUndefined();
  });
});

describe('offsetOf', () => {
  const text = 'sum(rate(x[5m]))\n  by (job)';
  it.each([
    [1, 1, 0],
    [1, 5, 4],
    [1, 99, 16], // clamped to the end of line 1
    [2, 3, 19],
    [3, 1, text.length], // past the last line
    [1, 0, 0],
  ])('line %i col %i → %i', (line, col, want) => {
    expect(offsetOf(text, line, col)).toBe(want);
  });
});

describe('diagnosticRange', () => {
  it.each([
    ['rate(foo[5m]', 1, 6, { from: 5, to: 8 }], // the word `foo`
    ['up{job=}', 1, 8, { from: 7, to: 8 }], // one character
    ['sum(', 1, 5, { from: 4, to: 4 }], // end of input: a point
    ['a\nb c', 2, 3, { from: 4, to: 5 }],
  ])('%j at %i:%i', (text, line, col, want) => {
    expect(diagnosticRange(text, { message: 'x', line, col })).toEqual(want);
  });
  it('is undefined without a position', () => {
    expect(diagnosticRange('x', { message: 'x' })).toBeUndefined();
  });
});
