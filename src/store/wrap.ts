/**
 * A storage wrapper that changes only its appenders, for observers of writes (the commit signal of live
 * queries, the ingested-names signal of alerting rules). Everything else is passed through unchanged.
 */
import type { Appender, Storage } from './interface.ts';

/** `storage` with every appender it hands out passed through `wrap`; other methods are the storage's own. */
export function wrapAppenders(storage: Storage, wrap: (inner: Appender) => Appender): Storage {
  return {
    appender: () => wrap(storage.appender()),
    querier: (mint, maxt) => storage.querier(mint, maxt),
    metadata: (metric, limit) => storage.metadata(metric, limit),
    deleteSeries: (sets, mint, maxt) => storage.deleteSeries(sets, mint, maxt),
    cleanTombstones: () => storage.cleanTombstones(),
    stats: () => storage.stats(),
    close: () => storage.close(),
  };
}
