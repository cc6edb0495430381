/**
 * Line-at-a-time parser for import files: OpenMetrics 1.0 text (timestamps in seconds, `# EOF` at the end)
 * and the Prometheus text format 0.0.4 (timestamps in integer milliseconds). No I/O: the caller feeds lines
 * (without their newline) and reads the outcome, in the style of Prometheus's `textparse` (`Next()`, then
 * `Series()`), so a file of many gigabytes is parsed without a per-line allocation for known series.
 *
 * Import differs from a scrape in a few deliberate ways, because import files are often concatenated
 * snapshots or exports: a family may appear more than once (its TYPE must then agree), comment lines other
 * than HELP/TYPE/UNIT are ignored in both formats, blanks between tokens may be repeated, and every sample
 * needs a timestamp. A sample whose series already had a sample at the very same time is reported as a
 * duplicate; an older timestamp is accepted (storage sorts).
 */
import { METRIC_NAME, isValidMetricName, labelsKey, type Labels } from '../model/labels.ts';
import {
  DEFAULT_INGEST_LIMITS,
  InvalidSampleError,
  validateLabelPairs,
  validateTimestamp,
  type IngestLimits,
} from '../ingest/validate.ts';
import type { MetricMetadata, MetricType } from '../store/interface.ts';
import { isMetricType } from '../model/metric-type.ts';
import {
  BACKSLASH,
  COMMA,
  EQUALS,
  HASH,
  LBRACE,
  QUOTE,
  RBRACE,
  TEXT_TYPES,
  isBlank,
  isIntegerToken,
  isNameChar,
  parseNumberToken,
  unescapeHelp,
} from '../ingest/scrape/tokens.ts';

export { parseNumberToken };

export type ImportFormat = 'openmetrics' | 'prometheus';

/** What the last line was. The matching fields of the parser hold its content until the next line. */
export type LineKind = 'sample' | 'metadata' | 'none' | 'error';

/** A series seen in the file. One object per distinct label set, shared by every sample of it. */
export interface ImportSeries {
  readonly labels: Labels;
  /** Canonical label key (see `labelsKey`). */
  readonly key: string;
  /** Timestamp (ms) and line of the latest sample taken for this series. */
  lastT: number;
  lastLine: number;
}

/** Family metadata as declared so far, with the line of its TYPE (0 when untyped). */
interface Family {
  type?: MetricType;
  help?: string;
  unit?: string;
  typeLine: number;
}

/** The parser state that must survive a resumed import: the families declared before the resume point. */
export interface ParserSnapshot {
  readonly families: readonly [
    string,
    { type?: MetricType; help?: string; unit?: string; typeLine: number },
  ][];
  /** Line of the OpenMetrics "# EOF", 0 when not seen yet. */
  readonly eofLine: number;
}

export interface ParserOptions {
  readonly format: ImportFormat;
  readonly limits?: IngestLimits;
  /** Current time (ms) for the future-timestamp check; update `now` on the parser during long imports. */
  readonly now?: number;
}

/** Families whose `_created` samples carry a creation time, not a value (skipped, as a scrape does). */
const HAS_CREATED: ReadonlySet<MetricType | undefined> = new Set<MetricType | undefined>([
  'counter',
  'histogram',
  'summary',
  'gaugehistogram',
]);

/** Thrown inside the parser and turned into an 'error' outcome; never escapes `line()`. */
class LineError extends Error {}

