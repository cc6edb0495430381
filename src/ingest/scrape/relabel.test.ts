import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  compileRelabelConfigs,
  compileRelabelRegex,
  expandTemplate,
  hashMod,
  relabel,
  relabelConfig,
  RelabelConfigError,
  type RelabelConfig,
} from './relabel.ts';

const run = (labels: Record<string, string>, ...cfgs: Partial<RelabelConfig>[]) =>
  relabel(labels, compileRelabelConfigs(cfgs.map(relabelConfig)));

describe('relabel actions', () => {
  const base = {
    __name__: 'http_requests_total',
    job: 'api',
    instance: 'host-a:9100',
    path: '/v1/users',
    code: '500',
  };

  it.each<[string, Record<string, string>, Partial<RelabelConfig>[], Record<string, string> | null]>([
    [
      'replace with defaults copies the joined value',
      { a: 'x', b: 'y' },
      [{ sourceLabels: ['a', 'b'], targetLabel: 'c' }],
      { a: 'x', b: 'y', c: 'x;y' },
    ],
    [
      'replace with a custom separator and groups',
      { a: 'x', b: 'y' },
      [
        {
          sourceLabels: ['a', 'b'],
          separator: '/',
          regex: '(.)/(.)',
          targetLabel: 'c',
          replacement: '$2-${1}',
        },
      ],
      { a: 'x', b: 'y', c: 'y-x' },
    ],
    [
      'replace is fully anchored (no partial match)',
      { a: 'foobar' },
      [{ sourceLabels: ['a'], regex: 'foo', targetLabel: 'b', replacement: 'matched' }],
      { a: 'foobar' },
    ],
    [
      'replace with named groups, RE2 spelling',
      { instance: 'host-a:9100' },
      [
        {
          sourceLabels: ['instance'],
          regex: '(?P<host>[^:]+):(?P<port>\\d+)',
          targetLabel: 'host',
          replacement: '$host',
        },
      ],
      { instance: 'host-a:9100', host: 'host-a' },
    ],
    [
      'replace with an empty result deletes the target',
      { a: 'x', b: 'old' },
      [{ sourceLabels: ['missing'], targetLabel: 'b', replacement: '$1' }],
      { a: 'x' },
    ],
    [
      'replace with a templated target label',
      { key: 'team', val: 'core' },
      [{ sourceLabels: ['key', 'val'], regex: '(.+);(.+)', targetLabel: 'label_$1', replacement: '$2' }],
      { key: 'team', val: 'core', label_team: 'core' },
    ],
    [
      'replace skips an invalid expanded target label',
      { key: '1bad' },
      [{ sourceLabels: ['key'], targetLabel: '$1', replacement: 'x' }],
      { key: '1bad' },
    ],
    [
      'replace without source labels sets a constant',
      { a: 'x' },
      [{ targetLabel: 'env', replacement: 'prod' }],
      { a: 'x', env: 'prod' },
    ],
    ['keep keeps on match', base, [{ action: 'keep', sourceLabels: ['code'], regex: '5..' }], base],
    ['keep drops on no match', base, [{ action: 'keep', sourceLabels: ['code'], regex: '2..' }], null],
    [
      'keep with a missing label matches the empty string',
      { a: 'x' },
      [{ action: 'keep', sourceLabels: ['b'], regex: '' }],
      { a: 'x' },
    ],
    ['drop drops on match', base, [{ action: 'drop', sourceLabels: ['__name__'], regex: 'http_.*' }], null],
    ['drop keeps on no match', base, [{ action: 'drop', sourceLabels: ['__name__'], regex: 'go_.*' }], base],
    [
      'keepequal keeps when equal',
      { a: 'x', b: 'x' },
      [{ action: 'keepequal', sourceLabels: ['a'], targetLabel: 'b' }],
      { a: 'x', b: 'x' },
    ],
    [
      'keepequal drops when different',
      { a: 'x', b: 'y' },
      [{ action: 'keepequal', sourceLabels: ['a'], targetLabel: 'b' }],
      null,
    ],
    [
      'dropequal drops when equal',
      { a: 'x', b: 'x' },
      [{ action: 'dropequal', sourceLabels: ['a'], targetLabel: 'b' }],
      null,
    ],
    [
      'dropequal keeps when different',
      { a: 'x', b: 'y' },
      [{ action: 'dropequal', sourceLabels: ['a'], targetLabel: 'b' }],
      { a: 'x', b: 'y' },
    ],
    [
      'labelmap copies matching label names',
      { __meta_kubernetes_pod_label_app: 'web', __meta_kubernetes_pod_label_tier: 'front', other: 'o' },
      [{ action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' }],
      {
        __meta_kubernetes_pod_label_app: 'web',
        __meta_kubernetes_pod_label_tier: 'front',
        other: 'o',
        app: 'web',
        tier: 'front',
      },
    ],
    [
      'labelmap with a replacement template',
      { team: 'core' },
      [{ action: 'labelmap', regex: '(.+)', replacement: 'src_${1}' }],
      { team: 'core', src_team: 'core' },
    ],
    [
      'labeldrop removes matching names',
      base,
      [{ action: 'labeldrop', regex: 'code|path' }],
      { __name__: 'http_requests_total', job: 'api', instance: 'host-a:9100' },
    ],
    [
      'labelkeep keeps only matching names',
      base,
      [{ action: 'labelkeep', regex: '__name__|job' }],
      { __name__: 'http_requests_total', job: 'api' },
    ],
    [
      'lowercase',
      { a: 'MiXeD' },
      [{ action: 'lowercase', sourceLabels: ['a'], targetLabel: 'b' }],
      { a: 'MiXeD', b: 'mixed' },
    ],
    [
      'uppercase',
      { a: 'MiXeD' },
      [{ action: 'uppercase', sourceLabels: ['a'], targetLabel: 'a' }],
      { a: 'MIXED' },
    ],
    [
      'rules apply in order, later ones see earlier results',
      { a: 'x' },
      [
        { sourceLabels: ['a'], targetLabel: 'b', replacement: 'from_$1' },
        { action: 'keep', sourceLabels: ['b'], regex: 'from_x' },
        { action: 'labeldrop', regex: 'a' },
      ],
      { b: 'from_x' },
    ],
    ['empty values count as absent and are removed', { a: '', b: 'y' }, [], { b: 'y' }],
    [
      'regex dot matches newlines as in Prometheus',
      { a: 'x\ny' },
      [{ action: 'keep', sourceLabels: ['a'], regex: 'x.y' }],
      { a: 'x\ny' },
    ],
    [
      'a leading (?i) flag is honoured',
      { a: 'ABC' },
      [{ action: 'keep', sourceLabels: ['a'], regex: '(?i)abc' }],
      { a: 'ABC' },
    ],
  ])('%s', (_name, input, cfgs, want) => {
    const copy = { ...input };
    expect(run(input, ...cfgs)).toEqual(want);
    expect(input).toEqual(copy);
  });

  it('absent labels named like Object.prototype members read as empty', () => {
    expect(run({ a: 'x' }, { sourceLabels: ['constructor', 'a'], targetLabel: 'b' })).toEqual({
      a: 'x',
      b: ';x',
    });
    expect(
      run({ a: 'x' }, { action: 'keepequal', sourceLabels: ['toString'], targetLabel: 'hasOwnProperty' }),
    ).toEqual({ a: 'x' });
  });

  it('hashmod writes md5(value) mod modulus using the last 8 digest bytes, big-endian', () => {
    const value = 'host-a:9100';
    const digest = createHash('md5').update(value).digest();
    let expected = 0n;
    for (let i = 8; i < 16; i++) expected = (expected << 8n) | BigInt(digest[i]!);
    const want = String(expected % 7n);
    expect(
      run({ addr: value }, { action: 'hashmod', sourceLabels: ['addr'], targetLabel: 'shard', modulus: 7 }),
    ).toEqual({ addr: value, shard: want });
    expect(hashMod(value, 7)).toBe(Number(want));
  });

  it('hashmod spreads values over all shards and is stable', () => {
    const shards = new Set<number>();
    for (let i = 0; i < 200; i++) shards.add(hashMod(`target-${i}:80`, 4));
    expect([...shards].sort()).toEqual([0, 1, 2, 3]);
    expect(hashMod('abc', 1000)).toBe(hashMod('abc', 1000));
  });
});

describe('expandTemplate (Go regexp Expand semantics)', () => {
  const m = /^(?<first>a)(b)?(c)$/.exec('ac')!;
  it.each([
    ['$1', 'a'],
    ['${1}x', 'ax'],
    ['$1x', ''],
    ['$first-$3', 'a-c'],
    ['${first}', 'a'],
    ['$2', ''],
    ['$9', ''],
    ['$$1', '$1'],
    ['cost: $', 'cost: $'],
    ['${bad', '${bad'],
    ['$-', '$-'],
    ['plain', 'plain'],
  ])('%s -> %s', (tpl, want) => {
    expect(expandTemplate(tpl, m)).toBe(want);
  });
});

describe('compileRelabelRegex', () => {
  it('rejects invalid expressions with a clear error', () => {
    expect(() => compileRelabelRegex('(unclosed')).toThrow(RelabelConfigError);
    expect(() => compileRelabelRegex('(unclosed')).toThrow(/invalid regular expression "\(unclosed"/);
  });
  it('anchors alternations as a whole', () => {
    const re = compileRelabelRegex('a|b');
    expect(re.test('a')).toBe(true);
    expect(re.test('ab')).toBe(false);
  });
});
