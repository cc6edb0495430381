import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model.ts';
import { errorPropagation } from './errors.ts';
import { ms, sp } from './fixtures.ts';
import { reconstruct } from './tree.ts';

const err = { statusCode: 'error' as const };
const exception = (atMs: number) => ({
  statusCode: 'error' as const,
  events: [{ timeNs: ms(atMs), name: 'exception', attributes: { 'exception.type': 'IOError' } }],
});

/** Roles and origin chains with short IDs. */
function analyse(spans: SpanRow[]) {
  const t = reconstruct(spans);
  const e = errorPropagation(t);
  const short = (i: number) => t.nodes[i]!.spanId.replace(/^0+/, '');
  const roles: Record<string, string> = {};
  for (const n of t.nodes) if (e.roles[n.index]) roles[short(n.index)] = e.roles[n.index]!;
  return { roles, origins: e.origins.map((o) => [short(o.node), o.propagatedTo.map(short)]) };
}

describe('errorPropagation', () => {
  it('follows a failure up through every parent that failed because of it', () => {
    expect(
      analyse([
        sp('a', '', 'api', 0, 100, err),
        sp('b', 'a', 'orders', 10, 90, err),
        sp('c', 'b', 'db', 20, 50, exception(30)),
        sp('d', 'b', 'cache', 55, 60),
      ]),
    ).toEqual({
      roles: { a: 'propagated', b: 'propagated', c: 'origin' },
      origins: [['c', ['b', 'a']]],
    });
  });

  it('stops at a parent that handled the failure', () => {
    expect(
      analyse([
        sp('a', '', 'api', 0, 100, err),
        sp('b', 'a', 'orders', 10, 90),
        sp('c', 'b', 'db', 20, 50, err),
      ]),
    ).toEqual({
      roles: { a: 'origin', c: 'origin' },
      origins: [
        ['a', []],
        ['c', []],
      ],
    });
  });

  it('makes a parent whose own exception came first an origin of its own', () => {
    expect(
      analyse([sp('a', '', 'api', 0, 100, exception(5)), sp('b', 'a', 'db', 10, 30, exception(20))]),
    ).toEqual({
      roles: { a: 'origin', b: 'origin' },
      origins: [
        ['a', []],
        ['b', []],
      ],
    });
  });

  it('lists a parent under each failing child that explains it', () => {
    expect(
      analyse([
        sp('a', '', 'api', 0, 100, err),
        sp('b', 'a', 'sms', 10, 30, err),
        sp('c', 'a', 'email', 20, 40, err),
      ]),
    ).toEqual({
      roles: { a: 'propagated', b: 'origin', c: 'origin' },
      origins: [
        ['b', ['a']],
        ['c', ['a']],
      ],
    });
  });

  it('finds nothing in a trace without errors', () => {
    expect(analyse([sp('a', '', 'api', 0, 100), sp('b', 'a', 'db', 10, 30)])).toEqual({
      roles: {},
      origins: [],
    });
  });
});
