/**
 * The component status strip at the top of the Overview: how many components are down, degraded, unknown
 * and healthy, one line per problem saying why (`degraded because queue is down (via mailer)`), and the
 * others as small chips. Everything links to the Health view. It loads on its own, so the Overview's table
 * never waits for it, and a failure or an empty answer stays inside the strip.
 */
import { memo, useMemo } from 'react';
import { Link } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { fetchComponents, type ComponentStatus } from '../../lib/health.ts';
import { STRIP_STATUSES, buildStrip, healthLink } from './componentStrip.ts';

const REFRESH_MS = 15_000;
/** Problem lines shown before "more on the Health view"; the strip stays compact. */
const MAX_PROBLEMS = 6;
const MAX_CHIPS = 24;

const FILTER: Record<ComponentStatus, 'problems' | 'ok' | 'unknown'> = {
  down: 'problems',
  degraded: 'problems',
  unknown: 'unknown',
  healthy: 'ok',
};

export const ComponentStrip = memo(function ComponentStrip() {
  // Same key as the Health view: going there shows the cached answer at once.
  const q = useQuery({
    queryKey: ['health', 'components'],
    queryFn: ({ signal }) => fetchComponents(signal),
    refetchInterval: REFRESH_MS,
  });
  const strip = useMemo(() => buildStrip(q.data?.components ?? []), [q.data]);
  const total = q.data?.components.length ?? 0;
  const ready = q.isSuccess || q.isError;

  let body: React.ReactNode;
  if (q.isError && !q.data) {
    body = (
      <span className="strip-note bad" data-testid="strip-error">
        Component status is unavailable: {(q.error as Error).message}
      </span>
    );
  } else if (!q.data) {
    body = <span className="strip-note muted">Loading component status…</span>;
  } else if (total === 0) {
    body = (
      <span className="strip-note muted">
        No components yet: declare them under <code>components:</code> in vigil.yml, or scrape jobs, send OTLP
        or traces.
      </span>
    );
  } else {
    const problems = strip.problems.slice(0, MAX_PROBLEMS);
    const chips = strip.others.slice(0, MAX_CHIPS);
    const more = strip.problems.length - problems.length + strip.others.length - chips.length;
    body = (
      <>
        {problems.length > 0 && (
          <ul className="strip-problems">
            {problems.map((p) => (
              <li key={p.name} data-testid="strip-component" data-component={p.name} data-status={p.status}>
                <span className={`sbadge s-${p.status}`}>{p.status}</span>
                <Link className="strip-name" to={healthLink({ q: p.name })}>
                  {p.name}
                </Link>
                <span className="strip-why" title={p.why}>
                  {p.why}
                </span>
              </li>
            ))}
          </ul>
        )}
        {chips.length > 0 && (
          <div className="strip-chips">
            {chips.map((c) => (
              <Link
                key={c.name}
                className={`strip-chip s-${c.status}`}
                to={healthLink({ q: c.name })}
                title={c.why ? `${c.name}: ${c.status}, ${c.why}` : `${c.name}: ${c.status}`}
                data-testid="strip-component"
                data-component={c.name}
                data-status={c.status}
              >
                <span className="dot" aria-hidden />
                {c.name}
              </Link>
            ))}
            {more > 0 && (
              <Link className="strip-more" to={healthLink({})}>
                and {more} more
              </Link>
            )}
          </div>
        )}
      </>
    );
  }

  return (
    <section
      className="card component-strip"
      aria-label="Component status"
      data-testid="component-strip"
      data-ready={ready ? 'true' : 'false'}
    >
      <div className="strip-head">
        <h2>
          <Link to={healthLink({})}>Component health</Link>
        </h2>
        {q.data &&
          STRIP_STATUSES.map((s) => (
            <Link
              key={s}
              to={healthLink({ status: FILTER[s] })}
              className={`sbadge s-${s} ${strip.counts[s] ? '' : 'zero'}`}
              data-testid={`strip-count-${s}`}
            >
              {strip.counts[s]} {s}
            </Link>
          ))}
        <span className="spacer" />
        <Link className="strip-open muted" to={healthLink({})}>
          Health view →
        </Link>
      </div>
      <div className="strip-body">
        {body}
        {q.data && q.data.warnings.length > 0 && (
          <span className="strip-note warn" title={q.data.warnings.join('\n')}>
            Some inputs could not be read: {q.data.warnings[0]}
            {q.data.warnings.length > 1 ? ` (and ${q.data.warnings.length - 1} more)` : ''}
          </span>
        )}
      </div>
    </section>
  );
});
