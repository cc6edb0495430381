/**
 * Pieces shared by Vigil's own JSON API under `/api/vigil/v1/`: the error shape
 * `{"error": "...", "details"?: [{"path", "message"}]}`, the error class handlers throw, and the error handler
 * each of its plugins installs in its own (encapsulated) context.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { jsonSyntaxMessage } from '../model/json.ts';

export const VIGIL_API_PREFIX = '/api/vigil/v1';

/** One problem of a request, located by a path into the request (`panels[2].grid.w`, `query[1]`). */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
  /** For a query: the offending span, 0-based offsets into the query text, end exclusive. */
  readonly position?: { readonly start: number; readonly end: number };
}

/** The body of every error answer of Vigil's JSON API. */
export interface ErrorBody {
  readonly error: string;
  readonly details?: readonly ErrorDetail[];
}

/** An expected failure with the status and message the client gets. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly details?: readonly ErrorDetail[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }

  body(): ErrorBody {
    return this.details?.length ? { error: this.message, details: this.details } : { error: this.message };
  }
}

/** Clearer words for the errors Fastify raises before a handler runs. */
function frameworkMessage(err: FastifyError, bodyLimit: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than the server's limit of ${bodyLimit} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send the request body as JSON with Content-Type: application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty: send a JSON document';
    default:
      return err.message;
  }
}

/**
 * Answers every failure of this plugin context in the JSON API's error shape. Expected failures are HttpErrors;
 * anything else is a 500, logged, whose message still tells the client what failed.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HttpError) {
      if (err.headers) void reply.headers(err.headers);
      return reply.code(err.status).send(err.body());
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: `internal error: ${err.message}` } satisfies ErrorBody);
    }
    return reply
      .code(status)
      .send({ error: frameworkMessage(err, req.routeOptions.bodyLimit ?? 0) } satisfies ErrorBody);
  });
  // The API returns user-provided text (titles, label values) as JSON data; browsers must never sniff it as HTML.
  app.addHook('onSend', async (_req, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
  });
}

/** Parses JSON request bodies with a message that says where the syntax error is. */
export function installJsonParser(app: FastifyInstance): void {
  const parser = (
    _req: unknown,
    text: string | Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    const s = String(text);
    if (s.trim() === '') {
      done(new HttpError(400, 'request body is empty: send a JSON document'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(s, refuseProtoKeys));
    } catch (err) {
      if (err instanceof HttpError) done(err, undefined);
      else
        done(new HttpError(400, `request body is not valid JSON: ${jsonSyntaxMessage(s, err)}`), undefined);
    }
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
  app.addContentTypeParser(/^application\/[\w.+-]+\+json\s*(;|$)/i, { parseAs: 'string' }, parser);
}

/** Like Fastify's own parser: a `__proto__` key is refused rather than risking prototype pollution later. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__')
    throw new HttpError(400, 'request body is not acceptable: it contains a "__proto__" key');
  return value;
}
