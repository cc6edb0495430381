/**
 * The knowledge base over the state store: loads incidents' facts (their alert, note and resolution events in
 * one query) for search and similar past incidents. The scoring itself is pure, in similar.ts.
 */
import type { Incident, IncidentRepo } from '../state/interface.ts';
import {
  FACT_EVENT_KINDS,
  factsOf,
  matchesQuery,
  queryTerms,
  similarIncidents,
  type IncidentFacts,
  type SimilarIncident,
  type SimilarOptions,
} from './similar.ts';

/** How many of the newest resolved incidents similar-incident suggestions compare against. */
export const SIMILAR_HISTORY = 5_000;

/** Facts of each incident, in the order given. */
export async function loadFacts(
  repo: Pick<IncidentRepo, 'eventsOfKinds'>,
  incidents: readonly Incident[],
): Promise<IncidentFacts[]> {
  const events = await repo.eventsOfKinds(
    FACT_EVENT_KINDS,
    incidents.map((i) => i.id),
  );
  const byId = new Map<string, typeof events>();
  for (const e of events) {
    const l = byId.get(e.incidentId);
    if (l) l.push(e);
    else byId.set(e.incidentId, [e]);
  }
  return incidents.map((i) => factsOf(i, byId.get(i.id) ?? []));
}

/** The incidents of `list` whose text, labels, services or resolution contain every word of `q`. */
export async function searchIncidents(
  repo: Pick<IncidentRepo, 'eventsOfKinds'>,
  list: readonly Incident[],
  q: string,
): Promise<Incident[]> {
  const terms = queryTerms(q);
  if (!terms.length) return [...list];
  return (await loadFacts(repo, list)).filter((f) => matchesQuery(f, terms)).map((f) => f.incident);
}

/** Resolved incidents most like `target` (newest SIMILAR_HISTORY resolved ones are compared). */
export async function findSimilar(
  repo: Pick<IncidentRepo, 'eventsOfKinds' | 'list'>,
  target: Incident,
  opts: SimilarOptions = {},
): Promise<SimilarIncident[]> {
  const past = (await repo.list({ status: ['resolved'], limit: SIMILAR_HISTORY })).filter(
    (i) => i.id !== target.id,
  );
  const [t, ...candidates] = await loadFacts(repo, [target, ...past]);
  return similarIncidents(t!, candidates, opts);
}
