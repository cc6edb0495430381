/**
 * Prometheus relabeling (`relabel_configs`, `metric_relabel_configs`) with Prometheus' semantics: fully anchored
 * regexes, Go-style `$1` / `${name}` replacement templates, md5-based hashmod, and empty values meaning "absent".
 */
import { createHash } from 'node:crypto';
import { isValidLabelName } from '../../model/labels.ts';
import { copyLabels, getLabel, setLabel } from './labelobj.ts';

export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

/** One relabel rule with Prometheus' defaults applied (see relabelConfigSchema in config.ts). */
export interface RelabelConfig {
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly regex: string;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly modulus: number;
  readonly action: RelabelAction;
}

export const RELABEL_DEFAULTS = {
  separator: ';',
  regex: '(.*)',
  replacement: '$1',
  action: 'replace',
} as const;

/** Builds a full RelabelConfig from a partial one, filling Prometheus' defaults. */
export function relabelConfig(partial: Partial<RelabelConfig>): RelabelConfig {
  return {
    sourceLabels: partial.sourceLabels ?? [],
    separator: partial.separator ?? RELABEL_DEFAULTS.separator,
    regex: partial.regex ?? RELABEL_DEFAULTS.regex,
    targetLabel: partial.targetLabel ?? '',
    replacement: partial.replacement ?? RELABEL_DEFAULTS.replacement,
    modulus: partial.modulus ?? 0,
    action: partial.action ?? RELABEL_DEFAULTS.action,
  };
}

export class RelabelConfigError extends Error {
  override name = 'RelabelConfigError';
}

/**
 * Compiles a Prometheus (RE2) regex as JavaScript, fully anchored with `.` matching newlines as Prometheus does.
 * Translates the RE2-only spellings `(?P<name>` and a leading `(?i)` flag group. Throws RelabelConfigError.
 */
export function compileRelabelRegex(source: string): RegExp {
  let body = source.replace(/\(\?P</g, '(?<');
  let flags = 's';
  const flagGroup = /^\(\?([imsU]+)\)/.exec(body);
  if (flagGroup) {
    for (const f of flagGroup[1]!) {
      if (f === 'i' || f === 'm') flags += f;
      else if (f !== 's')
        throw new RelabelConfigError(`unsupported regex flag (?${f}) in ${JSON.stringify(source)}`);
    }
    body = body.slice(flagGroup[0].length);
  }
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (err) {
    throw new RelabelConfigError(
      `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Go's regexp Expand: `$n`, `${n}`, `$name`, `${name}`; `$$` is a literal `$`. A name is the longest run of
 * letters, digits and `_` (so `$1x` refers to group "1x", which does not exist, giving ""). Unknown or unmatched
 * groups expand to "". A `$` not followed by a valid reference is kept literally.
 */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  if (template.indexOf('$') < 0) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', dollar + 2);
      name = close < 0 ? '' : template.slice(dollar + 2, close);
      end = close + 1;
      if (close < 0 || !/^\w+$/.test(name)) {
        out += '$';
        i = dollar + 1;
        continue;
      }
    } else {
      end = dollar + 1;
      while (end < template.length && /\w/.test(template[end]!)) end++;
      name = template.slice(dollar + 1, end);
      if (name === '') {
        out += '$';
        i = dollar + 1;
        continue;
      }
    }
    out += groupValue(m, name);
    i = end;
  }
  return out;
}

function groupValue(m: RegExpExecArray, name: string): string {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return n < m.length ? (m[n] ?? '') : '';
  }
  return m.groups?.[name] ?? '';
}

/** Compiled form of a RelabelConfig; build once per config load, apply per target or sample. */
export interface CompiledRelabel {
  readonly cfg: RelabelConfig;
  readonly re: RegExp;
}

export function compileRelabelConfigs(configs: readonly RelabelConfig[]): CompiledRelabel[] {
  return configs.map((cfg) => ({ cfg, re: compileRelabelRegex(cfg.regex) }));
}

/** The hashmod value Prometheus computes: md5 of the value, last 8 bytes as big-endian uint64, mod modulus. */
export function hashMod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(modulus));
}

/**
 * Applies relabel rules in order. Returns the new label set (input untouched; empty values removed), or null
 * when a keep/drop rule dropped it.
 */
export function relabel(
  labels: Readonly<Record<string, string>>,
  rules: readonly CompiledRelabel[],
): Record<string, string> | null {
  const lb: Record<string, string> = {};
  for (const k of Object.keys(labels)) if (labels[k] !== '') setLabel(lb, k, labels[k]!);
  const set = (name: string, value: string) => {
    if (value === '') delete lb[name];
    else setLabel(lb, name, value);
  };
  for (const { cfg, re } of rules) {
    let val = '';
    if (cfg.sourceLabels.length === 1) val = getLabel(lb, cfg.sourceLabels[0]!) ?? '';
    else if (cfg.sourceLabels.length > 1)
      val = cfg.sourceLabels.map((n) => getLabel(lb, n) ?? '').join(cfg.separator);
    switch (cfg.action) {
      case 'drop':
        if (re.test(val)) return null;
        break;
      case 'keep':
        if (!re.test(val)) return null;
        break;
      case 'dropequal':
        if ((getLabel(lb, cfg.targetLabel) ?? '') === val) return null;
        break;
      case 'keepequal':
        if ((getLabel(lb, cfg.targetLabel) ?? '') !== val) return null;
        break;
      case 'replace': {
        const m = re.exec(val);
        if (!m) break;
        const target = expandTemplate(cfg.targetLabel, m);
        if (!isValidLabelName(target)) break;
        set(target, expandTemplate(cfg.replacement, m));
        break;
      }
      case 'lowercase':
        set(cfg.targetLabel, val.toLowerCase());
        break;
      case 'uppercase':
        set(cfg.targetLabel, val.toUpperCase());
        break;
      case 'hashmod':
        set(cfg.targetLabel, String(hashMod(val, cfg.modulus)));
        break;
      case 'labelmap': {
        const before = copyLabels(lb);
        for (const name of Object.keys(before)) {
          const m = re.exec(name);
          if (!m) continue;
          const target = expandTemplate(cfg.replacement, m);
          if (isValidLabelName(target)) set(target, before[name]!);
        }
        break;
      }
      case 'labeldrop':
        for (const name of Object.keys(lb)) if (re.test(name)) delete lb[name];
        break;
      case 'labelkeep':
        for (const name of Object.keys(lb)) if (!re.test(name)) delete lb[name];
        break;
    }
  }
  return lb;
}
