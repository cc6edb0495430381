/**
 * Traces for the UI tests and the screenshots, sent to a real Vigil as OTLP/JSON on POST /v1/traces: a
 * checkout that succeeds, the same checkout failing in the database (with a retry only it has), a message
 * whose parent span never arrived and whose clock is off, a message fanned out to delivery channels, and a
 * bulk import with 10,000 spans.
 */

export interface SeedSpan {
  readonly id: string;
  readonly parent?: string;
  readonly service: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind?: number;
  /** Milliseconds after the trace's base time (fractions allowed). */
  readonly at: number;
  readonly dur: number;
  /** An error status with this message. */
  readonly error?: string;
  readonly attrs?: Readonly<Record<string, string | number | boolean>>;
  readonly events?: readonly { at: number; name: string; attrs?: Record<string, string> }[];
  readonly links?: readonly { traceId: string; spanId: string }[];
}

export interface SeedTrace {
  readonly traceId: string;
  /** Epoch milliseconds. */
  readonly base: number;
  readonly spans: readonly SeedSpan[];
}

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
/** A trace ID from a small number and a tag (so test runs in one store never collide). */
export const traceIdOf = (tag: number, n: number) => `${hex(tag, 8)}${hex(n, 24)}`;
export const spanIdOf = (n: number) => hex(n, 16);

function attrValue(v: string | number | boolean) {
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return { stringValue: v };
}
const attrList = (o: Readonly<Record<string, string | number | boolean>> = {}) =>
  Object.entries(o).map(([key, v]) => ({ key, value: attrValue(v) }));
const nanos = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);

/** The OTLP/JSON export request holding these traces, one resource per service. */
export function otlpBody(traces: readonly SeedTrace[]): unknown {
  const byService = new Map<string, unknown[]>();
  for (const t of traces)
    for (const s of t.spans) {
      const list = byService.get(s.service) ?? [];
      list.push({
        traceId: t.traceId,
        spanId: s.id,
        parentSpanId: s.parent ?? '',
        name: s.name,
        kind: s.kind ?? 1,
        startTimeUnixNano: nanos(t.base + s.at),
        endTimeUnixNano: nanos(t.base + s.at + s.dur),
        attributes: attrList(s.attrs),
        events: (s.events ?? []).map((e) => ({
          timeUnixNano: nanos(t.base + e.at),
          name: e.name,
          attributes: attrList(e.attrs),
        })),
        links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
        status: s.error ? { code: 2, message: s.error } : { code: 0 },
      });
      byService.set(s.service, list);
    }
  return {
    resourceSpans: [...byService].map(([service, spans]) => ({
      resource: {
        // One host per service: each has its own clock, as in a real deployment.
        attributes: attrList({
          'service.name': service,
          'deployment.environment': 'test',
          'host.name': `${service}-host`,
        }),
      },
      scopeSpans: [{ scope: { name: 'vigil-ui-tests', version: '1.0.0' }, spans }],
    })),
  };
}

