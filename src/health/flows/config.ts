/**
 * The `flows:` section of Vigil's configuration: data flows (a pipeline's stages in order, and the delivery
 * channels that fan out from them), each counter given as a PromQL expression. Validated up front, PromQL
 * included, so a bad definition stops the start with file, line and what is wrong. Reference: docs/flows.md.
 */
import { z } from 'zod';
import { parseDuration } from '../../model/duration.ts';
import { parse } from '../../query/promql/index.ts';

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number') return v * 1000;
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; for example 30s or 2m` });
    return z.NEVER;
  }
});

/** A PromQL expression, parsed here so a typo is reported with its place in the file. */
const promql = z.string().superRefine((src, ctx) => {
  if (src.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'the expression is empty' });
    return;
  }
  try {
    parse(src);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not valid PromQL: ${(err as Error).message}` });
  }
});

const NAME = /^[a-zA-Z0-9_.:-]+$/;
const name = (what: string) =>
  z
    .string({ error: `a ${what} needs a name` })
    .regex(NAME, `a ${what} name uses letters, digits and _ . : - only`);

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;

const freshnessSchema = z
  .object({
    /** A series selector (for example `ingest_received_total{job="ingest"}`); the newest sample counts. */
    series: z.string().superRefine((src, ctx) => {
      try {
        if (parse(src).type !== 'VectorSelector')
          ctx.addIssue({ code: 'custom', message: 'expected a series selector such as foo_total{job="x"}' });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not valid PromQL: ${(err as Error).message}` });
      }
    }),
    max_age: duration,
  })
  .strict();

const lagSchema = z
  .object({
    /** An expression whose largest value is the lag: queue age in seconds, backlog size, backlog growth. */
    expr: promql,
    /** Violated above this; a duration is taken as seconds (`60s` → 60), a number as is. */
    max: z.union([z.number(), z.string()]).transform((v, ctx) => {
      if (typeof v === 'number') return v;
      try {
        return parseDuration(v) / 1000;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; a number or a duration` });
        return z.NEVER;
      }
    }),
  })
  .strict();

const throughputSchema = z
  .object({
    /** Violated when `in` falls below the baseline by more than this share (0.5 = half). */
    min_drop: z.number().gt(0).max(1).default(0.5),
    /** ... and by more than this many mean absolute deviations of the baseline. */
    deviations: z.number().positive().default(4),
    /** Weight of the newest value in the baseline's moving averages. */
    alpha: z.number().gt(0).max(1).default(0.1),
    /** Evaluations learned before the check can fire (status unknown until then). */
    warmup: z.number().int().min(1).default(10),
    /** Violated evaluations in a row after which the lower level is learned as the new normal. */
    relearn_after: z.number().int().min(1).default(60),
    /** A baseline below this rate (per second) is too small to judge a drop. */
    min_rate: z.number().min(0).default(0),
  })
  .strict();

/** What a stage and a channel have in common: their counters and optional checks. */
const counters = {
  /** Rate of items coming in (per second), for example `sum(rate(received_total[5m]))`. */
  in: promql,
  /** Rate of items passed on. */
  out: promql,
  /** Rate of items dropped on purpose (filtered, rejected, expired); absent means none. */
  dropped: promql.optional(),
  /** Items held inside (a gauge); its change over the interval counts as kept, not lost. */
  in_flight: promql.optional(),
  freshness: freshnessSchema.optional(),
  lag: lagSchema.optional(),
  /** Learned-baseline check of `in`; `false` turns it off. */
  throughput: z.union([throughputSchema, z.literal(false)]).prefault({}),
  /** Overrides the flow's tolerance for this stage or channel. */
  tolerance: z.number().min(0).max(1).optional(),
};

export const stageSchema = z.object({ name: name('stage'), ...counters }).strict();

export const channelSchema = z
  .object({
    name: name('channel'),
    /** The stage this channel receives from. */
    stage: name('stage'),
    ...counters,
  })
  .strict();

export const flowSchema = z
  .object({
    name: name('flow'),
    stages: z.array(stageSchema).min(1, 'a flow needs at least one stage'),
    channels: z.array(channelSchema).default([]),
    /** Largest accepted gap in the conservation checks, as a share of `in` (0.01 = 1%). */
    tolerance: z.number().min(0).max(1).default(0.01),
    /** How often the checks run. */
    interval: duration.default(60_000),
    /** Gaps where `in` is below this rate (per second) are not judged: too few items to tell. */
    min_rate: z.number().min(0).default(0),
    /** `severity` label of each alert. */
    severity: z
      .object({
        conservation: z.enum(SEVERITIES).default('critical'),
        stale: z.enum(SEVERITIES).default('critical'),
        throughput: z.enum(SEVERITIES).default('warning'),
        lag: z.enum(SEVERITIES).default('warning'),
      })
      .strict()
      .prefault({}),
    /** Extra labels on every alert of this flow. */
    labels: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.interval < 1000)
      ctx.addIssue({ code: 'custom', path: ['interval'], message: 'the interval must be at least 1s' });
    const stages = new Set<string>();
    for (const [i, s] of f.stages.entries()) {
      if (stages.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['stages', i, 'name'],
          message: `stage "${s.name}" is listed twice`,
        });
      stages.add(s.name);
    }
    const channels = new Set<string>();
    for (const [i, c] of f.channels.entries()) {
      if (channels.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'name'],
          message: `channel "${c.name}" is listed twice`,
        });
      channels.add(c.name);
      if (!stages.has(c.stage))
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'stage'],
          message: `no stage "${c.stage}" in this flow (stages: ${[...stages].join(', ')})`,
        });
    }
    for (const l of Object.keys(f.labels))
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || RESERVED_LABELS.includes(l))
        ctx.addIssue({
          code: 'custom',
          path: ['labels', l],
          message: `not a valid label name here (letters, digits, _; not ${RESERVED_LABELS.join(', ')})`,
        });
  });

const RESERVED_LABELS = ['alertname', 'flow', 'stage', 'channel', 'severity', '__name__'];

export const flowsSchema = z
  .array(flowSchema)
  .nullish()
  .transform((v) => v ?? [])
  .superRefine((flows, ctx) => {
    const seen = new Set<string>();
    for (const [i, f] of flows.entries()) {
      if (seen.has(f.name))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `the flow name "${f.name}" is used twice`,
        });
      seen.add(f.name);
    }
  });

export type FlowConfig = z.output<typeof flowSchema>;
export type StageConfig = z.output<typeof stageSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type ThroughputConfig = z.output<typeof throughputSchema>;
