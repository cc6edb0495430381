import { describe, expect, it } from 'vitest';
import { healthChecksSchema } from './config.ts';

const parse = (v: unknown) => healthChecksSchema.safeParse(v);
const messages = (v: unknown) => {
  const r = parse(v);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('health check configuration', () => {
  it('fills defaults: 30s interval, 10s timeout, job health, GET, 2xx', () => {
    const r = parse([{ name: 'api', kind: 'http', target: 'http://127.0.0.1:8080/healthz' }]);
    expect(r.success).toBe(true);
    expect(r.data![0]).toMatchObject({
      interval: 30_000,
      timeout: 10_000,
      job: 'health',
      method: 'GET',
      valid_status_codes: [],
      record_type: 'A',
    });
    expect(parse(null).data).toEqual([]);
  });

  it.each([
    [{ name: 'a', kind: 'icmp', target: 'x' }, /kind: Invalid option: expected one of "http"\|"https"/],
    [{ name: 'a', kind: 'http' }, /target: a check needs a target/],
    [{ name: 'a', kind: 'http', target: 'not a url' }, /target: not a URL: "not a url"/],
    [{ name: 'a', kind: 'http', target: 'ftp://x/' }, /target: the URL must be http/],
    [{ name: 'a', kind: 'https', target: 'http://x/' }, /target: kind "https" needs an https:\/\/ URL/],
    [{ name: 'a', kind: 'tcp', target: 'db.local' }, /target: expected host:port, got "db.local"/],
    [{ name: 'a', kind: 'grpc', target: 'x:99999' }, /target: expected host:port/],
    [{ name: 'a', kind: 'dns', target: 'http://x' }, /target: expected a domain name/],
    [
      { name: 'a', kind: 'http', target: 'http://x/', fail_if_body_not_matches_regexp: ['ok', '(unclosed'] },
      /fail_if_body_not_matches_regexp.1: not a valid regular expression/,
    ],
    [{ name: 'a', kind: 'http', target: 'http://x/', interval: '5x' }, /interval: .*for example 30s/],
    [
      { name: 'a', kind: 'http', target: 'http://x/', interval: '10s', timeout: '20s' },
      /timeout: the timeout/,
    ],
    [
      { name: 'a', kind: 'tcp', target: 'x:1', record_type: 'MX' },
      /record_type: "record_type" does not apply/,
    ],
    [{ name: 'a', kind: 'dns', target: 'x', record_type: 'SRV' }, /record_type: Invalid option/],
    [{ name: 'a', kind: 'http', target: 'http://x/', labels: { job: 'x' } }, /labels.job: not a valid label/],
    [{ name: 'a', kind: 'http', target: 'http://x/', valid_status_codes: [700] }, /valid_status_codes.0/],
    [{ name: 'a', kind: 'http', target: 'http://x/', tiemout: '1s' }, /Unrecognized key: "tiemout"/],
  ])('rejects %j', (check, want) => {
    expect(messages([check]).join('\n')).toMatch(want);
  });

  it('rejects a name used twice', () => {
    const c = { name: 'a', kind: 'tcp', target: 'x:1' };
    expect(messages([c, c])).toEqual(['1.name: the check name "a" is used twice']);
  });

  it('accepts every kind with its own fields', () => {
    const r = parse([
      {
        name: 'h',
        kind: 'https',
        target: 'https://x/',
        insecure_skip_verify: true,
        valid_status_codes: [200, 301],
      },
      { name: 't', kind: 'tcp', target: '[::1]:5432', tls: true, ca_file: 'ca.pem' },
      { name: 'g', kind: 'grpc', target: 'svc:50051', service: 'pipeline' },
      { name: 'd', kind: 'dns', target: 'example.com', record_type: 'MX', server: '127.0.0.1:5353' },
    ]);
    expect(r.error?.issues).toBeUndefined();
  });
});
