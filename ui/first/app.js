// Vigil's first page: one PromQL expression, graphed over a range (query_range) and listed at the current
// instant (query). Everything shown from the server goes into the page as text nodes, never as HTML.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import {
  RANGES,
  formatDuration,
  formatSeries,
  formatValue,
  interpretResponse,
  matrixToColumns,
  rangeWindow,
  readState,
  seriesParts,
  writeState,
} from './lib.js';

/** Beyond this the chart becomes unreadable and slow; the rest are counted in the status line. */
const MAX_SERIES = 500;
const MAX_ROWS = 2000;
const CHART_HEIGHT = 320;
/** Distinct hues readable on both the light and the dark background. */
const PALETTE = [
  '#3b82f6',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#8b5cf6',
  '#06b6d4',
  '#ec4899',
  '#84cc16',
  '#f97316',
  '#14b8a6',
];

const $ = (id) => document.getElementById(id);
const el = {
  form: $('query-form'),
  query: $('query'),
  range: $('range'),
  main: document.querySelector('main'),
  errors: $('errors'),
  warnings: $('warnings'),
  chart: $('chart'),
  graphStatus: $('graph-status'),
  graphEmpty: $('graph-empty'),
  table: $('result'),
  tbody: document.querySelector('#result tbody'),
  tableStatus: $('table-status'),
  tableEmpty: $('table-empty'),
};

let plot = null;
/** What the chart shows, kept to redraw it when the colour scheme changes. */
let lastColumns = null;
let inflight = null;

/** Creates an element whose content is plain text. */
function h(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function autosize() {
  el.query.style.height = 'auto';
  el.query.style.height = `${el.query.scrollHeight + 2}px`;
}

function applyState(state) {
  el.query.value = state.query;
  el.range.value = state.range;
  autosize();
}

function currentState() {
  return { query: el.query.value.trim(), range: el.range.value };
}

function showMessages(box, messages) {
  box.replaceChildren(...messages.map((m) => m));
  box.hidden = messages.length === 0;
}

function errorParagraph(context, error) {
  const p = h('p');
  if (context) p.append(h('span', 'error-kind', `${context}: `));
  p.append(h('span', 'error-kind', `${error.type}: `), document.createTextNode(error.message));
  return p;
}

function setText(node, text) {
  node.textContent = text;
}

function setEmpty(node, text) {
  node.textContent = text ?? '';
  node.hidden = !text;
}

function destroyChart() {
  plot?.destroy();
  plot = null;
  lastColumns = null;
  el.chart.replaceChildren();
}

function clearTable() {
  el.tbody.replaceChildren();
  el.table.hidden = true;
}

// ------------------------------------------------------------------------------------------------- API

async function promGet(path, params, signal) {
  const url = `${path}?${new URLSearchParams(params).toString()}`;
  let res;
  let text;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw err;
    return {
      ok: false,
      error: { type: 'network', message: `cannot reach the server (${err.message})` },
      warnings: [],
    };
  }
  return interpretResponse(res.status, res.statusText, text);
}

// ----------------------------------------------------------------------------------------------- chart

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function drawChart(columns) {
  plot?.destroy();
  el.chart.replaceChildren();
  const axis = cssVar('--axis');
  const grid = cssVar('--grid');
  const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const opts = {
    width: Math.max(200, el.chart.clientWidth),
    height: CHART_HEIGHT,
    scales: { x: { time: true } },
    series: [
      {},
      ...columns.series.map((s, i) => ({
        label: formatSeries(s.metric),
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: false,
        value: (_u, v) => formatValue(v),
      })),
    ],
    axes: [axisStyle, { ...axisStyle, size: 64, values: (_u, splits) => splits.map(formatValue) }],
    legend: { live: true },
    cursor: { focus: { prox: 24 } },
    focus: { alpha: 0.35 },
  };
  plot = new uPlot(opts, [columns.x, ...columns.series.map((s) => s.y)], el.chart);
  lastColumns = columns;
}

