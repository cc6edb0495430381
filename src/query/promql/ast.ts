/** PromQL abstract syntax tree. Positions are 0-based offsets into the query string, end exclusive. */
import type { Matcher } from '../../model/matcher.ts';

/** Half-open span `[start, end)` of a node in the query text. */
export interface PositionRange {
  readonly start: number;
  readonly end: number;
}

/** The four PromQL value types. `matrix` is a range vector. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** How an `@` modifier was written: a fixed timestamp, or `start()` / `end()` of the query. */
export type AtModifier =
  { readonly kind: 'time'; readonly timeMs: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

export interface NumberLiteral {
  readonly type: 'NumberLiteral';
  readonly value: number;
  readonly pos: PositionRange;
}

export interface StringLiteral {
  readonly type: 'StringLiteral';
  readonly value: string;
  readonly pos: PositionRange;
}

export interface VectorSelector {
  readonly type: 'VectorSelector';
  /** Metric name written before the braces, if any (it is also present in `matchers`). */
  readonly name: string | undefined;
  readonly matchers: readonly Matcher[];
  readonly offsetMs: number;
  readonly at: AtModifier | undefined;
  readonly pos: PositionRange;
}

export interface MatrixSelector {
  readonly type: 'MatrixSelector';
  /** Offset and `@` of a range selector live on this inner selector, as in Prometheus. */
  readonly vector: VectorSelector;
  readonly rangeMs: number;
  readonly pos: PositionRange;
}

export interface SubqueryExpr {
  readonly type: 'SubqueryExpr';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0 when omitted (`[30m:]`): the engine's default subquery step applies. */
  readonly stepMs: number;
  readonly offsetMs: number;
  readonly at: AtModifier | undefined;
  readonly pos: PositionRange;
}

export interface ParenExpr {
  readonly type: 'ParenExpr';
  readonly expr: Expr;
  readonly pos: PositionRange;
}

export interface UnaryExpr {
  readonly type: 'UnaryExpr';
  readonly op: '-' | '+';
  readonly expr: Expr;
  readonly pos: PositionRange;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

/** Vector matching of a binary expression between two instant vectors. */
export interface VectorMatching {
  readonly card: Cardinality;
  /** True for `on(...)`, false for `ignoring(...)` or no clause. */
  readonly on: boolean;
  /** Whether an explicit on/ignoring clause was written (for printing). */
  readonly explicit: boolean;
  readonly labels: readonly string[];
  /** Extra labels copied from the "one" side by group_left/group_right. */
  readonly include: readonly string[];
}

export interface BinaryExpr {
  readonly type: 'BinaryExpr';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly returnBool: boolean;
  /** Set only when both sides are instant vectors. */
  readonly matching: VectorMatching | undefined;
  readonly pos: PositionRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

export interface AggregateExpr {
  readonly type: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly expr: Expr;
  readonly param: Expr | undefined;
  readonly grouping: readonly string[];
  readonly without: boolean;
  /** Whether `by`/`without` was written at all (`sum by () (x)` vs `sum(x)`), for printing. */
  readonly hasGrouping: boolean;
  readonly pos: PositionRange;
}

export interface Call {
  readonly type: 'Call';
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: PositionRange;
}

/** Any PromQL expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | ParenExpr
  | UnaryExpr
  | BinaryExpr
  | AggregateExpr
  | Call;

export const COMPARISON_OPS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);
export const SET_OPS: ReadonlySet<string> = new Set(['and', 'or', 'unless']);

/** Human name of a value type as Prometheus prints it in errors. */
export function typeName(t: ValueType): string {
  switch (t) {
    case 'scalar':
      return 'scalar';
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    case 'string':
      return 'string';
  }
}
