/**
 * The JSON form of a parsed query that Prometheus 3 returns from `/api/v1/parse_query` (used by its query
 * explain view and by tools such as PromLens): one object per node with a `type`, durations and timestamps in
 * milliseconds, matchers as `{name, type, value}`.
 */
import { METRIC_NAME } from '../../model/labels.ts';
import type { AtModifier, Expr, VectorSelector } from './ast.ts';
import { formatValue } from './format.ts';
import { FUNCTIONS } from './functions.ts';

export type AstJson = { [key: string]: AstJsonValue };
type AstJsonValue = string | number | boolean | null | AstJson | AstJsonValue[];

function at(a: AtModifier | undefined): { timestamp: number | null; startOrEnd: string | null } {
  if (!a) return { timestamp: null, startOrEnd: null };
  if (a.kind === 'time') return { timestamp: a.timeMs, startOrEnd: null };
  return { timestamp: null, startOrEnd: a.kind };
}

/** Matchers in Prometheus' order: the ones written in braces, then the one implied by the metric name. */
function matchers(vs: VectorSelector): AstJson[] {
  const implied = (m: VectorSelector['matchers'][number]) =>
    vs.name !== undefined && m.name === METRIC_NAME && m.type === '=' && m.value === vs.name;
  const ordered = [...vs.matchers.filter((m) => !implied(m)), ...vs.matchers.filter(implied)];
  return ordered.map((m) => ({ name: m.name, type: m.type, value: m.value }));
}

/** Translates an expression into Prometheus' parse_query JSON. */
export function astToJson(e: Expr): AstJson {
  switch (e.type) {
    case 'NumberLiteral':
      return { type: 'numberLiteral', val: formatValue(e.value) };
    case 'StringLiteral':
      return { type: 'stringLiteral', val: e.value };
    case 'VectorSelector':
      return {
        type: 'vectorSelector',
        name: e.name ?? '',
        offset: e.offsetMs,
        matchers: matchers(e),
        ...at(e.at),
      };
    case 'MatrixSelector':
      return {
        type: 'matrixSelector',
        name: e.vector.name ?? '',
        range: e.rangeMs,
        offset: e.vector.offsetMs,
        matchers: matchers(e.vector),
        ...at(e.vector.at),
      };
    case 'SubqueryExpr':
      return {
        type: 'subquery',
        expr: astToJson(e.expr),
        range: e.rangeMs,
        offset: e.offsetMs,
        step: e.stepMs,
        ...at(e.at),
      };
    case 'ParenExpr':
      return { type: 'parenExpr', expr: astToJson(e.expr) };
    case 'UnaryExpr':
      return { type: 'unaryExpr', op: e.op, expr: astToJson(e.expr) };
    case 'BinaryExpr':
      return {
        type: 'binaryExpr',
        op: e.op,
        lhs: astToJson(e.lhs),
        rhs: astToJson(e.rhs),
        matching: e.matching
          ? {
              card: e.matching.card,
              labels: [...e.matching.labels],
              on: e.matching.on,
              include: [...e.matching.include],
            }
          : null,
        bool: e.returnBool,
      };
    case 'AggregateExpr':
      return {
        type: 'aggregation',
        op: e.op,
        expr: astToJson(e.expr),
        param: e.param ? astToJson(e.param) : null,
        grouping: [...e.grouping],
        without: e.without,
      };
    case 'Call': {
      const def = FUNCTIONS.get(e.func)!;
      return {
        type: 'call',
        func: {
          name: def.name,
          argTypes: [...def.argTypes],
          variadic: def.variadic,
          returnType: def.returnType,
        },
        args: e.args.map(astToJson),
      };
    }
  }
}
