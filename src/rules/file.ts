/**
 * Rule files in Prometheus's format, parsed without I/O: bytes and a file name in, rule groups or a list of
 * problems out. Every problem carries the file position of the offending node and names the group and rule,
 * `rules.yml:7:15: group "api", rule 2 ("job:errors:rate5m"): could not parse expression: ...`.
 *
 *   groups:
 *     - name: api                # unique within the file
 *       interval: 30s            # optional, default: global.evaluation_interval
 *       limit: 0                 # optional, most series (or alerts) one rule may produce; 0 = no limit
 *       query_offset: 0s         # optional, evaluate this far in the past
 *       labels: {team: x}        # optional, added to every rule's labels (rule labels win)
 *       rules:
 *         - record: job:http_requests:rate5m
 *           expr: sum by (job) (rate(http_requests_total[5m]))
 *           labels: {}
 *         - alert: HighErrorRate
 *           expr: job:errors:ratio5m > 0.05
 *           for: 10m
 *           keep_firing_for: 5m
 *           labels: {severity: page}
 *           annotations: {summary: 'Errors on {{ $labels.job }}: {{ $value }}'}
 *         - anomaly: traffic         # Vigil extension (src/anomaly/rule.ts); promtool rejects it
 *           expr: sum by (job) (rate(http_requests_total[5m]))
 *           season: daily,weekly     # or daily, weekly, none
 *           warmup: 14d              # optional; also forget_after, level_tau, shift_tau
 *         - forecast: disk_full      # Vigil extension (src/anomaly/forecast-rule.ts)
 *           expr: node_filesystem_size_bytes - node_filesystem_avail_bytes
 *           capacity: node_filesystem_size_bytes   # number or PromQL; absent: expr is a free amount
 *           horizon: 1d
 *           lookback: 7d
 */
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Node as YamlNode,
  type Pair,
  Scalar,
  type YAMLMap,
} from 'yaml';
import { DurationError, parseDuration } from '../model/duration.ts';
import { METRIC_NAME, isValidLabelName, isValidMetricName } from '../model/labels.ts';
import { ParseError, parse, type Expr } from '../query/promql/index.ts';
import { TemplateError, parseTemplate, type Template } from './template.ts';

/** A recording rule: evaluates `expr` and stores the result under the metric name `record`. */
export interface RecordingRuleDef {
  readonly kind: 'recording';
  readonly name: string;
  readonly expr: string;
  readonly query: Expr;
  readonly labels: Readonly<Record<string, string>>;
  readonly line: number;
}

/** An alerting rule; label values and annotations are templates expanded per alert. */
export interface AlertingRuleDef {
  readonly kind: 'alerting';
  readonly name: string;
  readonly expr: string;
  readonly query: Expr;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Parsed templates of `labels` and `annotations`, by name. */
  readonly labelTemplates: ReadonlyMap<string, Template>;
  readonly annotationTemplates: ReadonlyMap<string, Template>;
  readonly line: number;
}

/** Seasonal profiles an anomaly rule learns (`season: daily,weekly`, `daily`, `weekly` or `none`). */
export type SeasonName = 'daily' | 'weekly';

/**
 * A Vigil anomaly rule (`anomaly: NAME`): scores each series of `expr` with a streaming detector and stores
 * `anomaly:score`, `anomaly:expected`, `anomaly:lower` and `anomaly:upper` with `anomaly="NAME"`.
 */
export interface AnomalyRuleDef {
  readonly kind: 'anomaly';
  readonly name: string;
  readonly expr: string;
  readonly query: Expr;
  readonly seasons: readonly SeasonName[];
  readonly labels: Readonly<Record<string, string>>;
  /** History read at the first evaluation to train the detectors; undefined = the default for the seasons. */
  readonly warmupMs: number | undefined;
  /** A series' detector is dropped after the series has been absent this long. */
  readonly forgetAfterMs: number;
  /** Detector time constants set in the file (ms), undefined = the detector's default. */
  readonly levelTauMs: number | undefined;
  readonly shiftTauMs: number | undefined;
  readonly line: number;
}

/**
 * A Vigil forecast rule (`forecast: NAME`): fits trend (and daily seasonality) to `expr` over `lookback` and
 * stores `forecast:seconds_to_exhaustion` and `forecast:exhaustion_timestamp_seconds` for series predicted
 * to reach `capacity` (or 0 when there is no capacity: `expr` is a free amount) within `horizon`.
 */
