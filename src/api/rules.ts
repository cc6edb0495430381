/**
 * Prometheus's `GET /api/v1/rules` and `GET /api/v1/alerts` with their exact response shapes, so Grafana's
 * rule and alert views and scripts read Vigil's rules unchanged. Rules filters: `type=alert|record`,
 * `rule_name[]`, `rule_group[]`, `file[]`. Also `POST /-/reload` (Prometheus's lifecycle endpoint): re-reads
 * the rule files; invalid files keep the previous rules.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Alert } from '../rules/alerting.ts';
import type { RuleGroup } from '../rules/group.ts';
import type { RuleStatus } from '../rules/rule.ts';
import { formatExpShortest } from '../rules/gofmt.ts';
import { allValues } from './params.ts';

export interface RulesApiDeps {
  /** The rule groups currently loaded, in file order. */
  readonly groups: () => readonly RuleGroup[];
  /**
   * Reloads the rule files (and whatever else the composition root reloads with them). Rejects with a message
   * naming the problem when the new files are invalid; the previous rules then stay in force.
   */
  readonly reload?: () => Promise<void>;
}

/** Go's zero time, which Prometheus reports for "never evaluated". */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A wall-clock time as Go's time.Time marshals to JSON (RFC 3339, fraction without trailing zeros). */
function goTime(ms: number | undefined): string {
  if (ms === undefined) return ZERO_TIME;
  const iso = new Date(ms).toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? '.' + frac : ''}Z`;
}

/** An alert as Prometheus's API prints it (in /api/v1/alerts and in each alerting rule of /api/v1/rules). */
function apiAlert(a: Alert) {
  return {
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    activeAt: goTime(a.activeAt),
    ...(a.keepFiringSince !== undefined ? { keepFiringSince: goTime(a.keepFiringSince) } : {}),
    value: formatExpShortest(a.value, 'e'),
  };
}

/** The `data` of a /api/v1/alerts answer: pending and firing alerts of every alerting rule, in rule order. */
export function alertsResponse(groups: readonly RuleGroup[]) {
  const alerts = [];
  for (const g of groups)
    for (const r of g.rules)
      if (r.kind === 'alerting') for (const a of r.activeAlerts()) alerts.push(apiAlert(a));
  return { alerts };
}

function common(s: RuleStatus) {
  return {
    health: s.health,
    ...(s.lastError ? { lastError: s.lastError } : {}),
    evaluationTime: s.evaluationMs / 1000,
    lastEvaluation: goTime(s.lastEvaluation),
  };
}

/** The `data` of a /api/v1/rules answer for the given filters. */
export function rulesResponse(
  groups: readonly RuleGroup[],
  filter: { type?: 'alert' | 'record'; ruleNames?: string[]; groupNames?: string[]; files?: string[] },
) {
  const nameSet = filter.ruleNames?.length ? new Set(filter.ruleNames) : undefined;
  const groupSet = filter.groupNames?.length ? new Set(filter.groupNames) : undefined;
  const fileSet = filter.files?.length ? new Set(filter.files) : undefined;
  const out = [];
  for (const g of groups) {
    if (groupSet && !groupSet.has(g.name)) continue;
    if (fileSet && !fileSet.has(g.file)) continue;
    const rules = [];
    for (const r of g.rules) {
      if (nameSet && !nameSet.has(r.name)) continue;
      if (r.kind === 'alerting') {
        if (filter.type === 'record') continue;
        rules.push({
          state: r.state,
          name: r.name,
          query: r.query,
          duration: r.def.forMs / 1000,
          keepFiringFor: r.def.keepFiringForMs / 1000,
          labels: r.labels,
          annotations: r.def.annotations,
          alerts: r.activeAlerts().map(apiAlert),
          ...common(r.status),
          type: 'alerting',
        });
      } else {
        if (filter.type === 'alert') continue;
        rules.push({
          name: r.name,
          query: r.query,
          ...(Object.keys(r.labels).length ? { labels: r.labels } : {}),
          ...common(r.status),
          type: 'recording',
        });
      }
    }
    // As Prometheus: a group whose rules were all filtered out is left out.
    if (!rules.length) continue;
    out.push({
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      limit: g.limit,
      evaluationTime: g.evaluationMs / 1000,
      lastEvaluation: goTime(g.lastEvaluation),
    });
  }
  return { groups: out };
}

export function rulesApi(deps: RulesApiDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get('/api/v1/rules', async (req, reply) => {
      const p = allValues(req.query as Record<string, unknown>);
      const type = (p('type')[0] ?? '').toLowerCase();
      if (type !== '' && type !== 'alert' && type !== 'record')
        return reply.code(400).send({
          status: 'error',
          errorType: 'bad_data',
          error: `invalid parameter "type": not supported value ${JSON.stringify(type)}`,
        });
      const data = rulesResponse(deps.groups(), {
        type: type === '' ? undefined : type,
        ruleNames: p('rule_name[]'),
        groupNames: p('rule_group[]'),
        files: p('file[]'),
      });
      return reply.send({ status: 'success', data });
    });

    app.get('/api/v1/alerts', async (_req, reply) =>
      reply.send({ status: 'success', data: alertsResponse(deps.groups()) }),
    );

    const reload = deps.reload;
    if (reload) {
      // As Prometheus: POST or PUT, 200 with an empty body, 500 with the reason when the reload failed.
      const handler = async (_req: unknown, reply: FastifyReply) => {
        try {
          await reload();
          return reply.code(200).type('text/plain; charset=utf-8').send('');
        } catch (err) {
          return reply
            .code(500)
            .type('text/plain; charset=utf-8')
            .send(`failed to reload config: ${(err as Error).message}\n`);
        }
      };
      app.post('/-/reload', handler);
      app.put('/-/reload', handler);
    }
  };
}
