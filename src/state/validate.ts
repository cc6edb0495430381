/** Input checks shared by every driver, so SQLite and PostgreSQL accept and refuse exactly the same input. */
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from './errors.ts';
import type { JsonObject, JsonValue } from './interface.ts';

const UID_RE = /^[A-Za-z0-9_-]{1,40}$/;

/** A 12-character URL-safe uid, the shape Grafana users are used to. */
export function generateUid(): string {
  return randomBytes(9).toString('base64url');
}

export function isValidUid(uid: unknown): uid is string {
  return typeof uid === 'string' && UID_RE.test(uid);
}

export function checkUid(uid: unknown): string {
  if (!isValidUid(uid))
    throw new InvalidInputError(
      `invalid dashboard uid ${JSON.stringify(uid)}: use 1 to 40 letters, digits, "-" or "_"`,
    );
  return uid;
}

// PostgreSQL text cannot hold NUL; refusing it everywhere keeps both drivers identical.
function checkText(field: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string')
    throw new InvalidInputError(`${field} must be a string, got ${typeof value}`);
  if (value.includes('\u0000')) throw new InvalidInputError(`${field} must not contain NUL characters`);
  if (!allowEmpty && value.trim() === '') throw new InvalidInputError(`${field} must not be empty`);
  return value;
}

export function checkTitle(title: unknown): string {
  return checkText('dashboard title', title, false).trim();
}

export function checkCreatedBy(createdBy: unknown): string | null {
  if (createdBy === undefined || createdBy === null) return null;
  return checkText('dashboard createdBy', createdBy, true);
}

/** Trims, drops duplicates and keeps first-seen order. */
export function checkTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new InvalidInputError('dashboard tags must be an array of strings');
  const out: string[] = [];
  for (const [i, t] of tags.entries()) {
    const tag = checkText(`dashboard tags[${i}]`, t, false).trim();
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

export function checkBody(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidInputError('dashboard body must be a JSON object');
  return toJson('dashboard body', body as JsonObject);
}

export function checkExpectedVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
    throw new InvalidInputError(`expected version must be a positive integer, got ${String(version)}`);
  return version;
}

export function checkKvName(field: 'namespace' | 'key', value: unknown): string {
  return checkText(`settings ${field}`, value, false);
}

/** Serializes a JSON value, refusing what JSON cannot represent instead of silently changing it. */
export function toJson(field: string, value: JsonValue): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidInputError(`${field} is not serializable as JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (text === undefined) throw new InvalidInputError(`${field} is not a JSON value (got ${typeof value})`);
  return text;
}
