/**
 * Silences: label matchers (equal, regex, negative) over a time range, with Alertmanager's rules for
 * creating, updating in place or replacing, expiring, and states pending/active/expired. Every change is
 * written to a `SilenceStorage` before it is visible, so accepted silences survive a restart.
 */
import { randomUUID } from 'node:crypto';
import type { Labels } from '../model/labels.ts';
import { compileMatcher, type CompiledMatcher, type MatchType } from '../model/matcher.ts';
import type { JsonValue, KvRepo } from '../state/interface.ts';

/** A matcher as the API v2 shows it. */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export type SilenceInput = Omit<Silence, 'id' | 'updatedAt'> & { readonly id?: string };

/** Invalid silence input (answered with 400). */
export class SilenceValidationError extends Error {
  override name = 'SilenceValidationError';
}

/** Unknown silence ID (answered with 404). */
export class SilenceNotFoundError extends Error {
  override name = 'SilenceNotFoundError';
}

/** Where silences are kept between restarts. */
export interface SilenceStorage {
  load(): Promise<Silence[]>;
  save(s: Silence): Promise<void>;
  remove(id: string): Promise<void>;
}

/** Silences in the state store's key/value repository (namespace `alertmanager.silences`, key = ID). */
export function kvSilenceStorage(kv: KvRepo, namespace = 'alertmanager.silences'): SilenceStorage {
  return {
    load: async () => (await kv.list(namespace)).map((e) => e.value as unknown as Silence),
    save: (s) => kv.set(namespace, s.id, s as unknown as JsonValue),
    remove: async (id) => void (await kv.delete(namespace, id)),
  };
}

/** Keeps silences in memory only (tests, or when no state store is wired). */
export function memorySilenceStorage(): SilenceStorage {
  const m = new Map<string, Silence>();
  return {
    load: async () => [...m.values()],
    save: async (s) => void m.set(s.id, s),
    remove: async (id) => void m.delete(id),
  };
}

export function silenceState(s: Silence, now: number): SilenceState {
  if (s.endsAt <= now) return 'expired';
  if (s.startsAt > now) return 'pending';
  return 'active';
}

function matchType(m: SilenceMatcher): MatchType {
  return m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
}

function compile(s: Silence): CompiledMatcher[] {
  return s.matchers.map((m) => compileMatcher({ name: m.name, type: matchType(m), value: m.value }));
}

/** Retention of expired silences before they are deleted (Alertmanager's default --data.retention). */
export const SILENCE_RETENTION_MS = 120 * 3_600_000;

export class Silences {
  private readonly silences = new Map<string, { s: Silence; compiled: CompiledMatcher[] }>();

  private constructor(private readonly storage: SilenceStorage) {}

