/**
 * `alerting.storm` in Vigil's configuration (docs/storm.md): storm protection between aggregation groups and
 * delivery. The defaults are high enough that ordinary alert volumes behave exactly as Alertmanager: storm
 * mode needs 100 new alerts for one receiver within a minute, the rate limit allows 120 notifications per
 * minute per receiver integration, and an alert is flapping only after firing 5 times within 15 minutes.
 */
import { z } from 'zod';
import { parseDuration } from '../../model/duration.ts';
import type { StormOptions } from '../storm/stage.ts';

const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    if (typeof v === 'number') return v * 1000;
    try {
      return parseDuration(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; ${what}` });
      return z.NEVER;
    }
  });

const positiveDuration = (what: string) =>
  duration(what).refine((ms) => ms > 0, { message: `must be above 0; ${what}` });

export const stormConfigSchema = z
  .object({
    /** Off: notifications go out exactly as Alertmanager sends them. */
    enabled: z.boolean().default(true),
    /** New alerts routed to one receiver within `window` that turn storm mode on for it. */
    threshold: z.number().int().positive().default(100),
    window: positiveDuration('for example 1m').default(60_000),
    /** Storm mode ends once the threshold was not reached for this long. */
    calm_period: positiveDuration('for example 5m').default(300_000),
    /** In storm mode, how long an alert alone in its correlated group waits for related ones (0 = not at all). */
    gather: duration('for example 1m; 0 sends lone alerts at once').default(60_000),
    rate_limit: z
      .object({
        /** Notifications per minute per receiver integration; 0 = no limit. */
        per_minute: z.number().min(0).default(120),
        /** Bucket size (notifications allowed at once); 0 = per_minute. */
        burst: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({}),
    flapping: z
      .object({
        /** An alert that fires more often than this within `window` is flapping; 0 = no flap detection. */
        max_fires: z.number().int().min(0).default(4),
        window: positiveDuration('for example 15m').default(900_000),
        /** A flapping alert's notifications are held until it has not changed for this long. */
        stable_for: positiveDuration('for example 10m').default(600_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type StormConfig = z.output<typeof stormConfigSchema>;

/** The stage's options from the configuration section; undefined when storm protection is off. */
export function stormOptionsOf(c: StormConfig): StormOptions | undefined {
  if (!c.enabled) return undefined;
  return {
    threshold: c.threshold,
    windowMs: c.window,
    calmMs: c.calm_period,
    ratePerMinute: c.rate_limit.per_minute,
    burst: c.rate_limit.burst || Math.max(1, Math.ceil(c.rate_limit.per_minute)),
    flapMaxFires: c.flapping.max_fires,
    flapWindowMs: c.flapping.window,
    flapStableMs: c.flapping.stable_for,
    gatherMs: c.gather,
  };
}
