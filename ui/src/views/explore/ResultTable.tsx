/**
 * Table mode: each query's instant result at the end of the range, one row per series with its labels (as
 * columns or as `{a="b"}` text) and value, sortable by any column. Values are shown exactly as sent.
 */
import { memo, useMemo } from 'react';
import { formatSeries } from '../../lib/format.ts';
import { formatDateTime } from '../../lib/time.ts';
import { labelColumns, sortRows, type Sort, type TableResult, type TableRow } from './table.ts';

/** Beyond this many rows the table shows the first ones only; the count says so. */
const MAX_ROWS = 2000;
const MAX_SAMPLES_PER_CELL = 12;

export interface TableSection {
  readonly letter: string;
  readonly expr: string;
  readonly result?: TableResult;
}

export const ResultTables = memo(function ResultTables({
  sections,
  labelsAsText,
  sort,
  onSort,
}: {
  sections: readonly TableSection[];
  labelsAsText: boolean;
  sort: Sort;
  onSort(col: string): void;
}) {
  return (
    <div className="result-tables">
      {sections.map((s) =>
        s.result ? (
          <ResultTable
            key={s.letter}
            section={s}
            result={s.result}
            labelsAsText={labelsAsText}
            sort={sort}
            onSort={onSort}
            showHead={sections.length > 1}
          />
        ) : null,
      )}
    </div>
  );
});

function ResultTable({
  section,
  result,
  labelsAsText,
  sort,
  onSort,
  showHead,
}: {
  section: TableSection;
  result: TableResult;
  labelsAsText: boolean;
  sort: Sort;
  onSort(col: string): void;
  showHead: boolean;
}) {
  const columns = useMemo(() => labelColumns(result.rows), [result]);
  // Rows without any label (e.g. `sum(x)`) read better as `{}` than as a table with no label column.
  const asText = labelsAsText || columns.length === 0;
  // A column that no longer exists (another query, text mode) sorts by value instead.
  const effective: Sort =
    sort.col === 'value' || (asText ? sort.col === 'series' : columns.includes(sort.col))
      ? sort
      : { col: 'value', desc: true };
  const rows = useMemo(() => sortRows(result.rows, effective), [result, effective.col, effective.desc]);
  const shown = rows.length > MAX_ROWS ? rows.slice(0, MAX_ROWS) : rows;
  const scalarLike = result.resultType === 'scalar' || result.resultType === 'string';

  return (
    <section className="result-table" data-testid="result-table" data-rows={rows.length}>
      {showHead && (
        <h3 className="result-table-head">
          <span className="query-letter small">{section.letter}</span>
          <code>{section.expr}</code>
        </h3>
      )}
      {rows.length === 0 ? (
        <p className="muted table-empty">No series at this time.</p>
      ) : (
        <div className="table-scroll">
          <table className="table explore-table">
            <thead>
              <tr>
                {scalarLike ? (
                  <th>{result.resultType}</th>
                ) : asText ? (
                  <SortHeader col="series" label="Series" sort={effective} onSort={onSort} />
                ) : (
                  columns.map((c) => (
                    <SortHeader
                      key={c}
                      col={c}
                      label={c === '__name__' ? 'metric' : c}
                      sort={effective}
                      onSort={onSort}
                    />
                  ))
                )}
                <SortHeader col="value" label="Value" sort={effective} onSort={onSort} numeric />
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.key}>
                  {scalarLike ? (
                    <td className="muted">at {formatDateTime(r.time * 1000)}</td>
                  ) : asText ? (
                    <td className="mono series-cell">{formatSeries(r.metric)}</td>
                  ) : (
                    columns.map((c) => (
                      <td key={c} className={`mono ${r.metric[c] === undefined ? 'muted' : ''}`}>
                        {r.metric[c] ?? ''}
                      </td>
                    ))
                  )}
                  <ValueCell row={r} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows.length > shown.length && (
        <p className="muted table-more">
          Showing the first {shown.length.toLocaleString()} of {rows.length.toLocaleString()} series; narrow
          the query (label matchers, topk) to see the rest.
        </p>
      )}
    </section>
  );
}

function ValueCell({ row }: { row: TableRow }) {
  if (!row.samples) return <td className="num">{row.text}</td>;
  const samples = row.samples.slice(-MAX_SAMPLES_PER_CELL);
  return (
    <td className="num samples">
      {row.samples.length > samples.length && (
        <div className="muted">{row.samples.length - samples.length} earlier samples…</div>
      )}
      {samples.map(([t, v]) => (
        <div key={t}>
          {v} <span className="muted">@{t}</span>
        </div>
      ))}
    </td>
  );
}

function SortHeader({
  col,
  label,
  sort,
  onSort,
  numeric,
}: {
  col: string;
  label: string;
  sort: Sort;
  onSort(col: string): void;
  numeric?: boolean;
}) {
  const active = sort.col === col;
  return (
    <th
      aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
      className={numeric ? 'num' : ''}
    >
      <button type="button" className={`sort ${active ? 'active' : ''}`} onClick={() => onSort(col)}>
        {label}
        <span className="sort-arrow" aria-hidden>
          {active ? (sort.desc ? '▼' : '▲') : '↕'}
        </span>
      </button>
    </th>
  );
}
