/**
 * Validation: `POST /validate` checks a message (recipient, known channels, client) and puts valid ones on
 * the `enrich` queue; invalid ones are dropped (reason `invalid`) and answered 422.
 */
import { CHANNELS } from '../lib/faults.ts';
import { serviceFromEnv, StageError } from '../lib/service.ts';

const svc = serviceFromEnv('validation');
svc.declareDrops('validation', undefined, ['invalid', 'broker_unavailable', 'broker_unreachable']);

function problem(m: any): string | undefined {
  if (typeof m.id !== 'string' || !m.id) return 'id must be a non-empty string';
  if (typeof m.client !== 'string' || !m.client) return 'client must be a non-empty string';
  if (typeof m.recipient !== 'string' || !m.recipient) return 'recipient is missing';
  if (!Array.isArray(m.channels) || m.channels.length === 0) return 'channels must be a non-empty list';
  const bad = m.channels.find((c: unknown) => !(CHANNELS as readonly unknown[]).includes(c));
  if (bad !== undefined) return `unknown channel ${JSON.stringify(bad)}; channels: ${CHANNELS.join(', ')}`;
  return undefined;
}

svc.route('/validate', async (body) => {
  const outcome = await svc.handleMessage('validation', undefined, async () => {
    const p = problem(body ?? {});
    if (p) throw new StageError('invalid', p);
    if (svc.lose()) return true;
    await svc.publish('enrich', body);
    return true;
  });
  if (outcome === true) return { status: 202, body: {} };
  return { status: outcome.reason === 'invalid' ? 422 : 503, body: { error: outcome.message } };
});

await svc.listen();
