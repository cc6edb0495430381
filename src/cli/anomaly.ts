/**
 * `vigil anomaly score FILE.csv`: scores `timestamp,value` rows with the streaming detector and writes
 * `timestamp,value,score` rows, one per input row, each score from that row and the rows before it.
 * Exit codes: 0 done, 1 stopped at a bad row (with --on-error stop) or failed to read, 2 usage error.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { AnomalyDetector, type Seasonality } from '../anomaly/detector.ts';
import { parseLine } from '../anomaly/csv.ts';

export const ANOMALY_USAGE = `Usage:
  vigil anomaly score [options] FILE.csv|-

Scores each row of a timestamp,value CSV (an optional header line is allowed) for how anomalous it is,
from that row and the rows before it only, and writes timestamp,value,score rows (score in [0, 1]; 0 while
the detector warms up: one day of data with seasonality, 12 rows without). "-" reads standard input.
Timestamps are RFC 3339 or Unix seconds or milliseconds (detected per row). See docs/anomaly.md.

Options:
  --counter               the values are a counter: score its per-second rate; a drop is a reset
  --season LIST           daily,weekly (default), daily, weekly or none
  --on-error skip|stop    at a bad row: report it with its line number and skip it, or stop (default) after
                          writing the rows before it (exit 1)
  --bounds                also write expected,lower,upper (the band where the score stays below 0.5)
  -h, --help              this text
`;

class AnomalyUsageError extends Error {}

function parseSeasons(s: string): Seasonality[] {
  if (s === 'none') return [];
  const out: Seasonality[] = [];
  for (const part of s.split(',')) {
    const p = part.trim();
    if (p !== 'daily' && p !== 'weekly')
      throw new AnomalyUsageError(`--season: ${JSON.stringify(p)} is not daily, weekly or none`);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  return String(Number(n.toPrecision(6)));
}

async function score(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      counter: { type: 'boolean', default: false },
      season: { type: 'string', default: 'daily,weekly' },
      'on-error': { type: 'string', default: 'stop' },
      bounds: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(ANOMALY_USAGE);
    return 0;
  }
  if (positionals.length !== 1)
    throw new AnomalyUsageError('anomaly score needs exactly one FILE (or - for stdin)');
  const onError = values['on-error'];
  if (onError !== 'skip' && onError !== 'stop')
    throw new AnomalyUsageError(`--on-error must be skip or stop, got ${JSON.stringify(onError)}`);
  const seasons = parseSeasons(values.season);
  const file = positionals[0]!;
  const name = file === '-' ? 'stdin' : file;

  const input = file === '-' ? process.stdin : createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    if (file === '-') return resolve();
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    process.stderr.write(`vigil anomaly: cannot read ${name}: ${(err as Error).message}\n`);
    return 1;
  }

  const detector = new AnomalyDetector({ seasons, counter: values.counter });
  const out: string[] = [];
  const flush = async () => {
    if (!out.length) return;
    const chunk = out.join('');
    out.length = 0;
    if (!process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
  };
  let lineNo = 0;
  let first = true;
  let lastT = -Infinity;
  let bad = 0;
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      const res = parseLine(line, first);
      if (res.kind === 'blank') continue;
      const wasFirst = first;
      first = false;
      if (res.kind === 'header') {
        out.push(values.bounds ? 'timestamp,value,score,expected,lower,upper\n' : 'timestamp,value,score\n');
        continue;
      }
      let problem = res.kind === 'error' ? res.message : undefined;
      if (res.kind === 'row' && res.row.t < lastT)
        problem = `timestamp ${res.row.rawTimestamp} is earlier than the row before it; rows must be in time order`;
      if (problem !== undefined || res.kind !== 'row') {
        bad++;
        process.stderr.write(`vigil anomaly: ${name}:${lineNo}: ${problem}\n`);
        if (onError === 'stop') {
          await flush();
          process.stderr.write(
            `vigil anomaly: stopped at line ${lineNo}; ${wasFirst ? 'no rows' : 'the rows before it'} were scored (use --on-error skip to skip bad rows)\n`,
          );
          return 1;
        }
        continue;
      }
      const row = res.row;
      lastT = row.t;
      const p = detector.push(row.t, row.value);
      let s = `${row.rawTimestamp},${row.rawValue},${fmt(p.score)}`;
      if (values.bounds) s += `,${fmt(p.expected)},${fmt(p.lower)},${fmt(p.upper)}`;
      out.push(s + '\n');
      if (out.length >= 1024) await flush();
    }
  } catch (err) {
    await flush();
    process.stderr.write(`vigil anomaly: reading ${name} at line ${lineNo}: ${(err as Error).message}\n`);
    return 1;
  }
  await flush();
  if (bad) process.stderr.write(`vigil anomaly: ${bad} bad row(s) skipped\n`);
  return 0;
}

/** Entry point from main.ts: `vigil anomaly <subcommand> ...`. */
export async function anomalyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'score') return await score(rest);
    if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
      process.stdout.write(ANOMALY_USAGE);
      return sub === undefined ? 2 : 0;
    }
    throw new AnomalyUsageError(`unknown anomaly subcommand ${JSON.stringify(sub)}`);
  } catch (err) {
    if (err instanceof AnomalyUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`vigil anomaly: ${(err as Error).message}\n\n${ANOMALY_USAGE}`);
      return 2;
    }
    throw err;
  }
}
