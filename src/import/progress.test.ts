import { describe, expect, it } from 'vitest';
import { ProgressReporter, bar, formatBytes, formatCount, formatDuration, progressText } from './progress.ts';

describe('progress formatting', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.50 KiB'],
    [10 * 1024 * 1024, '10.0 MiB'],
    [3.5 * 1024 ** 3, '3.50 GiB'],
  ])('formatBytes(%d) = %s', (n, want) => expect(formatBytes(n)).toBe(want));

  it.each([
    [999, '999'],
    [1234, '1.23k'],
    [56_789_000, '56.8M'],
    [2e9, '2.00G'],
  ])('formatCount(%d) = %s', (n, want) => expect(formatCount(n)).toBe(want));

  it.each([
    [1500, '1.5s'],
    [42_000, '42s'],
    [125_000, '2m5s'],
    [3_725_000, '1h2m5s'],
    [Infinity, '?'],
  ])('formatDuration(%d) = %s', (n, want) => expect(formatDuration(n)).toBe(want));

  it('draws a bar', () => {
    expect(bar(0.5, 10)).toBe('[#####-----]');
    expect(bar(2, 4)).toBe('[####]');
  });

  it('shows position, samples, rates and ETA of this run', () => {
    const text = progressText(
      { done: 600 * 1024 ** 2, total: 1024 ** 3, unit: 'bytes', samples: 3_000_000 },
      { done: 100 * 1024 ** 2, samples: 500_000 },
      10_000,
    );
    // 500 MiB and 2.5M samples in 10 s; 424 MiB left at 50 MiB/s.
    expect(text).toBe(' 58.6%  600 MiB / 1.00 GiB  3.00M samples  250k samples/s  50.0 MiB/s  ETA 8.5s');
    const windows = progressText(
      { done: 3, total: 12, unit: 'windows', samples: 900, note: 'at 2026-01-01T06:00:00.000Z' },
      { done: 0, samples: 0 },
      3000,
      { bar: true, final: false },
    );
    expect(windows).toBe(
      '[######------------------]   25.0%  3/12 windows  900 samples  300 samples/s  ETA 9.0s  at 2026-01-01T06:00:00.000Z',
    );
  });
});

describe('ProgressReporter', () => {
  function stream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, out: { isTTY, columns: 200, write: (s: string) => writes.push(s) } };
  }

  it('writes plain lines at the interval when not on a terminal', () => {
    let now = 0;
    const { writes, out } = stream(false);
    const p = new ProgressReporter(out, { plainIntervalMs: 1000, now: () => now });
    for (let i = 1; i <= 5; i++) {
      now = i * 400;
      p.update({ done: i, total: 5, unit: 'windows', samples: i * 10 });
    }
    p.message('a warning');
    p.finish();
    expect(writes).toEqual([
      expect.stringMatching(/^ 60.0%  3\/5 windows/),
      'a warning\n',
      expect.stringMatching(/^100.0%  5\/5 windows  50 samples .* in 2.0s\n$/),
    ]);
    expect(writes.every((w) => !w.includes('\r'))).toBe(true);
  });

  it('redraws one line on a terminal and keeps messages above it', () => {
    let now = 0;
    const { writes, out } = stream(true);
    const p = new ProgressReporter(out, { ttyIntervalMs: 100, now: () => now });
    p.update({ done: 0, total: 2, unit: 'bytes', samples: 0 });
    now = 200;
    p.update({ done: 1, total: 2, unit: 'bytes', samples: 1 });
    p.message('file:3: bad line (line skipped)');
    p.finish({ done: 2, total: 2, unit: 'bytes', samples: 2 });
    expect(writes[0]).toMatch(
      /^\r\x1b\[K\[#+-+\]\s+50.0%  1 B \/ 2 B  1 samples  5 samples\/s  5 B\/s  ETA 0.2s$/,
    );
    expect(writes[1]).toBe('\r\x1b[K');
    expect(writes[2]).toBe('file:3: bad line (line skipped)\n');
    expect(writes[3]).toMatch(/^\r\x1b\[K\[/);
    expect(writes.at(-2)).toMatch(/100.0%.* in 0.2s/);
    expect(writes.at(-1)).toBe('\n');
  });
});
