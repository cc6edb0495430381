import { describe, expect, it } from 'vitest';
import {
  attributeLabels,
  prometheusMetricName,
  sanitizeLabelName,
  sanitizeMetricName,
  unitSuffix,
  type PromKind,
} from './naming.ts';

describe('prometheusMetricName', () => {
  it.each<[string, string, PromKind, string]>([
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['http.server.request.duration', 'ms', 'histogram', 'http_server_request_duration_milliseconds'],
    ['process.memory.usage', 'By', 'gauge', 'process_memory_usage_bytes'],
    ['cache.size', 'KiBy', 'gauge', 'cache_size_kibibytes'],
    ['cpu.utilization', '1', 'gauge', 'cpu_utilization_ratio'],
    ['requests', '1', 'counter', 'requests_total'],
    ['disk.used', '%', 'gauge', 'disk_used_percent'],
    ['http.server.requests', '{request}', 'counter', 'http_server_requests_total'],
    ['packets', '{packet}/s', 'gauge', 'packets_per_second'],
    ['speed', 'm/s', 'gauge', 'speed_meters_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['weird', 'foo.bar', 'gauge', 'weird_foo_bar'],
    ['latency_seconds', 's', 'histogram', 'latency_seconds'],
    ['requests_total', '', 'counter', 'requests_total'],
    ['duration_seconds_total', 's', 'counter', 'duration_seconds_total'],
    ['duration_total', 's', 'counter', 'duration_seconds_total'],
    ['queue.depth', '', 'gauge', 'queue_depth'],
    ['2xx.responses', '', 'counter', '_2xx_responses_total'],
    ['a..b--c', '', 'gauge', 'a_b_c'],
    ['ns:metric', '', 'gauge', 'ns:metric'],
    ['up.down', '{item}', 'gauge', 'up_down'],
    ['rpc.duration', 'ms', 'summary', 'rpc_duration_milliseconds'],
  ])('%s [%s] as %s → %s', (name, unit, kind, want) => {
    expect(prometheusMetricName(name, unit, kind)).toBe(want);
  });
});

describe('unitSuffix', () => {
  it.each<[string, PromKind, string]>([
    ['s', 'gauge', 'seconds'],
    ['min', 'gauge', 'minutes'],
    ['1', 'counter', ''],
    ['1', 'gauge', 'ratio'],
    ['{thing}', 'gauge', ''],
    ['1/s', 'gauge', 'per_second'],
    ['KiBy/min', 'gauge', 'kibibytes_per_minute'],
    ['', 'gauge', ''],
  ])('%s (%s) → %s', (unit, kind, want) => {
    expect(unitSuffix(unit, kind)).toBe(want);
  });
});

describe('sanitizeMetricName', () => {
  it('replaces invalid characters, collapses runs and prefixes a leading digit', () => {
    expect(sanitizeMetricName('my-metric/name é')).toBe('my_metric_name_');
    expect(sanitizeMetricName('9lives')).toBe('_9lives');
  });
});

describe('attribute labels', () => {
  it('sanitises keys', () => {
    expect(sanitizeLabelName('http.request.method')).toBe('http_request_method');
    expect(sanitizeLabelName('0day')).toBe('key_0day');
    expect(sanitizeLabelName('k8s.pod-name')).toBe('k8s_pod_name');
  });

  it('joins colliding keys with ; in the order of the original keys', () => {
    expect(
      attributeLabels([
        ['foo_bar', 'c'],
        ['foo.bar', 'a'],
        ['foo-bar', 'b'],
        ['other', 'x'],
      ]),
    ).toEqual({ foo_bar: 'b;a;c', other: 'x' });
  });

  it('keeps non-colliding attributes as they are', () => {
    expect(attributeLabels([['service.version', '1.2']])).toEqual({ service_version: '1.2' });
  });
});
