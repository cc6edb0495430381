import { describe, expect, it } from 'vitest';
import { componentsSchema } from './config.ts';
import { hostTarget } from './inputs.ts';
import { evaluateComponents, type ComponentHealth, type ModelInputs } from './model.ts';

const NOW = 1_800_000_000_000;

function inputs(over: Partial<ModelInputs>): ModelInputs {
  return {
    now: NOW,
    declared: [],
    targets: [],
    freshness: [],
    checks: [],
    alerts: [],
    traces: { services: [], edges: [] },
    ...over,
  };
}

const byName = (cs: ComponentHealth[], name: string) => {
  const c = cs.find((x) => x.name === name);
  if (!c) throw new Error(`no component ${name} in ${cs.map((x) => x.name).join(', ')}`);
  return c;
};

const target = (job: string, instance: string, health: 'up' | 'down' | 'unknown', lastError = '') => ({
  job,
  instance,
  health,
  lastError,
  intervalMs: 15_000,
});

describe('evaluateComponents', () => {
  it('a failing check makes its component down, with the probe reason', () => {
    const cs = evaluateComponents(
      inputs({
        declared: componentsSchema.parse([{ name: 'db', checks: ['db-port'] }]),
        checks: [
          {
            name: 'db-port',
            job: 'health',
            instance: '127.0.0.1:1',
            labels: {},
            up: false,
            reason: 'connection refused',
          },
        ],
      }),
    );
    expect(cs).toEqual([
      {
        name: 'db',
        kind: 'declared',
        status: 'down',
        ownStatus: 'down',
        reasons: [
          {
            source: 'check',
            detail: 'check db-port (127.0.0.1:1) is failing: connection refused',
            status: 'down',
          },
        ],
        dependsOn: [],
        impactedBy: [],
      },
    ]);
  });

  it('one of two failing checks degrades; a check that has not run leaves the status unknown', () => {
    const cs = evaluateComponents(
      inputs({
        declared: componentsSchema.parse([
          { name: 'api', checks: ['a', 'b'] },
          { name: 'cache', checks: ['c'] },
        ]),
        checks: [
          { name: 'a', job: 'health', instance: 'x', labels: {}, up: true, reason: '' },
          { name: 'b', job: 'health', instance: 'y', labels: {}, up: false, reason: 'HTTP 503' },
          { name: 'c', job: 'health', instance: 'z', labels: {}, up: undefined, reason: '' },
        ],
      }),
    );
    expect(byName(cs, 'api').status).toBe('degraded');
    expect(byName(cs, 'cache').status).toBe('unknown');
    expect(byName(cs, 'cache').reasons).toEqual([
      { source: 'check', detail: 'check c has not run yet', status: 'unknown' },
    ]);
  });

  it('a check maps to a component by its component label, its job or by probing one of its targets', () => {
    const cs = evaluateComponents(
      inputs({
        targets: [target('web', 'web-1:80', 'up')],
        checks: [
          {
            name: 'by-label',
            job: 'health',
            instance: 'q',
            labels: { component: 'web' },
            up: false,
            reason: 'timeout',
          },
          { name: 'by-instance', job: 'health', instance: 'web-1:80', labels: {}, up: true, reason: '' },
          { name: 'by-job', job: 'web', instance: 'elsewhere:443', labels: {}, up: true, reason: '' },
        ],
      }),
    );
    const web = byName(cs, 'web');
    expect(web.kind).toBe('scrape');
    expect(web.status).toBe('degraded');
    expect(web.reasons.map((r) => r.detail)).toEqual([
      'check by-label (q) is failing: timeout',
      '1 of 1 scrape target up',
      'check by-instance (web-1:80) passes',
      'check by-job (elsewhere:443) passes',
    ]);
  });

  it('a firing critical alert makes its component down; warning and error degrade; info is only noted', () => {
    const cs = evaluateComponents(
      inputs({
        targets: [
          target('payments', 'p:9000', 'up'),
          target('mail', 'm:9000', 'up'),
          target('sms', 's:1', 'up'),
        ],
        alerts: [
          { labels: { alertname: 'PaymentsErrors', job: 'payments', severity: 'page' } },
          { labels: { alertname: 'MailSlow', instance: 'm:9000', severity: 'warning' } },
          { labels: { alertname: 'SmsNote', component: 'sms', severity: 'info' } },
        ],
      }),
    );
    expect(byName(cs, 'payments').status).toBe('down');
    expect(byName(cs, 'payments').reasons[0]).toEqual({
      source: 'alert',
      detail: 'alert PaymentsErrors is firing (severity critical)',
      status: 'down',
    });
    expect(byName(cs, 'mail').status).toBe('degraded');
    expect(byName(cs, 'sms').status).toBe('healthy');
    expect(byName(cs, 'sms').reasons.map((r) => r.source)).toEqual(['scrape', 'alert']);
  });

  it('a stale series degrades its component; a fresh one does not', () => {
    const cs = evaluateComponents(
      inputs({
        targets: [target('batch', 'b:1', 'up'), target('live', 'l:1', 'up')],
        freshness: [
          { job: 'batch', instance: 'b:1', lastT: NOW - 60_000, intervalMs: 15_000 },
          { job: 'live', instance: 'l:1', lastT: NOW - 10_000, intervalMs: 15_000 },
          { job: 'shop/cart', instance: 'c1', service: 'cart', lastT: NOW - 600_000 },
        ],
      }),
    );
    expect(byName(cs, 'batch').status).toBe('degraded');
    expect(byName(cs, 'batch').reasons[0]).toEqual({
      source: 'freshness',
      detail: 'target b:1 (up): newest sample is 60s old, more than 3 × its 15s interval',
      status: 'degraded',
    });
    expect(byName(cs, 'live').status).toBe('healthy');
    expect(byName(cs, 'cart')).toMatchObject({ kind: 'otlp', status: 'degraded' });
    expect(byName(cs, 'cart').reasons[0]!.detail).toBe(
      'service cart (target_info): newest sample is 600s old, more than 300s',
    );
  });

  it('a down dependency degrades its dependants, directly and through the graph, and is listed', () => {
    const cs = evaluateComponents(
      inputs({
        declared: componentsSchema.parse([
          { name: 'checkout', match: { service: 'checkout' }, depends_on: ['payments'] },
          { name: 'payments', match: { job: 'payments' } },
        ]),
        targets: [target('payments', 'p:9000', 'down', 'connection refused')],
        traces: {
          services: ['frontend', 'checkout'],
          edges: [{ parent: 'frontend', child: 'checkout' }],
        },
      }),
    );
    expect(cs.map((c) => [c.name, c.status])).toEqual([
      ['payments', 'down'],
      ['checkout', 'degraded'],
      ['frontend', 'degraded'],
    ]);
    const checkout = byName(cs, 'checkout');
    expect(checkout.ownStatus).toBe('healthy');
    expect(checkout.impactedBy).toEqual([{ component: 'payments', status: 'down', via: [] }]);
    expect(checkout.reasons[0]).toEqual({
      source: 'dependency',
      detail: 'depends on payments, which is down',
      status: 'degraded',
    });
    const frontend = byName(cs, 'frontend');
    expect(frontend.kind).toBe('service');
    expect(frontend.dependsOn).toEqual(['checkout']);
    expect(frontend.impactedBy).toEqual([{ component: 'payments', status: 'down', via: ['checkout'] }]);
    expect(byName(cs, 'payments').reasons).toEqual([
      {
        source: 'scrape',
        detail: 'target p:9000 (job payments) is down: connection refused',
        status: 'down',
      },
    ]);
  });

  it('a dependency cycle does not feed a component its own problem back', () => {
    const cs = evaluateComponents(
      inputs({
        declared: componentsSchema.parse([
          { name: 'a', depends_on: ['b'] },
          { name: 'b', depends_on: ['a'] },
        ]),
        alerts: [{ labels: { alertname: 'X', component: 'a', severity: 'critical' } }],
      }),
    );
    expect(byName(cs, 'a')).toMatchObject({ status: 'down', impactedBy: [] });
    expect(byName(cs, 'b')).toMatchObject({
      status: 'degraded',
      impactedBy: [{ component: 'a', status: 'down', via: [] }],
    });
  });

  it('some targets down degrade, all down is down; unknown dependencies are named', () => {
    const cs = evaluateComponents(
      inputs({
        declared: componentsSchema.parse([{ name: 'api', match: { job: 'api' }, depends_on: ['ghost'] }]),
        targets: [
          target('api', 'a1', 'up'),
          target('api', 'a2', 'down', 'HTTP 500'),
          target('q', 'q1', 'down'),
        ],
      }),
    );
    expect(byName(cs, 'api').status).toBe('degraded');
    expect(byName(cs, 'api').reasons.at(-1)).toEqual({
      source: 'dependency',
      detail: 'depends on ghost, which is neither declared nor seen in scrapes, OTLP or traces',
      status: 'unknown',
    });
    expect(byName(cs, 'q').status).toBe('down');
    expect(byName(cs, 'q').reasons[0]!.detail).toBe('target q1 (job q) is down: the last scrape failed');
  });
});

