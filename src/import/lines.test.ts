import { describe, expect, it } from 'vitest';
import { LineSplitter, LineTooLongError, type Line } from './lines.ts';

/** Splits `data` fed in chunks of `size` bytes. */
function split(data: Buffer, size: number, splitter = new LineSplitter()): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < data.length; i += size) out.push(...splitter.push(data.subarray(i, i + size)));
  const last = splitter.end();
  if (last) out.push(last);
  return out;
}

describe('LineSplitter', () => {
  const text = 'first\nsecond line\r\n\nünïcødé ✓\nlast without newline';
  const data = Buffer.from(text);

  it.each([1, 2, 3, 7, 64, 1 << 20])('gives the same lines and byte offsets with %i-byte chunks', (size) => {
    const lines = split(data, size);
    expect(lines.map((l) => l.text)).toEqual([
      'first',
      'second line\r',
      '',
      'ünïcødé ✓',
      'last without newline',
    ]);
    expect(lines.map((l) => l.no)).toEqual([1, 2, 3, 4, 5]);
    for (const l of lines) {
      expect(l.utf8).toBe(true);
      // Offsets point at the line's bytes in the data, including multi-byte characters.
      expect(data.subarray(l.start, l.end).toString('utf8').replace(/\n$/, '')).toBe(l.text);
    }
    expect(lines.at(-1)!.end).toBe(data.length);
  });

  it('continues from a given offset and line number', () => {
    const s = new LineSplitter(100, 7);
    const lines = s.push(Buffer.from('a\nbb\n'));
    expect(lines.map((l) => [l.no, l.start, l.end])).toEqual([
      [7, 100, 102],
      [8, 102, 105],
    ]);
    expect(s.position).toBe(105);
    expect(s.nextLine).toBe(9);
    expect(s.end()).toBeUndefined();
  });

  it('marks lines that are not valid UTF-8', () => {
    const lines = split(Buffer.from([0x61, 0xff, 0x62, 0x0a, 0x63, 0xef, 0xbf, 0xbd, 0x0a]), 3);
    expect(lines.map((l) => l.utf8)).toEqual([false, true]);
    expect(lines[1]!.text).toBe('c\uFFFD'); // a real U+FFFD is valid UTF-8
  });

  it('refuses a line longer than the limit', () => {
    const s = new LineSplitter(0, 1, 10);
    expect(s.push(Buffer.from('short\n'))).toHaveLength(1);
    expect(() => s.push(Buffer.from('x'.repeat(11)))).toThrow(LineTooLongError);
    expect(() => new LineSplitter(0, 1, 10).push(Buffer.from('y'.repeat(20) + '\n'))).toThrow(
      /line 1 is longer than 10 bytes/,
    );
  });
});
