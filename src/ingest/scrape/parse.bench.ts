/**
 * Parser throughput: `npx tsx src/ingest/scrape/parse.bench.ts`. Prints ms per page and samples/s for a seeded
 * 10k-line page in both formats. Not part of the test run.
 */
import { parseOpenMetrics, parsePrometheusText } from './parse.ts';

function page(lines: number, openMetrics: boolean): string {
  const out: string[] = [];
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const families = 50;
  const perFamily = Math.ceil(lines / families);
  for (let f = 0; f < families; f++) {
    const name = `app_component_${f}_requests`;
    out.push(`# HELP ${name}${openMetrics ? '' : '_total'} Requests handled by component ${f}.`);
    out.push(`# TYPE ${name}${openMetrics ? '' : '_total'} counter`);
    for (let i = 0; i < perFamily; i++) {
      const labels = `method="${i % 2 ? 'GET' : 'POST'}",path="/api/v1/resource/${i % 97}",code="${200 + (i % 5)}",pod="pod-${i}"`;
      out.push(`${name}_total{${labels}} ${Math.floor(rnd() * 1e6)}`);
    }
  }
  if (openMetrics) out.push('# EOF');
  return out.join('\n') + '\n';
}

function measure(label: string, text: string, parse: (s: string) => { samples: unknown[] }): void {
  for (let i = 0; i < 20; i++) parse(text); // warm-up
  const runs = 100;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let samples = 0;
  for (let i = 0; i < runs; i++) samples = parse(text).samples.length;
  const wallMs = (performance.now() - start) / runs;
  const cpu = process.cpuUsage(cpu0);
  // CPU time is the steadier figure on a shared machine; it includes GC on helper threads.
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
  console.log(
    `${label.padEnd(22)} ${samples} samples  ${(text.length / 1024).toFixed(0)} KiB  wall ${wallMs.toFixed(2)} ms/page  cpu ${cpuMs.toFixed(2)} ms/page  ${(((samples / wallMs) * 1000) / 1e6).toFixed(2)} M samples/s (wall)`,
  );
}

measure('text 0.0.4, 10k lines', page(10_000, false), parsePrometheusText);
measure('OpenMetrics, 10k lines', page(10_000, true), parseOpenMetrics);
