/**
 * The main HTTP server: Prometheus API, ingestion endpoints, Vigil's own metrics, health endpoints and the
 * web UI, all on one port. Ingestion plugins are registered by the composition root (src/app.ts).
 */
import { parse as parseQs } from 'node:querystring';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
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

  if (opts.ui) serveUi(app);
  return app;
}

/** Where `npm run build:ui` writes the web application. */
export const UI_DIST = join(ROOT, 'ui', 'dist');

/**
 * Serves the built web application. Client-side routes (`/explore`, `/d/abc`) get index.html so links can
 * be shared and reloaded; API paths keep their own 404s.
 */
function serveUi(app: FastifyInstance): void {
  if (!existsSync(join(UI_DIST, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built. Run `npm run build:ui` (npm install does it) and restart Vigil.\n'),
    );
    return;
  }
  void app.register(fastifyStatic, {
    root: UI_DIST,
    prefix: '/',
    index: ['index.html'],
    // Hashed assets never change; index.html must always be fresh so a new build is picked up.
    setHeaders: (res, path) =>
      res.setHeader(
        'cache-control',
        path.includes(`${join('dist', 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ),
  });
  app.setNotFoundHandler((req, reply) => {
    const isPage =
      req.method === 'GET' &&
      !req.url.startsWith('/api/') &&
      !req.url.startsWith('/-/') &&
      !/\.[a-z0-9]+$/i.test(req.url.split('?')[0]!);
    if (isPage)
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .sendFile('index.html');
    const message = `no route for ${req.method} ${req.url.split('?')[0]}`;
    if (req.url.startsWith('/api/v1/'))
      return reply.code(404).send({ status: 'error', errorType: 'not_found', error: message });
    if (req.url.startsWith('/api/')) return reply.code(404).send({ error: message });
    return reply
      .code(404)
      .type('text/plain; charset=utf-8')
      .send(message + '\n');
  });
}
