/**
 * The main HTTP server: Prometheus API, ingestion endpoints, Vigil's own metrics, health endpoints and the
 * web UI, all on one port. Ingestion plugins are registered by the composition root (src/app.ts).
 */
import { parse as parseQs } from 'node:querystring';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { registry } from '../self/metrics.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerOptions {
  readonly bodyLimit: number;
  readonly logger?: boolean;
  /** Whether the web UI is served at `/` (off for the OTLP-only listener). */
  readonly ui?: boolean;
}

/** Creates a Fastify instance with Vigil's shared behaviour (form bodies, error shapes, health). */
export function createServer(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit,
    logger: opts.logger ? { level: 'info' } : false,
    // `/api/v1/query/` and `/api/v1/query` are the same endpoint, as in Prometheus.
    routerOptions: { ignoreTrailingSlash: true },
  });

  // Grafana and promtool POST queries as HTML forms.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseQs(body as string));
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const message =
      status === 413 ? `request body is larger than the limit of ${opts.bodyLimit} bytes` : err.message;
    if (req.url.startsWith('/api/v1/'))
      return reply
        .code(status)
        .send({ status: 'error', errorType: status < 500 ? 'bad_data' : 'internal', error: message });
    return reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(message + '\n');
  });

  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain').send('Vigil is Healthy.\n'));
  app.get('/-/ready', async (_req, reply) => reply.type('text/plain').send('Vigil is Ready.\n'));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  if (opts.ui) {
    void app.register(fastifyStatic, { root: join(ROOT, 'ui', 'first'), prefix: '/', index: ['index.html'] });
    void app.register(fastifyStatic, {
      root: join(ROOT, 'node_modules', 'uplot', 'dist'),
      prefix: '/vendor/uplot/',
      decorateReply: false,
    });
  }
  return app;
}