function renderGraph(result, win, ms) {
  destroyChart();
  setEmpty(el.graphEmpty, '');
  setText(el.graphStatus, '');
  if (!result.ok) {
    setEmpty(el.graphEmpty, 'No graph: the range query failed (see the error above).');
    return;
  }
  const data = result.data;
  if (data?.resultType !== 'matrix' || !Array.isArray(data.result)) {
    setEmpty(
      el.graphEmpty,
      `No graph: the server returned a ${String(data?.resultType)} result for a range query.`,
    );
    return;
  }
  const columns = matrixToColumns(data.result, win.start, win.end, win.step, MAX_SERIES);
  let status = `${columns.total} series · step ${formatDuration(win.step)} · ${ms} ms`;
  if (columns.total - columns.skipped > MAX_SERIES) status += ` · first ${MAX_SERIES} drawn`;
  setText(el.graphStatus, status);
  if (columns.series.length === 0) {
    const from = new Date(win.start * 1000).toLocaleString();
    const to = new Date(win.end * 1000).toLocaleString();
    const note =
      columns.skipped > 0
        ? `No graph: ${columns.skipped} native histogram series cannot be drawn here yet.`
        : `No data: the query returned no series between ${from} and ${to}.`;
    setEmpty(el.graphEmpty, note);
    return;
  }
  drawChart(columns);
}

// ----------------------------------------------------------------------------------------------- table

function seriesCell(metric) {
  const td = h('td');
  const { name, labels } = seriesParts(metric ?? {});
  if (name) td.append(h('span', 'metric-name', name));
  if (labels.length > 0 || !name) {
    td.append(h('span', 'punct', '{'));
    labels.forEach(([k, v], i) => {
      if (i > 0) td.append(h('span', 'punct', ', '));
      td.append(
        h('span', 'label-name', k),
        h('span', 'punct', '="'),
        h('span', 'label-value', v),
        h('span', 'punct', '"'),
      );
    });
    td.append(h('span', 'punct', '}'));
  }
  return td;
}

function row(first, value) {
  const tr = h('tr');
  tr.append(first, value);
  return tr;
}

function valueCell(text) {
  return h('td', 'num', text);
}

/** A native histogram sample, summarised as Prometheus' own UI does in its table. */
function histogramText(hist) {
  return `histogram count=${hist?.count ?? '?'} sum=${hist?.sum ?? '?'}`;
}

function tableRows(data) {
  switch (data?.resultType) {
    case 'vector':
      return data.result.map((s) =>
        row(seriesCell(s.metric), valueCell(s.value ? String(s.value[1]) : histogramText(s.histogram?.[1]))),
      );
    case 'matrix':
      return data.result.map((s) => {
        const points = [
          ...(s.values ?? []).map(([t, v]) => `${v} @${t}`),
          ...(s.histograms ?? []).map(([t, hist]) => `${histogramText(hist)} @${t}`),
        ];
        const td = h('td', 'num');
        points.forEach((p, i) => {
          if (i > 0) td.append(h('br'));
          td.append(document.createTextNode(p));
        });
        return row(seriesCell(s.metric), td);
      });
    case 'scalar':
      return [row(h('td', 'metric-name', 'scalar'), valueCell(String(data.result[1])))];
    case 'string':
      return [row(h('td', 'metric-name', 'string'), valueCell(String(data.result[1])))];
    default:
      return null;
  }
}

function renderTable(result, time, ms) {
  clearTable();
  setEmpty(el.tableEmpty, '');
  setText(el.tableStatus, '');
  if (!result.ok) {
    setEmpty(el.tableEmpty, 'No table: the instant query failed (see the error above).');
    return;
  }
  const rows = tableRows(result.data);
  if (rows === null) {
    setEmpty(el.tableEmpty, `No table: unknown result type ${String(result.data?.resultType)}.`);
    return;
  }
  let status = `${rows.length} ${rows.length === 1 ? 'result' : 'results'} · ${ms} ms`;
  if (rows.length > MAX_ROWS) status += ` · first ${MAX_ROWS} shown`;
  setText(el.tableStatus, status);
  if (rows.length === 0) {
    setEmpty(
      el.tableEmpty,
      `No data: the query returned no series at ${new Date(time * 1000).toLocaleString()}.`,
    );
    return;
  }
  el.tbody.replaceChildren(...rows.slice(0, MAX_ROWS));
  el.table.hidden = false;
}

