/**
 * Vigil's own metrics, exposed at /metrics and scraped by Vigil itself (job "vigil").
 * One registry per process; modules import the instruments they update.
 */
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });

export const samplesIngested = new client.Counter({
  name: 'vigil_ingest_samples_total',
  help: 'Samples accepted and stored, by ingestion protocol.',
  labelNames: ['protocol'] as const,
  registers: [registry],
});

export const samplesRejected = new client.Counter({
  name: 'vigil_ingest_samples_rejected_total',
  help: 'Samples refused at ingestion, by protocol and reason.',
  labelNames: ['protocol', 'reason'] as const,
  registers: [registry],
});

export const exemplarsIngested = new client.Counter({
  name: 'vigil_ingest_exemplars_total',
  help: 'Exemplars stored with ingested samples (OTLP, remote-write, scrape), by protocol.',
  labelNames: ['protocol'] as const,
  registers: [registry],
});

export const exemplarsDropped = new client.Counter({
  name: 'vigil_ingest_exemplars_dropped_total',
  help: 'Exemplars, or their OTLP filtered attributes (reason attributes_too_long), left out at ingestion, by protocol and reason.',
  labelNames: ['protocol', 'reason'] as const,
  registers: [registry],
});

export const spansIngested = new client.Counter({
  name: 'vigil_ingest_spans_total',
  help: 'Spans accepted and stored, by ingestion protocol.',
  labelNames: ['protocol'] as const,
  registers: [registry],
});

export const spansRejected = new client.Counter({
  name: 'vigil_ingest_spans_rejected_total',
  help: 'Spans refused at ingestion, by protocol and reason (invalid, overloaded, unavailable).',
  labelNames: ['protocol', 'reason'] as const,
  registers: [registry],
});

export const requestsRejected = new client.Counter({
  name: 'vigil_ingest_requests_rejected_total',
  help: 'Ingestion requests refused as a whole, by protocol and HTTP status code.',
  labelNames: ['protocol', 'code'] as const,
  registers: [registry],
});

export const writeBatchSize = new client.Histogram({
  name: 'vigil_storage_write_batch_samples',
  help: 'Samples per storage write batch (after group commit).',
  buckets: [10, 100, 1000, 5000, 20000, 50000, 100000, 500000],
  registers: [registry],
});

export const writeDuration = new client.Histogram({
  name: 'vigil_storage_write_duration_seconds',
  help: 'Time to make one write batch durable.',
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const writeQueueSamples = new client.Gauge({
  name: 'vigil_storage_write_queue_samples',
  help: 'Samples waiting for the next write batch.',
  registers: [registry],
});

export const queryDuration = new client.Histogram({
  name: 'vigil_query_duration_seconds',
  help: 'PromQL query duration by kind (instant, range).',
  labelNames: ['kind'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const storageBytes = new client.Gauge({
  name: 'vigil_storage_bytes',
  help: 'Bytes of active sample data on disk.',
  registers: [registry],
});

export const storageSeries = new client.Gauge({
  name: 'vigil_storage_series',
  help: 'Series known to storage.',
  registers: [registry],
});

export const scrapesTotal = new client.Counter({
  name: 'vigil_scrapes_total',
  help: 'Scrapes performed, by job and result.',
  labelNames: ['job', 'result'] as const,
  registers: [registry],
});
