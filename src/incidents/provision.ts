/**
 * Provisioning of users, teams, schedules and escalation policies from a YAML file (`incidents.oncall_file`).
 * Parsing and validation are pure (`parseOncallText`); every problem names the file, line and path, and a
 * reference to an unknown user, schedule, team or receiver names it. `provisionOncall` writes the documents in
 * one transaction, replacing same-id documents; documents created through the API are kept.
 */
import {
  ConfigError,
  parseYaml,
  positionOf,
  readConfigFile,
  type ConfigProblem,
} from '../config/yaml-errors.ts';
import { parseSchedule, type ScheduleSpec } from '../oncall/schedule.ts';
import type { JsonObject, StateStore } from '../state/interface.ts';
import {
  policyBody,
  validatePolicy,
  validateTeam,
  validateUser,
  type EscalationPolicy,
  type Problem,
  type Team,
  type User,
} from './model.ts';

/** The validated content of an on-call file. */
export interface OncallFile {
  readonly users: User[];
  readonly teams: Team[];
  readonly schedules: { id: string; name: string; spec: ScheduleSpec }[];
  readonly policies: EscalationPolicy[];
}

const TOP_KEYS = ['users', 'teams', 'schedules', 'escalation_policies'];

/** `layers[1].start` → ['layers', 1, 'start']. */
function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** The schedule input as `parseSchedule` takes it, from the file's form (`time_zone` or `timeZone`). */
export function scheduleInput(raw: Record<string, unknown>): Record<string, unknown> {
  const { id, time_zone, ...rest } = raw;
  return { ...rest, name: rest.name ?? id, ...(time_zone !== undefined ? { timeZone: time_zone } : {}) };
}

/** Validates a schedule document `{id, name?, timeZone|time_zone, layers, overrides?}` whose users must exist. */
export function validateScheduleDoc(
  raw: unknown,
  users: ReadonlySet<string>,
  path = '',
):
  { ok: true; value: { id: string; name: string; spec: ScheduleSpec } } | { ok: false; problems: Problem[] } {
  const at = (p: string) => (path ? (p ? `${path}.${p}` : path) : p);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, problems: [{ path, message: 'must be an object' }] };
  const o = raw as Record<string, unknown>;
  const problems: Problem[] = [];
  if (typeof o.id !== 'string' || !/^[A-Za-z0-9_.@-]{1,64}$/.test(o.id))
    problems.push({
      path: at('id'),
      message: `must be 1 to 64 letters, digits, ".", "@", "-" or "_", got ${JSON.stringify(o.id)}`,
    });
  let parsed;
  try {
    parsed = parseSchedule(scheduleInput(o));
  } catch (err) {
    return {
      ok: false,
      problems: [...problems, { path, message: `schedule cannot be read: ${(err as Error).message}` }],
    };
  }
  if (!parsed.ok) {
    for (const e of parsed.errors) {
      const i = e.indexOf(': ');
      // Point at the key as the file spells it.
      const field =
        i > 0
          ? e.slice(0, i).replace(/^timeZone$/, o.time_zone !== undefined ? 'time_zone' : 'timeZone')
          : '';
      problems.push(i > 0 ? { path: at(field), message: e.slice(i + 2) } : { path, message: e });
    }
    return { ok: false, problems };
  }
  const s = parsed.schedule;
  s.layers.forEach((l, i) =>
    l.users.forEach((u, j) => {
      if (!users.has(u))
        problems.push({ path: at(`layers[${i}].users[${j}]`), message: `unknown user ${JSON.stringify(u)}` });
    }),
  );
  (s.overrides ?? []).forEach((ov, i) => {
    if (!users.has(ov.user))
      problems.push({ path: at(`overrides[${i}].user`), message: `unknown user ${JSON.stringify(ov.user)}` });
  });
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: { id: o.id as string, name: s.name, spec: s } };
}