// ------------------------------------------------------------------------------------------------- run

function updateUrl(state, push) {
  const search = writeState(state);
  if (search !== location.search) history[push ? 'pushState' : 'replaceState'](null, '', search);
  document.title = state.query ? `${state.query} · Vigil` : 'Vigil';
}

function setBusy(busy) {
  el.main.setAttribute('aria-busy', String(busy));
  if (busy) {
    setText(el.graphStatus, 'Loading…');
    setText(el.tableStatus, 'Loading…');
  }
}

async function run({ push }) {
  const state = currentState();
  updateUrl(state, push);
  inflight?.abort();
  inflight = null;
  showMessages(el.errors, []);
  showMessages(el.warnings, []);
  if (state.query === '') {
    destroyChart();
    clearTable();
    setText(el.graphStatus, '');
    setText(el.tableStatus, '');
    setEmpty(el.graphEmpty, 'Enter a PromQL expression above, or pick one of the examples.');
    setEmpty(el.tableEmpty, '');
    return;
  }

  const ctrl = new AbortController();
  inflight = ctrl;
  const nowMs = Date.now();
  const win = rangeWindow(RANGES[state.range], nowMs);
  // The table shows the value now; the graph's right edge may sit up to one step earlier (aligned grid).
  const time = nowMs / 1000;
  setBusy(true);
  const started = performance.now();
  let range;
  let instant;
  try {
    [range, instant] = await Promise.all([
      promGet(
        '/api/v1/query_range',
        { query: state.query, start: win.start, end: win.end, step: win.step },
        ctrl.signal,
      ),
      promGet('/api/v1/query', { query: state.query, time: time.toFixed(3) }, ctrl.signal),
    ]);
  } catch (err) {
    // A newer run replaced this one.
    if (ctrl.signal.aborted) return;
    throw err;
  } finally {
    if (inflight === ctrl) setBusy(false);
  }
  if (inflight !== ctrl) return;
  inflight = null;
  const ms = Math.round(performance.now() - started);

  const errors = [];
  if (
    !range.ok &&
    !instant.ok &&
    range.error.message === instant.error.message &&
    range.error.type === instant.error.type
  )
    errors.push(errorParagraph('', range.error));
  else {
    if (!range.ok) errors.push(errorParagraph('Graph', range.error));
    if (!instant.ok) errors.push(errorParagraph('Table', instant.error));
  }
  showMessages(el.errors, errors);
  const warnings = [...new Set([...range.warnings, ...instant.warnings])];
  showMessages(
    el.warnings,
    warnings.map((w) => h('p', '', w)),
  );

  renderGraph(range, win, ms);
  renderTable(instant, time, ms);
}

function runSafely(push) {
  run({ push }).catch((err) => {
    setBusy(false);
    showMessages(el.errors, [
      errorParagraph('', { type: 'page error', message: String(err?.message ?? err) }),
    ]);
  });
}

// ---------------------------------------------------------------------------------------------- wiring

el.form.addEventListener('submit', (e) => {
  e.preventDefault();
  runSafely(true);
});

el.query.addEventListener('keydown', (e) => {
  // Enter runs, Shift+Enter inserts a line break; never interrupt an IME composition.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    el.form.requestSubmit();
  }
});

el.query.addEventListener('input', autosize);

el.range.addEventListener('change', () => runSafely(true));

for (const button of document.querySelectorAll('.example')) {
  button.addEventListener('click', () => {
    el.query.value = button.dataset.query ?? '';
    autosize();
    runSafely(true);
  });
}

window.addEventListener('popstate', () => {
  applyState(readState(location.search));
  runSafely(false);
});

new ResizeObserver(() => {
  const width = Math.max(200, el.chart.clientWidth);
  // Only width follows the page; reacting to height changes (the legend growing) would loop.
  if (plot && plot.width !== width) plot.setSize({ width, height: CHART_HEIGHT });
}).observe(el.chart);

window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  if (lastColumns) drawChart(lastColumns);
});

applyState(readState(location.search));
if (el.query.value.trim() !== '') runSafely(false);
else setEmpty(el.graphEmpty, 'Enter a PromQL expression above, or pick one of the examples.');
el.query.focus();
