import { describe, expect, it } from 'vitest';
import { SimilarityModel, words } from './similarity.ts';
import type { CorrelationAlert } from './model.ts';

const a = (labels: Record<string, string>, summary = ''): CorrelationAlert => ({
  fingerprint: JSON.stringify(labels),
  labels,
  annotations: summary ? { summary } : {},
  startsAt: 0,
});

describe('similarity', () => {
  it('splits alert names and text into words without numbers and stop words', () => {
    expect(words('HighErrorRate on the api: 5xx above 5% for 10m')).toEqual([
      'high',
      'error',
      'rate',
      'api',
      '5xx',
    ]);
  });

  it('weighs shared labels by how many kinds of alert carry them', () => {
    const m = new SimilarityModel([
      a({ alertname: 'KubePodNotReady', node: 'n7', pod: 'a-1', env: 'prod' }),
      a({ alertname: 'KubePodNotReady', node: 'n7', pod: 'b-2', env: 'prod' }),
      a({ alertname: 'DiskFull', device: 'sdb', env: 'prod' }),
      a({ alertname: 'CertExpiring', service: 'web', env: 'prod' }),
    ]);
    // Pods differ only in the identity label pod: identical for similarity.
    expect(m.labels(0, 1)).toBe(1);
    // env="prod" is on every kind: it weighs little.
    expect(m.labels(2, 3)).toBeLessThan(0.1);
    expect(m.shared(0, 1, 2)).toEqual(['alertname="KubePodNotReady"', 'node="n7"']);
  });

  it('finds the scope one alert is about on another', () => {
    const m = new SimilarityModel([
      a({ alertname: 'NodeDown', node: 'n7', env: 'prod', cluster: 'eu' }),
      a({ alertname: 'KubePodNotReady', node: 'n7', namespace: 'shop', env: 'prod', cluster: 'eu' }),
      a({ alertname: 'KubePodNotReady', node: 'n2', namespace: 'shop', env: 'prod', cluster: 'eu' }),
      a({ alertname: 'Other', env: 'prod', cluster: 'eu' }),
    ]);
    expect(m.contains(0, 1)).toEqual(['node="n7"']);
    expect(m.contains(1, 0)).toBeUndefined();
    expect(m.contains(0, 2)).toBeUndefined();
    // Environment-wide labels are no scope.
    expect(m.contains(3, 1)).toBeUndefined();
  });

  it('compares annotation text by TF-IDF cosine', () => {
    const m = new SimilarityModel([
      a({ alertname: 'X' }, 'replication lag on orders-db above threshold'),
      a({ alertname: 'Y' }, 'replication lag on orders-db growing'),
      a({ alertname: 'Z' }, 'certificate expires soon'),
    ]);
    expect(m.textCosine(0, 1)).toBeGreaterThan(0.4);
    expect(m.textCosine(0, 2)).toBe(0);
    expect(m.similarity(0, 1)).toBe(Math.max(m.labels(0, 1), m.textCosine(0, 1)));
  });
});
