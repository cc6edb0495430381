/**
 * One schedule (`/schedules/:id`): who is on call now, a timeline of the next 14 days (each layer's share of
 * the final shifts, the overrides, the final rota, with gaps and overlapping layers marked as the server finds
 * them: shown, never silently resolved), "who is on call at T", a form adding an override, the layers, and the
 * iCalendar feed.
 */
import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { ApiError } from '../../lib/api.ts';
import { problemsByField, unplacedProblems } from '../../lib/fieldErrors.ts';
import {
  addOverride,
  fetchCoverage,
  fetchOnCall,
  fetchSchedule,
  fetchShifts,
  fetchUsers,
  icalUrl,
  type Coverage,
  type Schedule,
  type Shift,
} from '../../lib/oncall.ts';
import { formatDateTime } from '../../lib/time.ts';
import { Field } from '../incidents/parts.tsx';
import {
  DAY_MS,
  colourIndex,
  dayTicks,
  overrideProblems,
  place,
  startOfLocalDay,
  timelineRows,
  toLocalInput,
} from './model.ts';
import '../alerts/alerts.css';
import '../incidents/incidents.css';
import './oncall.css';

const DAYS = 14;

export default function SchedulePage() {
  const { id = '' } = useParams();
  const schedule = useQuery({
    queryKey: ['oncall', 'schedule', id],
    queryFn: ({ signal }) => fetchSchedule(id, signal),
  });
  // The window starts at today's local midnight, so the day lines stay put between refreshes.
  const [from] = useState(() => startOfLocalDay(Date.now()));
  const to = useMemo(() => {
    const d = new Date(from);
    d.setDate(d.getDate() + DAYS);
    return d.getTime();
  }, [from]);
  const shifts = useQuery({
    queryKey: ['oncall', 'shifts', id, from, to],
    queryFn: ({ signal }) => fetchShifts(id, from, to, signal),
  });
  const coverage = useQuery({
    queryKey: ['oncall', 'coverage', id, from, to],
    queryFn: ({ signal }) => fetchCoverage(id, from, to, signal),
  });
  const now = useQuery({
    queryKey: ['oncall', 'now', id],
    queryFn: ({ signal }) => fetchOnCall(id, undefined, signal),
    refetchInterval: 60_000,
  });
  const settled = (q: { isSuccess: boolean; isError: boolean }) => q.isSuccess || q.isError;
  const ready =
    settled(schedule) && (schedule.isError || (settled(shifts) && settled(coverage) && settled(now)));

  return (
    <div className="page schedule-page" data-view="schedule" data-ready={ready ? 'true' : 'false'}>
      <p className="crumbs">
        <Link to="/oncall">← On-call</Link>
      </p>
      {schedule.isError ? (
        <ErrorMessage error={schedule.error} />
      ) : !schedule.data ? (
        <Loading label="Loading the schedule…" />
      ) : (
        <>
          <div className="page-head">
            <div>
              <h1>{schedule.data.name}</h1>
              <span className="muted">
                <span className="mono">{schedule.data.id}</span> · times of layers and overrides in{' '}
                <span className="mono">{schedule.data.timeZone}</span>; the timeline in your time zone
              </span>
            </div>
            <div className="now-box" data-testid="schedule-oncall-now">
              <span className="muted">On call now</span>
              {now.isError ? (
                <span className="inline-error">{(now.error as Error).message}</span>
              ) : !now.data ? (
                <span className="muted">…</span>
              ) : now.data.users.length === 0 ? (
                <span className="gap-badge">nobody (gap)</span>
              ) : (
                <strong>
                  {now.data.users.join(', ')}
                  {now.data.override ? ' (override)' : now.data.layer ? ` (${now.data.layer})` : ''}
                </strong>
              )}
            </div>
            <a className="btn" href={icalUrl(schedule.data.id)} data-testid="ical-link" download>
              iCalendar
            </a>
          </div>
          <section className="card" aria-label={`Next ${DAYS} days`}>
            <div className="card-head">
              <h2>Next {DAYS} days</h2>
              <span className="muted">final shifts after layering and overrides</span>
            </div>
            <div className="card-body">
              {shifts.isError ? (
                <ErrorMessage error={shifts.error} />
              ) : coverage.isError ? (
                <ErrorMessage error={coverage.error} />
              ) : !shifts.data || !coverage.data ? (
                <Loading label="Working out the shifts…" />
              ) : (
                <Timeline
                  schedule={schedule.data}
                  shifts={shifts.data}
                  coverage={coverage.data}
                  from={from}
                  to={to}
                />
              )}
            </div>
          </section>
          <div className="schedule-tools">
            <OnCallAt id={schedule.data.id} />
            <OverrideForm schedule={schedule.data} />
          </div>
          <Layers schedule={schedule.data} />
        </>
      )}
    </div>
  );
}

