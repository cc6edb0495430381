/**
 * The `health_checks:` section of Vigil's configuration: one entry per probe (http, https, tcp, grpc, dns), in
 * the spirit of the Prometheus blackbox exporter's modules, validated up front so a bad definition stops the
 * start with file, line and what is wrong. Reference: docs/health.md.
 */
import { z } from 'zod';
import { parseDuration } from '../../model/duration.ts';

export const CHECK_KINDS = ['http', 'https', 'tcp', 'grpc', 'dns'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number') return v * 1000;
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; for example 30s or 1m` });
    return z.NEVER;
  }
});

const regexList = z.array(z.string()).superRefine((list, ctx) => {
  for (const [i, src] of list.entries()) {
    try {
      new RegExp(src);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `not a valid regular expression: ${(err as Error).message}`,
      });
    }
  }
});

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

const statusCode = z.number().int().min(100).max(599);

/** Fields that only some kinds accept, with the kinds that accept them. */
const KIND_FIELDS: Record<string, readonly CheckKind[]> = {
  method: ['http', 'https'],
  headers: ['http', 'https'],
  body: ['http', 'https'],
  follow_redirects: ['http', 'https'],
  valid_status_codes: ['http', 'https'],
  fail_if_body_matches_regexp: ['http', 'https'],
  fail_if_body_not_matches_regexp: ['http', 'https'],
  tls: ['tcp', 'grpc'],
  server_name: ['https', 'tcp', 'grpc'],
  insecure_skip_verify: ['http', 'https', 'tcp', 'grpc'],
  ca_file: ['http', 'https', 'tcp', 'grpc'],
  service: ['grpc'],
  record_type: ['dns'],
  server: ['dns'],
  fail_if_no_answer_matches_regexp: ['dns'],
};

export const healthCheckSchema = z
  .object({
    /** Unique name; becomes the `check` label. */
    name: z.string().min(1, 'a check needs a non-empty name'),
    kind: z.enum(CHECK_KINDS),
    /** http/https: the URL; tcp/grpc: host:port; dns: the name to resolve. Becomes the `instance` label. */
    target: z.string({ error: 'a check needs a target' }).min(1, 'a check needs a non-empty target'),
    interval: duration.default(30_000),
    timeout: duration.default(10_000),
    /** Value of the `job` label. */
    job: z.string().min(1).default('health'),
    /** Extra labels on every series of this check. */
    labels: z.record(z.string(), z.string()).default({}),

    method: z
      .string()
      .regex(/^[A-Z]+$/, 'an HTTP method in capitals, for example GET or POST')
      .default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    /** Follow 3xx answers with a Location (at most 10), as the blackbox exporter does by default. */
    follow_redirects: z.boolean().default(true),
    /** Accepted status codes; empty means any 2xx, as in the blackbox exporter. */
    valid_status_codes: z.array(statusCode).default([]),
    fail_if_body_matches_regexp: regexList.default([]),
    fail_if_body_not_matches_regexp: regexList.default([]),

    tls: z.boolean().default(false),
    server_name: z.string().optional(),
    insecure_skip_verify: z.boolean().default(false),
    /** PEM file of the CA certificates to trust instead of the system's; relative to the configuration file. */
    ca_file: z.string().min(1).optional(),

    service: z.string().default(''),

    record_type: z.enum(DNS_RECORD_TYPES).default('A'),
    /** DNS server as host or host:port; the system's resolvers when absent. */
    server: z.string().min(1).optional(),
    fail_if_no_answer_matches_regexp: regexList.default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.interval < 1000)
      ctx.addIssue({ code: 'custom', path: ['interval'], message: 'the interval must be at least 1s' });
    if (c.timeout <= 0)
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'the timeout must be more than 0' });
    else if (c.timeout > c.interval)
      ctx.addIssue({
        code: 'custom',
        path: ['timeout'],
        message: `the timeout (${c.timeout}ms) must not be longer than the interval (${c.interval}ms)`,
      });
    for (const name of Object.keys(c.labels))
      if (!LABEL_NAME.test(name) || ['job', 'instance', 'check', 'kind', '__name__'].includes(name))
        ctx.addIssue({
          code: 'custom',
          path: ['labels', name],
          message: 'not a valid label name here (letters, digits, _; not job, instance, check or kind)',
        });
    switch (c.kind) {
      case 'http':
      case 'https': {
        let url: URL | undefined;
        try {
          url = new URL(c.target);
        } catch {
          ctx.addIssue({
            code: 'custom',
            path: ['target'],
            message: `not a URL: ${JSON.stringify(c.target)} (for example https://api.example.com/healthz)`,
          });
        }
        if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
          ctx.addIssue({ code: 'custom', path: ['target'], message: `the URL must be http:// or https://` });
        else if (url && c.kind === 'https' && url.protocol !== 'https:')
          ctx.addIssue({ code: 'custom', path: ['target'], message: 'kind "https" needs an https:// URL' });
        break;
      }
      case 'tcp':
      case 'grpc': {
        const m = HOST_PORT.exec(c.target);
        if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
          ctx.addIssue({
            code: 'custom',
            path: ['target'],
            message: `expected host:port, got ${JSON.stringify(c.target)} (for example 10.0.0.5:5432)`,
          });
        break;
      }
      case 'dns':
        if (/[\s/:]/.test(c.target))
          ctx.addIssue({
            code: 'custom',
            path: ['target'],
            message: `expected a domain name, got ${JSON.stringify(c.target)}`,
          });
        break;
    }
    // A field meant for another kind is almost always a mistake (a typo in `kind`, or a pasted block).
    const raw = c as unknown as Record<string, unknown>;
    for (const [field, kinds] of Object.entries(KIND_FIELDS)) {
      if (kinds.includes(c.kind)) continue;
      if (!isSet(raw, field)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `"${field}" does not apply to kind "${c.kind}" (only to ${kinds.join(', ')})`,
      });
    }
  });

/** True when a field differs from its default, so fields of another kind left at defaults pass. */
function isSet(c: Record<string, unknown>, field: string): boolean {
  const v = c[field];
  if (v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length > 0;
  if (field === 'method') return v !== 'GET';
  if (field === 'record_type') return v !== 'A';
  if (field === 'service') return v !== '';
  if (field === 'follow_redirects') return v !== true;
  if (typeof v === 'boolean') return v;
  return true;
}

export const healthChecksSchema = z
  .array(healthCheckSchema)
  .nullish()
  .transform((v) => v ?? [])
  .superRefine((checks, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of checks.entries()) {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `the check name "${c.name}" is used twice`,
        });
      seen.add(c.name);
    }
  });

export type HealthCheckConfig = z.output<typeof healthCheckSchema>;
