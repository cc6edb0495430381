/**
 * Enrichment: consumes the `enrich` queue, adds the client's tier and locale and the message's priority,
 * and posts the result to the router.
 */
import { serviceFromEnv } from '../lib/service.ts';

const svc = serviceFromEnv('enrichment');
svc.declareDrops('enrichment', undefined, ['router_unavailable', 'router_unreachable']);
const TIERS = ['free', 'standard', 'premium'];
const LOCALES = ['en-GB', 'de-DE', 'fr-FR', 'es-ES'];

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

svc.consume('enrich', async (msg) => {
  await svc.handleMessage('enrichment', undefined, async () => {
    const h = hash(String(msg.client));
    const enriched = {
      ...msg,
      tier: TIERS[h % TIERS.length],
      locale: LOCALES[h % LOCALES.length],
      priority: h % 10 === 0 ? 'high' : 'normal',
    };
    if (svc.lose()) return true;
    await svc.call('router', '/route', enriched);
    return true;
  });
});

await svc.listen();
