/**
 * Parsers for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text. Pure: a string in, samples
 * and metadata out, no I/O. Hand-written scanners (no regex per line) so a 10k-line page parses in a few ms.
 */
import { METRIC_NAME, isValidMetricName } from '../../model/labels.ts';
import type { MetricMetadata, MetricType } from '../../store/interface.ts';
import { isMetricType } from '../../model/metric-type.ts';
import type { ExemplarDrop } from '../http.ts';
import { setLabel } from './labelobj.ts';
import {
  BACKSLASH,
  COMMA,
  EQUALS,
  HASH,
  LBRACE,
  QUOTE,
  RBRACE,
  SPACE,
  TEXT_TYPES,
  isBlank,
  isIntegerToken,
  isNameChar,
  parseNumberToken,
  unescapeHelp,
} from './tokens.ts';

export type ExpositionFormat = 'prometheus-text' | 'openmetrics';

export interface ParsedSample {
  /** All labels of the sample including `__name__`; values as written (may be empty). */
  readonly labels: Record<string, string>;
  readonly value: number;
  /** Explicit timestamp in ms when the exposition carried one. */
  readonly timestampMs?: number;
  /** The OpenMetrics exemplar after the sample, on `_total` and `_bucket` samples only. */
  readonly exemplar?: ParsedExemplar;
}

/** An OpenMetrics exemplar as written: labels unchecked (the scrape loop checks them), value, own time. */
export interface ParsedExemplar {
  readonly pairs: [string, string][];
  readonly value: number;
  /** The exemplar's own timestamp in ms, when it had one. */
  readonly timestampMs?: number;
}

export interface ParseResult {
  readonly samples: ParsedSample[];
  /** Metadata by metric family name (the name in TYPE/HELP/UNIT lines). */
  readonly metadata: Map<string, MetricMetadata>;
  /** Well-formed exemplars left out because OpenMetrics does not allow them on their sample; absent when none. */
  readonly exemplarDrops?: ExemplarDrop[];
}

/** A malformed exposition; `line` is 1-based. */
export class ExpositionParseError extends Error {
  override name = 'ExpositionParseError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/** The Accept header Prometheus sends: OpenMetrics preferred, text 0.0.4 next, anything else last. */
export const SCRAPE_ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Chooses the parser from a Content-Type header; anything that is not OpenMetrics is read as text 0.0.4. */
export function formatFromContentType(contentType: string | null | undefined): ExpositionFormat {
  if (!contentType) return 'prometheus-text';
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/openmetrics-text' ? 'openmetrics' : 'prometheus-text';
}

/** Parses an exposition in the given format. Throws ExpositionParseError. */
export function parseExposition(text: string, format: ExpositionFormat): ParseResult {
  return format === 'openmetrics' ? parseOpenMetrics(text) : parsePrometheusText(text);
}

// ---------------------------------------------------------------------------------------------------------------
// Shared scanning

/** For a token made only of name characters: a valid metric name unless empty or starting with a digit. */
function isMetricNameToken(t: string): boolean {
  const c = t.charCodeAt(0);
  return t.length > 0 && !(c >= 48 && c <= 57);
}

/** For a token made only of name characters: a valid label name unless empty, starting with a digit, or with ':'. */
function isLabelNameToken(t: string): boolean {
  return isMetricNameToken(t) && t.indexOf(':') < 0;
}

/** Scans one line; `pos` advances as tokens are consumed. Errors carry the line number. */
class LineScanner {
  pos = 0;
  s = '';
  lineNo = 0;

  /** Points the scanner at the next line; one scanner is reused for a whole page. */
  reset(s: string, lineNo: number): this {
    this.s = s;
    this.lineNo = lineNo;
    this.pos = 0;
    return this;
  }