export interface ForecastRuleDef {
  readonly kind: 'forecast';
  readonly name: string;
  readonly expr: string;
  readonly query: Expr;
  /** A number, a PromQL expression matched to `expr` by labels, or undefined (free amount reaching 0). */
  readonly capacity: number | { readonly expr: string; readonly query: Expr } | undefined;
  readonly horizonMs: number;
  readonly lookbackMs: number;
  /** 'daily' fits a time-of-day profile when the lookback holds two days or more. */
  readonly season: 'daily' | 'none';
  readonly labels: Readonly<Record<string, string>>;
  readonly line: number;
}

export type RuleDef = RecordingRuleDef | AlertingRuleDef | AnomalyRuleDef | ForecastRuleDef;

/** One group as written in a file. Undefined durations mean "use the global default". */
export interface RuleGroupDef {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number | undefined;
  readonly queryOffsetMs: number | undefined;
  readonly limit: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly rules: readonly RuleDef[];
  readonly line: number;
}

/** One thing wrong with a rule file, with 1-based line and column (0 when the whole file is meant). */
export interface RuleProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly group?: string;
  /** 1-based index of the rule within its group. */
  readonly rule?: number;
  readonly ruleName?: string;
  readonly message: string;
}

export type RuleFileResult =
  | { readonly ok: true; readonly groups: RuleGroupDef[] }
  | { readonly ok: false; readonly problems: RuleProblem[] };

/** `file:line:col: group "g", rule N ("name"): message`, leaving out the parts that do not apply. */
export function formatRuleProblem(p: RuleProblem): string {
  let where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  if (p.group !== undefined) where += `: group ${JSON.stringify(p.group)}`;
  if (p.rule !== undefined) {
    where += `, rule ${p.rule}`;
    if (p.ruleName) where += ` (${JSON.stringify(p.ruleName)})`;
  }
  return `${where}: ${p.message}`;
}

const GROUP_KEYS = ['name', 'interval', 'limit', 'query_offset', 'labels', 'rules'];
const PROMETHEUS_RULE_KEYS = ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'];
/** Fields of Vigil's rule kinds besides their name field, `expr` and `labels`. */
const KIND_FIELDS: Record<string, readonly string[]> = {
  anomaly: ['season', 'warmup', 'forget_after', 'level_tau', 'shift_tau'],
  forecast: ['season', 'capacity', 'horizon', 'lookback'],
};
/** Defaults of forecast rules. */
export const DEFAULT_FORECAST_HORIZON_MS = 86_400_000;
export const DEFAULT_FORECAST_LOOKBACK_MS = 7 * 86_400_000;
/** Default time after which an absent series' anomaly detector is dropped. */
export const DEFAULT_ANOMALY_FORGET_AFTER_MS = 86_400_000;

interface Where {
  group?: string;
  rule?: number;
  ruleName?: string;
}

/** Collects problems with their file positions. */
class Checker {
  readonly problems: RuleProblem[] = [];
  constructor(
    readonly file: string,
    readonly text: string,
    readonly lines: LineCounter,
  ) {}

  /** Reports a problem at the start of `node` (or at the file when there is no node). */
  at(node: YamlNode | null | undefined, w: Where, message: string): void {
    this.atOffset(node?.range ? node.range[0] : undefined, w, message);
  }

  atOffset(offset: number | undefined, w: Where, message: string): void {
    const pos = offset === undefined ? { line: 0, col: 0 } : this.lines.linePos(offset);
    this.problems.push({ file: this.file, line: pos.line, column: pos.col, ...w, message });
  }

  line(node: YamlNode | null | undefined): number {
    return node?.range ? this.lines.linePos(node.range[0]).line : 0;
  }
}

/** Parses and validates a rule file. Never throws for bad input: every problem is returned. */
export function parseRuleFile(content: Uint8Array | string, file: string): RuleFileResult {
  let text: string;
  if (typeof content === 'string') text = content;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      return { ok: false, problems: [{ file, line: 0, column: 0, message: 'the file is not valid UTF-8' }] };
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const c = new Checker(file, text, lines);
  if (doc.errors.length) {
    for (const e of doc.errors) c.atOffset(e.pos[0], {}, `YAML syntax error: ${e.message.split('\n')[0]}`);
    return { ok: false, problems: c.problems };
  }
  const groups = parseGroups(doc.contents as YamlNode | null, c);
  if (!c.problems.length) return { ok: true, groups };
  const problems = [...c.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, problems };
}