/** A timestamp token as milliseconds: seconds with a fraction (OpenMetrics) or integer milliseconds (text). */
export function parseTimestampToken(tok: string, format: ImportFormat): number | undefined {
  if (format === 'openmetrics') {
    const c = tok.charCodeAt(tok.charCodeAt(0) === 45 || tok.charCodeAt(0) === 43 ? 1 : 0);
    if (!(c >= 48 && c <= 57) && c !== 46) return undefined; // no NaN/Inf
    const s = parseNumberToken(tok);
    if (s === undefined || !Number.isFinite(s)) return undefined;
    const ms = Math.round(s * 1000);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  if (!isIntegerToken(tok)) return undefined;
  const ms = Number(tok);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Parses one import file, line by line. Not safe for concurrent use. After `line()` returns:
 * - 'sample': `series`, `t` (ms) and `v` hold the sample;
 * - 'metadata': `metric` and `meta` hold the family's metadata as declared so far (last write wins);
 * - 'error': `error` says what is wrong with the line (without file and line number);
 * - 'none': nothing to store (blank line, comment, `# EOF`, a `_created` sample).
 * `finish()` reports what is wrong with the end of the file (an OpenMetrics file without `# EOF`).
 */
export class ImportLineParser {
  readonly format: ImportFormat;
  readonly limits: IngestLimits;
  now: number;

  series!: ImportSeries;
  t = 0;
  v = 0;
  metric = '';
  meta: MetricMetadata = { type: 'unknown', help: '', unit: '' };
  error = '';

  private readonly families = new Map<string, Family>();
  /** Series by the raw text of their `name{labels}` part: repeated series skip label parsing. */
  private readonly byText = new Map<string, ImportSeries>();
  private readonly byKey = new Map<string, ImportSeries>();
  /** Line of "# EOF" (OpenMetrics), 0 before it. */
  private eofLine = 0;
  private s = '';
  private pos = 0;
  private lineNo = 0;

  constructor(opts: ParserOptions) {
    this.format = opts.format;
    this.limits = opts.limits ?? DEFAULT_INGEST_LIMITS;
    this.now = opts.now ?? Date.now();
  }

  /** Distinct series seen so far. */
  get seriesCount(): number {
    return this.byKey.size;
  }

  /** Parses one line (without its line terminator; a trailing CR is ignored). */
  line(text: string, lineNo: number): LineKind {
    this.s = text.length > 0 && text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    this.pos = 0;
    this.lineNo = lineNo;
    try {
      return this.parse();
    } catch (err) {
      if (!(err instanceof LineError) && !(err instanceof InvalidSampleError)) throw err;
      this.error = err.message;
      return 'error';
    }
  }

  /** The problem with how the file ended, if any. Call once after the last line. */
  finish(): string | undefined {
    if (this.format === 'openmetrics' && this.eofLine === 0)
      return 'the file ends without "# EOF": an OpenMetrics file must end with it; the file may be truncated';
    return undefined;
  }

  snapshot(): ParserSnapshot {
    return { families: [...this.families].map(([n, f]) => [n, { ...f }]), eofLine: this.eofLine };
  }

  restore(snap: ParserSnapshot): void {
    this.families.clear();
    for (const [n, f] of snap.families) this.families.set(n, { ...f });
    this.eofLine = snap.eofLine;
  }

  private fail(msg: string): never {
    throw new LineError(msg);
  }

  private here(): string {
    return this.pos >= this.s.length ? 'end of line' : JSON.stringify(this.s[this.pos]);
  }

  private skipBlanks(): number {
    const start = this.pos;
    while (this.pos < this.s.length && isBlank(this.s.charCodeAt(this.pos))) this.pos++;
    return this.pos - start;
  }

  private word(): string {
    const start = this.pos;
    while (this.pos < this.s.length && !isBlank(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private parse(): LineKind {
    const s = this.s;
    if (this.eofLine > 0) {
      if (s.length === 0) return 'none';
      this.fail(`content after "# EOF" (line ${this.eofLine}); "# EOF" must be the last line`);
    }
    this.skipBlanks();
    if (this.pos >= s.length) {
      if (this.format === 'openmetrics' && s.length === 0)
        this.fail('empty line (OpenMetrics does not allow empty lines)');
      return 'none';
    }
    if (s.charCodeAt(this.pos) === HASH) return this.comment();
    if (!isNameChar(s.charCodeAt(this.pos))) this.fail(`expected a metric name, found ${this.here()}`);
    return this.sample();
  }

  private comment(): LineKind {
    const s = this.s;
    if (this.format === 'openmetrics' && s === '# EOF') {
      this.eofLine = this.lineNo;
      return 'none';
    }
    this.pos++;
    if (this.skipBlanks() === 0) return 'none';
    const keyword = this.word();
    const om = this.format === 'openmetrics';
    if (keyword !== 'HELP' && keyword !== 'TYPE' && !(om && keyword === 'UNIT')) return 'none';
    if (this.skipBlanks() === 0) this.fail(`${keyword} line without a metric name`);
    const name = this.word();
    if (!isValidMetricName(name)) this.fail(`invalid metric name ${JSON.stringify(name)} in ${keyword} line`);
    this.skipBlanks();
    const rest = s.slice(this.pos);
    let fam = this.families.get(name);
    if (keyword === 'TYPE') {
      const typ = rest.trimEnd();
      const mapped = om ? (isMetricType(typ) ? typ : undefined) : TEXT_TYPES[typ.toLowerCase()];
      if (!mapped)
        this.fail(
          `unknown metric type ${JSON.stringify(typ)} (expected ${
            om
              ? 'counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown'
              : 'counter, gauge, histogram, summary or untyped'
          })`,
        );
      if (fam?.type !== undefined && fam.type !== mapped)
        this.fail(
          `TYPE ${mapped} for ${name} contradicts TYPE ${fam.type} on line ${fam.typeLine}; a family keeps one type`,
        );
      if (!fam) this.families.set(name, (fam = { typeLine: 0 }));
      fam.type = mapped;
      fam.typeLine = this.lineNo;
    } else if (keyword === 'HELP') {
      const help = unescapeHelp(rest, om);
      if (typeof help !== 'string')
        this.fail(`invalid escape sequence "\\${help.invalidEscape}" in HELP text (allowed: \\\\, \\", \\n)`);
      if (!fam) this.families.set(name, (fam = { typeLine: 0 }));
      fam.help = help;
    } else {
      const unit = rest.trimEnd();
      if (unit !== '' && !name.endsWith('_' + unit))
        this.fail(
          `metric family ${name} has unit ${JSON.stringify(unit)} but its name does not end in _${unit}`,
        );
      if (!fam) this.families.set(name, (fam = { typeLine: 0 }));
      fam.unit = unit;
    }
    this.metric = name;
    this.meta = { type: fam.type ?? 'unknown', help: fam.help ?? '', unit: fam.unit ?? '' };
    return 'metadata';
  }

  private sample(): LineKind {
    const s = this.s;
    const start = this.pos;
    while (this.pos < s.length && isNameChar(s.charCodeAt(this.pos))) this.pos++;
    const nameEnd = this.pos;
    let seriesEnd = nameEnd;
    // Text 0.0.4 allows blanks between the name and the brace.
    this.skipBlanks();
    if (s.charCodeAt(this.pos) === LBRACE) seriesEnd = this.closingBrace(this.pos) + 1;
    else this.pos = nameEnd;
    const raw = s.slice(start, seriesEnd);
    let series = this.byText.get(raw);
    if (!series) {
      series = this.newSeries(raw, nameEnd - start);
      this.byText.set(raw, series);
    }
    this.pos = seriesEnd;
    const name = series.labels[METRIC_NAME]!;

    if (this.skipBlanks() === 0) this.fail(`expected a space before the value, found ${this.here()}`);
    const valueTok = this.word();
    if (valueTok === '') this.fail(`missing value for ${name}`);
    const v = parseNumberToken(valueTok);
    if (v === undefined)
      this.fail(`invalid value ${JSON.stringify(valueTok)} (expected a number, NaN, +Inf or -Inf)`);
    this.skipBlanks();
    if (this.pos >= s.length || s.charCodeAt(this.pos) === HASH)
      this.fail(
        `sample of ${name} has no timestamp; every sample of an import file needs one (${
          this.format === 'openmetrics'
            ? 'seconds, e.g. 1700000000.5'
            : 'integer milliseconds, e.g. 1700000000500'
        })`,
      );
    const tsTok = this.word();
    const t = parseTimestampToken(tsTok, this.format);
    if (t === undefined)
      this.fail(
        `invalid timestamp ${JSON.stringify(tsTok)} (expected ${
          this.format === 'openmetrics'
            ? 'seconds, e.g. 1700000000.5'
            : 'integer milliseconds, e.g. 1700000000500'
        })`,
      );
    this.skipBlanks();
    if (this.pos < s.length) {
      // OpenMetrics exemplar " # {labels} value [timestamp]": checked for shape, not stored.
      if (this.format !== 'openmetrics' || s.charCodeAt(this.pos) !== HASH)
        this.fail(`unexpected text after the timestamp: ${JSON.stringify(s.slice(this.pos))}`);
      this.pos++;
      this.skipBlanks();
      if (s.charCodeAt(this.pos) !== LBRACE)
        this.fail(`invalid exemplar: expected "{" after "#", found ${this.here()}`);
      this.closingBrace(this.pos);
    }
    validateTimestamp(t, name, this.now, this.limits);

    if (
      this.format === 'openmetrics' &&
      name.endsWith('_created') &&
      HAS_CREATED.has(this.families.get(name.slice(0, -8))?.type)
    )
      return 'none';
    if (series.lastT === t)
      this.fail(
        `duplicate sample: ${raw} already has a sample at ${formatTime(t)} (line ${series.lastLine}); a series can have one value per timestamp`,
      );
    series.lastT = t;
    series.lastLine = this.lineNo;
    this.series = series;
    this.t = t;
    this.v = v;
    return 'sample';
  }

  /** Position of the `}` closing the braces opened at `open`, skipping quoted strings. */
  private closingBrace(open: number): number {
    const s = this.s;
    let i = open + 1;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === RBRACE) return i;
      if (c === QUOTE) {
        i++;
        while (i < s.length && s.charCodeAt(i) !== QUOTE) i += s.charCodeAt(i) === BACKSLASH ? 2 : 1;
        if (i >= s.length) {
          this.pos = s.length;
          this.fail("unterminated label value: missing closing '\"'");
        }
      }
      i++;
    }
    this.pos = s.length;
    this.fail('missing "}" at the end of the label set');
  }

  /** Parses `name{labels}` (the raw series text) into a validated, canonical series. */
  private newSeries(raw: string, nameLen: number): ImportSeries {
    const name = raw.slice(0, nameLen);
    if (name === '' || (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57))
      this.fail(`invalid metric name ${JSON.stringify(name)}`);
    const pairs: [string, string][] = [[METRIC_NAME, name]];
    const open = raw.indexOf('{', nameLen);
    if (open >= 0) this.labelPairs(raw, open + 1, pairs, name);
    const labels = validateLabelPairs(pairs, name, this.limits);
    const key = labelsKey(labels);
    const known = this.byKey.get(key);
    if (known) return known;
    const series: ImportSeries = { labels, key, lastT: NaN, lastLine: 0 };
    this.byKey.set(key, series);
    return series;
  }

  private labelPairs(raw: string, from: number, out: [string, string][], metric: string): void {
    let i = from;
    const blanks = () => {
      while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
    };
    for (;;) {
      blanks();
      if (raw.charCodeAt(i) === RBRACE) return;
      const ns = i;
      while (i < raw.length && isNameChar(raw.charCodeAt(i))) i++;
      const lname = raw.slice(ns, i);
      if (lname === '')
        this.fail(`expected a label name in ${metric}{...}, found ${JSON.stringify(raw[i] ?? '')}`);
      if (lname === METRIC_NAME)
        this.fail(`label name "__name__" may not be set in braces (series ${metric})`);
      blanks();
      if (raw.charCodeAt(i) !== EQUALS)
        this.fail(
          `expected "=" after label name ${JSON.stringify(lname)}, found ${JSON.stringify(raw[i] ?? '')}`,
        );
      i++;
      blanks();
      if (raw.charCodeAt(i) !== QUOTE)
        this.fail(
          `expected '"' to start the value of label ${JSON.stringify(lname)}, found ${JSON.stringify(raw[i] ?? '')}`,
        );
      i++;
      let value = '';
      let chunk = i;
      for (;;) {
        const c = raw.charCodeAt(i);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          value += raw.slice(chunk, i);
          const e = raw[i + 1];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else
            this.fail(
              `invalid escape sequence "\\${e ?? ''}" in the value of label ${JSON.stringify(lname)} (allowed: \\\\, \\", \\n)`,
            );
          i += 2;
          chunk = i;
          continue;
        }
        i++;
      }
      value += raw.slice(chunk, i);
      i++;
      out.push([lname, value]);
      blanks();
      const c = raw.charCodeAt(i);
      if (c === RBRACE) return;
      if (c !== COMMA)
        this.fail(
          `expected "," or "}" after label ${JSON.stringify(lname)}, found ${JSON.stringify(raw[i] ?? '')}`,
        );
      i++;
    }
  }
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Picks the format of a file from its last bytes: OpenMetrics ends with "# EOF" (and maybe a newline). */
export function detectFormat(tail: string): ImportFormat {
  return /(^|\n)# EOF\r?\n?$/.test(tail) ? 'openmetrics' : 'prometheus';
}
