import { describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent } from '../../lib/incidents.ts';
import {
  alertFilterFor,
  describeEvent,
  linkedAlerts,
  formatSeconds,
  incidentFiltersFrom,
  noteText,
  paginate,
  runbookOf,
  sharedRunbook,
  sortIncidents,
  splitList,
  timeBars,
  withIncidentFilters,
} from './model.ts';

const inc = (id: string, status: Incident['status'], severity: string, createdAt: number): Incident => ({
  id,
  title: id,
  severity,
  status,
  assignee: null,
  groupId: null,
  policyId: null,
  services: [],
  components: [],
  alerts: [],
  labels: {},
  createdAt,
  ackedAt: null,
  ackedBy: null,
  resolvedAt: null,
  resolvedBy: null,
});

describe('incident filters in the URL', () => {
  it.each([
    ['', { status: [], severity: '', service: '', q: '', page: 1 }],
    [
      'status=triggered,acknowledged&severity=critical&service=checkout&q=deploy+4821&page=3',
      {
        status: ['triggered', 'acknowledged'],
        severity: 'critical',
        service: 'checkout',
        q: 'deploy 4821',
        page: 3,
      },
    ],
    [
      'status=bogus,resolved,resolved&page=-2',
      { status: ['resolved'], severity: '', service: '', q: '', page: 1 },
    ],
    ['page=1.5', { status: [], severity: '', service: '', q: '', page: 1 }],
  ])('%s', (qs, want) => expect(incidentFiltersFrom(new URLSearchParams(qs))).toEqual(want));

  it('writes back only what is set and keeps other parameters', () => {
    const p = withIncidentFilters(new URLSearchParams('x=1&page=4'), {
      status: ['triggered'],
      severity: '',
      service: 'api',
      q: 'db',
      page: 1,
    });
    expect(p.toString()).toBe('x=1&status=triggered&service=api&q=db');
  });
});

describe('sortIncidents', () => {
  it('puts open incidents first, then the most severe, then the newest', () => {
    const list = [
      inc('r', 'resolved', 'critical', 50),
      inc('a-old', 'acknowledged', 'warning', 10),
      inc('t-warn', 'triggered', 'warning', 40),
      inc('t-crit', 'triggered', 'critical', 20),
      inc('t-crit-new', 'triggered', 'critical', 30),
      inc('a-crit', 'acknowledged', 'critical', 5),
    ];
    expect(sortIncidents(list).map((i) => i.id)).toEqual([
      't-crit-new',
      't-crit',
      't-warn',
      'a-crit',
      'a-old',
      'r',
    ]);
  });
});

describe('paginate', () => {
  const xs = Array.from({ length: 120 }, (_, i) => i);
  it.each([
    [1, 0, 50, 3],
    [3, 100, 20, 3],
    [9, 100, 20, 3],
    [0, 0, 50, 3],
  ])('page %i starts at %i with %i items of %i pages', (page, first, n, pages) => {
    const r = paginate(xs, page);
    expect(r.items[0]).toBe(first);
    expect(r.items).toHaveLength(n);
    expect(r.pages).toBe(pages);
  });
  it('has one empty page for an empty list', () =>
    expect(paginate([], 4)).toEqual({ items: [], page: 1, pages: 1 }));
});

describe('formatSeconds', () => {
  it.each([
    [null, '—'],
    [0, '0s'],
    [44.6, '45s'],
    [60, '1m'],
    [252, '4m 12s'],
    [7500, '2h 5m'],
    [3 * 86400 + 4 * 3600, '3d 4h'],
  ])('%s -> %s', (s, want) => expect(formatSeconds(s)).toBe(want));
});

describe('describeEvent', () => {
  const ev = (kind: string, detail: Record<string, unknown> = {}, actor = 'vigil'): IncidentEvent => ({
    id: '1',
    at: 0,
    kind,
    actor,
    detail,
  });
  it.each([
    [
      ev('alert_firing', { fingerprint: 'f1', labels: { alertname: 'DiskFull' } }),
      'Alert DiskFull firing',
      'bad',
    ],
    [ev('alert_resolved', { fingerprint: 'abc' }), 'Alert abc resolved', 'ok'],
    [ev('created', { manual: true }, 'ana'), 'Incident opened by hand by ana', 'bad'],
    [ev('created', { policy: 'checkout' }), 'Incident opened under policy checkout', 'bad'],
    [
      ev('page', { user: 'ana', channel: 'email', step: 0, loop: 0 }),
      'Paged ana by email (step 1)',
      'neutral',
    ],
    [ev('page', { receiver: 'ops', step: 1, loop: 2 }), 'Paged receiver ops (step 2, repeat 2)', 'neutral'],
    [
      ev('page_failed', { user: 'ana', step: 0, loop: 0, reason: 'every contact method failed: HTTP 500' }),
      'Page to ana failed (step 1): every contact method failed: HTTP 500',
      'bad',
    ],
    [ev('escalated', { step: 1, loop: 0 }), 'Nobody acknowledged: escalated (step 2)', 'warn'],
    [ev('acknowledged', { via: 'link' }, 'ana'), 'Acknowledged by ana (link)', 'ok'],
    [
      ev('resolved', { reason: 'all linked alerts resolved' }),
      'Resolved by vigil: all linked alerts resolved',
      'ok',
    ],
    [ev('assigned', { assignee: 'bo' }, 'ana'), 'Assigned to bo by ana', 'neutral'],
    [ev('assigned', { assignee: null }, 'ana'), 'Unassigned by ana', 'neutral'],
    [ev('resolved', { note: 'rolled back 4821' }, 'ana'), 'Resolved by ana: rolled back 4821', 'ok'],
    [
      ev('similar_incidents', { text: 'x', suggestions: [{ id: 'AB' }, { id: 'CD' }] }),
      'Similar past incidents: AB, CD',
      'neutral',
    ],
    [ev('something_new', { reason: 'why' }), 'something new: why', 'neutral'],
  ])('%o', (e, text, tone) => expect(describeEvent(e)).toEqual({ text, tone }));

  it('reads the text of a note', () => {
    expect(noteText(ev('note', { text: 'rolled back' }, 'ana'))).toBe('rolled back');
    expect(noteText(ev('acknowledged'))).toBeUndefined();
  });
});