describe('componentsSchema', () => {
  it.each([
    [[{ name: 'a', match: { job: 'x', service: 'y' } }], 'exactly one of job or service'],
    [[{ name: 'a' }, { name: 'a' }], 'declared twice'],
    [[{ name: 'a', depends_on: ['a'] }], 'cannot depend on itself'],
    [[{ name: 'a/b' }], 'not contain "/"'],
    [[{ name: 'a', matches: {} }], 'Unrecognized key'],
  ])('rejects %j', (value, message) => {
    const r = componentsSchema.safeParse(value);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message).join('; ')).toContain(message);
  });
});

describe('the host as a component', () => {
  it('is the job node, down with the collector error while collections fail', () => {
    expect(
      hostTarget({ lastSuccessMs: undefined, lastError: undefined, failures: 0 }, 'box', 15_000),
    ).toEqual({ ...target('node', 'box', 'unknown'), host: true });
    const failing = hostTarget(
      { lastSuccessMs: NOW - 60_000, lastError: 'EACCES /proc/stat', failures: 2 },
      'box',
      15_000,
    );
    const cs = evaluateComponents(inputs({ targets: [failing, target('vigil', '127.0.0.1:9400', 'up')] }));
    const node = byName(cs, 'node');
    expect([node.kind, node.status]).toEqual(['host', 'down']);
    expect(node.reasons.map((r) => [r.source, r.detail])).toEqual([
      ['host', 'host box is not collected: EACCES /proc/stat'],
    ]);
    const ok = hostTarget({ lastSuccessMs: NOW, lastError: undefined, failures: 0 }, 'box', 15_000);
    const healthy = byName(evaluateComponents(inputs({ targets: [ok] })), 'node');
    expect(healthy.status).toBe('healthy');
    expect(healthy.reasons.map((r) => r.detail)).toEqual(['host box collected']);
  });
});
