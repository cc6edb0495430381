/**
 * Dashboards over Vigil's JSON API: list, read, create/import, update with compare-and-set, delete. Bodies are
 * dashboard documents (src/dashboards/model.ts, docs/format/dashboard.md); user text travels as JSON data only.
 * Dashboards loaded from the provisioning folder are read-only here: their file is the source of truth.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { PROVISIONED_PREFIX, isProvisioned } from '../dashboards/provision.ts';
import {
  fromStored,
  toStored,
  validateDashboard,
  type DashboardDocument,
  type StoredDocument,
} from '../dashboards/model.ts';
import {
  AlreadyExistsError,
  InvalidInputError,
  NotFoundError,
  VersionConflictError,
} from '../state/errors.ts';
import type { Dashboard, StateStore } from '../state/interface.ts';
import {
  HttpError,
  VIGIL_API_PREFIX,
  installErrorHandler,
  installJsonParser,
  type ErrorDetail,
} from './vigil-api.ts';

export interface DashboardsApiDeps {
  readonly state: StateStore;
}

/** One entry of `GET /api/vigil/v1/dashboards`. */
export interface DashboardListItem {
  readonly uid: string;
  readonly title: string;
  readonly tags: string[];
  readonly version: number;
  readonly updatedAt: number;
  readonly createdBy: string | null;
  readonly provisioned: boolean;
}

/** The answer of `GET /api/vigil/v1/dashboards/:uid` (and of a successful POST or PUT). */
export interface DashboardResponse {
  readonly dashboard: StoredDocument;
  readonly version: number;
  readonly updatedAt: number;
  readonly createdBy: string | null;
  readonly provisioned: boolean;
}

const BASE = `${VIGIL_API_PREFIX}/dashboards`;

function response(d: Dashboard): DashboardResponse {
  return {
    dashboard: fromStored(d),
    version: d.version,
    updatedAt: d.updatedAt,
    createdBy: d.createdBy,
    provisioned: isProvisioned(d.createdBy),
  };
}

/** Validates a document; problem paths get `prefix` (`dashboard.` inside a PUT body). */
function checkDocument(body: unknown, prefix: string): { doc?: DashboardDocument; problems: ErrorDetail[] } {
  if (body === undefined || body === null)
    return {
      problems: [{ path: prefix.replace(/\.$/, ''), message: 'missing: must be a dashboard document' }],
    };
  const r = validateDashboard(body);
  if (r.ok) return { doc: r.document, problems: [] };
  return {
    problems: r.problems.map((p) => ({
      path: p.path ? prefix + p.path : prefix.replace(/\.$/, ''),
      message: p.message,
    })),
  };
}