describe('linkedAlerts', () => {
  it('reads labels and the latest state of each linked alert from the timeline', () => {
    const events: IncidentEvent[] = [
      {
        id: '1',
        at: 1,
        kind: 'alert_firing',
        actor: 'vigil',
        detail: { fingerprint: 'a', labels: { alertname: 'X', job: 'api' } },
      },
      {
        id: '2',
        at: 2,
        kind: 'alert_firing',
        actor: 'vigil',
        detail: {
          fingerprint: 'b',
          labels: { alertname: 'Y' },
          annotations: { runbook_url: 'https://rb/y' },
        },
      },
      {
        id: '3',
        at: 3,
        kind: 'alert_resolved',
        actor: 'vigil',
        detail: { fingerprint: 'a', alertname: 'X' },
      },
    ];
    expect(linkedAlerts(['a', 'b', 'c'], events)).toEqual([
      { fingerprint: 'a', labels: { alertname: 'X', job: 'api' }, state: 'resolved' },
      { fingerprint: 'b', labels: { alertname: 'Y' }, state: 'firing', runbook: 'https://rb/y' },
      { fingerprint: 'c', labels: {}, state: 'unknown' },
    ]);
  });
  it.each([
    [{ runbook_url: ' https://a ' }, 'https://a'],
    [{ runbook: 'wiki page' }, 'wiki page'],
    [{ runbook_url: '', runbook: 'b' }, 'b'],
    [{}, undefined],
    [undefined, undefined],
  ])('runbookOf(%j) is %s', (a, want) => expect(runbookOf(a)).toBe(want));
  it.each([
    [['x', 'x'], 'x'],
    [['x', 'y'], undefined],
    [['x', undefined], undefined],
    [[], undefined],
  ])('the shared runbook of %j is %s', (rbs, want) =>
    expect(
      sharedRunbook(
        rbs.map((runbook, i) => ({ fingerprint: String(i), labels: {}, state: 'firing', runbook })),
      ),
    ).toBe(want),
  );
  it('builds an Alerts-view filter with alertname first', () =>
    expect(alertFilterFor({ job: 'api', alertname: 'X', a: 'q"z' })).toBe(
      'alertname="X" a="q\\"z" job="api"',
    ));
});

describe('splitList', () => {
  it('trims, drops empties and duplicates', () => expect(splitList(' a, b,,a ,c ')).toEqual(['a', 'b', 'c']));
});

describe('timeBars', () => {
  it.each([
    ['no buckets', [], []],
    ['nothing acknowledged or resolved', [{ start: 0, mttaSeconds: null, mttrSeconds: null }], []],
    [
      'two buckets scaled to the largest',
      [
        { start: 0, mttaSeconds: 60, mttrSeconds: 240 },
        { start: 10, mttaSeconds: null, mttrSeconds: 120 },
      ],
      [
        { kind: 'mtta', start: 0, seconds: 60, x: 10, y: 75, width: 40, height: 25 },
        { kind: 'mttr', start: 0, seconds: 240, x: 50, y: 0, width: 40, height: 100 },
        { kind: 'mttr', start: 10, seconds: 120, x: 150, y: 50, width: 40, height: 50 },
      ],
    ],
    [
      'a zero as a sliver',
      [{ start: 0, mttaSeconds: 0, mttrSeconds: 100 }],
      [
        { kind: 'mtta', start: 0, seconds: 0, x: 20, y: 99, width: 80, height: 1 },
        { kind: 'mttr', start: 0, seconds: 100, x: 100, y: 0, width: 80, height: 100 },
      ],
    ],
  ])('%s', (_, buckets, want) => {
    expect(timeBars(buckets, 200, 100).bars).toEqual(want);
  });
});
