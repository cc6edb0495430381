// Run with `node --test ui/first/` (Node's built-in runner: the page has no build step or dependencies).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDuration,
  formatSeries,
  formatValue,
  interpretResponse,
  matrixToColumns,
  parseSampleValue,
  rangeWindow,
  readState,
  seriesParts,
  stepFor,
  writeState,
} from './lib.js';

describe('URL state', () => {
  it('round-trips query and range, including characters that need escaping', () => {
    const state = { query: 'sum by (job) (rate(x{a="b&c", d=~"e|f"}[5m])) / 100 + 1', range: '6h' };
    assert.deepEqual(readState(writeState(state)), state);
  });

  it('falls back to the default range for unknown or missing values', () => {
    assert.deepEqual(readState('?q=up&range=13m'), { query: 'up', range: '1h' });
    assert.deepEqual(readState(''), { query: '', range: '1h' });
    assert.deepEqual(readState('?range=__proto__'), { query: '', range: '1h' });
  });
});

describe('step and window', () => {
  for (const [range, step] of [
    [300, 1],
    [900, 4],
    [3600, 14],
    [21600, 86],
    [86400, 346],
    [604800, 2419],
    [60, 1],
  ]) {
    it(`range ${range}s → step ${step}s`, () => assert.equal(stepFor(range), step));
  }

  it('aligns start and end to the step and covers the range', () => {
    const w = rangeWindow(3600, Date.UTC(2026, 0, 1, 12, 0, 7, 500));
    assert.equal(w.step, 14);
    assert.equal(w.end % 14, 0);
    assert.equal(w.start % 14, 0);
    assert.ok(w.end <= Date.UTC(2026, 0, 1, 12, 0, 7, 500) / 1000);
    assert.ok(w.end - w.start <= 3600 && w.end - w.start > 3600 - 14);
  });
});

describe('values', () => {
  it('parses Prometheus sample strings, leaving gaps for what cannot be drawn', () => {
    assert.equal(parseSampleValue('1.5'), 1.5);
    assert.equal(parseSampleValue('-2e-3'), -0.002);
    assert.equal(parseSampleValue('NaN'), null);
    assert.equal(parseSampleValue('+Inf'), null);
    assert.equal(parseSampleValue('-Inf'), null);
  });

  for (const [v, s] of [
    [0, '0'],
    [1, '1'],
    [0.5, '0.5'],
    [999.95, '1000'],
    [1500, '1.5k'],
    [25_276_026_880, '25.28G'],
    [-3_000_000, '-3M'],
    [0.00042, '4.20e-4'],
    [Infinity, '+Inf'],
    [null, '—'],
  ]) {
    it(`formats ${v} as ${s}`, () => assert.equal(formatValue(v), s));
  }

  for (const [s, d] of [
    [0, '0s'],
    [14, '14s'],
    [86, '1m26s'],
    [7200, '2h'],
    [2419, '40m19s'],
    [90061, '1d1h1m1s'],
  ]) {
    it(`formats ${s}s as ${d}`, () => assert.equal(formatDuration(s), d));
  }
});

describe('series names', () => {
  it('prints series the way Prometheus does', () => {
    assert.equal(
      formatSeries({ __name__: 'up', job: 'node', instance: 'a:1' }),
      'up{instance="a:1", job="node"}',
    );
    assert.equal(formatSeries({ __name__: 'up' }), 'up');
    assert.equal(formatSeries({}), '{}');
    assert.equal(formatSeries({ job: 'x' }), '{job="x"}');
    assert.equal(formatSeries({ v: '<b>"q"</b>' }), '{v="<b>\\"q\\"</b>"}');
  });

  it('splits a series into name and sorted label pairs', () => {
    assert.deepEqual(seriesParts({ b: '2', __name__: 'm', a: '1' }), {
      name: 'm',
      labels: [
        ['a', '1'],
        ['b', '2'],
      ],
    });
  });
});

describe('matrixToColumns', () => {
  it('puts every series on the step grid with gaps where points are missing', () => {
    const matrix = [
      {
        metric: { __name__: 'a' },
        values: [
          [100, '1'],
          [110, '2'],
          [130, 'NaN'],
        ],
      },
      { metric: { __name__: 'b' }, values: [[120, '5']] },
      { metric: { __name__: 'h' }, histograms: [[100, { count: '1' }]] },
    ];
    const c = matrixToColumns(matrix, 100, 130, 10);
    assert.deepEqual(c.x, [100, 110, 120, 130]);
    assert.deepEqual(
      c.series.map((s) => s.y),
      [
        [1, 2, null, null],
        [null, null, 5, null],
      ],
    );
    assert.equal(c.skipped, 1);
    assert.equal(c.total, 3);
  });

  it('keeps at most maxSeries series', () => {
    const matrix = Array.from({ length: 5 }, (_, i) => ({ metric: { i: String(i) }, values: [[0, '1']] }));
    const c = matrixToColumns(matrix, 0, 0, 1, 2);
    assert.equal(c.series.length, 2);
    assert.equal(c.total, 5);
  });
});

describe('interpretResponse', () => {
  it('returns data and warnings of a successful response', () => {
    const r = interpretResponse(
      200,
      'OK',
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: [] },
        warnings: ['w'],
        infos: ['i'],
      }),
    );
    assert.deepEqual(r, { ok: true, data: { resultType: 'vector', result: [] }, warnings: ['w', 'i'] });
  });

  it('returns the Prometheus error type and message', () => {
    const r = interpretResponse(
      400,
      'Bad Request',
      JSON.stringify({
        status: 'error',
        errorType: 'bad_data',
        error: 'parse error at char 5: unexpected "}"',
      }),
    );
    assert.deepEqual(r.error, {
      type: 'bad_data',
      message: 'parse error at char 5: unexpected "}"',
      status: 400,
    });
    assert.equal(r.ok, false);
  });

  it('describes a response that is not the Prometheus API', () => {
    const r = interpretResponse(404, 'Not Found', '<html>\n  <body>Not   Found</body></html>');
    assert.equal(r.ok, false);
    assert.equal(r.error.type, 'http');
    assert.equal(
      r.error.message,
      'unexpected response: HTTP 404 Not Found — <html> <body>Not Found</body></html>',
    );
    assert.equal(interpretResponse(502, '', '').error.message, 'unexpected response: HTTP 502');
  });
});
