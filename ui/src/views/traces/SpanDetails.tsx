/** The details of one span: timing, status, analysis flags, attributes, resource, scope, events, links. */
import { Link } from 'react-router-dom';
import type { TraceSpan } from '../../lib/traces.ts';
import { formatUs, serviceColor } from './model.ts';
import { AttributeTable } from './parts.tsx';
import { SYNTHETIC_ROOT } from './Waterfall.tsx';

export function SpanDetails({
  span,
  traceId,
  traceStartUs,
  onSelect,
  onClose,
}: {
  span: TraceSpan;
  traceId: string;
  traceStartUs: number;
  onSelect(spanId: string): void;
  onClose(): void;
}) {
  const synthetic = span.spanId === SYNTHETIC_ROOT;
  return (
    <aside className="card span-details" aria-label="Span details" data-testid="span-details">
      <div className="card-head">
        <span className="swatch" style={{ background: serviceColor(span.service) }} />
        <h2 className="details-title">{synthetic ? 'Missing parent' : span.name}</h2>
        <span className="spacer" />
        <button type="button" className="btn icon" aria-label="Close details" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="card-body">
        {synthetic && (
          <p className="muted">
            The spans below this row reference parents that never reached Vigil (dropped, still in flight, or
            sent elsewhere). They are kept here so nothing is hidden.
          </p>
        )}
        <dl className="facts">
          <dt>Service</dt>
          <dd>{span.service}</dd>
          <dt>Kind</dt>
          <dd>{span.kind}</dd>
          <dt>Status</dt>
          <dd className={span.status?.code === 'error' ? 'err-count' : ''}>
            {span.status?.code ?? 'unset'}
            {span.status?.message ? `: ${span.status.message}` : ''}
          </dd>
          <dt>Start</dt>
          <dd>+{formatUs(span.startUs - traceStartUs)}</dd>
          <dt>Duration</dt>
          <dd>{formatUs(span.durationUs)}</dd>
          <dt>Self time</dt>
          <dd>{formatUs(span.selfTimeUs)}</dd>
          <dt>Span ID</dt>
          <dd className="mono">{span.spanId}</dd>
          <dt>Parent</dt>
          <dd className="mono">
            {span.parentSpanId ? (
              <button type="button" className="linkish" onClick={() => onSelect(span.parentSpanId)}>
                {span.parentSpanId}
              </button>
            ) : (
              '—'
            )}
            {span.orphan && <span className="mark orphan">missing</span>}
          </dd>
          {span.onCriticalPath && (
            <>
              <dt>Critical path</dt>
              <dd>on the critical path</dd>
            </>
          )}
          {span.errorRole && (
            <>
              <dt>Error</dt>
              <dd className="err-count">
                {span.errorRole === 'origin' ? 'the error starts here' : 'propagated from a descendant'}
              </dd>
            </>
          )}
          {span.skewUs !== 0 && span.skewUs !== undefined && (
            <>
              <dt>Clock skew</dt>
              <dd>
                start shifted by {span.skewUs > 0 ? '+' : '−'}
                {formatUs(Math.abs(span.skewUs))} to fit inside its parent
              </dd>
            </>
          )}
          {span.scope?.name && (
            <>
              <dt>Scope</dt>
              <dd className="mono">
                {span.scope.name}
                {span.scope.version ? ` ${span.scope.version}` : ''}
              </dd>
            </>
          )}
        </dl>

        <h3>Attributes</h3>
        <AttributeTable attrs={span.attributes ?? []} label="Attributes" />
        <h3>Resource</h3>
        <AttributeTable attrs={span.resource ?? []} label="Resource attributes" />

        <h3>Events ({span.events?.length ?? 0})</h3>
        {(span.events ?? []).length === 0 ? (
          <p className="muted none">No events.</p>
        ) : (
          <ol className="events">
            {span.events.map((ev, i) => (
              <li key={i}>
                <span className="mono muted">+{formatUs(ev.timeUs - span.startUs)}</span>{' '}
                <strong>{ev.name}</strong>
                {ev.attributes.length > 0 && (
                  <AttributeTable attrs={ev.attributes} label="Event attributes" />
                )}
              </li>
            ))}
          </ol>
        )}

        <h3>Links ({span.links?.length ?? 0})</h3>
        {(span.links ?? []).length === 0 ? (
          <p className="muted none">No links.</p>
        ) : (
          <ul className="links" data-testid="span-links">
            {span.links.map((l, i) => (
              <li key={i}>
                {l.traceId === traceId ? (
                  <button type="button" className="linkish mono" onClick={() => onSelect(l.spanId)}>
                    span {l.spanId} (this trace)
                  </button>
                ) : (
                  <Link className="mono" to={`/traces/${l.traceId}?span=${encodeURIComponent(l.spanId)}`}>
                    {l.traceId} / {l.spanId}
                  </Link>
                )}
                {l.attributes.length > 0 && <AttributeTable attrs={l.attributes} label="Link attributes" />}
              </li>
            ))}
          </ul>
        )}
      </div>
    </aside>
  );
}
