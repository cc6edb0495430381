/**
 * Vigil's health APIs as the UI sees them: health checks with their recent history, components with their
 * status and what impacts them, and data flows with each stage's and channel's checks (docs/health.md,
 * docs/flows.md).
 */
import { request } from './api.ts';

export type ComponentStatus = 'healthy' | 'unknown' | 'degraded' | 'down';

export interface ComponentReason {
  source: string;
  detail: string;
  status: ComponentStatus;
}

export interface ComponentImpact {
  component: string;
  status: ComponentStatus;
  /** Components between this one and the dependency, nearest first; empty for a direct dependency. */
  via: string[];
}

export interface ComponentHealth {
  name: string;
  kind: 'declared' | 'scrape' | 'host' | 'otlp' | 'service';
  status: ComponentStatus;
  ownStatus: ComponentStatus;
  reasons: ComponentReason[];
  dependsOn: string[];
  impactedBy: ComponentImpact[];
}

export interface ComponentsAnswer {
  generatedAt: number;
  components: ComponentHealth[];
  warnings: string[];
}

export interface CheckHistoryEntry {
  t: number;
  up: boolean;
  durationMs: number;
}

export interface HealthCheck {
  name: string;
  kind: string;
  target: string;
  /** Null until the first probe ends. */
  up: boolean | null;
  lastRun: number | null;
  durationMs: number | null;
  reason: string;
  /** Oldest first. */
  history: CheckHistoryEntry[];
}

export type FlowCheckStatus = 'ok' | 'violated' | 'unknown';

export interface FlowCheck {
  kind: 'conservation' | 'handoff' | 'freshness' | 'throughput' | 'lag';
  status: FlowCheckStatus;
  value: number | null;
  expected: number | null;
  reason: string;
}

export interface FlowPart {
  name: string;
  status: FlowCheckStatus;
  checks: FlowCheck[];
  rates: { in: number | null; out: number | null; dropped: number | null };
}

export interface FlowChannel extends FlowPart {
  /** The stage the channel receives from. */
  stage: string;
}

export interface Flow {
  name: string;
  intervalMs: number;
  lastEvaluation: number | null;
  stages: FlowPart[];
  channels: FlowChannel[];
}

export function fetchComponents(signal?: AbortSignal): Promise<ComponentsAnswer> {
  return request<ComponentsAnswer>('/api/vigil/v1/components', { signal });
}

export async function fetchChecks(signal?: AbortSignal): Promise<HealthCheck[]> {
  return (await request<{ checks: HealthCheck[] }>('/api/vigil/v1/health/checks', { signal })).checks;
}

export async function fetchFlows(signal?: AbortSignal): Promise<Flow[]> {
  return (await request<{ flows: Flow[] }>('/api/vigil/v1/flows', { signal })).flows;
}