function parseGroups(root: YamlNode | null, c: Checker): RuleGroupDef[] {
  const groups: RuleGroupDef[] = [];
  if (root === null || isNull(root)) return groups;
  if (!isMap(root)) {
    c.at(root, {}, 'a rule file must be a mapping with a "groups" list');
    return groups;
  }
  const groupsNode = fields(root, ['groups'], {}, c).get('groups');
  if (groupsNode === undefined || isNull(groupsNode)) return groups;
  if (!isSeq(groupsNode)) {
    c.at(groupsNode, {}, '"groups" must be a list of rule groups');
    return groups;
  }
  const seen = new Map<string, number>();
  for (const gNode of groupsNode.items as YamlNode[]) {
    if (!isMap(gNode)) {
      c.at(gNode, {}, 'a rule group must be a mapping with "name" and "rules"');
      continue;
    }
    const nameNode = gNode.get('name', true) as YamlNode | undefined;
    const name = nameNode && isScalar(nameNode) && typeof nameNode.value === 'string' ? nameNode.value : '';
    const gw: Where = { group: name };
    const f = fields(gNode, GROUP_KEYS, gw, c);
    if (!nameNode || isNull(nameNode)) c.at(gNode, gw, 'group name must not be empty: add "name"');
    else if (!isScalar(nameNode) || typeof nameNode.value !== 'string' || name === '')
      c.at(nameNode, gw, 'group name must be a non-empty string');
    else if (seen.has(name))
      c.at(nameNode, gw, `group name is repeated in the same file (first at line ${seen.get(name)})`);
    else seen.set(name, c.line(nameNode));

    const intervalMs = durationField(f.get('interval'), 'interval', gw, c);
    const queryOffsetMs = durationField(f.get('query_offset'), 'query_offset', gw, c);
    let limit = 0;
    const limitNode = f.get('limit');
    if (limitNode && !isNull(limitNode)) {
      const v = isScalar(limitNode) ? limitNode.value : undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        c.at(limitNode, gw, 'limit must be a whole number, 0 or more (0 means no limit)');
      else limit = v;
    }
    const groupLabels = stringMap(f.get('labels'), 'labels', gw, c, 'label');

    const rules: RuleDef[] = [];
    const rulesNode = f.get('rules');
    if (rulesNode && !isNull(rulesNode) && !isSeq(rulesNode))
      c.at(rulesNode, gw, '"rules" must be a list of rules');
    const ruleItems = rulesNode && isSeq(rulesNode) ? (rulesNode.items as YamlNode[]) : [];
    const vigilNames = new Map<string, number>();
    ruleItems.forEach((rNode, i) => {
      const rule = parseRule(rNode, { group: name, rule: i + 1 }, c);
      if (!rule) return;
      // Anomaly and forecast rules keep state and write series by name: a repeated name would mix them up.
      if (rule.kind === 'anomaly' || rule.kind === 'forecast') {
        const k = `${rule.kind}:${rule.name}`;
        const first = vigilNames.get(k);
        if (first !== undefined) {
          c.at(
            rNode,
            { group: name, rule: i + 1, ruleName: rule.name },
            `${rule.kind} name is repeated in the group (first at line ${first})`,
          );
          return;
        }
        vigilNames.set(k, rule.line);
      }
      rules.push(rule);
    });
    groups.push({
      name,
      file: c.file,
      // As Prometheus: an interval of 0 means the global default.
      intervalMs: intervalMs === 0 ? undefined : intervalMs,
      queryOffsetMs,
      limit,
      labels: groupLabels,
      rules,
      line: c.line(gNode),
    });
  }
  return groups;
}

function isNull(n: YamlNode): boolean {
  return isScalar(n) && n.value === null;
}

/** The values of a mapping by key; reports keys that are not in `known`. A key without value maps to null. */
function fields(map: YAMLMap, known: readonly string[], w: Where, c: Checker): Map<string, YamlNode> {
  const out = new Map<string, YamlNode>();
  for (const pair of map.items as Pair<YamlNode, YamlNode | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !known.includes(key)) {
      c.at(
        pair.key,
        w,
        `unknown field ${JSON.stringify(key ?? '?')}; expected one of ${known.map((k) => JSON.stringify(k)).join(', ')}`,
      );
      continue;
    }
    out.set(key, pair.value ?? new Scalar(null));
  }
  return out;
}

