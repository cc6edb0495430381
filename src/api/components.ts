/**
 * `GET /api/vigil/v1/components`: every component (declared in `components:`, or found from scrape jobs, OTLP
 * services and trace services) with its health status, the reason for it, what it depends on and which
 * unhealthy dependencies impact it; problems first. `GET /api/vigil/v1/components/{name}`: one of them.
 * The model and its rules: src/health/components/model.ts, docs/health.md.
 */
import type { FastifyPluginAsync } from 'fastify';
import { gatherInputs, type ComponentSources } from '../health/components/inputs.ts';
import { evaluateComponents, type ComponentHealth } from '../health/components/model.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler } from './vigil-api.ts';

export interface ComponentsApiDeps extends ComponentSources {
  readonly now?: () => number;
}

export interface ComponentsAnswer {
  readonly generatedAt: number;
  readonly components: ComponentHealth[];
  /** Inputs that could not be read (the answer is computed without them); empty normally. */
  readonly warnings: string[];
}

export async function buildComponents(deps: ComponentsApiDeps): Promise<ComponentsAnswer> {
  const now = Math.round((deps.now ?? Date.now)());
  const { inputs, warnings } = await gatherInputs(deps, now);
  return { generatedAt: now, components: evaluateComponents(inputs), warnings };
}

export function componentsApi(deps: ComponentsApiDeps): FastifyPluginAsync {
  return async (app) => {
    installErrorHandler(app);
    app.get(`${VIGIL_API_PREFIX}/components`, async () => buildComponents(deps));
    app.get<{ Params: { name: string } }>(`${VIGIL_API_PREFIX}/components/:name`, async (req) => {
      const { generatedAt, components, warnings } = await buildComponents(deps);
      const name = req.params.name;
      const component = components.find((c) => c.name === name);
      if (!component)
        throw new HttpError(
          404,
          `no component named ${JSON.stringify(name)}: GET ${VIGIL_API_PREFIX}/components lists the known ones`,
        );
      return { generatedAt, component, warnings };
    });
  };
}
