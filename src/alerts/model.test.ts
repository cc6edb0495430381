import { describe, expect, it } from 'vitest';
import { fingerprint, labelSetString, mergeAlerts, normalizeAlert, type Alert } from './model.ts';

const NOW = Date.parse('2026-01-10T08:00:00Z');
const RT = 5 * 60_000;

describe('fingerprint', () => {
  it.each([
    // Values as printed by Alertmanager 0.25 for the same label sets.
    [{ alertname: 'X', job: 'j' }, '73e97ba8ea424605'],
    [{}, 'cbf29ce484222325'],
  ])('of %j is %s', (labels, fp) => {
    expect(fingerprint(labels)).toBe(fp);
  });

  it('ignores label order', () => {
    expect(fingerprint({ b: '2', a: '1' })).toBe(fingerprint({ a: '1', b: '2' }));
    expect(labelSetString({ b: '2', a: '1"' })).toBe('{a="1\\"", b="2"}');
  });
});

describe('normalizeAlert', () => {
  it('fills startsAt and a timeout endsAt, drops empty labels', () => {
    const a = normalizeAlert({ labels: { alertname: 'A', empty: '' } }, NOW, RT) as Alert;
    expect(a).toMatchObject({
      labels: { alertname: 'A' },
      startsAt: NOW,
      endsAt: NOW + RT,
      timeout: true,
      updatedAt: NOW,
    });
    const b = normalizeAlert({ labels: { a: '1' }, endsAt: '2026-01-10T07:00:00Z' }, NOW, RT) as Alert;
    expect(b).toMatchObject({ startsAt: Date.parse('2026-01-10T07:00:00Z'), timeout: false });
    const zero = normalizeAlert({ labels: { a: '1' }, startsAt: '0001-01-01T00:00:00Z' }, NOW, RT) as Alert;
    expect(zero.startsAt).toBe(NOW);
  });

  it.each([
    [{ labels: {} }, 'at least one label pair required'],
    [{ labels: { a: '' } }, 'at least one label pair required'],
    [{ labels: { 'a-b': '1' } }, 'invalid label set: invalid name "a-b"'],
    [{ labels: { a: '1' }, annotations: { 'x y': '1' } }, 'invalid annotations: invalid name "x y"'],
    [{ labels: { a: 1 } }, 'labels: value of "a" must be a string'],
    [
      { labels: { a: '1' }, startsAt: '2026-01-10T08:00:00Z', endsAt: '2026-01-10T07:00:00Z' },
      'start time must be before end time',
    ],
    [{ labels: { a: '1' }, startsAt: 'yesterday' }, 'startsAt "yesterday" is not an RFC 3339 time'],
  ])('rejects %j', (input, msg) => {
    expect(normalizeAlert(input as never, NOW, RT)).toBe(msg);
  });
});

describe('mergeAlerts', () => {
  const base: Alert = {
    labels: { a: '1' },
    annotations: {},
    startsAt: NOW - 60_000,
    endsAt: NOW + RT,
    generatorURL: '',
    updatedAt: NOW - 1000,
    timeout: true,
  };
  it('keeps the earliest start and lets the newer alert win', () => {
    const newer = { ...base, startsAt: NOW, endsAt: NOW + 2 * RT, updatedAt: NOW, annotations: { s: 'new' } };
    expect(mergeAlerts(base, newer, NOW)).toMatchObject({
      startsAt: NOW - 60_000,
      endsAt: NOW + 2 * RT,
      annotations: { s: 'new' },
    });
  });
  it('does not shorten an explicit endsAt with a later timeout', () => {
    const explicit = { ...base, endsAt: NOW + 3 * RT, timeout: false };
    const timeoutOne = { ...base, endsAt: NOW + RT, updatedAt: NOW, timeout: true };
    expect(mergeAlerts(explicit, timeoutOne, NOW).endsAt).toBe(NOW + 3 * RT);
  });
  it('a resolving update resolves', () => {
    const resolved = { ...base, endsAt: NOW - 10, updatedAt: NOW, timeout: false };
    expect(mergeAlerts(base, resolved, NOW).endsAt).toBe(NOW - 10);
  });
});