/** A scalar as Go's YAML decoder turns it into a string field: the text as written. */
function scalarText(n: YamlNode): string | undefined {
  if (!isScalar(n) || n.value === null) return undefined;
  if (typeof n.value === 'string') return n.value;
  const src = (n as Scalar & { source?: string }).source;
  return typeof src === 'string' ? src : String(n.value);
}

function durationField(n: YamlNode | undefined, field: string, w: Where, c: Checker): number | undefined {
  if (!n || isNull(n)) return undefined;
  const s = isScalar(n) && typeof n.value === 'string' ? n.value : undefined;
  if (s === undefined) {
    c.at(n, w, `${field} must be a duration such as 30s, 5m or 1h30m`);
    return undefined;
  }
  try {
    return parseDuration(s);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    c.at(n, w, `${field}: ${err.message}`);
    return undefined;
  }
}

/** A mapping of names to string values (`labels`, `annotations`); reports invalid names and non-scalars. */
function stringMap(
  n: YamlNode | undefined,
  field: string,
  w: Where,
  c: Checker,
  kind: 'label' | 'annotation',
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!n || isNull(n)) return out;
  if (!isMap(n)) {
    c.at(n, w, `${field} must be a mapping of ${kind} names to values`);
    return out;
  }
  for (const pair of n.items as Pair<YamlNode, YamlNode | null>[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!isValidLabelName(name) || (kind === 'label' && name === METRIC_NAME)) {
      c.at(pair.key, w, `invalid ${kind} name: ${JSON.stringify(name)} (must match [a-zA-Z_][a-zA-Z0-9_]*)`);
      continue;
    }
    const value = pair.value ? scalarText(pair.value) : '';
    if (value === undefined) {
      c.at(pair.value, w, `${kind} ${JSON.stringify(name)}: the value must be a string`);
      continue;
    }
    out[name] = value;
  }
  return out;
}

