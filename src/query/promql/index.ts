/** Vigil's PromQL engine: parser, evaluator and the test-script runner's building blocks. */
export type * from './ast.ts';
export { parse, exprType } from './parser.ts';
export { formatExpr, formatValue, prettyExpr } from './format.ts';
export { astToJson, type AstJson } from './astjson.ts';
export {
  ParseError,
  QueryTimeoutError,
  QueryCanceledError,
  TooManySamplesError,
  EvalError,
} from './errors.ts';
export {
  Engine,
  type EngineOptions,
  type QueryOptions,
  type QueryResult,
  type QueryStats,
} from './engine.ts';
export { FUNCTIONS, type FunctionDef } from './functions.ts';
