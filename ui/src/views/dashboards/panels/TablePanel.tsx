/** One row per series at the end of the range: its labels as columns, then the value. Sortable. */
import { useMemo, useState } from 'react';
import { formatValue, parseSampleValue } from '../../../lib/format.ts';
import { thresholdColor } from '../model.ts';
import { useInstantQueries, useReport, type BodyProps } from '../panelData.ts';
import { emptyState, queryLetter } from './common.tsx';

interface Row {
  key: string;
  query: number;
  labels: Record<string, string>;
  value: number;
}

const VALUE = '\u0000value';
const QUERY = '\u0000query';

export function TablePanel({ panel, prepared, ctx, enabled, report }: BodyProps) {
  const r = useInstantQueries(prepared, ctx.range, enabled);
  useReport(report, r);
  const o = panel.options ?? {};
  const [sort, setSort] = useState<{ col: string; desc: boolean }>({ col: VALUE, desc: true });

  const rows = useMemo(
    () =>
      r.samples.flatMap((list, qi) =>
        list.map((s): Row => ({
          key: `${qi}\u0000${JSON.stringify(s.metric)}`,
          query: prepared.queries[qi]?.index ?? qi,
          labels: s.metric,
          value: parseSampleValue(s.value[1]),
        })),
      ),
    [r.samples],
  );
  const columns = useMemo(() => {
    const names = new Set<string>();
    for (const row of rows) for (const k of Object.keys(row.labels)) names.add(k);
    const sorted = [...names].filter((n) => n !== '__name__').sort();
    return names.has('__name__') ? ['__name__', ...sorted] : sorted;
  }, [rows]);
  const multi = prepared.queries.length > 1;

  const sorted = useMemo(() => {
    const dir = sort.desc ? -1 : 1;
    const cmp = (a: Row, b: Row): number => {
      if (sort.col === VALUE) {
        if (Number.isNaN(a.value)) return 1;
        if (Number.isNaN(b.value)) return -1;
        return (a.value - b.value) * dir;
      }
      if (sort.col === QUERY) return (a.query - b.query) * dir;
      return (
        (a.labels[sort.col] ?? '').localeCompare(b.labels[sort.col] ?? '', undefined, { numeric: true }) * dir
      );
    };
    return [...rows].sort(cmp);
  }, [rows, sort]);

  const state = emptyState({
    hasQueries: prepared.queries.length > 0,
    waiting: prepared.waiting,
    ready: r.ready,
    errors: r.errors,
    dataCount: rows.length,
    queryCount: prepared.queries.length,
  });
  if (state) return <div className="table-body">{state}</div>;

  const header = (col: string, label: string, num = false) => (
    <th
      key={col}
      className={num ? 'num' : undefined}
      aria-sort={sort.col === col ? (sort.desc ? 'descending' : 'ascending') : 'none'}
    >
      <button
        type="button"
        className="th-sort"
        onClick={() => setSort((s) => ({ col, desc: s.col === col ? !s.desc : col === VALUE }))}
      >
        {label}
        <span className="sort-mark" aria-hidden>
          {sort.col === col ? (sort.desc ? '▾' : '▴') : ''}
        </span>
      </button>
    </th>
  );
  return (
    <div className="table-body">
      <table className="table panel-table">
        <thead>
          <tr>
            {multi && header(QUERY, 'Query')}
            {columns.map((c) => header(c, c === '__name__' ? 'metric' : c))}
            {header(VALUE, 'Value', true)}
          </tr>
        </thead>
        <tbody>
          {sorted.map((row) => (
            <tr key={row.key}>
              {multi && <td className="mono muted">{queryLetter(row.query)}</td>}
              {columns.map((c) => (
                <td key={c} className="mono cell-label" title={row.labels[c]}>
                  {row.labels[c] ?? ''}
                </td>
              ))}
              <td className="num" style={{ color: thresholdColor(row.value, o.thresholds) }}>
                {formatValue(row.value, o.unit, o.decimals)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