function Timeline({
  schedule,
  shifts,
  coverage,
  from,
  to,
}: {
  schedule: Schedule;
  shifts: Shift[];
  coverage: Coverage;
  from: number;
  to: number;
}) {
  const rows = timelineRows(
    schedule.layers.map((l) => l.name),
    shifts,
  );
  const colours = colourIndex(shifts.map((s) => s.user));
  const ticks = dayTicks(from, to);
  const gaps = place(coverage.gaps, from, to);
  const overlaps = place(coverage.overlaps, from, to);
  const nowLeft = ((Date.now() - from) / (to - from)) * 100;
  const dayLabel = (t: number) =>
    new Date(t).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
  return (
    <div className="timeline" data-testid="timeline">
      <div className="tl-row tl-axis">
        <span className="tl-label" />
        <div className="tl-track">
          {ticks.map((t) => (
            <span key={t} className="tl-tick" style={{ left: `${((t - from) / (to - from)) * 100}%` }}>
              {dayLabel(t)}
            </span>
          ))}
        </div>
      </div>
      {rows.map((r) => (
        <div
          key={r.key}
          className={`tl-row ${r.key === 'final' ? 'final' : ''}`}
          data-testid="tl-row"
          data-row={r.key}
        >
          <span className="tl-label" title={r.label}>
            {r.label}
          </span>
          <div className="tl-track">
            {ticks.map((t) => (
              <span key={t} className="tl-day" style={{ left: `${((t - from) / (to - from)) * 100}%` }} />
            ))}
            {r.key === 'final' &&
              gaps.map((g, i) => (
                <span
                  key={`g${i}`}
                  className="tl-gap"
                  data-testid="tl-gap"
                  style={{ left: `${g.left}%`, width: `${g.width}%` }}
                  title={`Nobody on call ${formatDateTime(g.item.start)} – ${formatDateTime(g.item.end)}`}
                />
              ))}
            {place(r.shifts, from, to).map((p, i) => (
              <span
                key={i}
                className={`tl-shift c${colours.get(p.item.user) ?? 0} ${p.item.override ? 'override' : ''}`}
                data-testid="tl-shift"
                data-user={p.item.user}
                style={{ left: `${p.left}%`, width: `${p.width}%` }}
                title={`${p.item.user}${p.item.override ? ' (override)' : p.item.layer ? ` (${p.item.layer})` : ''}: ${formatDateTime(p.item.start)} – ${formatDateTime(p.item.end)}`}
              >
                {p.width > 3 ? p.item.user : ''}
              </span>
            ))}
            {r.key === 'final' &&
              overlaps.map((o, i) => (
                <span
                  key={`o${i}`}
                  className="tl-overlap"
                  data-testid="tl-overlap"
                  style={{ left: `${o.left}%`, width: `${o.width}%` }}
                  title={`Layers ${o.item.layers.join(', ')} overlap ${formatDateTime(o.item.start)} – ${formatDateTime(o.item.end)} (the later layer wins)`}
                />
              ))}
            {nowLeft >= 0 && nowLeft <= 100 && <span className="tl-now" style={{ left: `${nowLeft}%` }} />}
          </div>
        </div>
      ))}
      <div className="tl-legend">
        {[...colours].map(([u, c]) => (
          <span key={u} className="tl-legend-item">
            <span className={`swatch tl-c c${c}`} /> {u}
          </span>
        ))}
        <span className="tl-legend-item">
          <span className="swatch tl-c override-swatch" /> override
        </span>
        <span className="tl-legend-item">
          <span className="swatch gap-swatch" /> gap (nobody on call)
        </span>
        <span className="tl-legend-item">
          <span className="swatch overlap-swatch" /> layers overlap
        </span>
      </div>
      <CoverageList coverage={coverage} />
    </div>
  );
}

