import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheckSchema } from './config.ts';
import { probeDns } from './dns.ts';
import { startTestDnsServer } from './testing.ts';

let dns: Awaited<ReturnType<typeof startTestDnsServer>>;
const check = (c: Record<string, unknown>) =>
  healthCheckSchema.parse({ name: 't', kind: 'dns', server: `127.0.0.1:${dns.port}`, ...c });
const gauge = (r: Awaited<ReturnType<typeof probeDns>>, name: string) =>
  r.gauges.find((g) => g.name === name)?.value;

beforeAll(async () => {
  dns = await startTestDnsServer({
    'api.vigil.test': { A: ['10.0.0.1', '10.0.0.2'], AAAA: ['fd00::1'], TXT: ['v=spf1 -all'] },
    'www.vigil.test': { CNAME: 'api.vigil.test' },
    'vigil.test': { MX: [{ priority: 10, exchange: 'mail.vigil.test' }] },
  });
});
afterAll(() => dns.close());

describe('DNS prober against a local DNS server', () => {
  it.each([
    ['A', 'api.vigil.test', '^10\\.0\\.0\\.2$', 2],
    ['AAAA', 'api.vigil.test', '^fd00::1$', 1],
    ['CNAME', 'www.vigil.test', '^api\\.vigil\\.test$', 1],
    ['MX', 'vigil.test', '^10 mail\\.vigil\\.test$', 1],
    ['TXT', 'api.vigil.test', 'spf1', 1],
  ])('resolves %s %s', async (type, target, re, count) => {
    const r = await probeDns(check({ target, record_type: type, fail_if_no_answer_matches_regexp: [re] }));
    expect(r).toMatchObject({ success: true, reason: '' });
    expect(gauge(r, 'probe_dns_answer_rrs')).toBe(count);
    expect(gauge(r, 'probe_dns_lookup_time_seconds')).toBeGreaterThan(0);
  });

  it('fails when no answer matches', async () => {
    const r = await probeDns(
      check({ target: 'api.vigil.test', fail_if_no_answer_matches_regexp: ['^192\\.'] }),
    );
    expect(r).toMatchObject({
      success: false,
      reason: 'no answer matched /^192\\./ (got 10.0.0.1, 10.0.0.2)',
    });
  });

  it('fails with ENOTFOUND for an unknown name, and ENODATA for a missing type', async () => {
    const r = await probeDns(check({ target: 'nope.vigil.test' }));
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/^ENOTFOUND: A nope\.vigil\.test/);
    const nodata = await probeDns(check({ target: 'www.vigil.test', record_type: 'MX' }));
    expect(nodata.reason).toMatch(/^ENODATA: MX www\.vigil\.test/);
  });

  it('fails with a timeout when the server does not answer', async () => {
    // A UDP port nobody answers on: the query times out.
    const silent = await import('node:dgram').then((d) => d.createSocket('udp4'));
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const r = await probeDns(
      check({
        target: 'api.vigil.test',
        server: `127.0.0.1:${silent.address().port}`,
        timeout: '300ms',
        interval: '1s',
      }),
    );
    expect(r).toMatchObject({ success: false, reason: 'timeout after 300ms' });
    silent.close();
  });
});