function parseRule(node: YamlNode, w: Where, c: Checker): RuleDef | undefined {
  if (!isMap(node)) {
    c.at(node, w, 'a rule must be a mapping with "record" or "alert", and "expr"');
    return undefined;
  }
  const str = (n: YamlNode | undefined) => (n && isScalar(n) && typeof n.value === 'string' ? n.value : '');
  const before = c.problems.length;
  const rw: Where = {
    ...w,
    ruleName:
      str(node.get('alert', true) as YamlNode | undefined) ||
      str(node.get('record', true) as YamlNode | undefined) ||
      str(node.get('anomaly', true) as YamlNode | undefined) ||
      str(node.get('forecast', true) as YamlNode | undefined),
  };
  // Unknown fields are listed against the fields of the rule's kind (Prometheus's list for its own kinds).
  const hint = ['anomaly', 'forecast'].find((k) => node.has(k));
  const known = hint ? [hint, 'expr', 'labels', ...KIND_FIELDS[hint]!] : PROMETHEUS_RULE_KEYS;
  const f = fields(node, known, rw, c);
  const record = f.get('record');
  const alert = f.get('alert');
  for (const k of ['record', 'alert', 'anomaly', 'forecast']) {
    const n = f.get(k);
    if (n && !isNull(n) && !(isScalar(n) && typeof n.value === 'string'))
      c.at(n, rw, `${k} must be a string`);
  }
  const isRecord = str(record) !== '';
  const isAlert = str(alert) !== '';
  const vigilKinds = (['anomaly', 'forecast'] as const).filter((k) => str(f.get(k)) !== '');
  if (isRecord && isAlert) c.at(node, rw, 'only one of "record" and "alert" must be set');
  if (!isRecord && !isAlert && !vigilKinds.length)
    c.at(node, rw, 'one of "record" or "alert" (or Vigil\'s "anomaly" or "forecast") must be set');

  const exprNode = f.get('expr');
  const expr = exprNode ? scalarText(exprNode) : undefined;
  let query: Expr | undefined;
  if (!exprNode || expr === undefined || expr.trim() === '') {
    c.at(exprNode ?? node, rw, '"expr" must be set to a PromQL expression');
  } else {
    try {
      query = parse(expr);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      const offset = exprOffset(exprNode as Scalar, err.positionRange.start, c.text);
      c.atOffset(offset, rw, `could not parse expression: ${err.message}`);
    }
  }

  const labels = stringMap(f.get('labels'), 'labels', rw, c, 'label');
  const kind = isAlert ? 'alert' : isRecord ? 'record' : vigilKinds[0];
  if (kind === 'anomaly' || kind === 'forecast') {
    const nameNode = f.get(kind)!;
    const name = str(nameNode);
    if (!isValidLabelValueName(name))
      c.at(
        nameNode,
        rw,
        `invalid ${kind} name: ${JSON.stringify(name)} (must match [a-zA-Z_][a-zA-Z0-9_:.-]*)`,
      );
    const def =
      kind === 'anomaly'
        ? anomalyDef(f, name, expr!, query!, labels, rw, c, node)
        : forecastDef(f, name, expr!, query!, labels, rw, c, node);
    if (c.problems.length > before || !query) return undefined;
    return def;
  }
  if (isRecord) {
    const name = str(record);
    if (!isValidMetricName(name))
      c.at(
        record,
        rw,
        `invalid recording rule name: ${JSON.stringify(name)} (must match [a-zA-Z_:][a-zA-Z0-9_:]*)`,
      );
    for (const k of ['for', 'keep_firing_for', 'annotations'])
      if (f.has(k))
        c.at(f.get(k), rw, `invalid field "${k}" in a recording rule: only alerting rules have it`);
  }
  if (!isAlert) {
    if (c.problems.length > before || !query) return undefined;
    return { kind: 'recording', name: str(record), expr: expr!, query, labels, line: c.line(node) };
  }

  const forMs = durationField(f.get('for'), 'for', rw, c) ?? 0;
  const keepFiringForMs = durationField(f.get('keep_firing_for'), 'keep_firing_for', rw, c) ?? 0;
  const annotations = stringMap(f.get('annotations'), 'annotations', rw, c, 'annotation');
  const templates = (m: Record<string, string>, mapNode: YamlNode | undefined, kind: string) => {
    const out = new Map<string, Template>();
    for (const [k, v] of Object.entries(m)) {
      try {
        out.set(k, parseTemplate(v));
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        const valueNode =
          mapNode && isMap(mapNode) ? (mapNode.get(k, true) as YamlNode | undefined) : undefined;
        c.at(valueNode, rw, `${kind} ${JSON.stringify(k)}: template error: ${err.message}`);
      }
    }
    return out;
  };
  const labelTemplates = templates(labels, f.get('labels'), 'label');
  const annotationTemplates = templates(annotations, f.get('annotations'), 'annotation');
  if (c.problems.length > before || !query) return undefined;
  return {
    kind: 'alerting',
    name: str(alert),
    expr: expr!,
    query,
    forMs,
    keepFiringForMs,
    labels,
    annotations,
    labelTemplates,
    annotationTemplates,
    line: c.line(node),
  };
}

/**
 * The file offset of character `at` of a scalar's value, for parse errors inside `expr`. Exact for plain and
 * quoted one-line scalars without escapes and for literal blocks (`|`); otherwise the scalar's start.
 */
export function exprOffset(node: Scalar, at: number, text: string): number | undefined {
  if (!node.range) return undefined;
  const [start, end] = node.range;
  const src = text.slice(start, end);
  const value = String(node.value);
  switch (node.type) {
    case 'PLAIN':
      return src === value ? start + at : start;
    case 'QUOTE_SINGLE':
    case 'QUOTE_DOUBLE':
      return src.slice(1, -1) === value ? start + 1 + at : start;
    case 'BLOCK_LITERAL': {
      // Header line (`|`, `|-`, `|2`), then the content lines, each indented by the block's indentation.
      const headerEnd = src.indexOf('\n');
      if (headerEnd < 0) return start;
      const body = src.slice(headerEnd + 1).split('\n');
      const explicit = /\d/.exec(src.slice(0, headerEnd));
      const firstLine = body.find((l) => l.trim() !== '') ?? '';
      const indent = explicit ? Number(explicit[0]) : firstLine.length - firstLine.trimStart().length;
      const before = value.slice(0, at).split('\n');
      const lineIdx = before.length - 1;
      let off = start + headerEnd + 1;
      for (let i = 0; i < lineIdx && i < body.length; i++) off += body[i]!.length + 1;
      return off + indent + before[lineIdx]!.length;
    }
    default:
      return start;
  }
}

