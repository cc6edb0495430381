/**
 * Builds spans for the analysis tests and the benchmark: times in milliseconds after `T0`, short IDs padded
 * to the real widths so they also pass the trace API's checks.
 */
import type { SpanRow } from '../model.ts';

/** 2026-01-01T00:00:00Z in ns: a whole second, so microsecond figures in tests stay round. */
export const T0 = 1_767_225_600_000_000_000n;
export const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

export function id16(short: string): string {
  return short.padStart(16, '0');
}

export function ms(n: number): bigint {
  return T0 + BigInt(Math.round(n * 1_000_000));
}

export interface SpanSpec extends Partial<Omit<SpanRow, 'spanId' | 'parentSpanId' | 'startNs' | 'endNs'>> {
  /** Resource `host.name`; defaults to the service's own host. */
  readonly host?: string;
}

/** A span `id` under `parent` ('' for a root) in `service`, from `startMs` to `endMs` after T0. */
export function sp(
  id: string,
  parent: string,
  service: string,
  startMs: number,
  endMs: number,
  over: SpanSpec = {},
): SpanRow {
  const { host, ...rest } = over;
  return {
    traceId: TRACE,
    spanId: id16(id),
    parentSpanId: parent === '' ? '' : id16(parent),
    traceState: '',
    flags: 1,
    name: `${service} op ${id}`,
    kind: 'internal',
    startNs: ms(startMs),
    endNs: ms(endMs),
    statusCode: 'unset',
    statusMessage: '',
    service,
    resourceAttributes: { 'service.name': service, 'host.name': host ?? `${service}-host` },
    resourceAttributeTypes: {},
    scopeName: 'test',
    scopeVersion: '1.0.0',
    attributes: {},
    attributeTypes: {},
    events: [],
    links: [],
    ...rest,
  };
}