/** A 400 whose message names the first problem; `details` has all of them. */
function invalid(what: string, problems: ErrorDetail[]): HttpError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more, see details)` : '';
  return new HttpError(400, `${what}: ${first.path || 'document'}: ${first.message}${more}`, problems);
}

function readOnly(d: Dashboard, action: string): HttpError {
  const file = d.createdBy!.slice(PROVISIONED_PREFIX.length);
  return new HttpError(
    403,
    `cannot ${action} dashboard ${JSON.stringify(d.uid)}: it is provisioned from the file ${JSON.stringify(file)}; ` +
      'change that file instead, or save a copy under another uid',
  );
}

function conflict(err: VersionConflictError): HttpError {
  return new HttpError(
    409,
    `dashboard ${JSON.stringify(err.id)} was changed by someone else: they saved version ${err.actualVersion} ` +
      `while you were editing version ${err.expectedVersion}; reload it and apply your change again`,
  );
}

/** Maps the state store's expected errors (bad input, not found, version moved on) to answers; others pass. */
function storeError(err: unknown): unknown {
  if (err instanceof InvalidInputError) return new HttpError(400, `invalid dashboard: ${err.message}`);
  if (err instanceof NotFoundError)
    return new HttpError(404, `dashboard ${JSON.stringify(err.id)} not found`);
  if (err instanceof VersionConflictError) return conflict(err);
  return err;
}

function flag(v: unknown): boolean {
  return v === 'true' || v === '1' || v === '';
}

function uidParam(req: FastifyRequest): string {
  return (req.params as { uid: string }).uid;
}

export function dashboardsApi(deps: DashboardsApiDeps): FastifyPluginAsync {
  const { state } = deps;
  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    installJsonParser(app);

    const notFound = (uid: string) => new HttpError(404, `dashboard ${JSON.stringify(uid)} not found`);

    app.get(BASE, async (req) => {
      const q = req.query as Record<string, unknown>;
      const query = typeof q.query === 'string' ? q.query : undefined;
      const tag = typeof q.tag === 'string' && q.tag !== '' ? q.tag : undefined;
      const list = await state.dashboards.list({ query, tag });
      return list.map((d): DashboardListItem => ({
        uid: d.uid,
        title: d.title,
        tags: d.tags,
        version: d.version,
        updatedAt: d.updatedAt,
        createdBy: d.createdBy,
        provisioned: isProvisioned(d.createdBy),
      }));
    });

    app.get(`${BASE}/:uid`, async (req) => {
      const uid = uidParam(req);
      const d = await state.dashboards.get(uid);
      if (!d) throw notFound(uid);
      return response(d);
    });

    app.post(BASE, async (req, reply) => {
      if (req.body === undefined || req.body === null)
        throw new HttpError(400, 'request body is missing: send the dashboard document as JSON');
      const { doc, problems } = checkDocument(req.body, '');
      if (!doc) throw invalid('invalid dashboard', problems);
      const overwrite = flag((req.query as Record<string, unknown>).overwrite);
      const parts = toStored(doc);
      try {
        const created = await state.transaction(async (tx) => {
          const existing = parts.uid === undefined ? undefined : await tx.dashboards.get(parts.uid);
          if (!existing)
            return { d: await tx.dashboards.create({ ...parts, createdBy: null }), created: true };
          if (!overwrite)
            throw new HttpError(
              409,
              `a dashboard with uid ${JSON.stringify(existing.uid)} already exists (${JSON.stringify(existing.title)}); ` +
                'import with ?overwrite=true to replace it, or remove "uid" from the document to import a copy',
            );
          if (isProvisioned(existing.createdBy)) throw readOnly(existing, 'replace');
          return { d: await tx.dashboards.update(existing.uid, parts, existing.version), created: false };
        });
        return reply.code(created.created ? 201 : 200).send(response(created.d));
      } catch (err) {
        if (err instanceof AlreadyExistsError)
          throw new HttpError(
            409,
            `a dashboard with uid ${JSON.stringify(err.id)} already exists; ` +
              'import with ?overwrite=true to replace it, or remove "uid" from the document to import a copy',
          );
        throw storeError(err);
      }
    });

    app.put(`${BASE}/:uid`, async (req) => {
      const uid = uidParam(req);
      const body = req.body as Record<string, unknown> | undefined;
      if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
        throw new HttpError(
          400,
          'request body must be a JSON object {"dashboard": <document>, "version": <the version you edited>}',
        );
      const version = body.version;
      const versionOk = typeof version === 'number' && Number.isSafeInteger(version) && version >= 1;
      const { doc, problems } = checkDocument(body.dashboard, 'dashboard.');
      if (!versionOk)
        problems.push({
          path: 'version',
          message:
            version === undefined
              ? 'missing: must be the version you loaded (from GET), so that concurrent edits are detected'
              : `must be a positive integer, got ${JSON.stringify(version)}`,
        });
      if (!doc || problems.length) throw invalid('invalid update', problems);
      // The uid in the URL names the dashboard; a different uid inside the document does not move it.
      const existing = await state.dashboards.get(uid);
      if (!existing) throw notFound(uid);
      if (isProvisioned(existing.createdBy)) throw readOnly(existing, 'change');
      const { uid: _ignored, ...parts } = toStored(doc);
      try {
        return response(await state.dashboards.update(uid, parts, version as number));
      } catch (err) {
        throw storeError(err);
      }
    });

    app.delete(`${BASE}/:uid`, async (req, reply) => {
      const uid = uidParam(req);
      const existing = await state.dashboards.get(uid);
      if (!existing) throw notFound(uid);
      if (isProvisioned(existing.createdBy)) throw readOnly(existing, 'delete');
      try {
        await state.dashboards.delete(uid);
      } catch (err) {
        throw storeError(err);
      }
      return reply.code(204).send();
    });
  };
}
