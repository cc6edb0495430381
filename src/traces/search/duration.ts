/** Go duration strings (`1.2ms`, `2s`, `1h15m30.5s`, `300us`), as Jaeger's query API takes them, to nanoseconds. */

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
const MAX_NS = 2n ** 63n - 1n;

export class GoDurationError extends Error {
  override name = 'GoDurationError';
}

/** Parses a Go duration (as Go's time.ParseDuration: sign, then number+unit parts; `0` alone needs no unit). */
export function parseGoDuration(s: string): bigint {
  let rest = s;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') throw new GoDurationError(`invalid duration ${JSON.stringify(s)}`);
  PART.lastIndex = 0;
  let total = 0n;
  while (PART.lastIndex < rest.length) {
    const at = PART.lastIndex;
    const m = PART.exec(rest);
    if (!m || m.index !== at)
      throw new GoDurationError(
        `invalid duration ${JSON.stringify(s)} (expected a number and a unit ns, us, ms, s, m or h, e.g. 1.2ms, 2s, 1h30m)`,
      );
    const [whole = '', frac = ''] = m[1]!.split('.');
    const unit = UNIT_NS[m[2]!]!;
    const scale = 10n ** BigInt(frac.length);
    total += BigInt(whole || '0') * unit + (BigInt(frac || '0') * unit) / scale;
    if (total > MAX_NS) throw new GoDurationError(`invalid duration ${JSON.stringify(s)}: out of range`);
  }
  return negative ? -total : total;
}
