/**
 * The fault catalogue of the demo pipeline: which faults exist, their parameters, and how a set of active
 * faults turns into the state each service applies. Pure: no I/O, shared by the launcher's HTTP API and the
 * CLI so both give the same errors.
 */

export const STAGES = ['ingest', 'validation', 'enrichment', 'router'] as const;
export const CHANNELS = ['email', 'sms', 'push', 'webhook'] as const;
export const QUEUES = ['enrich', ...CHANNELS.map((c) => `channel.${c}`)] as const;
/** Every process of the pipeline, by its OpenTelemetry `service.name` (and Prometheus job). */
export const SERVICES = [
  'broker',
  ...STAGES,
  ...CHANNELS.map((c) => `worker-${c}`),
  'gateway',
  'chanmon',
  'loadgen',
] as const;

export type Stage = (typeof STAGES)[number];
export type Channel = (typeof CHANNELS)[number];

interface ParamSpec {
  readonly kind: 'enum' | 'number';
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Absent: the parameter is required. */
  readonly default?: string | number;
  readonly help: string;
}

interface FaultSpec {
  readonly help: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** The parameter naming what the fault hits; one active fault per (name, target). */
  readonly target: string;
}

export const FAULTS: Readonly<Record<string, FaultSpec>> = {
  latency: {
    help: 'adds a delay to every message a stage handles',
    target: 'stage',
    params: {
      stage: { kind: 'enum', values: STAGES, help: 'the stage to slow down' },
      ms: { kind: 'number', min: 1, max: 60_000, default: 500, help: 'delay per message in milliseconds' },
    },
  },
  'error-rate': {
    help: 'a share of deliveries on a channel fail',
    target: 'channel',
    params: {
      channel: { kind: 'enum', values: CHANNELS, help: 'the failing channel' },
      rate: { kind: 'number', min: 0, max: 1, default: 0.5, help: 'share of deliveries that fail (0-1)' },
    },
  },
  'channel-down': {
    help: "a channel's provider is unreachable: every delivery fails and its health check fails",
    target: 'channel',
    params: { channel: { kind: 'enum', values: CHANNELS, help: 'the channel that is down' } },
  },
  loss: {
    help: 'messages silently vanish between two adjacent stages (counted as sent, never received)',
    target: 'from',
    params: {
      from: { kind: 'enum', values: STAGES.slice(0, -1), default: 'validation', help: 'the sending stage' },
      to: { kind: 'enum', values: STAGES.slice(1), default: 'enrichment', help: 'the next stage' },
      rate: { kind: 'number', min: 0, max: 1, default: 0.3, help: 'share of messages lost (0-1)' },
    },
  },
  'slow-dependency': {
    help: 'the delivery gateway (the downstream dependency of every channel) answers slowly',
    target: 'service',
    params: {
      ms: { kind: 'number', min: 1, max: 60_000, default: 800, help: 'extra response time in milliseconds' },
    },
  },
  cpu: {
    help: 'a service burns CPU on its event loop',
    target: 'service',
    params: {
      service: { kind: 'enum', values: SERVICES, help: 'the service' },
      share: { kind: 'number', min: 0.05, max: 1, default: 0.9, help: 'share of each 100 ms spent busy' },
    },
  },
  'memory-leak': {
    help: 'a service keeps memory it never frees',
    target: 'service',
    params: {
      service: { kind: 'enum', values: SERVICES, help: 'the service' },
      mb: { kind: 'number', min: 0.1, max: 100, default: 5, help: 'MiB leaked per second' },
    },
  },
  'queue-backlog': {
    help: 'the broker stops handing out messages of a queue, so it backs up',
    target: 'queue',
    params: { queue: { kind: 'enum', values: QUEUES, help: 'the queue' } },
  },
};

export const FAULT_NAMES = Object.keys(FAULTS);

/** A validated fault: its name, target value and every parameter with defaults filled in. */
export interface ActiveFault {
  readonly name: string;
  readonly target: string;
  readonly params: Readonly<Record<string, string | number>>;
  /** When it was switched on, ms since the epoch. */
  readonly since: number;
}

/** Invalid fault name or parameters; the message lists what is valid. Maps to HTTP 400 / exit code 2. */
export class FaultError extends Error {
  override name = 'FaultError';
}

function describeParams(name: string): string {
  const spec = FAULTS[name]!;
  return Object.entries(spec.params)
    .map(([p, s]) => {
      const range = s.kind === 'enum' ? s.values!.join('|') : `${s.min}..${s.max}`;
      return `${p}=${range}${s.default === undefined ? ' (required)' : ` (default ${s.default})`}`;
    })
    .join(', ');
}