function CoverageList({ coverage }: { coverage: Coverage }) {
  if (coverage.gaps.length === 0 && coverage.overlaps.length === 0)
    return <p className="muted coverage-ok">Fully covered, no overlapping layers in these {DAYS} days.</p>;
  const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10} h`;
  return (
    <ul className="coverage-list" data-testid="coverage">
      {coverage.gaps.map((g, i) => (
        <li key={`g${i}`} data-testid="coverage-gap">
          <span className="gap-badge">gap</span> nobody on call {formatDateTime(g.start)} –{' '}
          {formatDateTime(g.end)} ({hours(g.end - g.start)})
        </li>
      ))}
      {coverage.overlaps.map((o, i) => (
        <li key={`o${i}`} data-testid="coverage-overlap">
          <span className="overlap-badge">overlap</span> {o.layers.join(' and ')} both cover{' '}
          {formatDateTime(o.start)} – {formatDateTime(o.end)}; {o.layers[o.layers.length - 1]} wins
        </li>
      ))}
    </ul>
  );
}

function OnCallAt({ id }: { id: string }) {
  const [at, setAt] = useState(() => toLocalInput(Date.now() + DAY_MS));
  const ms = Date.parse(at);
  const q = useQuery({
    queryKey: ['oncall', 'at', id, ms],
    queryFn: ({ signal }) => fetchOnCall(id, ms, signal),
    enabled: Number.isFinite(ms),
  });
  return (
    <section className="card" aria-label="Who is on call at a time">
      <div className="card-head">
        <h2>Who is on call at…</h2>
      </div>
      <div className="card-body oncall-at">
        <label className="field">
          <span>Date and time (your time zone)</span>
          <input
            type="datetime-local"
            data-testid="oncall-at"
            value={at}
            onChange={(e) => setAt(e.target.value)}
          />
        </label>
        <div data-testid="oncall-at-result" className="oncall-at-result">
          {!Number.isFinite(ms) ? (
            <span className="muted">Pick a date and time.</span>
          ) : q.isError ? (
            <span className="inline-error">{(q.error as Error).message}</span>
          ) : !q.data ? (
            <span className="muted">…</span>
          ) : q.data.users.length === 0 ? (
            <span className="gap-badge">nobody (gap)</span>
          ) : (
            <>
              <strong>{q.data.users.join(', ')}</strong>
              <span className="muted">
                {q.data.override ? ' by override' : q.data.layer ? ` from layer ${q.data.layer}` : ''}
              </span>
            </>
          )}
        </div>
      </div>
    </section>
  );
}

function OverrideForm({ schedule }: { schedule: Schedule }) {
  const users = useQuery({ queryKey: ['oncall', 'users'], queryFn: ({ signal }) => fetchUsers(signal) });
  const [o, setO] = useState({ user: '', start: '', end: '' });
  const [tried, setTried] = useState(false);
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: () => addOverride(schedule.id, o),
    onSuccess: async () => {
      setO({ user: '', start: '', end: '' });
      setTried(false);
      await qc.invalidateQueries({ queryKey: ['oncall'] });
    },
  });
  const local = tried ? overrideProblems(o) : {};
  const server =
    save.error instanceof ApiError ? problemsByField(save.error.details) : new Map<string, string>();
  const get = (k: 'user' | 'start' | 'end') =>
    local[k] ?? server.get(k) ?? [...server].find(([p]) => p.endsWith(`.${k}`))?.[1];
  const leftover = unplacedProblems(server, ['user', 'start', 'end']).filter(
    (p) => !/\.(user|start|end):/.test(p),
  );
  return (
    <section className="card" aria-label="Add an override">
      <div className="card-head">
        <h2>Add an override</h2>
        <span className="muted">
          wall-clock times in <span className="mono">{schedule.timeZone}</span>
        </span>
      </div>
      <form
        className="card-body override-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (Object.keys(overrideProblems(o)).length === 0) save.mutate();
        }}
      >
        <Field label="Who" problem={get('user')}>
          <select
            className="select"
            data-testid="override-user"
            value={o.user}
            aria-invalid={!!get('user')}
            onChange={(e) => setO({ ...o, user: e.target.value })}
          >
            <option value="">Choose…</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="From" problem={get('start')}>
          <input
            type="datetime-local"
            data-testid="override-start"
            value={o.start}
            aria-invalid={!!get('start')}
            onChange={(e) => setO({ ...o, start: e.target.value })}
          />
        </Field>
        <Field label="Until" problem={get('end')}>
          <input
            type="datetime-local"
            data-testid="override-end"
            value={o.end}
            aria-invalid={!!get('end')}
            onChange={(e) => setO({ ...o, end: e.target.value })}
          />
        </Field>
        <button type="submit" className="btn primary" data-testid="override-save" disabled={save.isPending}>
          Add override
        </button>
        {save.isError && (leftover.length > 0 || server.size === 0) && (
          <div className="override-error">
            <ErrorMessage
              error={server.size ? new Error(leftover.join('\n')) : save.error}
              title="Not added"
            />
          </div>
        )}
      </form>
    </section>
  );
}

function Layers({ schedule }: { schedule: Schedule }) {
  return (
    <section className="card" aria-label="Layers">
      <div className="card-head">
        <h2>Layers</h2>
        <span className="muted">later layers take precedence; overrides above all</span>
      </div>
      <div className="card-body">
        {schedule.layers.length === 0 ? (
          <Empty>No layer: nobody is ever on call from this schedule.</Empty>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Layer</th>
                <th>Rotation</th>
                <th>People, in turn</th>
                <th>Starts</th>
                <th>Only during</th>
              </tr>
            </thead>
            <tbody>
              {schedule.layers.map((l) => (
                <tr key={l.name} data-testid="layer-row">
                  <td>
                    <strong>{l.name}</strong>
                  </td>
                  <td>{l.rotation === 'custom' ? `every ${l.turnHours ?? '?'} h` : l.rotation}</td>
                  <td>{l.users.join(' → ')}</td>
                  <td className="mono nowrap">
                    {l.start.replace('T', ' ')}
                    {l.end ? ` until ${l.end.replace('T', ' ')}` : ''}
                  </td>
                  <td>
                    {l.restrictions?.length ? (
                      l.restrictions.map((r) => `${r.days.join(',')} ${r.from}–${r.to}`).join('; ')
                    ) : (
                      <span className="muted">always</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {(schedule.overrides ?? []).length > 0 && (
          <>
            <h3 className="overrides-title">Overrides</h3>
            <ul className="override-list">
              {schedule.overrides.map((o, i) => (
                <li key={i} data-testid="override-row">
                  <strong>{o.user}</strong>{' '}
                  <span className="mono">
                    {o.start.replace('T', ' ')} → {o.end.replace('T', ' ')}
                  </span>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </section>
  );
}
