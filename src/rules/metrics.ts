/**
 * Rule evaluation's own metrics, named after Prometheus's `prometheus_rule_*` so existing dashboards map
 * one to one. `rule_group` is `FILE;GROUP`, as in Prometheus. Registered in Vigil's one registry.
 */
import client from 'prom-client';
import { registry } from '../self/metrics.ts';

const byGroup = ['rule_group'] as const;

export const ruleEvaluations = new client.Counter({
  name: 'vigil_rule_evaluations_total',
  help: 'Rule evaluations, by rule group.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleEvaluationFailures = new client.Counter({
  name: 'vigil_rule_evaluation_failures_total',
  help: 'Rule evaluations that failed, by rule group.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleEvaluationDuration = new client.Histogram({
  name: 'vigil_rule_evaluation_duration_seconds',
  help: 'Duration of one rule evaluation.',
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const ruleGroupIterations = new client.Counter({
  name: 'vigil_rule_group_iterations_total',
  help: 'Evaluations of whole rule groups, including catch-up evaluations after a restart.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleGroupIterationsMissed = new client.Counter({
  name: 'vigil_rule_group_iterations_missed_total',
  help: 'Group evaluations skipped because the previous one took too long or Vigil was down for too long.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleGroupInterval = new client.Gauge({
  name: 'vigil_rule_group_interval_seconds',
  help: 'Evaluation interval of the rule group.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleGroupRules = new client.Gauge({
  name: 'vigil_rule_group_rules',
  help: 'Rules in the rule group.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleGroupLastDuration = new client.Gauge({
  name: 'vigil_rule_group_last_duration_seconds',
  help: 'Duration of the last evaluation of the rule group.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleGroupLastEvaluation = new client.Gauge({
  name: 'vigil_rule_group_last_evaluation_timestamp_seconds',
  help: 'Evaluation timestamp of the last evaluation of the rule group.',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleGroupLastSamples = new client.Gauge({
  name: 'vigil_rule_group_last_evaluation_samples',
  help: 'Samples written by the last evaluation of the rule group (stale markers not counted).',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleIngestEvaluations = new client.Counter({
  name: 'vigil_rule_group_ingest_evaluations_total',
  help: 'Evaluations of a rule group triggered by ingested samples of a metric it reads (not on schedule).',
  labelNames: byGroup,
  registers: [registry],
});

export const ruleAlertsSent = new client.Counter({
  name: 'vigil_rule_alerts_sent_total',
  help: 'Alerts (firing and resolved) handed to the alert pipeline by alerting rules.',
  registers: [registry],
});

export const rulesLastReloadSuccessful = new client.Gauge({
  name: 'vigil_rules_last_reload_successful',
  help: 'Whether the last reload of the rule files succeeded (1) or failed and kept the previous rules (0).',
  registers: [registry],
});

export const rulesLastReloadTime = new client.Gauge({
  name: 'vigil_rules_last_reload_success_timestamp_seconds',
  help: 'Time of the last successful load of the rule files.',
  registers: [registry],
});

const PER_GROUP = [
  ruleIngestEvaluations,
  ruleEvaluations,
  ruleEvaluationFailures,
  ruleGroupIterations,
  ruleGroupIterationsMissed,
  ruleGroupInterval,
  ruleGroupRules,
  ruleGroupLastDuration,
  ruleGroupLastEvaluation,
  ruleGroupLastSamples,
];

/** Drops a group's series (when it is unloaded). */
export function forgetGroupMetrics(group: string): void {
  for (const m of PER_GROUP) m.remove({ rule_group: group });
}