/** One line per fault: name, what it does and its parameters; used in errors and `fault list --help`. */
export function faultCatalogue(): string {
  return FAULT_NAMES.map((n) => `  ${n}: ${FAULTS[n]!.help}; ${describeParams(n) || 'no parameters'}`).join(
    '\n',
  );
}

/**
 * Checks a fault name and its raw parameters (strings from a CLI or query string, or JSON values) and returns
 * the fault with defaults applied. Throws FaultError naming the bad part and the valid choices.
 */
export function parseFault(
  name: string,
  raw: Readonly<Record<string, unknown>>,
  now = Date.now(),
): ActiveFault {
  const spec = FAULTS[name];
  if (!spec) throw new FaultError(`unknown fault "${name}"; valid faults:\n${faultCatalogue()}`);
  const params: Record<string, string | number> = {};
  for (const key of Object.keys(raw)) {
    if (!(key in spec.params))
      throw new FaultError(
        `fault "${name}" has no parameter "${key}"; valid parameters: ${describeParams(name) || 'none'}`,
      );
  }
  for (const [key, p] of Object.entries(spec.params)) {
    const v = raw[key];
    if (v === undefined || v === '') {
      if (p.default === undefined)
        throw new FaultError(`fault "${name}" needs parameter "${key}" (${p.help}): ${describeParams(name)}`);
      params[key] = p.default;
      continue;
    }
    if (p.kind === 'enum') {
      const s = String(v);
      if (!p.values!.includes(s))
        throw new FaultError(
          `fault "${name}": ${key} must be one of ${p.values!.join(', ')}, got ${JSON.stringify(v)}`,
        );
      params[key] = s;
    } else {
      const n = typeof v === 'number' ? v : Number(v);
      if (typeof v === 'boolean' || !Number.isFinite(n) || n < p.min! || n > p.max!)
        throw new FaultError(
          `fault "${name}": ${key} must be a number from ${p.min} to ${p.max}, got ${JSON.stringify(v)}`,
        );
      params[key] = n;
    }
  }
  if (name === 'loss') {
    const from = STAGES.indexOf(params.from as Stage);
    if (STAGES[from + 1] !== params.to)
      throw new FaultError(
        `fault "loss": "to" must be the stage right after "from" (${STAGES.join(' -> ')}); ` +
          `got from=${params.from} to=${params.to}`,
      );
  }
  if (name === 'slow-dependency') params.service = 'gateway';
  return { name, target: String(params[spec.target]), params, since: now };
}

/** The fault effects one service applies; every field is off when absent. Sent to `POST /_faults`. */
export interface ServiceFaults {
  /** Delay per handled message (stages) or per request (gateway), ms. */
  delayMs?: number;
  /** Share of deliveries that fail (workers). */
  errorRate?: number;
  /** The channel is down: deliveries fail and /healthz answers 503 (workers). */
  down?: boolean;
  /** Share of messages silently not passed on (stages). */
  lossRate?: number;
  /** Share of every 100 ms spent burning CPU. */
  cpuShare?: number;
  /** MiB retained per second. */
  leakMbPerS?: number;
  /** Queues the broker holds back. */
  pausedQueues?: string[];
}

/** Which service each active fault lands on, and what it does there. Services not in the map have none. */
export function serviceFaults(active: readonly ActiveFault[]): Map<string, ServiceFaults> {
  const out = new Map<string, ServiceFaults>();
  const at = (svc: string): ServiceFaults => {
    let f = out.get(svc);
    if (!f) out.set(svc, (f = {}));
    return f;
  };
  for (const f of active) {
    const p = f.params;
    switch (f.name) {
      case 'latency':
        at(String(p.stage)).delayMs = Number(p.ms);
        break;
      case 'error-rate':
        at(`worker-${p.channel}`).errorRate = Number(p.rate);
        break;
      case 'channel-down':
        at(`worker-${p.channel}`).down = true;
        break;
      case 'loss':
        at(String(p.from)).lossRate = Number(p.rate);
        break;
      case 'slow-dependency':
        at('gateway').delayMs = Number(p.ms);
        break;
      case 'cpu':
        at(String(p.service)).cpuShare = Number(p.share);
        break;
      case 'memory-leak':
        at(String(p.service)).leakMbPerS = Number(p.mb);
        break;
      case 'queue-backlog':
        (at('broker').pausedQueues ??= []).push(String(p.queue));
        break;
    }
  }
  return out;
}
