/**
 * Head sampling of the demo's traces, chosen through the standard OpenTelemetry environment variables. Pure:
 * shared by the services (telemetry.ts builds the SDK sampler from it) and the launcher, which refuses a bad
 * value before starting anything.
 */

/** The values of `OTEL_TRACES_SAMPLER` this demo understands (the specification's built-in samplers). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** The head sampling chosen through the standard environment variables. */
export interface TraceSampling {
  readonly sampler: (typeof TRACE_SAMPLERS)[number];
  /** Share of new traces kept, 0..1 (1 for the `always_on` samplers, 0 for the `always_off` ones). */
  readonly ratio: number;
}

/**
 * Reads `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` as the OpenTelemetry specification defines them
 * (default `parentbased_always_on`; the argument of the ratio samplers defaults to 1). Pure. Unlike the SDK,
 * which logs a bad value to a diagnostic logger nobody registered and falls back to sampling everything, it
 * throws naming the variable and the valid values, so a typo cannot silently change what is traced.
 */
export function traceSampling(env: {
  readonly OTEL_TRACES_SAMPLER?: string;
  readonly OTEL_TRACES_SAMPLER_ARG?: string;
}): TraceSampling {
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase() || 'parentbased_always_on';
  const sampler = TRACE_SAMPLERS.find((s) => s === name);
  if (!sampler)
    throw new Error(
      `OTEL_TRACES_SAMPLER must be one of ${TRACE_SAMPLERS.join(', ')}, got ${JSON.stringify(env.OTEL_TRACES_SAMPLER)}`,
    );
  if (!sampler.endsWith('traceidratio')) return { sampler, ratio: sampler.endsWith('always_off') ? 0 : 1 };
  const arg = (env.OTEL_TRACES_SAMPLER_ARG ?? '').trim();
  const ratio = arg === '' ? 1 : Number(arg);
  if (!(ratio >= 0 && ratio <= 1))
    throw new Error(
      `OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (the share of traces kept) for ${sampler}, ` +
        `got ${JSON.stringify(env.OTEL_TRACES_SAMPLER_ARG)}`,
    );
  return { sampler, ratio };
}