  /** Loads stored silences. Entries that no longer compile are skipped and reported through `log`. */
  static async open(storage: SilenceStorage, log: (msg: string) => void = () => {}): Promise<Silences> {
    const out = new Silences(storage);
    for (const s of await storage.load()) {
      try {
        out.silences.set(s.id, { s, compiled: compile(s) });
      } catch (err) {
        log(`silences: skipping stored silence ${s.id}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  get(id: string): Silence | undefined {
    return this.silences.get(id)?.s;
  }

  list(): Silence[] {
    return [...this.silences.values()].map((x) => x.s);
  }

  /** IDs of the active silences matching `labels`, sorted. */
  mutedBy(labels: Labels, now: number): string[] {
    const out: string[] = [];
    for (const { s, compiled } of this.silences.values()) {
      if (silenceState(s, now) !== 'active') continue;
      if (compiled.every((m) => m.matches(labels[m.name] ?? ''))) out.push(s.id);
    }
    return out.sort();
  }

  /**
   * Creates a silence, or updates the one with `input.id`. As in Alertmanager, an update that changes
   * matchers, moves an active silence's start, or targets an expired silence expires the old silence and
   * creates a new one with a new ID. Returns the ID. Throws SilenceValidationError / SilenceNotFoundError.
   */
  async set(input: SilenceInput, now: number): Promise<string> {
    validate(input);
    let compiled: CompiledMatcher[];
    try {
      compiled = compile({ ...input, id: '', updatedAt: now });
    } catch (err) {
      throw new SilenceValidationError(`invalid silence: ${(err as Error).message}`);
    }
    if (!compiled.some((m) => !m.matches('')))
      throw new SilenceValidationError(
        'invalid silence: at least one matcher must not match the empty string',
      );
    const prev = input.id ? this.silences.get(input.id)?.s : undefined;
    if (input.id && !prev) throw new SilenceNotFoundError(`silence ${input.id} not found`);
    if (prev && canUpdate(prev, input, now)) {
      const s: Silence = { ...fields(input), id: prev.id, updatedAt: now };
      await this.storage.save(s);
      this.silences.set(s.id, { s, compiled });
      return s.id;
    }
    if (prev && silenceState(prev, now) !== 'expired') await this.expire(prev.id, now);
    const s: Silence = {
      ...fields(input),
      id: randomUUID(),
      startsAt: Math.max(input.startsAt, now),
      updatedAt: now,
    };
    if (s.endsAt <= s.startsAt)
      throw new SilenceValidationError('invalid silence: end time must be after start time');
    await this.storage.save(s);
    this.silences.set(s.id, { s, compiled });
    return s.id;
  }

  /** Expires a silence now. Throws SilenceNotFoundError, or SilenceValidationError when already expired. */
  async expire(id: string, now: number): Promise<void> {
    const cur = this.silences.get(id);
    if (!cur) throw new SilenceNotFoundError(`silence ${id} not found`);
    const state = silenceState(cur.s, now);
    if (state === 'expired') throw new SilenceValidationError(`silence ${id} already expired`);
    const s: Silence =
      state === 'pending'
        ? { ...cur.s, startsAt: now, endsAt: now, updatedAt: now }
        : { ...cur.s, endsAt: now, updatedAt: now };
    await this.storage.save(s);
    this.silences.set(id, { s, compiled: cur.compiled });
  }

  /** Deletes silences expired for longer than `retentionMs`; returns how many. */
  async gc(now: number, retentionMs = SILENCE_RETENTION_MS): Promise<number> {
    let n = 0;
    for (const [id, { s }] of this.silences) {
      if (s.endsAt + retentionMs > now) continue;
      await this.storage.remove(id);
      this.silences.delete(id);
      n++;
    }
    return n;
  }
}

function fields(i: SilenceInput): Omit<Silence, 'id' | 'updatedAt'> {
  return {
    matchers: i.matchers.map((m) => ({
      name: m.name,
      value: m.value,
      isRegex: m.isRegex,
      isEqual: m.isEqual,
    })),
    startsAt: i.startsAt,
    endsAt: i.endsAt,
    createdBy: i.createdBy,
    comment: i.comment,
  };
}

function validate(i: SilenceInput): void {
  if (!i.matchers?.length) throw new SilenceValidationError('invalid silence: at least one matcher required');
  for (const [n, m] of i.matchers.entries()) {
    if (!m.name) throw new SilenceValidationError(`invalid silence: matcher ${n}: invalid label name ""`);
  }
  if (!i.createdBy) throw new SilenceValidationError('invalid silence: creator information missing');
  if (!i.comment) throw new SilenceValidationError('invalid silence: comment missing');
  if (!(i.endsAt > i.startsAt))
    throw new SilenceValidationError('invalid silence: start time must be before end time');
}

function sameMatchers(a: readonly SilenceMatcher[], b: readonly SilenceMatcher[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (m, i) =>
        m.name === b[i]!.name &&
        m.value === b[i]!.value &&
        m.isRegex === b[i]!.isRegex &&
        m.isEqual === b[i]!.isEqual,
    )
  );
}

function canUpdate(prev: Silence, next: SilenceInput, now: number): boolean {
  if (!sameMatchers(prev.matchers, next.matchers)) return false;
  switch (silenceState(prev, now)) {
    case 'active':
      return next.startsAt === prev.startsAt && next.endsAt >= now;
    case 'pending':
      return next.startsAt >= now;
    case 'expired':
      return false;
  }
}
