/** Error classes at the PromQL boundary; the HTTP API maps each to a Prometheus errorType. */
import type { PositionRange } from './ast.ts';

/** A syntax or type error in a query. Message: `line:col: parse error: what`, as Prometheus prints it. */
export class ParseError extends Error {
  override name = 'ParseError';
  constructor(
    message: string,
    /** 0-based offsets into the query, end exclusive. */
    readonly positionRange: PositionRange,
  ) {
    super(message);
  }
}

/** The query ran longer than the engine's timeout (API: 503, errorType "timeout"). */
export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
  constructor(message = 'query timed out in expression evaluation') {
    super(message);
  }
}

/** The caller aborted the query (API: errorType "canceled"). */
export class QueryCanceledError extends Error {
  override name = 'QueryCanceledError';
  constructor(message = 'query was canceled in expression evaluation') {
    super(message);
  }
}

/** The query would hold more samples in memory than allowed (API: 422, errorType "execution"). */
export class TooManySamplesError extends Error {
  override name = 'TooManySamplesError';
  constructor() {
    super('query processing would load too many samples into memory in query execution');
  }
}

/**
 * A runtime evaluation error such as ambiguous vector matching (API: 422, errorType "execution"). The evaluator
 * sets `positionRange` to the expression that failed and appends its `line:col` to the message, in the
 * `(1:5)` form Prometheus uses for annotations.
 */
export class EvalError extends Error {
  override name = 'EvalError';
  positionRange: PositionRange | undefined;
}

/** Formats a parse error message with a 1-based line and column, as Prometheus does. */
export function makeParseError(query: string, pos: PositionRange, what: string): ParseError {
  let line = 1;
  let lastBreak = -1;
  const p = Math.max(0, Math.min(pos.start, query.length));
  for (let i = 0; i < p; i++) {
    if (query[i] === '\n') {
      line++;
      lastBreak = i;
    }
  }
  return new ParseError(`${line}:${p - lastBreak}: parse error: ${what}`, pos);
}