/** Parses and validates on-call YAML. Throws ConfigError listing every problem with file and line. */
export function parseOncallText(text: string, file: string, receivers: readonly string[]): OncallFile {
  const parsed = parseYaml(text, file);
  const problems: ConfigProblem[] = [];
  const report = (path: string, message: string) => {
    const parts = splitPath(path);
    const { line, column } = positionOf(parsed, parts);
    problems.push({ file, line, column, path, message });
  };
  const root = parsed.value;
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    report('', `must be a mapping with ${TOP_KEYS.join(', ')}`);
    throw new ConfigError(problems);
  }
  const r = root as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!TOP_KEYS.includes(k)) report(k, `unknown section (expected one of: ${TOP_KEYS.join(', ')})`);
  const list = (key: string): unknown[] => {
    const v = r[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      report(key, 'must be a list');
      return [];
    }
    return v;
  };
  const dupes = (key: string, ids: string[]) => {
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      if (id && seen.has(id)) report(`${key}[${i}].id`, `duplicate id ${JSON.stringify(id)}`);
      seen.add(id);
    });
  };

  const users: User[] = [];
  list('users').forEach((u, i) => {
    const v = validateUser(u, `users[${i}]`);
    if (v.ok) users.push(v.value);
    else for (const p of v.problems) report(p.path, p.message);
  });
  dupes(
    'users',
    users.map((u) => u.id),
  );
  // References are checked against every user entry with an id, valid or not, so one bad contact method does
  // not also make every policy naming that user fail.
  const userIds = new Set(
    list('users').flatMap((u) =>
      typeof (u as { id?: unknown })?.id === 'string' ? [(u as { id: string }).id] : [],
    ),
  );

  const teams: Team[] = [];
  list('teams').forEach((t, i) => {
    const v = validateTeam(t, userIds, `teams[${i}]`);
    if (v.ok) teams.push(v.value);
    else for (const p of v.problems) report(p.path, p.message);
  });
  dupes(
    'teams',
    teams.map((t) => t.id),
  );

  const schedules: OncallFile['schedules'] = [];
  list('schedules').forEach((s, i) => {
    const v = validateScheduleDoc(s, userIds, `schedules[${i}]`);
    if (v.ok) schedules.push(v.value);
    else for (const p of v.problems) report(p.path, p.message);
  });
  dupes(
    'schedules',
    schedules.map((s) => s.id),
  );

  const idsOf = (key: string) =>
    new Set(
      list(key).flatMap((x) =>
        typeof (x as { id?: unknown })?.id === 'string' ? [(x as { id: string }).id] : [],
      ),
    );
  const known = {
    users: userIds,
    teams: idsOf('teams'),
    schedules: idsOf('schedules'),
    receivers: new Set(receivers),
  };
  const policies: EscalationPolicy[] = [];
  list('escalation_policies').forEach((p, i) => {
    const v = validatePolicy(p, known, `escalation_policies[${i}]`);
    if (v.ok) policies.push(v.value);
    else for (const pr of v.problems) report(pr.path, pr.message);
  });
  dupes(
    'escalation_policies',
    policies.map((p) => p.id),
  );

  if (problems.length) throw new ConfigError(problems);
  return { users, teams, schedules, policies };
}

/** Reads, validates and stores an on-call file; returns counts for the start log. */
export async function provisionOncall(
  state: StateStore,
  file: string,
  receivers: readonly string[],
): Promise<{ users: number; teams: number; schedules: number; policies: number }> {
  const f = parseOncallText(readConfigFile(file), file, receivers);
  await state.transaction(async (tx) => {
    for (const u of f.users)
      await tx.users.put({
        id: u.id,
        name: u.name,
        body: { id: u.id, name: u.name, contacts: u.contacts as unknown as JsonObject[] },
      });
    for (const t of f.teams)
      await tx.teams.put({
        id: t.id,
        name: t.name,
        body: { id: t.id, name: t.name, members: [...t.members] },
      });
    for (const s of f.schedules)
      await tx.schedules.put({
        id: s.id,
        name: s.name,
        body: { id: s.id, name: s.name, spec: s.spec as unknown as JsonObject },
      });
    for (const p of f.policies)
      await tx.policies.put({ id: p.id, name: p.name, body: policyBody(p) as JsonObject });
  });
  return {
    users: f.users.length,
    teams: f.teams.length,
    schedules: f.schedules.length,
    policies: f.policies.length,
  };
}
