/**
 * Alert sources beyond Alertmanager's API, and the views of what de-duplication did:
 * - `POST /api/vigil/v1/alerts/webhook/{name}`: a configured tool posts its own JSON (alerting.webhooks);
 * - `GET /api/vigil/v1/alerting/merges`: alerts merged from several sources, with each source's labels and times;
 * - `GET /api/vigil/v1/alerting/alerts`: current alerts, most severe first, with severity rank and sources.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AlertPipeline } from '../alerts/pipeline.ts';
import { severityOrder } from '../alerts/severity.ts';
import type { StoredAlert } from '../alerts/store.ts';
import { mapWebhookPayload, WebhookPayloadError, type WebhookSource } from '../alerts/webhook-source.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler, installJsonParser } from './vigil-api.ts';

export interface AlertSourcesApiDeps {
  readonly pipeline: AlertPipeline;
  /** The configured webhook sources (alerting.webhooks). */
  readonly webhooks: readonly WebhookSource[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function alertSourcesApi(deps: AlertSourcesApiDeps): FastifyPluginAsync {
  const p = deps.pipeline;
  const byName = new Map(deps.webhooks.map((w) => [w.name, w]));
  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    installJsonParser(app);

    app.post(`${VIGIL_API_PREFIX}/alerts/webhook/:name`, async (req) => {
      const { name } = req.params as { name: string };
      const src = byName.get(name);
      if (!src)
        throw new HttpError(
          404,
          `no webhook source named ${JSON.stringify(name)}: configure it under alerting.webhooks` +
            (byName.size ? ` (configured: ${[...byName.keys()].join(', ')})` : ''),
        );
      let mapped;
      try {
        mapped = mapWebhookPayload(src, req.body, p.clock.now());
      } catch (err) {
        if (err instanceof WebhookPayloadError) throw new HttpError(400, err.message);
        throw err;
      }
      const res = await p.receive(
        mapped.alerts.map((a) => a.alert),
        `webhook/${src.name}`,
      );
      // Rejections by the pipeline refer to positions in the mapped list; report the payload's item index.
      const errors = [
        ...mapped.errors,
        ...res.rejected.map((r) => {
          const index = mapped.alerts[r.index]!.index;
          return { index, error: `item ${index}: ${r.error}` };
        }),
      ].sort((a, b) => a.index - b.index);
      if (errors.length) {
        const where = (i: number) => (src.alerts === '.' ? `[${i}]` : `${src.alerts}[${i}]`);
        throw new HttpError(
          400,
          `${errors.length} of ${mapped.alerts.length + mapped.errors.length} alerts rejected, ` +
            `${res.accepted} accepted: ${errors.map((e) => e.error).join('; ')}`,
          errors.map((e) => ({ path: where(e.index), message: e.error })),
        );
      }
      return { accepted: res.accepted };
    });

    const sources = (a: StoredAlert) =>
      p.sourcesOf(a.fingerprint).map((s) => ({
        source: s.source,
        labels: s.labels,
        startsAt: iso(s.startsAt),
        endsAt: iso(s.endsAt),
        firstSeen: iso(s.firstSeen),
        updatedAt: iso(s.updatedAt),
      }));

    app.get(`${VIGIL_API_PREFIX}/alerting/merges`, async () => ({
      merges: p
        .mergedAlerts()
        .map((fp) => p.store.get(fp))
        .filter((a): a is StoredAlert => a !== undefined)
        .map((a) => ({
          fingerprint: a.fingerprint,
          labels: a.labels,
          startsAt: iso(a.startsAt),
          endsAt: iso(a.endsAt),
          sources: sources(a),
        })),
    }));

    app.get(`${VIGIL_API_PREFIX}/alerting/alerts`, async () => {
      const now = p.clock.now();
      return {
        alerts: p
          .activeAlerts(now)
          .map((a) => ({ a, order: severityOrder(a.labels.severity) }))
          .sort((x, y) => y.order - x.order || x.a.startsAt - y.a.startsAt)
          .map(({ a, order }) => ({
            fingerprint: a.fingerprint,
            labels: a.labels,
            annotations: a.annotations,
            severity: a.labels.severity ?? null,
            severityOrder: order,
            startsAt: iso(a.startsAt),
            endsAt: iso(a.endsAt),
            updatedAt: iso(a.updatedAt),
            status: p.status(a.labels, now),
            sources: sources(a),
          })),
      };
    });
  };
}
