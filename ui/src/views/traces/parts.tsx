/** Small pieces the tracing views share. */
import { attributeText, type Attribute } from '../../lib/traces.ts';
import { serviceColor } from './model.ts';

/** A service name with its colour, span count and (when any) error count. */
export function ServiceChip({
  service,
  count,
  errors,
}: {
  service: string;
  count?: number;
  errors?: number;
}) {
  const color = serviceColor(service);
  return (
    <span
      className="svc-chip"
      style={{ borderColor: color }}
      title={`${service}: ${count ?? '?'} span(s)${errors ? `, ${errors} error(s)` : ''}`}
    >
      <span className="swatch" style={{ background: color }} />
      <span className="svc-name">{service}</span>
      {count !== undefined && <span className="muted">{count}</span>}
      {!!errors && <span className="err-count">{errors}✕</span>}
    </span>
  );
}

/** Key/value rows of attributes; values are text, long ones wrap. */
export function AttributeTable({ attrs, label }: { attrs: readonly Attribute[]; label: string }) {
  if (attrs.length === 0) return <p className="muted none">No {label.toLowerCase()}.</p>;
  return (
    <table className="kv" aria-label={label}>
      <tbody>
        {attrs.map((a, i) => (
          <tr key={`${a.key}-${i}`}>
            <th scope="row" className="mono">
              {a.key}
            </th>
            <td className="mono">
              {attributeText(a.value)}
              {a.type && a.type !== 'string' && <span className="type muted"> {a.type}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
