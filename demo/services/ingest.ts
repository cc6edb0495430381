/**
 * Ingestion API: `POST /messages` takes one message from a client and hands it to validation over HTTP.
 * 202 when accepted, 422 when validation rejects it, 400 when it is not a JSON object, 503 when validation
 * cannot be reached.
 */
import { serviceFromEnv, StageError } from '../lib/service.ts';

const svc = serviceFromEnv('ingest');
svc.declareDrops('ingest', undefined, ['validation_unavailable', 'validation_unreachable']);
let rejected = false;

svc.route('/messages', async (body) => {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { status: 400, body: { error: 'expected a JSON object {id, client, channels, recipient, text}' } };
  const outcome = await svc.handleMessage('ingest', undefined, async () => {
    rejected = false;
    if (svc.lose()) return true; // the loss fault: counted as passed on, never sent
    try {
      await svc.call('validation', '/validate', body);
    } catch (err) {
      // Handed over and refused by validation: passed on as far as this stage is concerned.
      if (err instanceof StageError && err.reason === 'rejected') rejected = true;
      else throw err;
    }
    return true;
  });
  if (outcome !== true) return { status: 503, body: { error: outcome.message } };
  return rejected ? { status: 422, body: { error: 'rejected by validation' } } : { status: 202, body: {} };
});

await svc.listen();
