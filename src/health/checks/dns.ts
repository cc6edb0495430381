/**
 * DNS prober: resolves the target name for one record type through the system's resolvers or a given server,
 * optionally requiring an answer that matches a regular expression. Answers are compared in a text form:
 * A/AAAA the address, CNAME the name, MX `<priority> <exchange>`, TXT the joined strings.
 */
import { Resolver } from 'node:dns/promises';
import type { HealthCheckConfig } from './config.ts';
import { ProbeFailure, reasonOf, since, type ProbeGauge, type ProbeResult } from './probe.ts';

async function resolve(r: Resolver, name: string, type: HealthCheckConfig['record_type']): Promise<string[]> {
  switch (type) {
    case 'A':
      return r.resolve4(name);
    case 'AAAA':
      return r.resolve6(name);
    case 'CNAME':
      return r.resolveCname(name);
    case 'MX':
      return (await r.resolveMx(name)).map((m) => `${m.priority} ${m.exchange}`);
    case 'TXT':
      return (await r.resolveTxt(name)).map((parts) => parts.join(''));
  }
}

export async function probeDns(check: HealthCheckConfig): Promise<ProbeResult> {
  const start = performance.now();
  const gauges: ProbeGauge[] = [];
  const resolver = new Resolver({ timeout: check.timeout, tries: 1 });
  const timer = setTimeout(() => resolver.cancel(), check.timeout);
  try {
    if (check.server) resolver.setServers([check.server]); // host, host:port or [v6]:port
    const lookupStart = performance.now();
    let answers: string[];
    try {
      answers = await resolve(resolver, check.target, check.record_type);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECANCELLED' || code === 'ETIMEOUT')
        throw new ProbeFailure(`timeout after ${check.timeout}ms`);
      throw new ProbeFailure(`${code ?? 'error'}: ${check.record_type} ${check.target}: ${reasonOf(err)}`);
    } finally {
      gauges.push({
        name: 'probe_dns_lookup_time_seconds',
        value: since(lookupStart) / 1000,
        help: 'Returns the time taken for probe dns lookup in seconds',
      });
    }
    gauges.push({
      name: 'probe_dns_answer_rrs',
      value: answers.length,
      help: 'Returns number of entries in the answer resource record list',
    });
    if (answers.length === 0) throw new ProbeFailure(`no ${check.record_type} answer for ${check.target}`);
    for (const re of check.fail_if_no_answer_matches_regexp) {
      const rx = new RegExp(re);
      if (!answers.some((a) => rx.test(a)))
        throw new ProbeFailure(`no answer matched /${re}/ (got ${answers.slice(0, 5).join(', ')})`);
    }
    return { success: true, reason: '', durationMs: since(start), gauges };
  } catch (err) {
    return { success: false, reason: reasonOf(err), durationMs: since(start), gauges };
  } finally {
    clearTimeout(timer);
  }
}