/** Names of anomaly and forecast rules: they become label values and state keys, so kept to a safe set. */
function isValidLabelValueName(s: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_:.-]*$/.test(s);
}

/** `season: daily,weekly` (or a list), `daily`, `weekly`, `none`; undefined when the field is wrong. */
function seasonsField(n: YamlNode | undefined, w: Where, c: Checker): SeasonName[] | undefined {
  if (!n || isNull(n)) return undefined;
  const parts: string[] = [];
  if (isSeq(n)) {
    for (const it of n.items as YamlNode[]) parts.push(isScalar(it) ? String(it.value) : '?');
  } else if (isScalar(n) && typeof n.value === 'string') parts.push(...n.value.split(','));
  else parts.push('?');
  const out: SeasonName[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    if (p === 'none' && parts.length === 1) return [];
    if ((p === 'daily' || p === 'weekly') && !out.includes(p)) out.push(p);
    else {
      c.at(n, w, `season must be "daily", "weekly", "daily,weekly" or "none", not ${JSON.stringify(raw)}`);
      return undefined;
    }
  }
  return out;
}

/** A positive duration field; undefined when absent (or wrong, which is reported). */
function positiveDuration(f: Map<string, YamlNode>, field: string, w: Where, c: Checker): number | undefined {
  const n = f.get(field);
  const v = durationField(n, field, w, c);
  if (v === 0) {
    c.at(n, w, `${field} must be more than 0`);
    return undefined;
  }
  return v;
}

function anomalyDef(
  f: Map<string, YamlNode>,
  name: string,
  expr: string,
  query: Expr,
  labels: Record<string, string>,
  w: Where,
  c: Checker,
  node: YamlNode,
): AnomalyRuleDef {
  return {
    kind: 'anomaly',
    name,
    expr,
    query,
    seasons: seasonsField(f.get('season'), w, c) ?? ['daily', 'weekly'],
    labels,
    warmupMs: positiveDuration(f, 'warmup', w, c),
    forgetAfterMs: positiveDuration(f, 'forget_after', w, c) ?? DEFAULT_ANOMALY_FORGET_AFTER_MS,
    levelTauMs: positiveDuration(f, 'level_tau', w, c),
    shiftTauMs: positiveDuration(f, 'shift_tau', w, c),
    line: c.line(node),
  };
}

function forecastDef(
  f: Map<string, YamlNode>,
  name: string,
  expr: string,
  query: Expr,
  labels: Record<string, string>,
  w: Where,
  c: Checker,
  node: YamlNode,
): ForecastRuleDef {
  let capacity: ForecastRuleDef['capacity'];
  const capNode = f.get('capacity');
  if (capNode && !isNull(capNode)) {
    if (isScalar(capNode) && typeof capNode.value === 'number') {
      if (Number.isFinite(capNode.value)) capacity = capNode.value;
      else c.at(capNode, w, 'capacity must be a finite number or a PromQL expression');
    } else {
      const text = scalarText(capNode);
      if (text === undefined || text.trim() === '')
        c.at(capNode, w, 'capacity must be a number or a PromQL expression');
      else {
        try {
          capacity = { expr: text, query: parse(text) };
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          const offset = exprOffset(capNode as Scalar, err.positionRange.start, c.text);
          c.atOffset(offset, w, `capacity: could not parse expression: ${err.message}`);
        }
      }
    }
  }
  const seasons = seasonsField(f.get('season'), w, c);
  if (seasons?.includes('weekly'))
    c.at(f.get('season'), w, 'forecast rules fit a daily season only: use "daily" or "none"');
  const horizonMs = positiveDuration(f, 'horizon', w, c) ?? DEFAULT_FORECAST_HORIZON_MS;
  const lookbackMs = positiveDuration(f, 'lookback', w, c) ?? DEFAULT_FORECAST_LOOKBACK_MS;
  return {
    kind: 'forecast',
    name,
    expr,
    query,
    capacity,
    horizonMs,
    lookbackMs,
    season: seasons && seasons.length === 0 ? 'none' : 'daily',
    labels,
    line: c.line(node),
  };
}
