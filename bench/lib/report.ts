/**
 * Plain-text and Markdown tables, the machine description, and replacing one section of a Markdown
 * file while keeping the others.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export type Cell = string | number;

/** A fixed-width text table; numeric-looking cells are right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d.,]+(?:\s?[a-zA-Z%×x/]*)?$/.test(s) || s === '–';
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric(c) && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** A Markdown table padded the way Prettier formats one, so that `prettier --check` passes on the output. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  rightAlignFrom = 1,
): string {
  const all = [header, ...rows].map((r) => r.map((c) => String(c).replace(/\|/g, '\\|')));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? '').length)));
  const right = (i: number) => i >= rightAlignFrom;
  const line = (r: readonly string[]) =>
    `| ${r.map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (right(i) ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`;
  return [line(all[0]!), sep, ...all.slice(1).map(line)].join('\n');
}

/** 1234567 → "1,234,567"; fractional numbers keep `digits` decimals. */
export function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

export interface Machine {
  readonly cores: number;
  readonly memory: string;
  readonly cpu: string;
  readonly node: string;
  readonly os: string;
}

export function describeMachine(): Machine {
  let cores = os.availableParallelism();
  try {
    cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || cores;
  } catch {
    // Keep Node's figure.
  }
  return {
    cores,
    memory: bytes(os.totalmem()),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

/**
 * Writes `section` (which starts with its own `## ` heading) into a Markdown file: replaces the
 * section with that heading up to the next `## ` heading, or appends it; creates the file if needed.
 */
export function writeSection(file: string, heading: string, section: string, title = '# Benchmarks'): void {
  const body = section.trimEnd() + '\n';
  if (!existsSync(file)) {
    writeFileSync(file, `${title}\n\n${body}`);
    return;
  }
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) {
    const text = lines.join('\n').trimEnd();
    writeFileSync(file, `${text}\n\n${body}`);
    return;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n').trimEnd();
  const after = lines.slice(end).join('\n').trimEnd();
  writeFileSync(file, `${before ? before + '\n\n' : ''}${body}${after ? '\n' + after + '\n' : ''}`);
}

/** Wraps a Markdown paragraph at `width` columns without breaking inside `code spans`. */
export function wrap(text: string, width = 110): string {
  const words = text.match(/(?:`[^`]*`|[^\s`])+/g) ?? [];
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
