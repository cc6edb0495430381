/**
 * Seeded synthetic series for tests and benchmarks of anomaly and forecast rules: the same numbers on every
 * run, so assertions never depend on luck.
 */

const DAY = 86_400;

/** Seeded standard normal noise (mulberry32 + Box-Muller). */
export function seededNormal(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

/** A daily pattern around `base` (Unix seconds in): quiet at night, busy in the afternoon, ±`amplitude`. */
export function dailyPattern(t: number, base = 100, amplitude = 20): number {
  const x = (2 * Math.PI * (((t % DAY) + DAY) % DAY)) / DAY;
  return base + amplitude * Math.sin(x - Math.PI / 2) + amplitude * 0.4 * Math.sin(2 * x);
}