  fail(detail: string): never {
    throw new ExpositionParseError(this.lineNo, detail);
  }

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.pos);
  }

  skipBlanks(): number {
    const start = this.pos;
    while (this.pos < this.s.length && isBlank(this.s.charCodeAt(this.pos))) this.pos++;
    return this.pos - start;
  }

  /** A token up to the next blank (or end of line). */
  word(): string {
    const start = this.pos;
    while (this.pos < this.s.length && !isBlank(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A run of metric-name characters. */
  name(): string {
    const start = this.pos;
    while (this.pos < this.s.length && isNameChar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A double-quoted label value with escapes `\\`, `\"`, `\n`; `pos` is at the opening quote. */
  quoted(what: string): string {
    if (this.peek() !== QUOTE) this.fail(`expected '"' to start ${what}, found ${this.describeHere()}`);
    this.pos++;
    const s = this.s;
    let start = this.pos;
    // Fast path: no escapes before the closing quote.
    const close = s.indexOf('"', start);
    if (close >= 0) {
      const bs = s.indexOf('\\', start);
      if (bs < 0 || bs > close) {
        this.pos = close + 1;
        return s.slice(start, close);
      }
    }
    let out = '';
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === QUOTE) {
        out += s.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c === BACKSLASH) {
        out += s.slice(start, this.pos);
        const n = s.charCodeAt(this.pos + 1);
        if (n === BACKSLASH) out += '\\';
        else if (n === QUOTE) out += '"';
        else if (n === 110 /* n */) out += '\n';
        else
          this.fail(
            `invalid escape sequence '\\${s[this.pos + 1] ?? ''}' in ${what} (allowed: \\\\, \\", \\n)`,
          );
        this.pos += 2;
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    this.fail(`unterminated ${what}: missing closing '"'`);
  }

  describeHere(): string {
    return this.done ? 'end of line' : JSON.stringify(this.s[this.pos]);
  }
}

/** A HELP docstring unescaped; an escape OpenMetrics does not allow fails the line. */
function helpText(raw: string, sc: LineScanner, openMetrics: boolean): string {
  const help = unescapeHelp(raw, openMetrics);
  if (typeof help === 'string') return help;
  sc.fail(`invalid escape sequence '\\${help.invalidEscape}' in HELP text (allowed: \\\\, \\", \\n)`);
}

/**
 * Reads `name{labels}` starting at the scanner's position and returns the label object (a trailing comma in the
 * braces is accepted). The caller has checked that the line starts with a name character. Text 0.0.4 allows
 * blanks between the name and the brace; OpenMetrics does not.
 */
function readSeries(sc: LineScanner, blankBeforeBrace: boolean): Record<string, string> {
  const start = sc.pos;
  const name = sc.name();
  if (!isMetricNameToken(name))
    sc.fail(`invalid metric name ${JSON.stringify(sc.s.slice(start, sc.pos) || sc.word())}`);
  const labels: Record<string, string> = { [METRIC_NAME]: name };
  if (blankBeforeBrace) {
    const afterName = sc.pos;
    sc.skipBlanks();
    if (sc.peek() !== LBRACE) sc.pos = afterName;
  }
  if (sc.peek() !== LBRACE) return labels;
  sc.pos++;
  sc.skipBlanks();
  if (sc.peek() === RBRACE) {
    sc.pos++;
    return labels;
  }
  for (;;) {
    sc.skipBlanks();
    if (sc.peek() === RBRACE) {
      sc.pos++;
      return labels;
    }
    const start = sc.pos;
    const labelName = sc.name();
    if (labelName === '') sc.fail(`expected a label name, found ${sc.describeHere()}`);
    if (!isLabelNameToken(labelName))
      sc.fail(`invalid label name ${JSON.stringify(sc.s.slice(start, sc.pos))}`);
    if (labelName === METRIC_NAME) sc.fail(`label name "__name__" is reserved and may not be set in braces`);
    sc.skipBlanks();
    if (sc.peek() !== EQUALS)
      sc.fail(`expected '=' after label name ${JSON.stringify(labelName)}, found ${sc.describeHere()}`);
    sc.pos++;
    sc.skipBlanks();
    const value = sc.quoted(`value of label ${JSON.stringify(labelName)}`);
    if (Object.hasOwn(labels, labelName))
      sc.fail(`duplicate label name ${JSON.stringify(labelName)} in series ${name}`);
    setLabel(labels, labelName, value);
    sc.skipBlanks();
    const c = sc.peek();
    sc.pos++;
    if (c === RBRACE) return labels;
    if (c !== COMMA) {
      sc.pos--;
      sc.fail(`expected ',' or '}' after label ${JSON.stringify(labelName)}, found ${sc.describeHere()}`);
    }
  }
}

function splitLines(text: string): string[] {
  return text.split('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Prometheus text format 0.0.4

interface TextFamily {
  type?: MetricType;
  help?: string;
}

/** Parses the Prometheus text exposition format 0.0.4. Throws ExpositionParseError. */
export function parsePrometheusText(text: string): ParseResult {
  const samples: ParsedSample[] = [];
  const families = new Map<string, TextFamily>();
  const sampleNames = new Set<string>();
  let lastName = '';
  const lines = splitLines(text);
  const scanner = new LineScanner();
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    const sc: LineScanner = scanner.reset(line, i + 1);
    sc.skipBlanks();
    if (sc.done) continue;
    if (sc.peek() === HASH) {
      sc.pos++;
      if (sc.skipBlanks() === 0) continue; // "#foo" is a comment
      const keyword = sc.word();
      if (keyword !== 'HELP' && keyword !== 'TYPE') continue;
      if (sc.skipBlanks() === 0) sc.fail(`${keyword} line without a metric name`);
      const name = sc.word();
      if (!isValidMetricName(name)) sc.fail(`invalid metric name ${JSON.stringify(name)} in ${keyword} line`);
      let fam = families.get(name);
      if (!fam) families.set(name, (fam = {}));
      if (keyword === 'HELP') {
        if (fam.help !== undefined) sc.fail(`second HELP line for metric ${name}`);
        sc.skipBlanks();
        const rest = line.slice(sc.pos);
        fam.help = helpText(rest, sc, false);
      } else {
        if (fam.type !== undefined) sc.fail(`second TYPE line for metric ${name}`);
        sc.skipBlanks();
        const typ = sc.word();
        sc.skipBlanks();
        if (!sc.done)
          sc.fail(`unexpected text after the type in TYPE line: ${JSON.stringify(line.slice(sc.pos))}`);
        const mapped = TEXT_TYPES[typ.toLowerCase()];
        if (!mapped)
          sc.fail(
            `unknown metric type ${JSON.stringify(typ)} (expected counter, gauge, histogram, summary or untyped)`,
          );
        if (typeSampleSeen(name, mapped, sampleNames))
          sc.fail(`TYPE line for ${name} comes after samples of that metric; it must come first`);
        fam.type = mapped;
      }
      continue;
    }
    if (!isNameChar(sc.peek())) sc.fail(`expected a metric name, found ${sc.describeHere()}`);
    const labels = readSeries(sc, true);
    const name = labels[METRIC_NAME]!;
    if (name !== lastName) {
      sampleNames.add(name);
      lastName = name;
    }
    if (sc.skipBlanks() === 0) sc.fail(`expected a space before the value, found ${sc.describeHere()}`);
    if (sc.done) sc.fail(`missing value for ${labels[METRIC_NAME]}`);
    const valueTok = sc.word();
    const value = parseNumberToken(valueTok);
    if (value === undefined) sc.fail(`invalid value ${JSON.stringify(valueTok)}`);
    sc.skipBlanks();
    if (sc.done) {
      samples.push({ labels, value });
      continue;
    }
    const tsTok = sc.word();
    if (!isIntegerToken(tsTok))
      sc.fail(`invalid timestamp ${JSON.stringify(tsTok)} (expected integer milliseconds)`);
    const ts = Number(tsTok);
    if (!Number.isSafeInteger(ts)) sc.fail(`timestamp ${tsTok} is out of range`);
    sc.skipBlanks();
    if (!sc.done) sc.fail(`unexpected text after the timestamp: ${JSON.stringify(line.slice(sc.pos))}`);
    samples.push({ labels, value, timestampMs: ts });
  }
  const metadata = new Map<string, MetricMetadata>();
  for (const [name, f] of families)
    metadata.set(name, { type: f.type ?? 'unknown', help: f.help ?? '', unit: '' });
  return { samples, metadata };
}

/** True if a sample belonging to family `name` of type `type` was already seen. */
function typeSampleSeen(name: string, type: MetricType, seen: Set<string>): boolean {
  if (seen.has(name)) return true;
  if (type === 'histogram')
    return seen.has(name + '_bucket') || seen.has(name + '_sum') || seen.has(name + '_count');
  if (type === 'summary') return seen.has(name + '_sum') || seen.has(name + '_count');
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// OpenMetrics 1.0 text

/** Sample-name suffixes each OpenMetrics type allows after the family name ('' = the family name itself). */
const OM_SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  summary: ['', '_count', '_sum', '_created'],
  info: ['_info'],
  stateset: [''],
  unknown: [''],
};
const ALL_SUFFIXES = ['_total', '_created', '_bucket', '_count', '_sum', '_gcount', '_gsum', '_info'];

interface OMFamily {
  readonly name: string;
  type?: MetricType;
  help?: string;
  unit?: string;
  hasSamples: boolean;
}

function familyAdmits(f: OMFamily, sampleName: string): boolean {
  if (!sampleName.startsWith(f.name)) return false;
  const suffix = sampleName.slice(f.name.length);
  return OM_SUFFIXES[f.type ?? 'unknown'].includes(suffix);
}

/** Parses OpenMetrics 1.0 text (`# EOF` required). `_created` samples are skipped. Throws ExpositionParseError. */
export function parseOpenMetrics(text: string): ParseResult {
  const samples: ParsedSample[] = [];
  const families = new Map<string, OMFamily>();
  let current: OMFamily | undefined;
  if (text === '')
    throw new ExpositionParseError(1, 'missing "# EOF" at the end of the OpenMetrics exposition');
  const lines = splitLines(text);
  // A trailing newline after "# EOF" leaves one empty string at the end.
  let last = lines.length;
  if (last > 1 && lines[last - 1] === '') last--;
  let sawEof = false;
  let exemplarDrops: ExemplarDrop[] | undefined;
  const scanner = new LineScanner();

  const startFamily = (name: string, sc: LineScanner): OMFamily => {
    const existing = families.get(name);
    if (existing && existing !== current)
      sc.fail(
        `metric family ${name} appears again after other families; a family's lines must be contiguous`,
      );
    if (existing) return existing;
    const f: OMFamily = { name, hasSamples: false };
    families.set(name, f);
    current = f;
    return f;
  };

  /** The family a sample belongs to, creating an untyped one when no declared family admits it. */
  const familyOf = (name: string, sc: LineScanner): OMFamily => {
    if (current && familyAdmits(current, name)) return current;
    const candidates = [name];
    for (const suf of ALL_SUFFIXES) if (name.endsWith(suf)) candidates.push(name.slice(0, -suf.length));
    for (const c of candidates) {
      const f = families.get(c);
      if (!f || !f.type) continue;
      if (f === current && c === name)
        sc.fail(
          `sample ${name} does not fit ${f.type} family ${f.name} (expected ${OM_SUFFIXES[f.type]
            .map((s) => f.name + s)
            .join(', ')})`,
        );
      if (f !== current && familyAdmits(f, name))
        sc.fail(
          `sample ${name} belongs to metric family ${f.name}, which appeared earlier; a family's lines must be contiguous`,
        );
    }
    return startFamily(name, sc);
  };

  for (let i = 0; i < last; i++) {
    const line = lines[i]!;
    const sc: LineScanner = scanner.reset(line, i + 1);
    if (sawEof) sc.fail('content after "# EOF"');
    if (line.length === 0) sc.fail('empty line (not allowed in OpenMetrics)');
    if (line.charCodeAt(0) === HASH) {
      if (line === '# EOF') {
        sawEof = true;
        continue;
      }
      if (line.charCodeAt(1) !== SPACE)
        sc.fail(`invalid comment line (OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF)`);
      sc.pos = 2;
      const keyword = sc.word();
      if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT')
        sc.fail(`invalid comment line (OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF)`);
      if (sc.peek() !== SPACE) sc.fail(`${keyword} line without a metric name`);
      sc.pos++;
      const name = sc.word();
      if (!isValidMetricName(name)) sc.fail(`invalid metric name ${JSON.stringify(name)} in ${keyword} line`);
      const fam = startFamily(name, sc);
      if (fam.hasSamples)
        sc.fail(`${keyword} line for ${name} comes after its samples; metadata must come first`);
      const rest =
        sc.peek() === SPACE
          ? line.slice(sc.pos + 1)
          : sc.done
            ? ''
            : sc.fail(`expected a space after ${name}`);
      if (keyword === 'TYPE') {
        if (fam.type !== undefined) sc.fail(`second TYPE line for metric family ${name}`);
        if (!isMetricType(rest))
          sc.fail(
            `unknown metric type ${JSON.stringify(rest)} (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)`,
          );
        fam.type = rest;
      } else if (keyword === 'HELP') {
        if (fam.help !== undefined) sc.fail(`second HELP line for metric family ${name}`);
        fam.help = helpText(rest, sc, true);
      } else {
        if (fam.unit !== undefined) sc.fail(`second UNIT line for metric family ${name}`);
        if (rest !== '' && !name.endsWith('_' + rest))
          sc.fail(
            `metric family ${name} has unit ${JSON.stringify(rest)} but its name does not end in _${rest}`,
          );
        fam.unit = rest;
      }
      continue;
    }
    if (!isNameChar(sc.peek())) sc.fail(`expected a metric name, found ${sc.describeHere()}`);
    const labels = readSeries(sc, false);
    const name = labels[METRIC_NAME]!;
    const fam = familyOf(name, sc);
    fam.hasSamples = true;
    if (sc.peek() !== SPACE) sc.fail(`expected a space before the value, found ${sc.describeHere()}`);
    sc.pos++;
    const valueTok = sc.word();
    if (valueTok === '') sc.fail(`missing value for ${name}`);
    const value = parseNumberToken(valueTok);
    if (value === undefined) sc.fail(`invalid value ${JSON.stringify(valueTok)}`);
    let timestampMs: number | undefined;
    let exemplar: ParsedExemplar | undefined;
    if (!sc.done) {
      if (sc.peek() !== SPACE) sc.fail(`expected a single space after the value, found ${sc.describeHere()}`);
      sc.pos++;
      if (sc.peek() !== HASH) {
        const tsTok = sc.word();
        const secs = parseNumberToken(tsTok);
        if (secs === undefined || !Number.isFinite(secs))
          sc.fail(
            `invalid timestamp ${JSON.stringify(tsTok)} (expected seconds, for example 1700000000.123)`,
          );
        timestampMs = Math.round(secs * 1000);
        if (!sc.done) {
          if (sc.peek() !== SPACE) sc.fail(`unexpected text after the timestamp`);
          sc.pos++;
        }
      }
      if (!sc.done) {
        // Exemplar: " # {labels} value [timestamp]".
        if (
          sc.peek() !== HASH ||
          line.charCodeAt(sc.pos + 1) !== SPACE ||
          line.charCodeAt(sc.pos + 2) !== LBRACE
        )
          sc.fail(`unexpected text after the sample: ${JSON.stringify(line.slice(sc.pos))}`);
        sc.pos += 2;
        exemplar = readExemplar(sc);
      }
    }
    if (exemplar && !(name.endsWith('_total') || name.endsWith('_bucket'))) {
      (exemplarDrops ??= []).push({
        message: `line ${i + 1}: exemplar on ${name} left out: OpenMetrics allows exemplars on counter _total and histogram _bucket samples only`,
        reason: 'not_allowed',
      });
      exemplar = undefined;
    }
    const suffixIsCreated =
      fam.type !== undefined && fam.type !== 'unknown' && name === fam.name + '_created';
    if (suffixIsCreated) continue;
    const sample: ParsedSample =
      timestampMs === undefined ? { labels, value } : { labels, value, timestampMs };
    samples.push(exemplar ? { ...sample, exemplar } : sample);
  }
  if (!sawEof)
    throw new ExpositionParseError(
      Math.max(last, 1),
      'missing "# EOF" at the end of the OpenMetrics exposition',
    );
  const metadata = new Map<string, MetricMetadata>();
  for (const f of families.values()) {
    if (f.type === undefined && f.help === undefined && f.unit === undefined) continue;
    metadata.set(f.name, { type: f.type ?? 'unknown', help: f.help ?? '', unit: f.unit ?? '' });
  }
  return exemplarDrops ? { samples, metadata, exemplarDrops } : { samples, metadata };
}

/**
 * Reads `{labels} value [timestamp]` of an OpenMetrics exemplar, the scanner at `{`, up to the end of the
 * line. Malformed text fails the line, as any other syntax error in the exposition does.
 */
function readExemplar(sc: LineScanner): ParsedExemplar {
  sc.pos++; // '{'
  const pairs: [string, string][] = [];
  for (;;) {
    if (sc.peek() === RBRACE) {
      sc.pos++;
      break;
    }
    const start = sc.pos;
    const labelName = sc.name();
    if (labelName === '') sc.fail(`expected an exemplar label name or '}', found ${sc.describeHere()}`);
    if (!isLabelNameToken(labelName))
      sc.fail(`invalid exemplar label name ${JSON.stringify(sc.s.slice(start, sc.pos))}`);
    if (sc.peek() !== EQUALS)
      sc.fail(
        `expected '=' after exemplar label name ${JSON.stringify(labelName)}, found ${sc.describeHere()}`,
      );
    sc.pos++;
    pairs.push([labelName, sc.quoted(`value of exemplar label ${JSON.stringify(labelName)}`)]);
    const c = sc.peek();
    if (c === COMMA) sc.pos++;
    else if (c !== RBRACE)
      sc.fail(
        `expected ',' or '}' after exemplar label ${JSON.stringify(labelName)}, found ${sc.describeHere()}`,
      );
  }
  if (sc.peek() !== SPACE) sc.fail(`expected a space before the exemplar value, found ${sc.describeHere()}`);
  sc.pos++;
  const valueTok = sc.word();
  const value = parseNumberToken(valueTok);
  if (valueTok === '' || value === undefined) sc.fail(`invalid exemplar value ${JSON.stringify(valueTok)}`);
  if (sc.done) return { pairs, value };
  if (sc.peek() !== SPACE) sc.fail(`unexpected text after the exemplar value`);
  sc.pos++;
  const tsTok = sc.word();
  const secs = parseNumberToken(tsTok);
  if (secs === undefined || !Number.isFinite(secs))
    sc.fail(
      `invalid exemplar timestamp ${JSON.stringify(tsTok)} (expected seconds, for example 1700000000.123)`,
    );
  if (!sc.done)
    sc.fail(`unexpected text after the exemplar timestamp: ${JSON.stringify(sc.s.slice(sc.pos))}`);
  return { pairs, value, timestampMs: Math.round(secs * 1000) };
}