export async function sendTraces(url: string, traces: readonly SeedTrace[]): Promise<void> {
  const res = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpBody(traces)),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /v1/traces answered ${res.status}: ${text}`);
  if (text.includes('rejected')) {
    const body = JSON.parse(text) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
    if (Number(body.partialSuccess?.rejectedSpans ?? 0) > 0)
      throw new Error(`spans were refused: ${body.partialSuccess?.errorMessage}`);
  }
}

/** A checkout through gateway → orders → database, cache and e-mail; `slow` fails in the database. */
export function checkout(traceId: string, base: number, slow: boolean, n = 0): SeedTrace {
  const id = (k: number) => spanIdOf(n * 100 + k);
  const dbDur = slow ? 160 : 35;
  const total = slow ? 240 : 110;
  const spans: SeedSpan[] = [
    {
      id: id(1),
      service: 'gateway',
      name: 'POST /checkout',
      kind: 2,
      at: 0,
      dur: total,
      attrs: { 'http.route': '/checkout', 'http.response.status_code': slow ? 500 : 200 },
      ...(slow ? { error: 'upstream failed' } : {}),
    },
    {
      id: id(2),
      parent: id(1),
      service: 'gateway',
      name: 'POST orders',
      kind: 3,
      at: 5,
      dur: total - 10,
      ...(slow ? { error: 'orders answered 500' } : {}),
    },
    {
      id: id(3),
      parent: id(2),
      service: 'orders',
      name: 'POST /orders',
      kind: 2,
      at: 8,
      dur: total - 16,
      attrs: { 'http.route': '/orders', 'customer.tier': slow ? 'gold' : 'silver' },
      ...(slow ? { error: 'database error' } : {}),
    },
    {
      id: id(4),
      parent: id(3),
      service: 'orders',
      name: 'SELECT cart',
      kind: 3,
      at: 12,
      dur: 8,
      attrs: { 'db.system': 'postgresql' },
    },
    {
      id: id(5),
      parent: id(3),
      service: 'postgres',
      name: 'INSERT orders',
      kind: 2,
      at: 22,
      dur: dbDur,
      attrs: { 'db.system': 'postgresql', 'db.statement': 'INSERT INTO orders VALUES ($1, $2)' },
      ...(slow
        ? {
            error: 'deadlock detected',
            events: [{ at: 22 + dbDur - 2, name: 'exception', attrs: { 'exception.type': 'DeadlockError' } }],
          }
        : {}),
    },
    {
      id: id(6),
      parent: id(3),
      service: 'mailer',
      name: 'send confirmation',
      kind: 4,
      at: 22 + dbDur + 4,
      dur: 12,
      attrs: { 'messaging.system': 'rabbitmq' },
    },
  ];
  if (slow)
    spans.push({
      id: id(7),
      parent: id(3),
      service: 'orders',
      name: 'retry INSERT',
      kind: 1,
      at: 22 + dbDur + 1,
      dur: 2,
    });
  return { traceId, base, spans };
}

/**
 * A message whose ingest span never arrived: its children become orphans under a synthetic root. The
 * enricher's clock runs 40 ms early, so its span starts before its parent; it links to `linkTo`.
 */
export function orphaned(
  traceId: string,
  base: number,
  linkTo: { traceId: string; spanId: string },
): SeedTrace {
  return {
    traceId,
    base,
    spans: [
      {
        id: spanIdOf(9001),
        parent: spanIdOf(9000), // never sent
        service: 'validator',
        name: 'validate message',
        kind: 5,
        at: 10,
        dur: 30,
        links: [linkTo],
      },
      {
        id: spanIdOf(9002),
        parent: spanIdOf(9001),
        service: 'enricher',
        name: 'enrich message',
        kind: 2,
        at: -30, // the enricher's clock is behind: it appears to start before its parent
        dur: 20,
      },
    ],
  };
}

/** A message fanned out to e-mail, SMS and push; SMS fails. */
export function fanOut(traceId: string, base: number): SeedTrace {
  const spans: SeedSpan[] = [
    { id: spanIdOf(8001), service: 'ingest', name: 'receive message', kind: 2, at: 0, dur: 90 },
    { id: spanIdOf(8002), parent: spanIdOf(8001), service: 'router', name: 'route', kind: 1, at: 4, dur: 80 },
  ];
  ['email', 'sms', 'push'].forEach((ch, i) => {
    spans.push({
      id: spanIdOf(8010 + i),
      parent: spanIdOf(8002),
      service: 'router',
      name: `publish ${ch}`,
      kind: 4,
      at: 8 + i * 3,
      dur: 4,
      attrs: { 'messaging.destination.name': ch, channel: ch },
    });
    spans.push({
      id: spanIdOf(8020 + i),
      parent: spanIdOf(8010 + i),
      service: `${ch}-sender`,
      name: `deliver ${ch}`,
      kind: 5,
      at: 14 + i * 5,
      dur: 30 + i * 10,
      attrs: { channel: ch },
      ...(ch === 'sms' ? { error: 'carrier rejected the number' } : {}),
    });
  });
  return { traceId, base, spans };
}

/** One trace of exactly `count` spans: a root, batches under it, items under each batch. */
export function bulk(traceId: string, base: number, count = 10_000): SeedTrace {
  const services = ['importer', 'parser', 'validator', 'enricher', 'writer'];
  const batches = 99;
  const perBatch = Math.ceil((count - 1 - batches) / batches);
  const spans: SeedSpan[] = [
    { id: spanIdOf(1), service: 'importer', name: 'import file', kind: 2, at: 0, dur: batches * 10 + 20 },
  ];
  let n = 2;
  for (let b = 0; b < batches && n <= count; b++) {
    const batchId = spanIdOf(n++);
    spans.push({
      id: batchId,
      parent: spanIdOf(1),
      service: services[b % services.length]!,
      name: `batch ${b}`,
      at: 5 + b * 10,
      dur: 9,
    });
    for (let i = 0; i < perBatch && n <= count; i++)
      spans.push({
        id: spanIdOf(n++),
        parent: batchId,
        service: services[(b + i) % services.length]!,
        name: 'process item',
        at: 5 + b * 10 + (i * 9) / perBatch,
        dur: (9 / perBatch) * 0.9, // well inside the batch, so rounding never pushes an item out of it
        ...(b === 42 && i === 7 ? { error: 'malformed record' } : {}),
      });
  }
  return { traceId, base, spans };
}
