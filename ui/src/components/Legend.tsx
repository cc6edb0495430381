/**
 * A chart legend with series toggling: click shows or hides one series, Ctrl/⌘-click shows only that series
 * (again to show all). Keyboard-usable: each entry is a button.
 */
import { colorFor, type ChartSeries } from '../lib/series.ts';
import { formatValue } from '../lib/format.ts';

export function Legend({
  series,
  hidden,
  onChange,
  unit,
  max = 200,
}: {
  series: readonly ChartSeries[];
  hidden: ReadonlySet<string>;
  onChange(next: Set<string>): void;
  unit?: string;
  max?: number;
}) {
  const toggle = (key: string, only: boolean) => {
    if (only) {
      const alreadyOnly = series.every((s) => (s.key === key ? !hidden.has(s.key) : hidden.has(s.key)));
      onChange(alreadyOnly ? new Set() : new Set(series.filter((s) => s.key !== key).map((s) => s.key)));
      return;
    }
    const next = new Set(hidden);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    onChange(next);
  };
  const shown = series.slice(0, max);
  return (
    <div className="legend" role="list" aria-label="Series">
      {shown.map((s, i) => {
        let last: number | null = null;
        for (let j = s.values.length - 1; j >= 0; j--)
          if (s.values[j] !== null) {
            last = s.values[j]!;
            break;
          }
        return (
          <button
            type="button"
            role="listitem"
            key={s.key}
            className={`legend-item ${hidden.has(s.key) ? 'off' : ''}`}
            aria-pressed={!hidden.has(s.key)}
            title={`${s.label}\nClick to toggle, Ctrl-click to show only this series`}
            onClick={(e) => toggle(s.key, e.ctrlKey || e.metaKey)}
          >
            <span className="swatch" style={{ background: colorFor(i) }} />
            <span className="legend-label">{s.label}</span>
            <span className="legend-last">{formatValue(last, unit)}</span>
          </button>
        );
      })}
      {series.length > shown.length && (
        <span className="legend-more">and {series.length - shown.length} more series</span>
      )}
    </div>
  );
}
